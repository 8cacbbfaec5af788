package kvmodel

// The model as it was before its Step was made cheaper (commit 21f10c0),
// kept as the reference the faster one must agree with, verdict for
// verdict (model_equiv_test.go). Only Init, Step and Equal matter here:
// Hash changes porcupine's speed, never its answer.

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

type refState struct {
	Exists bool
	Value  string
	Last   []refConnPlace // by client
	Lo, Hi int64          // the expiry window; Hi 0: no TTL
	Down   int64
	TTL    int64
}

// settle applies what the clock decides for in: the key expired for sure
// before in began, or it may have (uncertain), or not.
func (st refState) settle(in Input) (refState, bool) {
	switch {
	case st.Hi == 0 || !st.Exists || in.Return < st.Lo:
		return st, false
	case st.Hi != math.MaxInt64 && in.Call-(in.Down-st.Down) > st.Hi:
		return st.expired(), false
	}
	return st, true
}

func (st refState) expired() refState {
	st.Exists, st.Value, st.Lo, st.Hi, st.Down, st.TTL = false, "", 0, 0, 0, 0
	return st
}

// withTTL gives the key in's expiry window.
func (st refState) withTTL(in Input) refState {
	st.Lo, st.Hi, st.Down, st.TTL = in.Call+in.SureFor, math.MaxInt64, in.Down, in.TTL
	if in.Return != math.MaxInt64 && in.GoneAfter > 0 {
		st.Hi = in.Return + in.GoneAfter
	}
	return st
}

type refConnPlace struct{ conn, seq int }

// lastOf returns the place of in's connection's last command in st, or 0.
func (st refState) lastOf(in Input) int {
	if in.Client < len(st.Last) && st.Last[in.Client].conn == in.Conn {
		return st.Last[in.Client].seq
	}
	return 0
}

// ordered returns st with in's place recorded; st is left as it was, since
// porcupine keeps earlier states.
func (st refState) ordered(in Input) refState {
	if in.Conn == 0 {
		return st
	}
	var cur refConnPlace
	if in.Client < len(st.Last) {
		cur = st.Last[in.Client]
	}
	if in.Conn < cur.conn || (in.Conn == cur.conn && in.Seq <= cur.seq) {
		return st
	}
	last := make([]refConnPlace, max(len(st.Last), in.Client+1))
	copy(last, st.Last)
	last[in.Client] = refConnPlace{in.Conn, in.Seq}
	st.Last = last
	return st
}

// Model is the specification each key's history must be explained by:
// a single register with Redis's string commands, written independently of
// package kv so the two can disagree.
var refModel = porcupine.Model{
	Partition: Model.Partition,
	Init:      func() any { return refState{} },
	Step: func(state, input, output any) (bool, any) {
		st, in, out := state.(refState), input.(Input), output.(Output)
		st, uncertain := st.settle(in)
		if uncertain {
			if out.Unknown {
				// It may have met the key expired or not; if not, and it
				// had no effect, porcupine may place it after all else.
				return true, refEffect(st.expired(), in).ordered(in)
			}
			if in.Conn != 0 && in.Seq < st.lastOf(in) {
				return false, st
			}
			return refStepUncertain(st.ordered(in), in, out)
		}
		if out.Unknown {
			return true, refEffect(st, in).ordered(in)
		}
		if in.Conn != 0 && in.Seq < st.lastOf(in) {
			return false, st // a later command of its connection came first
		}
		// One copy of Last per step, and no effect for a read: this is
		// the inner loop of porcupine's search. effect leaves Last alone,
		// so refEffect(st.ordered(in)) is refEffect(st).ordered(in).
		st = st.ordered(in)
		switch in.Cmd {
		case "get":
			return out.Nil == !st.Exists && out.Value == st.Value, st
		case "getdel":
			return out.Nil == !st.Exists && out.Value == st.Value, refEffect(st, in)
		case "set", "setpx":
			return true, refEffect(st, in)
		case "setnx":
			return out.Int == boolInt(!st.Exists), refEffect(st, in)
		case "setnxpx":
			return out.Nil == st.Exists, refEffect(st, in)
		case "pttl":
			return refPttlFits(st, out), st
		case "del", "exists":
			return out.Int == boolInt(st.Exists), refEffect(st, in)
		case "strlen":
			return out.Int == int64(len(st.Value)), st
		case "append":
			next := refEffect(st, in)
			return out.Int == int64(len(next.Value)), next
		case "incr":
			if st.Exists && !refIsInteger(st.Value) {
				return out.Err != "", st
			}
			next := refEffect(st, in)
			return out.Err == "" && strconv.FormatInt(out.Int, 10) == next.Value, next
		case "transfer":
			return true, refEffect(st, in)
		case "audit":
			return out.Value == strings.Join(refBalances(st), ","), st
		case "cas":
			old, _, _ := strings.Cut(in.Value, " ")
			return refCounter(st) == old, refEffect(st, in)
		}
		return false, st
	},
	Equal: func(a, b any) bool {
		x, y := a.(refState), b.(refState)
		return x.Exists == y.Exists && x.Value == y.Value && x.Lo == y.Lo && x.Hi == y.Hi && x.Down == y.Down && x.TTL == y.TTL && slices.Equal(x.Last, y.Last)
	},
}

