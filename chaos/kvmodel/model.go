// Package kvmodel is the specification a Seshat client history is judged
// against: porcupine's model of one register per key with Redis's string
// commands, written independently of package kv so the two can disagree,
// and how a reply is read as an outcome (done, not done, unknown). The
// simulator (package sim) and the real-process runner (chaos/realcluster)
// both judge their histories with it.
package kvmodel

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/seshat-db/seshat/kv"
	"github.com/seshat-db/seshat/resp"
)

// Input is one command as the client sent it. Conn and Seq place it in
// its connection's order (Seq counts from 1 per connection); a command
// sent on its own (Conn 0) has no place to keep.
type Input struct {
	Cmd   string
	Key   string
	Value string
	Conn  int
	Seq   int
	// Client is the client that sent it (the history fills it in): the
	// model keeps one connection's order per client.
	Client int
	// TTL is the time to live of setpx and setnxpx (SET k v [NX] PX ms).
	// The key is surely there until the set's call plus SureFor (the TTL
	// less what tick drift may take off it: never early), and surely gone
	// from its return plus GoneAfter (the TTL plus the late bound; 0: never
	// surely gone). All in the history's time unit.
	TTL, SureFor, GoneAfter int64
	// Call and Return are the command's times as the history recorded
	// them (it fills them in; Return is MaxInt64 for an unknown
	// outcome): the model needs them to judge expiry windows.
	Call, Return int64
	// Epoch counts the node restarts the run had when the command
	// returned (0 where nothing restarts). The windows do not use it: a
	// restart moves the late bound by the time spent down (Down), it
	// does not lift it.
	Epoch int
	// Down is the time all nodes together had spent down when the
	// command returned (the history's unit). A node counts no time while
	// down, and from its restart only, so a key may live longer by the
	// downtime since it was set: its late bound moves by that much.
	Down int64
}

// Output is what came back. Unknown marks a write whose fate is not
// known (no reply, or an error that says so).
type Output struct {
	Unknown bool
	Nil     bool
	Value   string
	Int     int64
	Err     string
}

// IsWrite says whether a command may change its key: only those are kept
// in a history when their outcome is unknown.
func IsWrite(cmd string) bool {
	switch cmd {
	case "get", "exists", "strlen", "pttl", "audit":
		return false
	}
	return true
}

// Outcome is what a reply says about whether its command took effect.
type Outcome int

const (
	Done    Outcome = iota // it happened, with this output
	NotDone                // refused before it could happen
	Unknown                // it may or may not have happened
)

// ParseOutput reads a RESP reply as the output of in. Error replies say
// which outcome they mean by their code: UNKNOWN may have happened;
// NOQUORUM, TRYAGAIN, LOADING, NOSPACE, CLUSTERDOWN and a stopped node did not; a data error (not an
// integer) happened, as a refusal that the model must explain.
func ParseOutput(in Input, reply []byte) (Output, Outcome, error) {
	r, rest, err := resp.ParseReply(reply)
	if err != nil {
		return Output{}, Done, err
	}
	if len(rest) != 0 {
		return Output{}, Done, fmt.Errorf("%d bytes after the reply", len(rest))
	}
	if r.Kind == resp.KindError {
		switch {
		case strings.HasPrefix(r.Str, "UNKNOWN"):
			return Output{Unknown: true}, Unknown, nil
		case strings.HasPrefix(r.Str, "NOQUORUM"), strings.HasPrefix(r.Str, "TRYAGAIN"), strings.HasPrefix(r.Str, "LOADING"), strings.HasPrefix(r.Str, "ERR node stopped"), strings.HasPrefix(r.Str, "NOSPACE"), strings.HasPrefix(r.Str, "CLUSTERDOWN"):
			return Output{}, NotDone, nil
		case r.Str == resp.ErrorReply(kv.ErrNotInteger) && in.Cmd == "incr":
			return Output{Err: r.Str}, Done, nil
		}
		return Output{}, Done, fmt.Errorf("unexpected error reply %q", r.Str)
	}
	switch in.Cmd {
	case "get", "getdel":
		if r.Null {
			return Output{Nil: true}, Done, nil
		}
		if r.Kind == resp.KindBulk {
			return Output{Value: r.Str}, Done, nil
		}
	case "set", "setpx":
		if r.Kind == resp.KindSimple && r.Str == "OK" {
			return Output{}, Done, nil
		}
	case "setnxpx":
		if r.Null {
			return Output{Nil: true}, Done, nil
		}
		if r.Kind == resp.KindSimple && r.Str == "OK" {
			return Output{}, Done, nil
		}
	case "incr", "del", "append", "setnx", "exists", "strlen", "pttl":
		if r.Kind == resp.KindInt {
			return Output{Int: r.Int}, Done, nil
		}
	}
	return Output{}, Done, fmt.Errorf("reply of the wrong kind for %s", in.Cmd)
}

