package kv

import (
	"encoding/binary"
	"errors"
)

// Transactions (MULTI/EXEC/WATCH). A transaction is one op, Exec (or
// ExecRead when every queued op is a read), carrying its queued ops in
// Ops, so it is one raft log entry applied in one go on every replica,
// or one ReadIndex read. WATCH is a read (Watch) that answers one
// version token per key; EXEC carries the tokens (Keys[i] has Values[i])
// and Apply checks them at this point of the log, so the check is the
// same on every replica whichever node the client spoke to.
//
// A token says what WATCH saw:
//
//   - live: the key was live with Item.Version v. It is unchanged iff it
//     is stored, live now and still has version v (an expiry since is a
//     change, as in Redis 7).
//   - absent: the key was absent (or stored but expired) when the state
//     stood at index r (Versions.Applied). It is unchanged iff it is not
//     live now, a record it has was written at or before r, and no key of
//     its bucket stopped being live by a deletion after r
//     (Versions.Vanished). A deletion of a key that had already expired
//     counts at the index of its last write: it stopped being live before
//     anyone could watch it absent after that, so Redis 7's rule (a watched
//     key that had expired at WATCH and is swept later did not change)
//     holds. The buckets are shared, so another key's deletion can abort a
//     transaction Redis would have run: never the reverse.

// Versions is what a Store keeps for WATCH.
type Versions interface {
	// Applied is the index of the last entry the store's state includes;
	// a write applied now is stamped Applied()+1.
	Applied() uint64
	// Vanished returns the highest index at which a key of key's bucket
	// stopped being live by a deletion (see above).
	Vanished(key []byte) (uint64, error)
}

// BumpAllWatch makes every key count as changed for WATCH at the entry
// being applied, as FLUSHALL and FLUSHDB must: a range deletion of the
// data leaves no record and marks no bucket, so a key written after a
// WATCH that saw it absent and then flushed away would look unchanged.
// A watched live key needs nothing: it is no longer live. The store
// raises every bucket to the entry's index (storage: Batch.VanishAll).
func BumpAllWatch(s Store) error {
	v, ok := s.(interface{ VanishAll() error })
	if !ok {
		return ErrNoVersions
	}
	return v.VanishAll()
}

// ErrNoVersions: the Store keeps no versions, so WATCH cannot be served.
var ErrNoVersions = errors.New("kv: the store keeps no key versions")

// WatchTokenBytes is the size of one version token.
const WatchTokenBytes = 9

const (
	tokenAbsent = 0
	tokenLive   = 1
	// WatchTokenNever is the token of a key whose WATCH failed: the
	// client cannot know what it saw, so EXEC aborts.
	WatchTokenNever = 2
)

// encodingVersionTxn is an Exec or ExecRead: version 1's fields, then the
// count of queued ops and each one's encoding, length-prefixed.
const encodingVersionTxn = 3

func (k Kind) isTxn() bool { return k == Exec || k == ExecRead }

func (op *Op) encodeTxn(dst []byte) []byte {
	dst = append(dst, encodingVersionTxn, byte(op.Kind), byte(op.Flags))
	dst = binary.AppendVarint(dst, op.Delta)
	dst = binary.AppendUvarint(dst, uint64(op.ValueBytesMax))
	dst = appendSlices(dst, op.Keys)
	dst = appendSlices(dst, op.Values)
	dst = binary.AppendUvarint(dst, uint64(len(op.Ops)))
	var enc []byte
	for i := range op.Ops {
		enc = op.Ops[i].Encode(enc[:0])
		dst = binary.AppendUvarint(dst, uint64(len(enc)))
		dst = append(dst, enc...)
	}
	return dst
}

