package resp

import (
	"math"
	"strconv"
	"strings"

	"github.com/seshat-db/seshat/kv"
)

// This file holds the keyspace commands (KEYS, SCAN, TYPE, RENAME, COPY,
// RANDOMKEY, FLUSHALL, ...) and the string commands that came with them
// (GETSET, INCRBYFLOAT, GETRANGE, SETRANGE, MSETNX). Every key is a
// string in Seshat, so no command meets a key of the wrong type.

const (
	errInvalidCursor = "ERR invalid cursor"
	errOffsetRange   = "ERR offset is out of range"
	errSameObject    = "ERR source and destination objects are the same"
)

func formatArray(res kv.Result) []byte {
	out := AppendArray(nil, len(res.Values))
	for _, v := range res.Values {
		out = AppendBulk(out, v)
	}
	return out
}

func (e *Executor) keysCmd(args [][]byte, reply func([]byte)) {
	e.submit(kv.Op{Kind: kv.Keys, Values: args[1:2]}, reply, formatArray)
}

// parseCursor parses a SCAN cursor as Redis 7.0 does, with C's strtoul:
// a sign is allowed (a minus wraps), and an empty cursor is 0.
func parseCursor(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, true
	}
	neg := false
	digits := b
	switch b[0] {
	case '-':
		neg, digits = true, b[1:]
	case '+':
		digits = b[1:]
	}
	if len(digits) == 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(digits), 10, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

func (e *Executor) scanCmd(args [][]byte, reply func([]byte)) {
	cursor, ok := parseCursor(args[1])
	if !ok {
		replyErr(reply, errInvalidCursor)
		return
	}
	count := int64(10)
	var pattern, typeName []byte
	for i := 2; i < len(args); i += 2 {
		opt := string(args[i])
		if len(args)-i < 2 {
			replyErr(reply, errSyntax)
			return
		}
		switch {
		case strings.EqualFold(opt, "count"):
			n, ok := kv.ParseInt(args[i+1])
			if !ok {
				replyErr(reply, errNotInteger)
				return
			}
			if n < 1 {
				replyErr(reply, errSyntax)
				return
			}
			count = n
		case strings.EqualFold(opt, "match"):
			pattern = args[i+1]
		case strings.EqualFold(opt, "type"):
			typeName = args[i+1]
		default:
			replyErr(reply, errSyntax)
			return
		}
	}
	op := kv.Op{Kind: kv.Scan, Delta: int64(cursor), ValueBytesMax: uint32(min(count, math.MaxUint32))}
	if pattern != nil && !(len(pattern) == 1 && pattern[0] == '*') {
		op.Values = [][]byte{pattern}
	}
	// Every key is a string: TYPE keeps all of them or none, and the
	// cursor moves on either way, as in Redis.
	none := typeName != nil && !strings.EqualFold(string(typeName), "string")
	e.submit(op, reply, func(res kv.Result) []byte {
		out := AppendArray(nil, 2)
		out = AppendBulkString(out, strconv.FormatUint(uint64(res.Int), 10))
		if none {
			return AppendArray(out, 0)
		}
		return append(out, formatArray(res)...)
	})
}

func (e *Executor) typeCmd(args [][]byte, reply func([]byte)) {
	e.keyOp(args, reply, kv.Op{Kind: kv.Exists}, func(res kv.Result) []byte {
		if res.Int == 0 {
			return AppendSimple(nil, "none")
		}
		return AppendSimple(nil, "string")
	})
}

func (e *Executor) twoKeys(args [][]byte, reply func([]byte), op kv.Op, format func(kv.Result) []byte) {
	if msg := e.checkKeys(args[1:3]); msg != "" {
		replyErr(reply, msg)
		return
	}
	op.Keys = args[1:3]
	e.submit(op, reply, format)
}

func (e *Executor) rename(args [][]byte, reply func([]byte)) {
	e.twoKeys(args, reply, kv.Op{Kind: kv.Rename}, formatOK)
}

func (e *Executor) renamenx(args [][]byte, reply func([]byte)) {
	e.twoKeys(args, reply, kv.Op{Kind: kv.RenameNX}, formatInt)
}

// copyCmd is COPY source destination [DB n] [REPLACE]. Seshat has one
// database, as a Redis cluster has: DB 0 is the only index it takes.
func (e *Executor) copyCmd(args [][]byte, reply func([]byte)) {
	op := kv.Op{Kind: kv.Copy}
	for j := 3; j < len(args); j++ {
		switch opt := string(args[j]); {
		case strings.EqualFold(opt, "replace"):
			op.Delta = 1
		case strings.EqualFold(opt, "db") && j+1 < len(args):
			n, ok := kv.ParseInt(args[j+1])
			switch {
			case !ok:
				replyErr(reply, errNotInteger)
				return
			case n < math.MinInt32 || n > math.MaxInt32:
				replyErr(reply, errIntRange)
				return
			case n != 0:
				replyErr(reply, errDBIndex)
				return
			}
			j++
		default:
			replyErr(reply, errSyntax)
			return
		}
	}
	if string(args[1]) == string(args[2]) {
		replyErr(reply, errSameObject)
		return
	}
	e.twoKeys(args, reply, op, formatInt)
}