// kvState is one key's value, as the model sees it, and for each client
// the connection it last used on this key and the place in it of its last
// command that took effect in the model.
//
// A connection's commands run in the order it sent them (Redis's promise
// to a pipelining client), and porcupine, which sees a pipeline's
// commands as concurrent, would allow any order: so Step refuses a
// command whose connection has already had a later command take effect.
// The order is checked per key, since porcupine checks each key alone.
// A write whose outcome is unknown is exempt: its node may have answered
// UNKNOWN and let the connection's next command run, and the write can
// still commit after it.
//
// One place per client is enough, and keeps the state small (its size is
// what every step of porcupine's search copies and compares): a client
// opens a new connection only after every command of its old one was
// answered or given up, so real time alone orders the old connection's
// answered commands before the new one's.
//
// A key set with a TTL carries its expiry window: it is surely there for
// a command that returns before Lo (the set's call plus the TTL: never
// early), surely gone for one that begins after Hi (the set's return plus
// the TTL plus LateBound, plus the nodes' downtime since Down), and
// either in between, where the command's own output says which. TTL is
// the time to live it was given: PTTL never answers more.
type kvState struct {
	Exists bool
	Value  string
	Last   []connPlace // by client
	Lo, Hi int64       // the expiry window; Hi 0: no TTL
	Down   int64
	TTL    int64
}

// settle applies what the clock decides for in: the key expired for sure
// before in began, or it may have (uncertain), or not.
func (st kvState) settle(in Input) (kvState, bool) {
	switch {
	case st.Hi == 0 || !st.Exists || in.Return < st.Lo:
		return st, false
	case st.Hi != math.MaxInt64 && in.Call-(in.Down-st.Down) > st.Hi:
		return st.expired(), false
	}
	return st, true
}

func (st kvState) expired() kvState {
	st.Exists, st.Value, st.Lo, st.Hi, st.Down, st.TTL = false, "", 0, 0, 0, 0
	return st
}

// withTTL gives the key in's expiry window.
func (st kvState) withTTL(in Input) kvState {
	st.Lo, st.Hi, st.Down, st.TTL = in.Call+in.SureFor, math.MaxInt64, in.Down, in.TTL
	if in.Return != math.MaxInt64 && in.GoneAfter > 0 {
		st.Hi = in.Return + in.GoneAfter
	}
	return st
}

// connPlace is a command's place, its connection and its place in it,
// packed in one word so that Last is half the size to copy and compare
// (porcupine copies it at each step of its search): comparing two packed
// places compares connection, then place, as the pair would.
type connPlace uint64

func placeOf(in Input) connPlace {
	if uint64(in.Conn) >= 1<<32 || uint64(in.Seq) >= 1<<32 {
		panic(fmt.Sprintf("kvmodel: connection %d place %d does not fit in a connPlace", in.Conn, in.Seq))
	}
	return connPlace(uint64(in.Conn)<<32 | uint64(in.Seq))
}

func (p connPlace) conn() int { return int(p >> 32) }
func (p connPlace) seq() int  { return int(p & (1<<32 - 1)) }

// lastOf returns the place of in's connection's last command in st, or 0.
func (st kvState) lastOf(in Input) int {
	if in.Client < len(st.Last) && st.Last[in.Client].conn() == in.Conn {
		return st.Last[in.Client].seq()
	}
	return 0
}

