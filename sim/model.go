package sim

import (
	"cmp"
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

// opInput is one command as the client sent it. Conn and Seq place it in
// its connection's order (Seq counts from 1 per connection); a command
// sent on its own (Conn 0) has no place to keep.
type opInput struct {
	Cmd   string
	Key   string
	Value string
	Conn  int
	Seq   int
}

// opOutput is what came back. Unknown marks a write whose fate is not
// known (no reply, or an error that says so).
type opOutput struct {
	Unknown bool
	Nil     bool
	Value   string
	Int     int64
	Err     string
}

func isWrite(cmd string) bool {
	switch cmd {
	case "get", "exists", "strlen":
		return false
	}
	return true
}

type outcome int

const (
	outcomeDone    outcome = iota // it happened, with this output
	outcomeNotDone                // refused before it could happen
	outcomeUnknown                // it may or may not have happened
)

// parseOutput reads a RESP reply as the output of in. Error replies say
// which outcome they mean by their code: UNKNOWN may have happened;
// NOQUORUM, TRYAGAIN, LOADING, NOSPACE and a stopped node did not; a data error (not an
// integer) happened, as a refusal that the model must explain.
func parseOutput(in opInput, reply []byte) (opOutput, outcome, error) {
	r, rest, err := resp.ParseReply(reply)
	if err != nil {
		return opOutput{}, outcomeDone, err
	}
	if len(rest) != 0 {
		return opOutput{}, outcomeDone, fmt.Errorf("%d bytes after the reply", len(rest))
	}
	if r.Kind == resp.KindError {
		switch {
		case strings.HasPrefix(r.Str, "UNKNOWN"):
			return opOutput{Unknown: true}, outcomeUnknown, nil
		case strings.HasPrefix(r.Str, "NOQUORUM"), strings.HasPrefix(r.Str, "TRYAGAIN"), strings.HasPrefix(r.Str, "LOADING"), strings.HasPrefix(r.Str, "ERR node stopped"), strings.HasPrefix(r.Str, "NOSPACE"):
			return opOutput{}, outcomeNotDone, nil
		case r.Str == resp.ErrorReply(kv.ErrNotInteger) && in.Cmd == "incr":
			return opOutput{Err: r.Str}, outcomeDone, nil
		}
		return opOutput{}, outcomeDone, fmt.Errorf("unexpected error reply %q", r.Str)
	}
	switch in.Cmd {
	case "get", "getdel":
		if r.Null {
			return opOutput{Nil: true}, outcomeDone, nil
		}
		if r.Kind == resp.KindBulk {
			return opOutput{Value: r.Str}, outcomeDone, nil
		}
	case "set":
		if r.Kind == resp.KindSimple && r.Str == "OK" {
			return opOutput{}, outcomeDone, nil
		}
	case "incr", "del", "append", "setnx", "exists", "strlen":
		if r.Kind == resp.KindInt {
			return opOutput{Int: r.Int}, outcomeDone, nil
		}
	}
	return opOutput{}, outcomeDone, fmt.Errorf("reply of the wrong kind for %s", in.Cmd)
}

// history is every client operation with a known outcome or an unknown
// write, in the order they returned.
type history struct {
	ops []porcupine.Operation
}

// add records an operation. ret < 0 means it never returned.
func (h *history) add(client int, in opInput, out opOutput, call, ret time.Duration) {
	r := int64(ret)
	if ret < 0 {
		r = math.MaxInt64
	}
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: int64(call), Output: out, Return: r})
}

// kvState is one key's value, as the model sees it, and for each
// connection that touched the key, the place of its last command that
// took effect in the model.
//
// A connection's commands run in the order it sent them (Redis's promise
// to a pipelining client), and porcupine, which sees a pipeline's
// commands as concurrent, would allow any order: so Step refuses a
// command whose connection has already had a later command take effect.
// The order is checked per key, since porcupine checks each key alone.
// A write whose outcome is unknown is exempt: its node may have answered
// UNKNOWN and let the connection's next command run, and the write can
// still commit after it.
type kvState struct {
	Exists bool
	Value  string
	Last   []connPlace // by conn
}