func (e *Executor) randomkey(args [][]byte, reply func([]byte)) {
	e.submit(kv.Op{Kind: kv.RandomKey}, reply, formatBulkOrNull)
}

// flushall is FLUSHALL and FLUSHDB (Seshat has one database): one log
// entry that empties every replica. ASYNC and SYNC mean the same here:
// the entry applies as two range deletions.
func (e *Executor) flushall(args [][]byte, reply func([]byte)) {
	if len(args) > 2 || len(args) == 2 && !strings.EqualFold(string(args[1]), "sync") && !strings.EqualFold(string(args[1]), "async") {
		replyErr(reply, errSyntax)
		return
	}
	e.submit(kv.Op{Kind: kv.FlushAll}, reply, formatOK)
}

func (e *Executor) getset(args [][]byte, reply func([]byte)) {
	if msg := e.checkKeyValue(args); msg != "" {
		replyErr(reply, msg)
		return
	}
	e.keyOp(args, reply, kv.Op{Kind: kv.Set, Flags: kv.SetGet, Values: args[2:3]}, formatBulkOrNull)
}

func (e *Executor) incrbyfloat(args [][]byte, reply func([]byte)) {
	if _, ok := kv.ParseLongDouble(args[2]); !ok {
		replyErr(reply, ErrorReply(kv.ErrNotFloat))
		return
	}
	e.keyOp(args, reply, kv.Op{Kind: kv.IncrByFloat, Values: args[2:3]}, formatBulkOrNull)
}

// getrange reads the whole value (at most ValueBytesMax) and cuts it as
// Redis 7.0's GETRANGE does.
func (e *Executor) getrange(args [][]byte, reply func([]byte)) {
	start, ok1 := kv.ParseInt(args[2])
	end, ok2 := kv.ParseInt(args[3])
	if !ok1 || !ok2 {
		replyErr(reply, errNotInteger)
		return
	}
	e.keyOp(args, reply, kv.Op{Kind: kv.Get}, func(res kv.Result) []byte {
		return AppendBulk(nil, substr(res.Value, start, end))
	})
}

func substr(v []byte, start, end int64) []byte {
	n := int64(len(v))
	if start < 0 && end < 0 && start > end {
		return nil
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start, end = max(start, 0), max(end, 0)
	if end >= n {
		end = n - 1
	}
	if start > end || n == 0 {
		return nil
	}
	return v[start : end+1]
}

func (e *Executor) setrange(args [][]byte, reply func([]byte)) {
	offset, ok := kv.ParseInt(args[2])
	switch {
	case !ok:
		replyErr(reply, errNotInteger)
		return
	case offset < 0:
		replyErr(reply, errOffsetRange)
		return
	}
	if msg := e.checkKeys(args[1:2]); msg != "" {
		replyErr(reply, msg)
		return
	}
	// The state machine refuses a result beyond ValueBytesMax, because
	// only it knows the old length (an empty write changes nothing and
	// is never refused, as in Redis).
	op := kv.Op{Kind: kv.SetRange, Delta: offset, Values: args[3:4], ValueBytesMax: uint32(e.limits.ValueBytesMax)}
	e.keyOp(args, reply, op, formatInt)
}

func (e *Executor) msetnx(args [][]byte, reply func([]byte)) {
	e.pairsOp(args, reply, kv.MSetNX, formatInt)
}

func (e *Executor) unlink(args [][]byte, reply func([]byte)) {
	e.keysOp(args, reply, kv.Del, formatInt)
}

// touch counts the keys that exist: Seshat keeps no access time to touch.
func (e *Executor) touch(args [][]byte, reply func([]byte)) {
	e.keysOp(args, reply, kv.Exists, formatInt)
}

// keyspaceCommands are this file's entries of the command table.
func keyspaceCommands() []*command {
	return []*command{
		{name: "copy", arity: -3, run: (*Executor).copyCmd},
		{name: "flushall", arity: -1, run: (*Executor).flushall},
		{name: "flushdb", arity: -1, run: (*Executor).flushall},
		{name: "getrange", arity: 4, run: (*Executor).getrange},
		{name: "getset", arity: 3, run: (*Executor).getset},
		{name: "incrbyfloat", arity: 3, run: (*Executor).incrbyfloat},
		{name: "keys", arity: 2, run: (*Executor).keysCmd},
		{name: "lcs", arity: -3, run: (*Executor).lcsCmd},
		{name: "msetnx", arity: -3, run: (*Executor).msetnx},
		{name: "randomkey", arity: 1, run: (*Executor).randomkey},
		{name: "rename", arity: 3, run: (*Executor).rename},
		{name: "renamenx", arity: 3, run: (*Executor).renamenx},
		{name: "scan", arity: -2, run: (*Executor).scanCmd},
		{name: "setrange", arity: 4, run: (*Executor).setrange},
		{name: "touch", arity: -2, run: (*Executor).touch},
		{name: "type", arity: 2, run: (*Executor).typeCmd},
		{name: "unlink", arity: -2, run: (*Executor).unlink},
	}
}
