package kv

import (
	"math"
	"strconv"
)

// Item is what the Store holds for one key: its value, and its deadline
// in cluster-time milliseconds since the Unix epoch (0: it never expires).
type Item struct {
	Value    []byte
	Deadline int64
	// Version is the raft index of the write that stored this item (0:
	// written before versions existed). The Store stamps it on Put; WATCH
	// compares it (txn.go).
	Version uint64
}

// liveAt reports whether an item with this deadline is still there at
// cluster time now: a key is gone from the millisecond of its deadline.
func liveAt(deadline, now int64) bool { return deadline == 0 || now < deadline }

// ExpirySlackMillis is how long past its deadline a key still reads as
// there: one tick (node.TickInterval). A leader's stamp is the cluster
// time as of the tick it is in, and the client's call came later in
// that tick, so a TTL counted from the stamp ends up to a tick before
// call + TTL (TestR6NeverEarlyTick saw keys gone 5 ms early). The
// deadline itself stays what Redis would compute (PEXPIRETIME, PTTL never
// above the TTL given); only the judgement waits the tick. A constant, so
// every replica judges alike whatever its own tick.
const ExpirySlackMillis = 10

// readsLive reports whether a stored item is there for the ops that find
// it at now: up to ExpirySlackMillis past its deadline.
func readsLive(deadline, now int64) bool {
	return deadline == 0 || now-ExpirySlackMillis < deadline
}

// Store is the data an operation is applied to.
//
// Contract: Get returns what is stored, expired or not (Apply decides
// expiry from Now); its value is valid until the next call into the
// Store. Put and Delete are told what was stored before (old is nil when
// nothing was), so a Store can keep its Len and its deadline index without
// a read of its own. Now is the cluster time at this point of the log, in
// ms since the Unix epoch: a function of the log alone, the same on every
// replica. A returned error is a storage failure, never a client error.
type Store interface {
	Get(key []byte) (Item, bool, error)
	Put(key []byte, item Item, old *Item) error
	Delete(key []byte, old Item) error
	Len() (int64, error)
	Now() int64
	// Range calls fn for every stored key, expired or not, in key order,
	// until fn returns false. key and item are valid only during the call.
	Range(fn func(key []byte, item Item) bool) error
	// RangeHash calls fn for every stored key, expired or not, whose
	// ScanHash is at or past from, in order of (ScanHash, key), until fn
	// returns false: SCAN's order, read from an index so that a SCAN
	// call costs what it returns, not the keyspace's size.
	RangeHash(from uint64, fn func(hash uint64, key []byte, item Item) bool) error
	// Clear deletes every key and its deadline.
	Clear() error
}

// slot is one key as an op finds it: what is stored (if anything), and
// whether it is live at the store's cluster time.
type slot struct {
	stored Item
	exists bool // stored, live or not
	live   bool
}

func lookup(s Store, key []byte) (slot, error) {
	item, found, err := s.Get(key)
	if err != nil || !found {
		return slot{}, err
	}
	return slot{stored: item, exists: true, live: readsLive(item.Deadline, s.Now())}, nil
}

// old is what Put and Delete are told was stored.
func (sl *slot) old() *Item {
	if !sl.exists {
		return nil
	}
	return &sl.stored
}

// put stores value under key with deadline, replacing what sl found.
func put(s Store, key []byte, sl slot, value []byte, deadline int64) error {
	return s.Put(key, Item{Value: value, Deadline: deadline}, sl.old())
}