func decodeTxn(b []byte) (Op, error) {
	var op Op
	if len(b) < 3 {
		return op, errCorrupt
	}
	op.Kind, op.Flags = Kind(b[1]), SetFlags(b[2])
	if !op.Kind.isTxn() || op.Flags != 0 {
		return op, errCorrupt
	}
	b = b[3:]
	delta, n := binary.Varint(b)
	if !canonical(b, n) || delta != 0 {
		return op, errCorrupt
	}
	b = b[n:]
	limit, n := binary.Uvarint(b)
	if !canonical(b, n) || limit != 0 {
		return op, errCorrupt
	}
	b = b[n:]
	lists, b, err := splitKeysValues(b)
	if err != nil {
		return op, err
	}
	op.Keys, op.Values = lists.collect()
	count, n := binary.Uvarint(b)
	// Every op takes at least two bytes: a bound before allocating.
	if !canonical(b, n) || count > uint64(len(b)-n)/2 {
		return op, errCorrupt
	}
	b = b[n:]
	if count > 0 {
		op.Ops = make([]Op, 0, count)
	}
	for range count {
		size, n := binary.Uvarint(b)
		if !canonical(b, n) || size > uint64(len(b)-n) {
			return op, errCorrupt
		}
		// Decode refuses a transaction nested in this one.
		sub, err := Decode(b[n : n+int(size)])
		if err != nil {
			return op, err
		}
		op.Ops = append(op.Ops, sub)
		b = b[n+int(size):]
	}
	if len(b) != 0 || !op.txnWellFormed() {
		return op, errCorrupt
	}
	return op, nil
}

// txnWellFormed reports whether a decoded transaction is one EXEC makes:
// a token per watched key, queued ops a client may queue, and ExecRead
// only for reads.
func (op *Op) txnWellFormed() bool {
	if len(op.Keys) != len(op.Values) {
		return false
	}
	for _, t := range op.Values {
		if len(t) != WatchTokenBytes || t[0] != tokenAbsent && t[0] != tokenLive && t[0] != WatchTokenNever {
			return false
		}
	}
	for i := range op.Ops {
		k := op.Ops[i].Kind
		if k == Watch || k == ExpireKeys || k.isTxn() || op.Kind == ExecRead && !k.IsRead() {
			return false
		}
	}
	return true
}

// IsTxnRead reports whether a transaction of ops can be served as a read.
func IsTxnRead(ops []Op) bool {
	for i := range ops {
		if !ops[i].Kind.IsRead() {
			return false
		}
	}
	return true
}

func watch(s Store, keys [][]byte) (Result, error) {
	v, ok := s.(Versions)
	if !ok {
		return Result{}, ErrNoVersions
	}
	tokens := make([][]byte, len(keys))
	for i, k := range keys {
		sl, err := lookup(s, k)
		if err != nil {
			return Result{}, err
		}
		t := make([]byte, 1, WatchTokenBytes)
		if sl.live {
			t[0] = tokenLive
			t = binary.BigEndian.AppendUint64(t, sl.stored.Version)
		} else {
			t = binary.BigEndian.AppendUint64(t, v.Applied())
		}
		tokens[i] = t
	}
	return Result{Values: tokens}, nil
}

// unchanged reports whether key is as its token says WATCH saw it.
func unchanged(s Store, v Versions, key, token []byte) (bool, error) {
	sl, err := lookup(s, key)
	if err != nil {
		return false, err
	}
	n := binary.BigEndian.Uint64(token[1:])
	switch token[0] {
	case WatchTokenNever:
		return false, nil
	case tokenLive:
		return sl.live && sl.stored.Version == n, nil
	}
	if sl.live || sl.exists && sl.stored.Version > n {
		return false, nil
	}
	gone, err := v.Vanished(key)
	return gone <= n, err
}

// exec applies a transaction: nothing if a watched key changed (Nil),
// else every queued op in order, each with its own result; an op refused
// (not an integer, ...) leaves the others to run, as in Redis.
func exec(s Store, op Op) (Result, error) {
	if len(op.Keys) > 0 {
		v, ok := s.(Versions)
		if !ok {
			return Result{}, ErrNoVersions
		}
		for i, k := range op.Keys {
			same, err := unchanged(s, v, k, op.Values[i])
			if err != nil {
				return Result{}, err
			}
			if !same {
				return Result{Nil: true}, nil
			}
		}
	}
	res := make([]Result, len(op.Ops))
	for i := range op.Ops {
		r, err := Apply(s, op.Ops[i])
		if err != nil {
			return Result{}, err
		}
		res[i] = r
	}
	return Result{Results: res}, nil
}

// TombstoneIndex is the index a deletion at index now of a key holding
// item records in the key's bucket (Versions.Vanished): now if the key
// was live, else the index of its last write.
func TombstoneIndex(item Item, clock int64, now uint64) uint64 {
	if liveAt(item.Deadline, clock) {
		return now
	}
	return item.Version
}