// effect is what in does to a key's value, whatever it returned.
func refEffect(st refState, in Input) refState {
	set := func(exists bool, value string) refState {
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
		return set(true, refTransfer(st, in.Value))
	case "cas":
		if old, new, _ := strings.Cut(in.Value, " "); refCounter(st) == old {
			return set(true, new)
		}
	case "incr":
		if !st.Exists {
			st.Lo, st.Hi, st.Down, st.TTL = 0, 0, 0, 0
			return set(true, "1")
		}
		if n, err := strconv.ParseInt(st.Value, 10, 64); err == nil && refIsInteger(st.Value) && n < math.MaxInt64 {
			return set(true, strconv.FormatInt(n+1, 10))
		}
	}
	return st
}

// stepUncertain judges a command that met the key while it may or may
// not have expired: its output says which, and the state follows.
func refStepUncertain(st refState, in Input, out Output) (bool, refState) {
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
		return refPttlFits(st, out), st
	case "del":
		return out.Int == 0 || out.Int == 1, gone
	case "set", "setpx":
		return true, refEffect(st, in)
	case "setnx":
		if out.Int == 1 {
			return true, refEffect(gone, in)
		}
		return out.Int == 0, st
	case "setnxpx":
		if !out.Nil {
			return true, refEffect(gone, in)
		}
		return true, st
	case "incr", "append":
		// Whether it met the key expired shows in its output only if the
		// value was not "0" (or empty): the workload keeps TTLs on keys
		// of their own, so these never meet one.
		live, dead := refEffect(st, in), refEffect(gone, in)
		switch {
		case in.Cmd == "incr" && out.Err == "" && strconv.FormatInt(out.Int, 10) == live.Value && live.Value != dead.Value:
			return true, live
		case in.Cmd == "incr" && out.Err == "" && strconv.FormatInt(out.Int, 10) == dead.Value && live.Value != dead.Value:
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
func refPttlFits(st refState, out Output) bool {
	switch {
	case !st.Exists:
		return out.Int == -2
	case st.Hi == 0:
		return out.Int == -1
	}
	return out.Int >= 0 && out.Int*int64(time.Millisecond) <= st.TTL
}

// isInteger is Redis's test for an integer value: canonical decimal form.
func refIsInteger(s string) bool {
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && strconv.FormatInt(n, 10) == s
}

func refBalances(st refState) []string {
	out := make([]string, AccountsN)
	for i := range out {
		out[i] = "0"
	}
	if st.Exists && st.Value != "" {
		copy(out, strings.Split(st.Value, ","))
	}
	return out
}

func refTransfer(st refState, move string) string {
	b := refBalances(st)
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
func refCounter(st refState) string {
	if !st.Exists {
		return "0"
	}
	return st.Value
}

// FNV-1a inline: hash/fnv's hasher escapes to the heap at every call, and
