package resp

import (
	"math"
	"strings"

	"github.com/seshat-db/seshat/kv"
)

// This file holds the expiry commands and the expiration options of SET
// and GETEX. Times are checked in Redis 7.0's order; what depends on the
// cluster time (a relative time that passes the end of time) is checked
// where that time is known, in kv.Apply, which answers
// kv.ErrInvalidExpire.

// The expiration options, tracked separately because Redis's parser lets
// an option repeat (the last one counts) but refuses two different ones.
const (
	expEX = 1 << iota
	expPX
	expEXAT
	expPXAT
	expKEEPTTL
	expPERSIST
)

var expiryOptions = [...]struct {
	name string
	bit  int
}{{"ex", expEX}, {"px", expPX}, {"exat", expEXAT}, {"pxat", expPXAT}}

// expiryArg is the expiration option of one SET or GETEX.
type expiryArg struct {
	kind int    // the exp... bit seen, or 0
	arg  []byte // its time argument
}

// parseOption takes the option at args[*j] if it is an expiration option
// allowed here, moving *j past its argument, as Redis 7.0's
// parseExtendedStringArgumentsOrReply does. KEEPTTL is SET's, PERSIST
// GETEX's.
func (x *expiryArg) parseOption(args [][]byte, j *int, getex bool) bool {
	opt := string(args[*j])
	switch {
	case !getex && strings.EqualFold(opt, "keepttl") && x.kind&^expKEEPTTL == 0:
		x.kind = expKEEPTTL
		return true
	case getex && strings.EqualFold(opt, "persist") && x.kind&^expPERSIST == 0:
		x.kind = expPERSIST
		return true
	}
	for _, o := range expiryOptions {
		if strings.EqualFold(opt, o.name) && x.kind&^o.bit == 0 && *j < len(args)-1 {
			x.kind = o.bit
			*j++
			x.arg = args[*j]
			return true
		}
	}
	return false
}

// resolve turns the option into an op's expiry, or returns the error
// Redis gives for its time argument (getExpireMillisecondsOrReply).
func (x *expiryArg) resolve(cmd string) (kv.Op, string) {
	switch x.kind {
	case 0:
		return kv.Op{}, ""
	case expKEEPTTL:
		return kv.Op{Exp: kv.ExpKeepTTL}, ""
	case expPERSIST:
		return kv.Op{Exp: kv.ExpPersist}, ""
	}
	seconds := x.kind == expEX || x.kind == expEXAT
	ms, msg := positiveTime(x.arg, seconds, cmd)
	if msg != "" {
		return kv.Op{}, msg
	}
	if x.kind == expEX || x.kind == expPX {
		return kv.Op{Exp: kv.ExpRelative, Expiry: ms}, ""
	}
	return kv.Op{Exp: kv.ExpAbsolute, Expiry: ms}, ""
}

// positiveTime parses a time that must be positive, in ms.
func positiveTime(arg []byte, seconds bool, cmd string) (int64, string) {
	v, ok := kv.ParseInt(arg)
	if !ok {
		return 0, errNotInteger
	}
	if v <= 0 || seconds && v > math.MaxInt64/1000 {
		return 0, invalidExpire(cmd)
	}
	if seconds {
		v *= 1000
	}
	return v, ""
}

func invalidExpire(cmd string) string {
	return "ERR invalid expire time in '" + cmd + "' command"
}

// setex is SETEX and PSETEX: SET key value EX|PX time.
func (e *Executor) setex(args [][]byte, reply func([]byte), cmd string, seconds bool) {
	ms, msg := positiveTime(args[2], seconds, cmd)
	if msg == "" {
		msg = e.checkKeys(args[1:2])
	}
	if msg == "" {
		msg = e.checkValue(args[3])
	}
	if msg != "" {
		replyErr(reply, msg)
		return
	}
	op := kv.Op{Kind: kv.Set, Values: args[3:4], Exp: kv.ExpRelative, Expiry: ms}
	e.keyOp(args, reply, op, func(res kv.Result) []byte {
		if res.Err == kv.ErrInvalidExpire {
			return AppendError(nil, invalidExpire(cmd))
		}
		return AppendSimple(nil, "OK")
	})
}

func (e *Executor) setexCmd(args [][]byte, reply func([]byte)) { e.setex(args, reply, "setex", true) }
func (e *Executor) psetexCmd(args [][]byte, reply func([]byte)) {
	e.setex(args, reply, "psetex", false)
}

