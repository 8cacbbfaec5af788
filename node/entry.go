package node

import (
	"encoding/binary"
	"errors"

	"github.com/seshat-db/seshat/internal/assert"
	"github.com/seshat-db/seshat/internal/mutant"
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

// key is the session's id in the store: an array, so admitOnce's two
// uses of it need no allocation (the store copies what it is given).
func (s session) key() [16]byte {
	var k [16]byte
	binary.BigEndian.PutUint64(k[:], s.origin)
	binary.BigEndian.PutUint64(k[8:], s.incarnation)
	return k
}

// entry is one raft log entry of client writes: one proposal of one
// session, carrying the ops of one write group of one client connection,
// applied in order in one apply.
type entry struct {
	session session
	seq     uint64
	ops     []kv.Op
	clock   int64 // the leader's stamp of the cluster time; 0: none
}

// Entry encodings. entrySingle (one op) is the first format, and a group of
// one is still written in it, so a log written before groups existed still
// applies, and so does a single write proposed by a newer node on an
// older one. entryGroup carries two or more ops, each length-prefixed.
//
// entryStamped wraps an entry of either format with the cluster time the
// leader that appended it stamped (clock.go): a uvarint of milliseconds,
// then the inner entry whole. entryClock is a stamp alone, no ops.
const (
	entrySingle  = 1
	entryGroup   = 2
	entryStamped = 3
	entryClock   = 4
)

// stampEntry returns data stamped with clock, replacing any stamp it
// had; data that is not a client entry is returned as is.
func stampEntry(data []byte, clock int64) []byte {
	if clock <= 0 {
		return data // no time to give (clusterNow): it stays as it came
	}
	inner := data
	if len(data) > 0 && data[0] == entryStamped {
		_, n := binary.Uvarint(data[1:])
		if n <= 0 {
			return data
		}
		inner = data[1+n:]
	}
	if len(inner) == 0 || inner[0] != entrySingle && inner[0] != entryGroup {
		return data
	}
	b := binary.AppendUvarint([]byte{entryStamped}, uint64(clock))
	return append(b, inner...)
}

func encodeClockEntry(clock int64) []byte {
	return binary.AppendUvarint([]byte{entryClock}, uint64(clock))
}

var errCorruptEntry = errors.New("node: corrupt log entry")

// encodeEntry is the data of a raft log entry: who proposed the
// operations, the proposal's number in that session, and the operations.
func encodeEntry(s session, seq uint64, ops []kv.Op) []byte {
	assert.That(len(ops) > 0, "node: an entry with no ops")
	version := byte(entrySingle)
	if len(ops) > 1 {
		version = entryGroup
	}
	b := []byte{version}
	b = binary.AppendUvarint(b, s.origin)
	b = binary.AppendUvarint(b, s.incarnation)
	b = binary.AppendUvarint(b, seq)
	if version == entrySingle {
		return ops[0].Encode(b)
	}
	b = binary.AppendUvarint(b, uint64(len(ops)))
	var enc []byte
	for i := range ops {
		enc = ops[i].Encode(enc[:0])
		b = binary.AppendUvarint(b, uint64(len(enc)))
		b = append(b, enc...)
	}
	return b
}

func decodeEntry(b []byte) (entry, error) { return readEntry(b, true) }

// checkEntry reports whether decodeEntry accepts b, by decodeEntry's own
// code, without building its ops (kv.Check): a peer's entries are checked
// when they arrive and decoded again only when applied.
func checkEntry(b []byte) error {
	_, err := readEntry(b, false)
	return err
}

// readEntry is decodeEntry; build false leaves the entry's ops nil
// (checkEntry).
func readEntry(b []byte, build bool) (entry, error) {
	var e entry
	if len(b) > 0 && (b[0] == entryStamped || b[0] == entryClock) {
		clock, n := binary.Uvarint(b[1:])
		if n <= 0 || clock == 0 || clock > 1<<63-1 {
			return e, errCorruptEntry
		}
		if b[0] == entryClock {
			if len(b) != 1+n {
				return e, errCorruptEntry
			}
			return entry{clock: int64(clock)}, nil
		}
		e, err := readEntry(b[1+n:], build)
		if err == nil && e.clock != 0 {
			return e, errCorruptEntry // stamped twice
		}
		e.clock = int64(clock)
		return e, err
	}
	if len(b) == 0 || (b[0] != entrySingle && b[0] != entryGroup) {
		return e, errCorruptEntry
	}
	version := b[0]
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
	if version == entrySingle {
		op, err := readOp(b, build)
		if err != nil || !build {
			return e, err
		}
		e.ops = []kv.Op{op}
		return e, nil
	}
	count, n := binary.Uvarint(b)
	// Every op takes at least two bytes (its length and its version), and
	// a group has two or more: a bound on count before allocating.
	if n <= 0 || count < 2 || count > uint64(len(b)-n)/2 {
		return e, errCorruptEntry
	}
	b = b[n:]
	if build {
		e.ops = make([]kv.Op, 0, count)
	}
	for range count {
		size, n := binary.Uvarint(b)
		if n <= 0 || size > uint64(len(b)-n) {
			return e, errCorruptEntry
		}
		op, err := readOp(b[n:n+int(size)], build)
		if err != nil {
			return e, err
		}
		if build {
			e.ops = append(e.ops, op)
		}
		b = b[n+int(size):]
	}
	if len(b) != 0 {
		return e, errCorruptEntry
	}
	return e, nil
}

func readOp(b []byte, build bool) (kv.Op, error) {
	if !build {
		return kv.Op{}, kv.Check(b)
	}
	return kv.Decode(b)
}

// answersOK reports whether every op of a group answers a plain OK
// whatever the state (SET without options, MSET): the ack-before-commit
// mutant acks only those early, so that what gives it away is the lost
// write, not a made-up result.
func answersOK(ops []kv.Op) bool {
	for i := range ops {
		if !(ops[i].Kind == kv.Set && ops[i].Flags == 0 || ops[i].Kind == kv.MSet) {
			return false
		}
	}
	return true
}

// dedupWindow is how many proposal numbers below a session's highest one
// are remembered. A proposal further behind than this is refused: it
// cannot be told apart from a duplicate.
const dedupWindow = 1024

// admitOnce reports whether the proposal seq of session s is new, and
// records it as seen in the batch. The window is state-machine state: it is
// written in the same batch as the effects it guards.
func admitOnce(b *storage.Batch, s session, seq uint64) (bool, error) {
	key := s.key()
	state, found, err := b.Session(key[:])
	if err != nil {
		return false, err
	}
	var high uint64
	// The record written back: the high seq, then the window's bits.
	// One fresh array, as PutSession may keep what it is given.
	rec := make([]byte, 8+dedupWindow/8)
	bits := rec[8:]
	if found {
		if len(state) != 8+len(bits) {
			return false, errCorruptEntry
		}
		high = binary.BigEndian.Uint64(state)
		copy(bits, state[8:])
	}
	if mutant.On(mutant.DedupLatestOnly) && found && seq < high {
		return true, nil
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
	binary.BigEndian.PutUint64(rec, high)
	return true, b.PutSession(key[:], rec)
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
