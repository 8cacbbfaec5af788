package resp

import (
	"math"
	"strings"

	"github.com/seshat-db/seshat/kv"
)

// This file holds the key-value commands. Each checks its arguments in
// Redis's order and with Redis's errors first, then Seshat's own limits,
// and only then submits an operation to the Backend.

// submit copies op's keys and values out of the client's buffer, queues op
// in the connection's order (sequencer.go) and replies with format's
// encoding of the result, or with the error the operation was refused
// with.
func (e *Executor) submit(op kv.Op, reply func([]byte), format func(kv.Result) []byte) {
	op.Keys = copyArgs(op.Keys)
	op.Values = copyArgs(op.Values)
	if e.captured(op, format) {
		return // queued between MULTI and EXEC (multi.go)
	}
	if e.UnsafeUnordered {
		e.backend.Submit([]kv.Op{op}, func(res []kv.Result) { reply(formatResult(res[0], format)) })
		return
	}
	e.seq.add(queuedOp{op: op, reply: reply, format: format})
}

// copyArgs copies args into one allocation, so the operation does not
// alias the connection's read buffer, which the server reuses while the
// operation waits for raft.
func copyArgs(args [][]byte) [][]byte {
	if args == nil {
		return nil
	}
	n := 0
	for _, a := range args {
		n += len(a)
	}
	buf := make([]byte, 0, n)
	out := make([][]byte, len(args))
	for i, a := range args {
		start := len(buf)
		buf = append(buf, a...)
		out[i] = buf[start:len(buf):len(buf)]
	}
	return out
}

// checkKeys returns the error for the first key over the limit, or "".
func (e *Executor) checkKeys(keys [][]byte) string {
	for _, k := range keys {
		if len(k) > e.limits.KeyBytesMax {
			return errKeyTooLarge
		}
	}
	return ""
}

// checkKeyCount bounds the keys of one command. A write applies on the
// node's event goroutine, inside raft's loop, so its bound is what applies
// in a few milliseconds; a read runs off that loop in chunks, and its
// larger bound only caps one command's work and memory.
func (e *Executor) checkKeyCount(kind kv.Kind, n int) string {
	limit := e.limits.KeysPerWriteMax
	if kind.IsRead() {
		limit = e.limits.KeysPerReadMax
	}
	if n > limit {
		return tooManyKeys(limit)
	}
	return ""
}

// checkKeyValue checks the key args[1] and the value args[2].
func (e *Executor) checkKeyValue(args [][]byte) string {
	if msg := e.checkKeys(args[1:2]); msg != "" {
		return msg
	}
	return e.checkValue(args[2])
}

func (e *Executor) checkValue(v []byte) string {
	if len(v) > e.limits.ValueBytesMax {
		return errValueTooLarge
	}
	return ""
}

func replyErr(reply func([]byte), msg string) { reply(AppendError(nil, msg)) }

func formatBulkOrNull(res kv.Result) []byte {
	if res.Nil {
		return AppendNull(nil)
	}
	return AppendBulk(nil, res.Value)
}

func formatInt(res kv.Result) []byte { return AppendInt(nil, res.Int) }

func formatOK(kv.Result) []byte { return AppendSimple(nil, "OK") }

// keyOp submits an operation on the one key args[1].
func (e *Executor) keyOp(args [][]byte, reply func([]byte), op kv.Op, format func(kv.Result) []byte) {
	if msg := e.checkKeys(args[1:2]); msg != "" {
		replyErr(reply, msg)
		return
	}
	op.Keys = args[1:2]
	e.submit(op, reply, format)
}

func (e *Executor) get(args [][]byte, reply func([]byte)) {
	e.keyOp(args, reply, kv.Op{Kind: kv.Get}, formatBulkOrNull)
}

func (e *Executor) getdel(args [][]byte, reply func([]byte)) {
	e.keyOp(args, reply, kv.Op{Kind: kv.GetDel}, formatBulkOrNull)
}

func (e *Executor) strlen(args [][]byte, reply func([]byte)) {
	e.keyOp(args, reply, kv.Op{Kind: kv.StrLen}, formatInt)
}

func (e *Executor) incr(args [][]byte, reply func([]byte)) {
	e.keyOp(args, reply, kv.Op{Kind: kv.IncrBy, Delta: 1}, formatInt)
}

func (e *Executor) decr(args [][]byte, reply func([]byte)) {
	e.keyOp(args, reply, kv.Op{Kind: kv.IncrBy, Delta: -1}, formatInt)
}

func (e *Executor) incrby(args [][]byte, reply func([]byte)) {
	delta, ok := kv.ParseInt(args[2])
	if !ok {
		replyErr(reply, errNotInteger)
		return
	}
	e.keyOp(args, reply, kv.Op{Kind: kv.IncrBy, Delta: delta}, formatInt)
}

func (e *Executor) decrby(args [][]byte, reply func([]byte)) {
	delta, ok := kv.ParseInt(args[2])
	if !ok {
		replyErr(reply, errNotInteger)
		return
	}
	// Negating MinInt64 overflows, and Redis refuses it up front with an
	// error of its own, before it looks at the key.
	if delta == math.MinInt64 {
		replyErr(reply, errDecrOverflow)
		return
	}
	e.keyOp(args, reply, kv.Op{Kind: kv.IncrBy, Delta: -delta}, formatInt)
}

