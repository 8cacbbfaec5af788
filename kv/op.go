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

// The operations. Reads (Get through 15) never change the store.
// NB: the values are part of the raft log's encoding; never renumber them.
// 64 and above are reserved.
const (
	Get          Kind = 1
	Exists       Kind = 2
	MGet         Kind = 3
	StrLen       Kind = 4
	DBSize       Kind = 5
	TTL          Kind = 6 // TTL and PTTL: Int is the time left in ms, or -1/-2
	ExpireTime   Kind = 7 // EXPIRETIME and PEXPIRETIME: Int is the deadline in ms, or -1/-2
	Watch        Kind = 8 // WATCH: Values, one version token per key (txn.go)
	ExecRead     Kind = 9 // EXEC of a transaction of reads only (txn.go)
	Scan         Kind = 13
	Keys         Kind = 14
	RandomKey    Kind = 15
	Set          Kind = 16
	Del          Kind = 17
	IncrBy       Kind = 18
	MSet         Kind = 19
	Append       Kind = 20
	GetDel       Kind = 21
	GetEx        Kind = 22 // GET that sets (Expiry) or removes (ExpPersist) the deadline
	Expire       Kind = 23 // set the deadline, under ExpNX/XX/GT/LT
	Persist      Kind = 24 // remove the deadline
	ExpireKeys   Kind = 25 // active expiry: delete those of Keys whose deadline has passed
	Rename       Kind = 40
	RenameNX     Kind = 41
	Copy         Kind = 42
	FlushAll     Kind = 43
	IncrByFloat  Kind = 44
	SetRange     Kind = 45
	MSetNX       Kind = 46
	Exec         Kind = 26 // EXEC of a transaction with writes (txn.go)
	ACLSetUser   Kind = 47 // ACL SETUSER: Keys[0] the user, Values its rules, Keys[1] (optional) the proposer's user to start from (acl.go)
	ACLDelUser   Kind = 48 // ACL DELUSER: Keys the users, Values (optional) non-empty for each the proposer enforced
	lastReadKind      = 15
)