func (e *Executor) getex(args [][]byte, reply func([]byte)) {
	var exp expiryArg
	for j := 2; j < len(args); j++ {
		if !exp.parseOption(args, &j, true) {
			replyErr(reply, errSyntax)
			return
		}
	}
	op, msg := exp.resolve("getex")
	if exp.kind == 0 || msg != "" {
		// A plain GET. Redis looks the key up before it checks the time:
		// a missing key answers nil whatever the time says, a present
		// one the time's error, and nothing changes either way.
		e.keyOp(args, reply, kv.Op{Kind: kv.Get}, func(res kv.Result) []byte {
			if res.Nil || msg == "" {
				return formatBulkOrNull(res)
			}
			return AppendError(nil, msg)
		})
		return
	}
	op.Kind = kv.GetEx
	e.keyOp(args, reply, op, func(res kv.Result) []byte {
		if res.Err == kv.ErrInvalidExpire {
			return AppendError(nil, invalidExpire("getex"))
		}
		return formatBulkOrNull(res)
	})
}

// expire is EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT: Redis 7.0's
// expireGenericCommand.
func (e *Executor) expire(args [][]byte, reply func([]byte), cmd string, seconds, absolute bool) {
	var cond kv.ExpFlags
	for _, a := range args[3:] {
		switch opt := string(a); {
		case strings.EqualFold(opt, "nx"):
			cond |= kv.ExpNX
		case strings.EqualFold(opt, "xx"):
			cond |= kv.ExpXX
		case strings.EqualFold(opt, "gt"):
			cond |= kv.ExpGT
		case strings.EqualFold(opt, "lt"):
			cond |= kv.ExpLT
		default:
			replyErr(reply, "ERR Unsupported option "+string(cString(a)))
			return
		}
	}
	if cond&kv.ExpNX != 0 && cond != kv.ExpNX {
		replyErr(reply, "ERR NX and XX, GT or LT options at the same time are not compatible")
		return
	}
	if cond&(kv.ExpGT|kv.ExpLT) == kv.ExpGT|kv.ExpLT {
		replyErr(reply, "ERR GT and LT options at the same time are not compatible")
		return
	}
	when, ok := kv.ParseInt(args[2])
	if !ok {
		replyErr(reply, errNotInteger)
		return
	}
	if seconds {
		if when > math.MaxInt64/1000 || when < math.MinInt64/1000 {
			replyErr(reply, invalidExpire(cmd))
			return
		}
		when *= 1000
	}
	op := kv.Op{Kind: kv.Expire, Exp: cond | kv.ExpRelative, Expiry: when}
	if absolute {
		op.Exp = cond | kv.ExpAbsolute
	}
	e.keyOp(args, reply, op, func(res kv.Result) []byte {
		if res.Err == kv.ErrInvalidExpire {
			return AppendError(nil, invalidExpire(cmd))
		}
		return formatInt(res)
	})
}

func (e *Executor) expireCmd(args [][]byte, reply func([]byte)) {
	e.expire(args, reply, "expire", true, false)
}

func (e *Executor) pexpireCmd(args [][]byte, reply func([]byte)) {
	e.expire(args, reply, "pexpire", false, false)
}

func (e *Executor) expireatCmd(args [][]byte, reply func([]byte)) {
	e.expire(args, reply, "expireat", true, true)
}

func (e *Executor) pexpireatCmd(args [][]byte, reply func([]byte)) {
	e.expire(args, reply, "pexpireat", false, true)
}

// timeLeft is TTL, PTTL, EXPIRETIME and PEXPIRETIME (Redis's
// ttlGenericCommand): kv answers in ms; seconds are rounded to nearest.
func (e *Executor) timeLeft(args [][]byte, reply func([]byte), kind kv.Kind, ms bool) {
	e.keyOp(args, reply, kv.Op{Kind: kind}, func(res kv.Result) []byte {
		v := res.Int
		if v >= 0 && !ms {
			// Rounded to nearest without overflowing near MaxInt64 ms.
			v = v/1000 + (v%1000+500)/1000
		}
		return AppendInt(nil, v)
	})
}

func (e *Executor) ttl(args [][]byte, reply func([]byte))  { e.timeLeft(args, reply, kv.TTL, false) }
func (e *Executor) pttl(args [][]byte, reply func([]byte)) { e.timeLeft(args, reply, kv.TTL, true) }
func (e *Executor) expiretime(args [][]byte, reply func([]byte)) {
	e.timeLeft(args, reply, kv.ExpireTime, false)
}
func (e *Executor) pexpiretime(args [][]byte, reply func([]byte)) {
	e.timeLeft(args, reply, kv.ExpireTime, true)
}

func (e *Executor) persist(args [][]byte, reply func([]byte)) {
	e.keyOp(args, reply, kv.Op{Kind: kv.Persist}, formatInt)
}