// ordered returns the state after in: st with in's place recorded, in a
// state of its own, since porcupine keeps earlier states (st's Last is
// never written). porcupine takes states as interfaces, and a kvState
// does not fit in one: the state is handed over as a pointer, and when it
// needs a new Last, the state and its Last are one allocation, not two,
// for as many clients as the simulator runs (every step porcupine's
// search accepts comes here).
func (st kvState) ordered(in Input) *kvState {
	var cur connPlace
	if in.Conn != 0 && in.Client < len(st.Last) {
		cur = st.Last[in.Client]
	}
	if in.Conn == 0 || placeOf(in) <= cur {
		return boxed(st)
	}
	n := max(len(st.Last), in.Client+1)
	var next *kvState
	var last []connPlace
	if n <= len(stateWithPlaces{}.places) {
		b := &stateWithPlaces{kvState: st}
		next, last = &b.kvState, b.places[:n]
	} else {
		next, last = boxed(st), make([]connPlace, n)
	}
	copy(last, st.Last)
	last[in.Client] = placeOf(in)
	next.Last = last
	return next
}

// boxed returns a copy of st of its own. (Returning &st from ordered would
// move its argument to the heap on every path, the one that allocates a
// stateWithPlaces too.)
func boxed(st kvState) *kvState {
	p := new(kvState)
	*p = st
	return p
}

// stateWithPlaces is a state with room for its Last beside it.
type stateWithPlaces struct {
	kvState
	places [8]connPlace
}