// Apply performs op on s and returns its result. The error is the
// Store's: the caller must stop, because the replica's state is now
// unknown. Apply is deterministic: the same store contents, cluster time
// and op give the same result and the same writes, on every replica. A
// key whose deadline has passed is absent to every op; the writes that
// meet one replace or delete it.
func Apply(s Store, op Op) (Result, error) {
	switch op.Kind {
	case Get:
		sl, err := lookup(s, op.Keys[0])
		return valueOf(sl), err
	case GetDel:
		sl, err := lookup(s, op.Keys[0])
		if err == nil && sl.exists {
			err = s.Delete(op.Keys[0], sl.stored)
		}
		return valueOf(sl), err
	case StrLen:
		sl, err := lookup(s, op.Keys[0])
		if !sl.live {
			return Result{}, err
		}
		return Result{Int: int64(len(sl.stored.Value))}, err
	case Exists:
		return countFound(s, op.Keys, false)
	case Del:
		return countFound(s, op.Keys, true)
	case MGet:
		values := make([][]byte, len(op.Keys))
		for i, k := range op.Keys {
			sl, err := lookup(s, k)
			if err != nil {
				return Result{}, err
			}
			if sl.live {
				values[i] = append([]byte{}, sl.stored.Value...)
			}
		}
		return Result{Values: values}, nil
	case DBSize:
		n, err := s.Len()
		return Result{Int: n}, err
	case Set:
		return set(s, op)
	case MSet:
		for i, k := range op.Keys {
			sl, err := lookup(s, k)
			if err == nil {
				err = put(s, k, sl, op.Values[i], 0)
			}
			if err != nil {
				return Result{}, err
			}
		}
		return Result{}, nil
	case IncrBy:
		return incrBy(s, op.Keys[0], op.Delta)
	case Append:
		sl, err := lookup(s, op.Keys[0])
		if err != nil {
			return Result{}, err
		}
		var old []byte
		var deadline int64
		if sl.live {
			old, deadline = sl.stored.Value, sl.stored.Deadline
		}
		if op.ValueBytesMax > 0 && len(old)+len(op.Values[0]) > int(op.ValueBytesMax) {
			return Result{Err: ErrValueTooLarge}, nil
		}
		joined := append(append(make([]byte, 0, len(old)+len(op.Values[0])), old...), op.Values[0]...)
		return Result{Int: int64(len(joined))}, put(s, op.Keys[0], sl, joined, deadline)
	case TTL, ExpireTime:
		return timeLeft(s, op)
	case GetEx:
		return getEx(s, op)
	case Expire:
		return expire(s, op)
	case Persist:
		sl, err := lookup(s, op.Keys[0])
		if err != nil || !sl.live || sl.stored.Deadline == 0 {
			return Result{}, err
		}
		return Result{Int: 1}, put(s, op.Keys[0], sl, sl.stored.Value, 0)
	case ExpireKeys:
		return expireKeys(s, op.Keys)
	case Scan:
		return scan(s, op)
	case Keys:
		return keys(s, op.Values[0])
	case RandomKey:
		return randomKey(s)
	case Rename, RenameNX:
		return rename(s, op)
	case Copy:
		return copyKey(s, op)
	case FlushAll:
		return flushAll(s)
	case IncrByFloat:
		return incrByFloat(s, op)
	case SetRange:
		return setRange(s, op)
	case MSetNX:
		return msetNX(s, op)
	case Watch:
		return watch(s, op.Keys)
	case Exec, ExecRead:
		return exec(s, op)
	case ACLSetUser:
		return setUser(s, op)
	case ACLDelUser:
		return delUsers(s, op)
	}
	return Result{}, errCorrupt
}

func valueOf(sl slot) Result {
	if !sl.live {
		return Result{Nil: true}
	}
	return Result{Value: append([]byte{}, sl.stored.Value...)}
}

// countFound counts the keys that exist, deleting them if del is set. A
// key named twice counts twice for Exists and once for Del, as in Redis.
// Del also deletes a key that expired but is still stored, without
// counting it.
func countFound(s Store, keys [][]byte, del bool) (Result, error) {
	var n int64
	for _, k := range keys {
		sl, err := lookup(s, k)
		if err != nil {
			return Result{}, err
		}
		if sl.live {
			n++
		}
		if del && sl.exists {
			if err := s.Delete(k, sl.stored); err != nil {
				return Result{}, err
			}
		}
	}
	return Result{Int: n}, nil
}

// deadline returns the deadline op's expiry names, relative to the
// store's cluster time if ExpRelative. ok is false when it would pass
// the end of time.
func deadline(s Store, op Op) (int64, bool) {
	if op.Exp&ExpRelative == 0 {
		return op.Expiry, true
	}
	now := s.Now()
	if op.Expiry > 0 && now > math.MaxInt64-op.Expiry {
		return 0, false
	}
	return now + op.Expiry, true
}

func set(s Store, op Op) (Result, error) {
	key := op.Keys[0]
	var when int64
	if op.Exp&(ExpRelative|ExpAbsolute) != 0 {
		// Redis computes the deadline before it looks at NX/XX or GET: an
		// expiry that overflows is an error whatever the key holds.
		var ok bool
		if when, ok = deadline(s, op); !ok {
			return Result{Err: ErrInvalidExpire}, nil
		}
	}
	sl, err := lookup(s, key)
	if err != nil {
		return Result{}, err
	}
	var res Result
	if op.Flags&SetGet != 0 {
		res = valueOf(sl)
	}
	if (op.Flags&SetNX != 0 && sl.live) || (op.Flags&SetXX != 0 && !sl.live) {
		if op.Flags&SetGet == 0 {
			res.Nil = true
		}
		return res, nil
	}
	if op.Exp&ExpKeepTTL != 0 && sl.live {
		when = sl.stored.Deadline
	}
	return res, put(s, key, sl, op.Values[0], when)
}

