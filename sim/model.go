package sim

import (
	"math"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/seshat-db/seshat/chaos/kvmodel"
)

// The model and the reading of replies live in chaos/kvmodel, shared with
// the real-process runner; these names keep the simulator's own.
type (
	opInput  = kvmodel.Input
	opOutput = kvmodel.Output
	outcome  = kvmodel.Outcome
)

const (
	outcomeDone    = kvmodel.Done
	outcomeNotDone = kvmodel.NotDone
	outcomeUnknown = kvmodel.Unknown
)

var kvModel = kvmodel.Model

func isWrite(cmd string) bool { return kvmodel.IsWrite(cmd) }

func parseOutput(in opInput, reply []byte) (opOutput, outcome, error) {
	return kvmodel.ParseOutput(in, reply)
}

// history is every client operation with a known outcome or an unknown
// write, in the order they returned.
type history struct {
	ops   []porcupine.Operation
	epoch *int      // the world's node starts so far (kvmodel.Input.Epoch)
	down  *downtime // the nodes' time spent down (kvmodel.Input.Down)
	// keys retires a key with too many unknown writes (keygen.go).
	keys keyGens
}

// add records an operation. ret < 0 means it never returned.
func (h *history) add(client int, in opInput, out opOutput, call, ret time.Duration) {
	r := int64(ret)
	if ret < 0 {
		r = math.MaxInt64
	}
	call = min(call, time.Duration(r))
	in.Client = client
	in.Call, in.Return = int64(call), r
	if h.epoch != nil {
		in.Epoch = *h.epoch
	}
	if h.down != nil {
		in.Down = int64(h.down.now())
	}
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: int64(call), Output: out, Return: r})
	if out.Unknown {
		h.keys.noteUnknown(in.Key)
	}
}
