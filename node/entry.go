package node

import (
	"encoding/binary"
	"errors"

	"github.com/seshat-db/seshat/kv"
	"github.com/seshat-db/seshat/storage"
)

// A session is one incarnation of one node, as a proposer. Its proposals
// are numbered 1, 2, 3, ... and the state machine applies each number at
// most once, even if the network delivered the proposal twice.
type session struct {
	origin      uint64
	incarnation uint64
}

func (s session) key() []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, s.origin), s.incarnation)
}

type entry struct {
	session session
	seq     uint64
	op      kv.Op
}

const entryVersion = 1

var errCorruptEntry = errors.New("node: corrupt log entry")

// encodeEntry is the data of a raft log entry: who proposed the
// operation, its number in that session, and the operation.
func encodeEntry(s session, seq uint64, op kv.Op) []byte {
	b := []byte{entryVersion}
	b = binary.AppendUvarint(b, s.origin)
	b = binary.AppendUvarint(b, s.incarnation)
	b = binary.AppendUvarint(b, seq)
	return op.Encode(b)
}

func decodeEntry(b []byte) (entry, error) {
	var e entry
	if len(b) == 0 || b[0] != entryVersion {
		return e, errCorruptEntry
	}
	b = b[1:]
	var fields [3]uint64
	for i := range fields {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return e, errCorruptEntry
		}
		fields[i], b = v, b[n:]
	}
	e.session = session{origin: fields[0], incarnation: fields[1]}
	e.seq = fields[2]
	op, err := kv.Decode(b)
	if err != nil {
		return e, err
	}
	e.op = op
	return e, nil
}

// dedupWindow is how many proposal numbers below a session's highest one
// are remembered. A proposal further behind than this is refused: it
// cannot be told apart from a duplicate.
const dedupWindow = 1024

// admitOnce reports whether the proposal seq of session s is new, and
// records it as seen in the batch. The window is state-machine state: it is
// written in the same batch as the effects it guards.
func admitOnce(b *storage.Batch, s session, seq uint64) (bool, error) {
	state, found, err := b.Session(s.key())
	if err != nil {
		return false, err
	}
	var high uint64
	bits := make([]byte, dedupWindow/8)
	if found {
		if len(state) != 8+len(bits) {
			return false, errCorruptEntry
		}
		high = binary.BigEndian.Uint64(state)
		copy(bits, state[8:])
	}
	switch {
	case seq > high:
		shiftWindow(bits, seq-high)
		high = seq
	case high-seq >= dedupWindow:
		return false, nil
	}
	// Bit i stands for proposal high-i.
	i := high - seq
	if bits[i/8]&(1<<(i%8)) != 0 {
		return false, nil
	}
	bits[i/8] |= 1 << (i % 8)
	return true, b.PutSession(s.key(), append(binary.BigEndian.AppendUint64(nil, high), bits...))
}

// shiftWindow moves every bit up by n places (older), dropping those that
// fall off the end. Bit i is bit i%8 of byte i/8, so the window is a
// little-endian 1024-bit number and the shift is a multiplication by 2^n,
// done a 64-bit word at a time.
func shiftWindow(bits []byte, n uint64) {
	if n >= dedupWindow {
		clear(bits)
		return
	}
	const words = dedupWindow / 64
	var w [words]uint64
	for k := range words {
		w[k] = binary.LittleEndian.Uint64(bits[8*k:])
	}
	wordShift, bitShift := int(n/64), n%64
	for k := words - 1; k >= 0; k-- {
		var v uint64
		if src := k - wordShift; src >= 0 {
			v = w[src] << bitShift
			if bitShift > 0 && src > 0 {
				v |= w[src-1] >> (64 - bitShift)
			}
		}
		w[k] = v
	}
	for k := range words {
		binary.LittleEndian.PutUint64(bits[8*k:], w[k])
	}
}