func timeLeft(s Store, op Op) (Result, error) {
	sl, err := lookup(s, op.Keys[0])
	switch {
	case err != nil || !sl.live:
		return Result{Int: -2}, err
	case sl.stored.Deadline == 0:
		return Result{Int: -1}, nil
	case op.Kind == ExpireTime:
		return Result{Int: sl.stored.Deadline}, nil
	}
	// 0 in the slack tick, as Redis answers at the deadline's own ms.
	return Result{Int: max(sl.stored.Deadline-s.Now(), 0)}, nil
}

func getEx(s Store, op Op) (Result, error) {
	key := op.Keys[0]
	sl, err := lookup(s, key)
	if err != nil || !sl.live {
		return Result{Nil: true}, err
	}
	res := valueOf(sl)
	switch {
	case op.Exp&ExpPersist != 0:
		if sl.stored.Deadline != 0 {
			err = put(s, key, sl, sl.stored.Value, 0)
		}
	case op.Exp&(ExpRelative|ExpAbsolute) != 0:
		when, ok := deadline(s, op)
		switch {
		case !ok:
			return Result{Err: ErrInvalidExpire}, nil
		case !liveAt(when, s.Now()):
			err = s.Delete(key, sl.stored)
		default:
			err = put(s, key, sl, sl.stored.Value, when)
		}
	}
	return res, err
}

// expire is EXPIRE and its kin: a deadline already passed deletes the key.
func expire(s Store, op Op) (Result, error) {
	key := op.Keys[0]
	// Redis checks the time before it looks the key up.
	when, ok := deadline(s, op)
	if !ok {
		return Result{Err: ErrInvalidExpire}, nil
	}
	sl, err := lookup(s, key)
	if err != nil || !sl.live {
		return Result{}, err
	}
	cur := sl.stored.Deadline
	// No deadline counts as an infinite one for GT and LT, as in Redis.
	switch {
	case op.Exp&ExpNX != 0 && cur != 0,
		op.Exp&ExpXX != 0 && cur == 0,
		op.Exp&ExpGT != 0 && (cur == 0 || when <= cur),
		op.Exp&ExpLT != 0 && cur != 0 && when >= cur:
		return Result{}, nil
	}
	if when <= 0 || !liveAt(when, s.Now()) { // 0 would read as "no deadline"
		return Result{Int: 1}, s.Delete(key, sl.stored)
	}
	return Result{Int: 1}, put(s, key, sl, sl.stored.Value, when)
}

// expireKeys deletes those keys whose deadline has passed. The leader
// chose them from its own view; each is checked again here, at this
// point of the log, because a write between the leader's look and this
// entry may have given the key a new life.
func expireKeys(s Store, keys [][]byte) (Result, error) {
	var n int64
	for _, k := range keys {
		sl, err := lookup(s, k)
		if err != nil {
			return Result{}, err
		}
		if sl.exists && !sl.live {
			if err := s.Delete(k, sl.stored); err != nil {
				return Result{}, err
			}
			n++
		}
	}
	return Result{Int: n}, nil
}

func incrBy(s Store, key []byte, delta int64) (Result, error) {
	sl, err := lookup(s, key)
	if err != nil {
		return Result{}, err
	}
	var n, when int64
	if sl.live {
		when = sl.stored.Deadline
		var ok bool
		if n, ok = ParseInt(sl.stored.Value); !ok {
			return Result{Err: ErrNotInteger}, nil
		}
	}
	if (delta > 0 && n > math.MaxInt64-delta) || (delta < 0 && n < math.MinInt64-delta) {
		return Result{Err: ErrOverflow}, nil
	}
	n += delta
	return Result{Int: n}, put(s, key, sl, strconv.AppendInt(nil, n, 10), when)
}

// ParseInt parses b as Redis does for integer arguments and values
// (string2ll): an optional minus sign, then decimal digits with no leading
// zero, no plus sign, no spaces, within int64. "0" is the only form of zero.
func ParseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	neg := b[0] == '-'
	digits := b
	if neg {
		digits = b[1:]
	}
	if len(digits) == 0 || digits[0] < '1' || digits[0] > '9' {
		return 0, false
	}
	var u uint64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		if u > (math.MaxUint64-9)/10 {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	switch {
	case neg && u <= 1<<63:
		return int64(-u), true // NB: -(1<<63) wraps to MinInt64, as wanted.
	case !neg && u <= math.MaxInt64:
		return int64(u), true
	}
	return 0, false
}