// Model is the specification each key's history must be explained by:
// a single register with Redis's string commands, written independently of
// package kv so the two can disagree.
var Model = porcupine.Model{
	Partition: func(ops []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, op := range ops {
			k := op.Input.(Input).Key
			byKey[k] = append(byKey[k], op)
		}
		keys := make([]string, 0, len(byKey))
		for k := range byKey {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return &kvState{} },
	Step: func(state, input, output any) (bool, any) {
		ok, next := step(*state.(*kvState), input.(Input), output.(Output))
		if !ok {
			// porcupine drops a refused step's state: boxing it in an
			// interface would allocate for nothing, in the inner loop of
			// its search.
			return false, state
		}
		return true, next
	},
	// Hash spreads porcupine's cache: without it, every state reached
	// with the same set of operations shares one bucket, scanned linearly.
	// It only places states in buckets (Equal decides), so the words of
	// a state are mixed a word at a time, not a byte.
	Hash: func(state any) uint64 {
		st := state.(*kvState)
		h := fnvString(fnvOffset, st.Value)
		exists := byte(0)
		if st.Exists {
			exists = 1
		}
		h = fnvByte(h, exists)
		h = mixWord(h, uint64(st.Lo^st.Hi))
		for _, p := range st.Last {
			h = mixWord(h, uint64(p))
		}
		return h
	},
	Equal: func(a, b any) bool {
		x, y := a.(*kvState), b.(*kvState)
		return x.Exists == y.Exists && x.Value == y.Value && x.Lo == y.Lo && x.Hi == y.Hi && x.Down == y.Down && x.TTL == y.TTL && slices.Equal(x.Last, y.Last)
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(Input), output.(Output)
		call := strings.TrimSpace(in.Cmd + " " + in.Key + " " + in.Value)
		if in.TTL != 0 {
			call += fmt.Sprintf(" PX %s", time.Duration(in.TTL))
		}
		if in.Conn != 0 {
			call = fmt.Sprintf("[conn %d #%d] %s", in.Conn, in.Seq, call)
		}
		switch {
		case out.Unknown:
			return call + " -> unknown"
		case out.Err != "":
			return call + " -> " + out.Err
		case out.Nil:
			return call + " -> nil"
		case in.Cmd == "get" || in.Cmd == "getdel" || in.Cmd == "audit":
			return fmt.Sprintf("%s -> %q", call, out.Value)
		case in.Cmd == "transfer" || in.Cmd == "cas":
			return call + " -> committed"
		case in.Cmd == "set" || in.Cmd == "setpx" || in.Cmd == "setnxpx":
			return call + " -> OK"
		}
		return fmt.Sprintf("%s -> %d", call, out.Int)
	},
	DescribeState: func(state any) string {
		st := state.(*kvState)
		if !st.Exists {
			return "(absent)"
		}
		if st.Hi != 0 {
			return fmt.Sprintf("%q expiring in [%s, %s]", st.Value, time.Duration(st.Lo), time.Duration(st.Hi))
		}
		return strconv.Quote(st.Value)
	},
}

// step judges one command against a key's state and returns the state
// after it. The connection order is recorded only once the command is
// accepted: a refused step's state is thrown away, so copying Last for it
// would be waste. effect and stepUncertain leave Last alone, so ordering
// after them is ordering before them. A refused step has no state.
func step(st kvState, in Input, out Output) (bool, *kvState) {
	st, uncertain := st.settle(in)
	if out.Unknown {
		if uncertain {
			// It may have met the key expired or not; if not, and it
			// had no effect, porcupine may place it after all else.
			st = st.expired()
		}
		return true, effect(st, in).ordered(in)
	}
	if in.Conn != 0 && in.Seq < st.lastOf(in) {
		return false, nil // a later command of its connection came first
	}
	var ok bool
	if uncertain {
		ok, st = stepUncertain(st, in, out)
	} else {
		ok, st = stepCertain(st, in, out)
	}
	if !ok {
		return false, nil
	}
	return true, st.ordered(in)
}

// stepCertain judges a command that met the key surely live or surely
// gone, as settle found it.
func stepCertain(st kvState, in Input, out Output) (bool, kvState) {
	switch in.Cmd {
	case "get":
		return out.Nil == !st.Exists && out.Value == st.Value, st
	case "getdel":
		return out.Nil == !st.Exists && out.Value == st.Value, effect(st, in)
	case "set", "setpx":
		return true, effect(st, in)
	case "setnx":
		return out.Int == boolInt(!st.Exists), effect(st, in)
	case "setnxpx":
		return out.Nil == st.Exists, effect(st, in)
	case "pttl":
		return pttlFits(st, out), st
	case "del", "exists":
		return out.Int == boolInt(st.Exists), effect(st, in)
	case "strlen":
		return out.Int == int64(len(st.Value)), st
	case "append":
		next := effect(st, in)
		return out.Int == int64(len(next.Value)), next
	case "incr":
		if st.Exists && !isInteger(st.Value) {
			return out.Err != "", st
		}
		next := effect(st, in)
		return out.Err == "" && isDecimal(next.Value, out.Int), next
	case "transfer":
		return true, effect(st, in)
	case "audit":
		return out.Value == strings.Join(balances(st), ","), st
	case "cas":
		old, _, _ := strings.Cut(in.Value, " ")
		return counter(st) == old, effect(st, in)
	}
	return false, st
}

// effect is what in does to a key's value, whatever it returned.
func effect(st kvState, in Input) kvState {
	set := func(exists bool, value string) kvState {
		st.Exists, st.Value = exists, value
		return st
	}
	switch in.Cmd {
	case "set":
		st.Lo, st.Hi, st.Down, st.TTL = 0, 0, 0, 0
		return set(true, in.Value)
	case "setpx":
		return set(true, in.Value).withTTL(in)
	case "setnx":
		if !st.Exists {
			st.Lo, st.Hi, st.Down, st.TTL = 0, 0, 0, 0
			return set(true, in.Value)
		}
	case "setnxpx":
		if !st.Exists {
			return set(true, in.Value).withTTL(in)
		}
	case "del", "getdel":
		return st.expired()
	case "append":
		return set(true, st.Value+in.Value)
	case "transfer":
		return set(true, transfer(st, in.Value))
	case "cas":
		if old, new, _ := strings.Cut(in.Value, " "); counter(st) == old {
			return set(true, new)
		}
	case "incr":
		if !st.Exists {
			st.Lo, st.Hi, st.Down, st.TTL = 0, 0, 0, 0
			return set(true, "1")
		}
		if n, err := strconv.ParseInt(st.Value, 10, 64); err == nil && isInteger(st.Value) && n < math.MaxInt64 {
			return set(true, strconv.FormatInt(n+1, 10))
		}
	}
	return st
}

// stepUncertain judges a command that met the key while it may or may
// not have expired: its output says which, and the state follows.
func stepUncertain(st kvState, in Input, out Output) (bool, kvState) {
	gone := st.expired()
	switch in.Cmd {
	case "get":
		if out.Nil {
			return true, gone
		}
		return out.Value == st.Value, st
	case "getdel":
		return out.Nil || out.Value == st.Value, gone
	case "exists":
		if out.Int == 0 {
			return true, gone
		}
		return out.Int == 1, st
	case "strlen":
		if out.Int == 0 && st.Value != "" {
			return true, gone
		}
		return out.Int == int64(len(st.Value)), st
	case "pttl":
		if out.Int == -2 {
			return true, gone
		}
		return pttlFits(st, out), st
	case "del":
		return out.Int == 0 || out.Int == 1, gone
	case "set", "setpx":
		return true, effect(st, in)
	case "setnx":
		if out.Int == 1 {
			return true, effect(gone, in)
		}
		return out.Int == 0, st
	case "setnxpx":
		if !out.Nil {
			return true, effect(gone, in)
		}
		return true, st
	case "incr", "append":
		// Whether it met the key expired shows in its output only if the
		// value was not "0" (or empty): the workload keeps TTLs on keys
		// of their own, so these never meet one.
		live, dead := effect(st, in), effect(gone, in)
		switch {
		case in.Cmd == "incr" && out.Err == "" && isDecimal(live.Value, out.Int) && live.Value != dead.Value:
			return true, live
		case in.Cmd == "incr" && out.Err == "" && isDecimal(dead.Value, out.Int) && live.Value != dead.Value:
			return true, dead
		case in.Cmd == "append" && out.Int == int64(len(live.Value)) && len(live.Value) != len(dead.Value):
			return true, live
		case in.Cmd == "append" && out.Int == int64(len(dead.Value)) && len(live.Value) != len(dead.Value):
			return true, dead
		}
		return false, st
	}
	return false, st
}

// pttlFits checks PTTL's reply against a live key's state: -2 absent,
// -1 no TTL, else a time left no longer than the TTL it was given.
func pttlFits(st kvState, out Output) bool {
	switch {
	case !st.Exists:
		return out.Int == -2
	case st.Hi == 0:
		return out.Int == -1
	}
	return out.Int >= 0 && out.Int*int64(time.Millisecond) <= st.TTL
}

// isInteger is Redis's test for an integer value: canonical decimal form.
func isInteger(s string) bool {
	// ParseInt allocates the error it returns, and most values the
	// workload writes are not integers: a string with a character that
	// is no digit, or a leading zero, is not canonical, and is refused
	// before it is parsed.
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || (digits[0] == '0' && s != "0") {
		return false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && isDecimal(s, n)
}

// isDecimal says whether s is strconv.FormatInt(n, 10), without the
// allocation FormatInt makes for n past 99: incr's step asks it at every
// try of porcupine's search.
func isDecimal(s string, n int64) bool {
	var buf [20]byte // "-9223372036854775808"
	return string(strconv.AppendInt(buf[:0], n, 10)) == s
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// Transactions. A transaction's keys are one register of the model, so
// that porcupine checks it whole: the accounts of the transfer workload
// are the register "accounts" (Key), whose value is every balance,
// comma-separated, AccountsN of them ("" is all zero).
//
//   - transfer: Value "a b x" moves x from account a to account b
//     (MULTI, DECRBY, INCRBY, EXEC).
//   - audit: a read-only transaction of every balance; Output.Value is
//     what it read, in the same form.
//   - cas: a WATCH compare-and-set of a counter that committed: Value
//     "old new", the value read under WATCH (a missing key reads 0) and
//     the one written.

// AccountsN is the number of accounts in the "accounts" register.
const AccountsN = 4

func balances(st kvState) []string {
	out := make([]string, AccountsN)
	for i := range out {
		out[i] = "0"
	}
	if st.Exists && st.Value != "" {
		copy(out, strings.Split(st.Value, ","))
	}
	return out
}

func transfer(st kvState, move string) string {
	b := balances(st)
	var from, to int
	var x int64
	if _, err := fmt.Sscanf(move, "%d %d %d", &from, &to, &x); err != nil || from >= AccountsN || to >= AccountsN {
		return st.Value // a malformed transfer fails its step
	}
	add := func(i int, d int64) {
		n, _ := strconv.ParseInt(b[i], 10, 64)
		b[i] = strconv.FormatInt(n+d, 10)
	}
	add(from, -x)
	add(to, x)
	return strings.Join(b, ",")
}

// counter is a compare-and-set key's value as its clients read it.
func counter(st kvState) string {
	if !st.Exists {
		return "0"
	}
	return st.Value
}

// FNV-1a inline: hash/fnv's hasher escapes to the heap at every call, and
// porcupine hashes every state it caches.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvByte(h uint64, b byte) uint64 { return (h ^ uint64(b)) * fnvPrime }

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = fnvByte(h, s[i])
	}
	return h
}

// mixWord adds v to h as FNV-1a would a byte, then folds the high bits
// down, so that a difference in v's high bits reaches every bit of h.
func mixWord(h, v uint64) uint64 {
	h = (h ^ v) * fnvPrime
	return h ^ h>>32
}