func (e *Executor) append(args [][]byte, reply func([]byte)) {
	if msg := e.checkKeyValue(args); msg != "" {
		replyErr(reply, msg)
		return
	}
	// The state machine refuses growth beyond ValueBytesMax, because only
	// it knows the old length.
	op := kv.Op{Kind: kv.Append, Values: args[2:3], ValueBytesMax: uint32(e.limits.ValueBytesMax)}
	e.keyOp(args, reply, op, formatInt)
}

func (e *Executor) keysOp(args [][]byte, reply func([]byte), kind kv.Kind, format func(kv.Result) []byte) {
	msg := e.checkKeyCount(kind, len(args)-1)
	if msg == "" {
		msg = e.checkKeys(args[1:])
	}
	if msg != "" {
		replyErr(reply, msg)
		return
	}
	e.submit(kv.Op{Kind: kind, Keys: args[1:]}, reply, format)
}

func (e *Executor) del(args [][]byte, reply func([]byte)) {
	e.keysOp(args, reply, kv.Del, formatInt)
}

func (e *Executor) exists(args [][]byte, reply func([]byte)) {
	e.keysOp(args, reply, kv.Exists, formatInt)
}

func (e *Executor) mget(args [][]byte, reply func([]byte)) {
	e.keysOp(args, reply, kv.MGet, func(res kv.Result) []byte {
		out := AppendArray(nil, len(res.Values))
		for _, v := range res.Values {
			if v == nil {
				out = AppendNull(out)
			} else {
				out = AppendBulk(out, v)
			}
		}
		return out
	})
}

func (e *Executor) dbsize(args [][]byte, reply func([]byte)) {
	e.submit(kv.Op{Kind: kv.DBSize}, reply, formatInt)
}

func (e *Executor) mset(args [][]byte, reply func([]byte)) {
	e.pairsOp(args, reply, kv.MSet, formatOK)
}

// pairsOp submits a command of key value pairs (MSET, MSETNX) once its
// arity, keys and values pass the limits.
func (e *Executor) pairsOp(args [][]byte, reply func([]byte), kind kv.Kind, format func(kv.Result) []byte) {
	if len(args)%2 == 0 {
		replyErr(reply, wrongArity(strings.ToLower(string(args[0]))))
		return
	}
	op := kv.Op{Kind: kind}
	for i := 1; i < len(args); i += 2 {
		op.Keys = append(op.Keys, args[i])
		op.Values = append(op.Values, args[i+1])
	}
	msg := e.checkKeyCount(kind, len(op.Keys))
	if msg == "" {
		msg = e.checkKeys(op.Keys)
	}
	for _, v := range op.Values {
		if msg == "" {
			msg = e.checkValue(v)
		}
	}
	if msg != "" {
		replyErr(reply, msg)
		return
	}
	e.submit(op, reply, format)
}

func (e *Executor) setnx(args [][]byte, reply func([]byte)) {
	if msg := e.checkKeyValue(args); msg != "" {
		replyErr(reply, msg)
		return
	}
	op := kv.Op{Kind: kv.Set, Flags: kv.SetNX, Values: args[2:3]}
	e.keyOp(args, reply, op, func(res kv.Result) []byte {
		if res.Nil {
			return AppendInt(nil, 0)
		}
		return AppendInt(nil, 1)
	})
}

func (e *Executor) set(args [][]byte, reply func([]byte)) {
	var flags kv.SetFlags
	var exp expiryArg
	// This loop is Redis 7.0's parseExtendedStringArgumentsOrReply for
	// SET, so that the same option lists are syntax errors.
	for j := 3; j < len(args); j++ {
		opt := string(args[j])
		switch {
		case strings.EqualFold(opt, "nx") && flags&kv.SetXX == 0:
			flags |= kv.SetNX
			continue
		case strings.EqualFold(opt, "xx") && flags&kv.SetNX == 0:
			flags |= kv.SetXX
			continue
		case strings.EqualFold(opt, "get"):
			flags |= kv.SetGet
			continue
		}
		if !exp.parseOption(args, &j, false) {
			replyErr(reply, errSyntax)
			return
		}
	}
	expOp, msg := exp.resolve("set")
	if msg != "" {
		replyErr(reply, msg)
		return
	}
	if msg := e.checkKeyValue(args); msg != "" {
		replyErr(reply, msg)
		return
	}
	op := kv.Op{Kind: kv.Set, Flags: flags, Values: args[2:3], Exp: expOp.Exp, Expiry: expOp.Expiry}
	e.keyOp(args, reply, op, func(res kv.Result) []byte {
		if res.Err == kv.ErrInvalidExpire {
			return AppendError(nil, invalidExpire("set"))
		}
		if flags&kv.SetGet != 0 || res.Nil {
			return formatBulkOrNull(res)
		}
		return AppendSimple(nil, "OK")
	})
}