var kindNames = map[Kind]string{
	Get: "get", Exists: "exists", MGet: "mget", StrLen: "strlen", DBSize: "dbsize",
	TTL: "ttl", ExpireTime: "expiretime",
	Set: "set", Del: "del", IncrBy: "incrby", MSet: "mset", Append: "append", GetDel: "getdel",
	GetEx: "getex", Expire: "expire", Persist: "persist", ExpireKeys: "expirekeys",
	Scan: "scan", Keys: "keys", RandomKey: "randomkey", Rename: "rename", RenameNX: "renamenx",
	Copy: "copy", FlushAll: "flushall", IncrByFloat: "incrbyfloat", SetRange: "setrange", MSetNX: "msetnx",
	Watch: "watch", ExecRead: "execread", Exec: "exec",
	ACLSetUser: "aclsetuser", ACLDelUser: "acldeluser",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// IsRead reports whether operations of this kind leave the store unchanged,
// so they can be served through ReadIndex instead of the log.
func (k Kind) IsRead() bool { return k >= Get && k <= lastReadKind }

// SetFlags are the conditions and options of a Set.
type SetFlags uint8

// The Set flags, as in Redis's SET command.
const (
	SetNX  SetFlags = 1 << iota // only if the key does not exist
	SetXX                       // only if the key exists
	SetGet                      // reply with the old value
)

// ExpFlags say how an op sets a key's deadline (its time to live).
type ExpFlags uint8

// The ExpFlags. Relative and Absolute say how Op.Expiry reads (ms from
// the cluster time at apply, or cluster-time ms since the Unix epoch);
// KeepTTL and Persist keep or drop the deadline. NX, XX, GT and LT are
// EXPIRE's conditions, as in Redis.
const (
	ExpRelative ExpFlags = 1 << iota
	ExpAbsolute
	ExpKeepTTL
	ExpPersist
	ExpNX
	ExpXX
	ExpGT
	ExpLT
)

// Op is one client operation.
//
//   - Get, StrLen, GetDel, IncrBy: Keys[0].
//   - Exists, Del, MGet: Keys.
//   - Set, Append: Keys[0] and Values[0].
//   - MSet: Keys[i] takes Values[i].
//   - IncrBy: Delta.
//   - Append: ValueBytesMax bounds the value it produces (0: no bound).
//   - TTL, ExpireTime, GetEx, Expire, Persist: Keys[0].
//   - ExpireKeys: Keys, the keys the leader saw due.
//   - Set, GetEx, Expire: Exp and Expiry (ms) give the new deadline. Set
//     without one clears the deadline, unless ExpKeepTTL.
//   - Scan: Delta is the cursor (a uint64's bits), ValueBytesMax the
//     count, Values[0] (if any) the MATCH pattern. Keys: Values[0], the
//     pattern. RandomKey, FlushAll: nothing.
//   - Rename, RenameNX, Copy: Keys[0] to Keys[1]; Copy's Delta 1 is REPLACE.
//   - IncrByFloat: Keys[0], Values[0] the increment as the client sent it.
//   - SetRange: Keys[0], Values[0] written at offset Delta (>= 0);
//     ValueBytesMax bounds the value it produces.
//   - MSetNX: as MSet.
type Op struct {
	Kind          Kind
	Flags         SetFlags
	Keys          [][]byte
	Values        [][]byte
	Delta         int64
	ValueBytesMax uint32
	Exp           ExpFlags
	Expiry        int64
	// Ops are a transaction's queued ops (Exec, ExecRead; txn.go).
	Ops []Op
}

// Result is what an operation returned.
//
//   - Get, GetDel, Set with SetGet: Value, or Nil when there was none.
//   - Set without SetGet: Nil when NX or XX stopped it, else an OK.
//   - Exists, Del, IncrBy, Append, StrLen, DBSize: Int.
//   - MGet: Values, with a nil slice for each missing key.
//   - MSet: an OK.
//   - TTL, ExpireTime: Int (ms), -2 for no key, -1 for no deadline.
//   - GetEx: as Get. Expire, Persist: Int 1 if the deadline changed, else 0.
//   - ExpireKeys: Int, the keys deleted.
//   - Scan: Values, the keys, and Int the next cursor (0: the end).
//     Keys: Values. RandomKey: Value, or Nil when there is no key.
//   - Rename: an OK, or Err ErrNoSuchKey. RenameNX, Copy, MSetNX: Int 1
//     if done, else 0 (Copy onto itself: Err ErrSameObject).
//   - IncrByFloat: Value, the new value. SetRange: Int, the new length.
//
// Err is set when the operation was refused (ErrNotInteger, ErrOverflow,
// ErrValueTooLarge); a refused operation changed nothing.
type Result struct {
	Value  []byte
	Nil    bool
	Int    int64
	Values [][]byte
	Err    error
	// Results are a transaction's, one per queued op; Nil instead when a
	// watched key changed and nothing ran.
	Results []Result
}

// Errors Apply can refuse an operation with; resp/errors.go words them.
var (
	ErrNotInteger    = errors.New("the value is not an integer or out of range")
	ErrOverflow      = errors.New("increment or decrement would overflow")
	ErrValueTooLarge = errors.New("the value would be too large")
	// ErrInvalidExpire: a relative expiry past the end of time.
	ErrInvalidExpire = errors.New("invalid expire time")
)

// errCorrupt is returned by Decode for bytes no Encode produced.
var errCorrupt = errors.New("kv: corrupt operation encoding")

// Encoding versions. Version 2 appends the expiry (Exp, then Expiry as a
// varint) to version 1; an op without one is still written as version 1,
// so logs written before expiry existed decode unchanged.
const (
	encodingVersion       = 1
	encodingVersionExpiry = 2
)

// Encode appends the operation's log encoding to dst.
func (op *Op) Encode(dst []byte) []byte {
	if op.Kind.isTxn() {
		return op.encodeTxn(dst)
	}
	version := byte(encodingVersion)
	if op.Exp != 0 || op.Expiry != 0 {
		version = encodingVersionExpiry
	}
	dst = append(dst, version, byte(op.Kind), byte(op.Flags))
	dst = binary.AppendVarint(dst, op.Delta)
	dst = binary.AppendUvarint(dst, uint64(op.ValueBytesMax))
	dst = appendSlices(dst, op.Keys)
	dst = appendSlices(dst, op.Values)
	if version == encodingVersionExpiry {
		dst = append(dst, byte(op.Exp))
		dst = binary.AppendVarint(dst, op.Expiry)
	}
	return dst
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
func Decode(b []byte) (Op, error) { return decode(b, true) }

// Check reports whether Decode accepts b, by Decode's own code, without
// building the op's key and value lists: a peer's log entries are checked
// when they arrive and decoded again only when applied.
func Check(b []byte) error {
	_, err := decode(b, false)
	return err
}

// decode is Decode; build false leaves Keys and Values nil (Check). A
// transaction is always built: its rules read its lists' contents.
func decode(b []byte, build bool) (Op, error) {
	var op Op
	if len(b) >= 1 && b[0] == encodingVersionTxn {
		return decodeTxn(b)
	}
	if len(b) < 3 || b[0] != encodingVersion && b[0] != encodingVersionExpiry {
		return op, errCorrupt
	}
	version := b[0]
	op.Kind, op.Flags = Kind(b[1]), SetFlags(b[2])
	if _, ok := kindNames[op.Kind]; !ok || op.Kind.isTxn() {
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
	lists, b, err := splitKeysValues(b)
	if err != nil {
		return op, err
	}
	if build {
		op.Keys, op.Values = lists.collect()
	}
	if version == encodingVersionExpiry {
		if len(b) < 2 {
			return op, errCorrupt
		}
		op.Exp, b = ExpFlags(b[0]), b[1:]
		expiry, n := binary.Varint(b)
		if !canonical(b, n) || op.Exp == 0 && expiry == 0 {
			return op, errCorrupt
		}
		op.Expiry, b = expiry, b[n:]
	}
	if len(b) != 0 || !op.wellFormedWith(lists.keys, lists.values) {
		return op, errCorrupt
	}
	return op, nil
}

// wellFormed reports whether op has the keys and values its kind needs, so
// that Apply never meets an operation it cannot perform: a malformed entry
// from a buggy or hostile peer is refused at decoding, on every replica
// alike.
func (op *Op) wellFormed() bool { return op.wellFormedWith(len(op.Keys), len(op.Values)) }

// wellFormedWith is wellFormed for an op of that many keys and values,
// whose lists Check did not build.
func (op *Op) wellFormedWith(keys, values int) bool {
	if op.Flags != 0 && op.Kind != Set || !op.expiryWellFormed() {
		return false
	}
	switch op.Kind {
	case Get, GetDel, StrLen, IncrBy, TTL, ExpireTime, GetEx, Expire, Persist:
		return keys == 1 && values == 0
	case Exists, Del, MGet, ExpireKeys, Watch:
		return keys >= 1 && values == 0
	case ACLDelUser:
		return keys >= 1 && (values == 0 || values == keys)
	case ACLSetUser:
		return keys == 1 || keys == 2
	case DBSize:
		return keys == 0 && values == 0
	case Set, Append, IncrByFloat:
		return keys == 1 && values == 1
	case MSet, MSetNX:
		return keys >= 1 && values == keys
	case Scan:
		return keys == 0 && values <= 1
	case Keys:
		return keys == 0 && values == 1
	case RandomKey, FlushAll:
		return keys == 0 && values == 0
	case Rename, RenameNX:
		return keys == 2 && values == 0
	case Copy:
		return keys == 2 && values == 0 && (op.Delta == 0 || op.Delta == 1)
	case SetRange:
		return keys == 1 && values == 1 && op.Delta >= 0
	}
	return false
}

// expiryWellFormed reports whether op's expiry fields are ones its kind
// takes, in a combination Redis allows.
func (op *Op) expiryWellFormed() bool {
	when := op.Exp & (ExpRelative | ExpAbsolute)
	cond := op.Exp & (ExpNX | ExpXX | ExpGT | ExpLT)
	if when == ExpRelative|ExpAbsolute || when == 0 && op.Expiry != 0 {
		return false
	}
	switch op.Kind {
	case Set:
		return cond == 0 && op.Exp&ExpPersist == 0 && !(when != 0 && op.Exp&ExpKeepTTL != 0)
	case GetEx:
		return cond == 0 && op.Exp&ExpKeepTTL == 0 && !(when != 0 && op.Exp&ExpPersist != 0)
	case Expire:
		return when != 0 && op.Exp&(ExpKeepTTL|ExpPersist) == 0 &&
			!(cond&ExpNX != 0 && cond != ExpNX) && cond&(ExpGT|ExpLT) != ExpGT|ExpLT
	}
	return op.Exp == 0 && op.Expiry == 0
}

// canonical reports whether the varint that took the first n bytes of b
// (n as binary.Uvarint or Varint returned it) is the shortest one for its
// value, as Encode writes. A longer spelling ends in a zero byte.
func canonical(b []byte, n int) bool {
	return n == 1 || (n > 1 && b[n-1] != 0)
}

// keysValues is where an op's key and value lists lie in its encoding,
// both checked: b holds the keys, then the values from afterKeys on.
type keysValues struct {
	b, afterKeys []byte
	keys, values int
}

// splitKeysValues checks an op's keys and values, two lists one after the
// other, and returns where they lie and what follows them.
func splitKeysValues(b []byte) (keysValues, []byte, error) {
	nk, afterKeys, ok := skipSlices(b)
	if !ok {
		return keysValues{}, nil, errCorrupt
	}
	nv, rest, ok := skipSlices(afterKeys)
	if !ok {
		return keysValues{}, nil, errCorrupt
	}
	return keysValues{b: b, afterKeys: afterKeys, keys: nk, values: nv}, rest, nil
}

// collect builds the lists into one allocation rather than two: each op
// is decoded on arrival and again at apply. Each list's capacity is its
// length, so an append to one never writes into the other.
func (l keysValues) collect() (keys, values [][]byte) {
	all := make([][]byte, 0, l.keys+l.values)
	all = collectSlices(all, l.b, l.keys)
	all = collectSlices(all, l.afterKeys, l.values)
	return all[:l.keys:l.keys], all[l.keys:]
}

// skipSlices checks a list of byte strings at the start of b, returning
// their count and what follows them.
func skipSlices(b []byte) (count int, rest []byte, ok bool) {
	c, n := binary.Uvarint(b)
	if !canonical(b, n) || c > uint64(len(b)) {
		return 0, nil, false
	}
	b = b[n:]
	for range c {
		size, n := binary.Uvarint(b)
		if !canonical(b, n) || size > uint64(len(b)-n) {
			return 0, nil, false
		}
		b = b[n+int(size):]
	}
	return int(c), b, true
}

// collectSlices appends the count byte strings of a list skipSlices
// checked to dst, each aliasing b with its capacity cut to its length.
func collectSlices(dst [][]byte, b []byte, count int) [][]byte {
	_, n := binary.Uvarint(b)
	b = b[n:]
	for range count {
		size, n := binary.Uvarint(b)
		end := n + int(size)
		dst = append(dst, b[n:end:end])
		b = b[end:]
	}
	return dst
}
