package sim

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/seshat-db/seshat/node/kv"
	"github.com/seshat-db/seshat/resp"
)

// opInput is one command as the client sent it.
type opInput struct {
	Cmd   string
	Key   string
	Value string
}

// opOutput is what came back. Unknown marks a write whose fate is not
// known (no reply, or an error that says so).
type opOutput struct {
	Unknown bool
	Nil     bool
	Value   string
	Int     int64
	Err     string
}

func isWrite(cmd string) bool {
	switch cmd {
	case "get", "exists", "strlen":
		return false
	}
	return true
}

type outcome int

const (
	outcomeDone    outcome = iota // it happened, with this output
	outcomeNotDone                // refused before it could happen
	outcomeUnknown                // it may or may not have happened
)

// parseOutput reads a RESP reply as the output of in. Error replies say
// which outcome they mean by their code: UNKNOWN may have happened;
// NOQUORUM, TRYAGAIN, LOADING, NOSPACE and a stopped node did not; a data error (not an
// integer) happened, as a refusal that the model must explain.
func parseOutput(in opInput, reply []byte) (opOutput, outcome, error) {
	r, rest, err := resp.ParseReply(reply)
	if err != nil {
		return opOutput{}, outcomeDone, err
	}
	if len(rest) != 0 {
		return opOutput{}, outcomeDone, fmt.Errorf("%d bytes after the reply", len(rest))
	}
	if r.Kind == resp.KindError {
		switch {
		case strings.HasPrefix(r.Str, "UNKNOWN"):
			return opOutput{Unknown: true}, outcomeUnknown, nil
		case strings.HasPrefix(r.Str, "NOQUORUM"), strings.HasPrefix(r.Str, "TRYAGAIN"), strings.HasPrefix(r.Str, "LOADING"), strings.HasPrefix(r.Str, "ERR node stopped"), strings.HasPrefix(r.Str, "NOSPACE"):
			return opOutput{}, outcomeNotDone, nil
		case r.Str == kv.ErrNotInteger.Error() && in.Cmd == "incr":
			return opOutput{Err: r.Str}, outcomeDone, nil
		}
		return opOutput{}, outcomeDone, fmt.Errorf("unexpected error reply %q", r.Str)
	}
	switch in.Cmd {
	case "get", "getdel":
		if r.Null {
			return opOutput{Nil: true}, outcomeDone, nil
		}
		if r.Kind == resp.KindBulk {
			return opOutput{Value: r.Str}, outcomeDone, nil
		}
	case "set":
		if r.Kind == resp.KindSimple && r.Str == "OK" {
			return opOutput{}, outcomeDone, nil
		}
	case "incr", "del", "append", "setnx", "exists", "strlen":
		if r.Kind == resp.KindInt {
			return opOutput{Int: r.Int}, outcomeDone, nil
		}
	}
	return opOutput{}, outcomeDone, fmt.Errorf("reply of the wrong kind for %s", in.Cmd)
}

// history is every client operation with a known outcome or an unknown
// write, in the order they returned.
type history struct {
	ops []porcupine.Operation
}

// add records an operation. ret < 0 means it never returned.
func (h *history) add(client int, in opInput, out opOutput, call, ret time.Duration) {
	r := int64(ret)
	if ret < 0 {
		r = math.MaxInt64
	}
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: int64(call), Output: out, Return: r})
}

// kvState is one key's value, as the model sees it.
type kvState struct {
	Exists bool
	Value  string
}

// kvModel is the specification each key's history must be explained by:
// a single register with Redis's string commands, written independently of
// package kv so the two can disagree.
var kvModel = porcupine.Model{
	Partition: func(ops []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, op := range ops {
			k := op.Input.(opInput).Key
			byKey[k] = append(byKey[k], op)
		}
		keys := make([]string, 0, len(byKey))
		for k := range byKey {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return kvState{} },
	Step: func(state, input, output any) (bool, any) {
		st, in, out := state.(kvState), input.(opInput), output.(opOutput)
		next := effect(st, in)
		if out.Unknown {
			return true, next
		}
		switch in.Cmd {
		case "get":
			return out.Nil == !st.Exists && out.Value == st.Value, st
		case "getdel":
			return out.Nil == !st.Exists && out.Value == st.Value, next
		case "set":
			return true, next
		case "setnx":
			return out.Int == boolInt(!st.Exists), next
		case "del", "exists":
			return out.Int == boolInt(st.Exists), next
		case "strlen":
			return out.Int == int64(len(st.Value)), st
		case "append":
			return out.Int == int64(len(next.Value)), next
		case "incr":
			if st.Exists && !isInteger(st.Value) {
				return out.Err != "", st
			}
			return out.Err == "" && strconv.FormatInt(out.Int, 10) == next.Value, next
		}
		return false, st
	},
	Equal: func(a, b any) bool { return a.(kvState) == b.(kvState) },
	DescribeOperation: func(input, output any) string {
		in, out := input.(opInput), output.(opOutput)
		call := strings.TrimSpace(in.Cmd + " " + in.Key + " " + in.Value)
		switch {
		case out.Unknown:
			return call + " -> unknown"
		case out.Err != "":
			return call + " -> " + out.Err
		case out.Nil:
			return call + " -> nil"
		case in.Cmd == "get" || in.Cmd == "getdel":
			return fmt.Sprintf("%s -> %q", call, out.Value)
		case in.Cmd == "set":
			return call + " -> OK"
		}
		return fmt.Sprintf("%s -> %d", call, out.Int)
	},
	DescribeState: func(state any) string {
		st := state.(kvState)
		if !st.Exists {
			return "(absent)"
		}
		return strconv.Quote(st.Value)
	},
}

// effect is what in does to a key, whatever it returned.
func effect(st kvState, in opInput) kvState {
	switch in.Cmd {
	case "set":
		return kvState{Exists: true, Value: in.Value}
	case "setnx":
		if !st.Exists {
			return kvState{Exists: true, Value: in.Value}
		}
	case "del", "getdel":
		return kvState{}
	case "append":
		return kvState{Exists: true, Value: st.Value + in.Value}
	case "incr":
		if !st.Exists {
			return kvState{Exists: true, Value: "1"}
		}
		if n, err := strconv.ParseInt(st.Value, 10, 64); err == nil && isInteger(st.Value) && n < math.MaxInt64 {
			return kvState{Exists: true, Value: strconv.FormatInt(n+1, 10)}
		}
	}
	return st
}

// isInteger is Redis's test for an integer value: canonical decimal form.
func isInteger(s string) bool {
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && strconv.FormatInt(n, 10) == s
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
