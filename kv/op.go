// Package kv is Seshat's key-value state machine, free of any I/O: the
// operations clients ask for, their byte encoding in the raft log, and the
// pure function that applies one to a Store. Every replica applies the same
// operations in the same order through Apply, so Apply must be a function
// of the store's contents and the operation alone.
package kv

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Kind names an operation.
type Kind uint8

// The operations. Reads (Get through DBSize) never change the store.
// NB: the values are part of the raft log's encoding; never renumber them.
const (
	Get    Kind = 1
	Exists Kind = 2
	MGet   Kind = 3
	StrLen Kind = 4
	DBSize Kind = 5
	Set    Kind = 16
	Del    Kind = 17
	IncrBy Kind = 18
	MSet   Kind = 19
	Append Kind = 20
	GetDel Kind = 21
)

var kindNames = map[Kind]string{
	Get: "get", Exists: "exists", MGet: "mget", StrLen: "strlen", DBSize: "dbsize",
	Set: "set", Del: "del", IncrBy: "incrby", MSet: "mset", Append: "append", GetDel: "getdel",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// IsRead reports whether operations of this kind leave the store unchanged,
// so they can be served through ReadIndex instead of the log.
func (k Kind) IsRead() bool { return k >= Get && k <= DBSize }

// SetFlags are the conditions and options of a Set.
type SetFlags uint8

// The Set flags, as in Redis's SET command.
const (
	SetNX  SetFlags = 1 << iota // only if the key does not exist
	SetXX                       // only if the key exists
	SetGet                      // reply with the old value
)

// Op is one client operation.
//
//   - Get, StrLen, GetDel, IncrBy: Keys[0].
//   - Exists, Del, MGet: Keys.
//   - Set, Append: Keys[0] and Values[0].
//   - MSet: Keys[i] takes Values[i].
//   - IncrBy: Delta.
//   - Append: ValueBytesMax bounds the value it produces (0: no bound).
type Op struct {
	Kind          Kind
	Flags         SetFlags
	Keys          [][]byte
	Values        [][]byte
	Delta         int64
	ValueBytesMax uint32
}

// Result is what an operation returned.
//
//   - Get, GetDel, Set with SetGet: Value, or Nil when there was none.
//   - Set without SetGet: Nil when NX or XX stopped it, else an OK.
//   - Exists, Del, IncrBy, Append, StrLen, DBSize: Int.
//   - MGet: Values, with a nil slice for each missing key.
//   - MSet: an OK.
//
// Err is set when the operation was refused (ErrNotInteger, ErrOverflow,
// ErrValueTooLarge); a refused operation changed nothing.
type Result struct {
	Value  []byte
	Nil    bool
	Int    int64
	Values [][]byte
	Err    error
}

// Errors Apply can refuse an operation with; resp/errors.go words them.
var (
	ErrNotInteger    = errors.New("the value is not an integer or out of range")
	ErrOverflow      = errors.New("increment or decrement would overflow")
	ErrValueTooLarge = errors.New("the value would be too large")
)

// errCorrupt is returned by Decode for bytes no Encode produced.
var errCorrupt = errors.New("kv: corrupt operation encoding")

const encodingVersion = 1

// Encode appends the operation's log encoding to dst.
func (op *Op) Encode(dst []byte) []byte {
	dst = append(dst, encodingVersion, byte(op.Kind), byte(op.Flags))
	dst = binary.AppendVarint(dst, op.Delta)
	dst = binary.AppendUvarint(dst, uint64(op.ValueBytesMax))
	dst = appendSlices(dst, op.Keys)
	return appendSlices(dst, op.Values)
}

func appendSlices(dst []byte, s [][]byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	for _, b := range s {
		dst = binary.AppendUvarint(dst, uint64(len(b)))
		dst = append(dst, b...)
	}
	return dst
}

// Decode parses an encoding made by Encode. The returned Op's slices alias b.
func Decode(b []byte) (Op, error) {
	var op Op
	if len(b) < 3 || b[0] != encodingVersion {
		return op, errCorrupt
	}
	op.Kind, op.Flags = Kind(b[1]), SetFlags(b[2])
	if _, ok := kindNames[op.Kind]; !ok {
		return op, errCorrupt
	}
	b = b[3:]
	delta, n := binary.Varint(b)
	if !canonical(b, n) {
		return op, errCorrupt
	}
	op.Delta, b = delta, b[n:]
	limit, n := binary.Uvarint(b)
	if !canonical(b, n) || limit > 1<<32-1 {
		return op, errCorrupt
	}
	op.ValueBytesMax, b = uint32(limit), b[n:]
	var err error
	if op.Keys, b, err = decodeSlices(b); err != nil {
		return op, err
	}
	if op.Values, b, err = decodeSlices(b); err != nil {
		return op, err
	}
	if len(b) != 0 || !op.wellFormed() {
		return op, errCorrupt
	}
	return op, nil
}

// wellFormed reports whether op has the keys and values its kind needs, so
// that Apply never meets an operation it cannot perform: a malformed entry
// from a buggy or hostile peer is refused at decoding, on every replica
// alike.
func (op *Op) wellFormed() bool {
	keys, values := len(op.Keys), len(op.Values)
	if op.Flags != 0 && op.Kind != Set {
		return false
	}
	switch op.Kind {
	case Get, GetDel, StrLen, IncrBy:
		return keys == 1 && values == 0
	case Exists, Del, MGet:
		return keys >= 1 && values == 0
	case DBSize:
		return keys == 0 && values == 0
	case Set, Append:
		return keys == 1 && values == 1
	case MSet:
		return keys >= 1 && values == keys
	}
	return false
}

// canonical reports whether the varint that took the first n bytes of b
// (n as binary.Uvarint or Varint returned it) is the shortest one for its
// value, as Encode writes. A longer spelling ends in a zero byte.
func canonical(b []byte, n int) bool {
	return n == 1 || (n > 1 && b[n-1] != 0)
}

func decodeSlices(b []byte) ([][]byte, []byte, error) {
	count, n := binary.Uvarint(b)
	if !canonical(b, n) || count > uint64(len(b)) {
		return nil, nil, errCorrupt
	}
	b = b[n:]
	out := make([][]byte, 0, count)
	for range count {
		size, n := binary.Uvarint(b)
		if !canonical(b, n) || size > uint64(len(b)-n) {
			return nil, nil, errCorrupt
		}
		out = append(out, b[n:n+int(size):n+int(size)])
		b = b[n+int(size):]
	}
	return out, b, nil
}
