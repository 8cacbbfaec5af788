package kv

import (
	"math"
	"strconv"
)

// Store is the data an operation is applied to.
//
// Contract: Get's value is valid until the next call into the Store.
// Put and Delete are told whether the key exists, so a Store can keep its
// Len without a read of its own; Delete is only called for a key that
// exists. A returned error is a storage failure, never a client error.
type Store interface {
	Get(key []byte) (value []byte, found bool, err error)
	Put(key, value []byte, existed bool) error
	Delete(key []byte) error
	Len() (int64, error)
}

// Apply performs op on s and returns its result. The error is the
// Store's: the caller must stop, because the replica's state is now
// unknown. Apply is deterministic: the same store contents and op give the
// same result and the same writes, on every replica.
func Apply(s Store, op Op) (Result, error) {
	switch op.Kind {
	case Get:
		return getValue(s, op.Keys[0])
	case GetDel:
		res, err := getValue(s, op.Keys[0])
		if err == nil && !res.Nil {
			err = s.Delete(op.Keys[0])
		}
		return res, err
	case StrLen:
		v, _, err := s.Get(op.Keys[0])
		return Result{Int: int64(len(v))}, err
	case Exists:
		return countFound(s, op.Keys, false)
	case Del:
		return countFound(s, op.Keys, true)
	case MGet:
		values := make([][]byte, len(op.Keys))
		for i, k := range op.Keys {
			v, found, err := s.Get(k)
			if err != nil {
				return Result{}, err
			}
			if found {
				values[i] = append([]byte{}, v...)
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
			_, found, err := s.Get(k)
			if err == nil {
				err = s.Put(k, op.Values[i], found)
			}
			if err != nil {
				return Result{}, err
			}
		}
		return Result{}, nil
	case IncrBy:
		return incrBy(s, op.Keys[0], op.Delta)
	case Append:
		old, found, err := s.Get(op.Keys[0])
		if err != nil {
			return Result{}, err
		}
		if op.ValueBytesMax > 0 && len(old)+len(op.Values[0]) > int(op.ValueBytesMax) {
			return Result{Err: ErrValueTooLarge}, nil
		}
		joined := append(append(make([]byte, 0, len(old)+len(op.Values[0])), old...), op.Values[0]...)
		return Result{Int: int64(len(joined))}, s.Put(op.Keys[0], joined, found)
	}
	return Result{}, errCorrupt
}

func getValue(s Store, key []byte) (Result, error) {
	v, found, err := s.Get(key)
	if err != nil || !found {
		return Result{Nil: true}, err
	}
	return Result{Value: append([]byte{}, v...)}, nil
}

// countFound counts the keys that exist, deleting them if del is set. A
// key named twice counts twice for Exists and once for Del, as in Redis.
func countFound(s Store, keys [][]byte, del bool) (Result, error) {
	var n int64
	for _, k := range keys {
		_, found, err := s.Get(k)
		if err != nil {
			return Result{}, err
		}
		if !found {
			continue
		}
		n++
		if del {
			if err := s.Delete(k); err != nil {
				return Result{}, err
			}
		}
	}
	return Result{Int: n}, nil
}

func set(s Store, op Op) (Result, error) {
	key := op.Keys[0]
	old, found, err := s.Get(key)
	if err != nil {
		return Result{}, err
	}
	var res Result
	if op.Flags&SetGet != 0 {
		if found {
			res.Value = append([]byte{}, old...)
		} else {
			res.Nil = true
		}
	}
	if (op.Flags&SetNX != 0 && found) || (op.Flags&SetXX != 0 && !found) {
		if op.Flags&SetGet == 0 {
			res.Nil = true
		}
		return res, nil
	}
	return res, s.Put(key, op.Values[0], found)
}

func incrBy(s Store, key []byte, delta int64) (Result, error) {
	old, found, err := s.Get(key)
	if err != nil {
		return Result{}, err
	}
	var n int64
	if found {
		var ok bool
		if n, ok = ParseInt(old); !ok {
			return Result{Err: ErrNotInteger}, nil
		}
	}
	if (delta > 0 && n > math.MaxInt64-delta) || (delta < 0 && n < math.MinInt64-delta) {
		return Result{Err: ErrOverflow}, nil
	}
	n += delta
	return Result{Int: n}, s.Put(key, strconv.AppendInt(nil, n, 10), found)
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