type connPlace struct{ conn, seq int }

// lastOf returns the place of conn's last command in st, or 0.
func (st kvState) lastOf(conn int) int {
	i, found := slices.BinarySearchFunc(st.Last, conn, func(p connPlace, c int) int { return cmp.Compare(p.conn, c) })
	if !found {
		return 0
	}
	return st.Last[i].seq
}

// ordered returns st with in's place recorded; st is left as it was, since
// porcupine keeps earlier states.
func (st kvState) ordered(in opInput) kvState {
	if in.Conn == 0 || in.Seq <= st.lastOf(in.Conn) {
		return st
	}
	i, found := slices.BinarySearchFunc(st.Last, in.Conn, func(p connPlace, c int) int { return cmp.Compare(p.conn, c) })
	last := slices.Clone(st.Last)
	if found {
		last[i].seq = in.Seq
	} else {
		last = slices.Insert(last, i, connPlace{in.Conn, in.Seq})
	}
	st.Last = last
	return st
}

// kvModel is the specification each key's history must be explained by:
// a single register with Redis's string commands, written independently of
// package kv so the two can disagree.
var kvModel = porcupine.Model{
	Partition: func(ops []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, op := range ops {
			k := op.Input.(opInput).Key
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
	Init: func() any { return kvState{} },
	Step: func(state, input, output any) (bool, any) {
		st, in, out := state.(kvState), input.(opInput), output.(opOutput)
		next := effect(st, in).ordered(in)
		if out.Unknown {
			return true, next
		}
		if in.Conn != 0 && in.Seq < st.lastOf(in.Conn) {
			return false, st // a later command of its connection came first
		}
		st = st.ordered(in)
		switch in.Cmd {
		case "get":
			return out.Nil == !st.Exists && out.Value == st.Value, st
		case "getdel":
			return out.Nil == !st.Exists && out.Value == st.Value, next
		case "set":
			return true, next
		case "setnx":
			return out.Int == boolInt(!st.Exists), next
		case "del", "exists":
			return out.Int == boolInt(st.Exists), next
		case "strlen":
			return out.Int == int64(len(st.Value)), st
		case "append":
			return out.Int == int64(len(next.Value)), next
		case "incr":
			if st.Exists && !isInteger(st.Value) {
				return out.Err != "", st
			}
			return out.Err == "" && strconv.FormatInt(out.Int, 10) == next.Value, next
		}
		return false, st
	},
	Equal: func(a, b any) bool {
		x, y := a.(kvState), b.(kvState)
		return x.Exists == y.Exists && x.Value == y.Value && slices.Equal(x.Last, y.Last)
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(opInput), output.(opOutput)
		call := strings.TrimSpace(in.Cmd + " " + in.Key + " " + in.Value)
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
		case in.Cmd == "get" || in.Cmd == "getdel":
			return fmt.Sprintf("%s -> %q", call, out.Value)
		case in.Cmd == "set":
			return call + " -> OK"
		}
		return fmt.Sprintf("%s -> %d", call, out.Int)
	},
	DescribeState: func(state any) string {
		st := state.(kvState)
		if !st.Exists {
			return "(absent)"
		}
		return strconv.Quote(st.Value)
	},
}

// effect is what in does to a key's value, whatever it returned.
func effect(st kvState, in opInput) kvState {
	set := func(exists bool, value string) kvState {
		st.Exists, st.Value = exists, value
		return st
	}
	switch in.Cmd {
	case "set":
		return set(true, in.Value)
	case "setnx":
		if !st.Exists {
			return set(true, in.Value)
		}
	case "del", "getdel":
		return set(false, "")
	case "append":
		return set(true, st.Value+in.Value)
	case "incr":
		if !st.Exists {
			return set(true, "1")
		}
		if n, err := strconv.ParseInt(st.Value, 10, 64); err == nil && isInteger(st.Value) && n < math.MaxInt64 {
			return set(true, strconv.FormatInt(n+1, 10))
		}
	}
	return st
}

// isInteger is Redis's test for an integer value: canonical decimal form.
func isInteger(s string) bool {
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && strconv.FormatInt(n, 10) == s
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
