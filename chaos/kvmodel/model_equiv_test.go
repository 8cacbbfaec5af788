package kvmodel

import (
	"fmt"
	"math"
	"strconv"
	"testing"

	"github.com/anishathalye/porcupine"
	"pgregory.net/rapid"
)

// The model must judge exactly as the reference (model_ref_test.go) does:
// it was made cheaper, not different. These properties draw small
// histories over the whole command set, with pipelined connections,
// unknown outcomes and expiry windows, and compare the two.

var equivCmds = []string{"get", "getdel", "set", "setpx", "setnx", "setnxpx", "pttl", "del", "exists", "strlen", "append", "incr", "transfer", "audit", "cas"}

// equivValues is small so that reads often match what was written.
var equivValues = []string{"", "1", "2", "a", "99", "100", "-1", "01", "9223372036854775807"}

// conns hands out connections and their places: each client has up to two
// connections, and a connection's places count from 1.
type conns struct{ sent map[int]int }

func (c *conns) draw(t *rapid.T, client int) (conn, seq int) {
	switch rapid.IntRange(0, 2).Draw(t, "conn") {
	case 0:
		return 0, 0
	case 1:
		conn = 1 + 2*client
	default:
		conn = 2 + 2*client
	}
	c.sent[conn]++
	return conn, c.sent[conn]
}

func drawOp(t *rapid.T, c *conns, clients int) porcupine.Operation {
	client := rapid.IntRange(0, clients-1).Draw(t, "client")
	conn, seq := c.draw(t, client)
	in := Input{Cmd: rapid.SampledFrom(equivCmds).Draw(t, "cmd"), Key: "k", Conn: conn, Seq: seq, Client: client}
	in.Value = rapid.SampledFrom(equivValues).Draw(t, "value")
	switch in.Cmd {
	case "transfer":
		in.Value = fmt.Sprintf("%d %d %d", rapid.IntRange(0, AccountsN).Draw(t, "from"), rapid.IntRange(0, AccountsN-1).Draw(t, "to"), rapid.IntRange(-2, 3).Draw(t, "x"))
	case "cas":
		in.Value = rapid.SampledFrom([]string{"0", "1", "a"}).Draw(t, "old") + " " + in.Value
	case "setpx", "setnxpx":
		in.TTL = int64(rapid.IntRange(1, 20).Draw(t, "ttl"))
		in.SureFor = in.TTL - int64(rapid.IntRange(0, 2).Draw(t, "drift"))
		in.GoneAfter = in.TTL + int64(rapid.IntRange(0, 10).Draw(t, "late"))
	}
	in.Call = int64(rapid.IntRange(0, 40).Draw(t, "call"))
	in.Return = in.Call + int64(rapid.IntRange(0, 15).Draw(t, "took"))
	in.Down = int64(rapid.IntRange(0, 3).Draw(t, "down"))
	var out Output
	if IsWrite(in.Cmd) && rapid.IntRange(0, 4).Draw(t, "unknown") == 0 {
		out.Unknown = true
		in.Return = math.MaxInt64
	} else {
		out.Nil = rapid.Bool().Draw(t, "nil")
		out.Value = rapid.SampledFrom(append([]string{"0,0,0,0", "1,-1,0,0"}, equivValues...)).Draw(t, "out")
		out.Int = int64(rapid.IntRange(-2, 3).Draw(t, "int"))
		if in.Cmd == "incr" && rapid.IntRange(0, 3).Draw(t, "err") == 0 {
			out.Err = "ERR value is not an integer or out of range"
		}
	}
	return porcupine.Operation{ClientId: client, Input: in, Call: in.Call, Output: out, Return: in.Return}
}

func toRef(st kvState) refState {
	r := refState{Exists: st.Exists, Value: st.Value, Lo: st.Lo, Hi: st.Hi, Down: st.Down, TTL: st.TTL}
	for _, p := range st.Last {
		r.Last = append(r.Last, refConnPlace{p.conn(), p.seq()})
	}
	return r
}

// TestStepMatchesReference: step by step, from any state either model
// reaches, both accept the same commands and reach the same state, and
// Equal agrees on every pair of states reached.
// drawClients is three clients mostly, so that operations meet and
// verdicts differ, and sometimes twelve, past the eight connection places
// a state keeps beside it (stateWithPlaces), so that the path that
// allocates a state's Last apart runs too.
func drawClients(t *rapid.T) int {
	if rapid.IntRange(0, 3).Draw(t, "many clients") == 0 {
		return 12
	}
	return 3
}

func TestStepMatchesReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := &conns{sent: map[int]int{}}
		clients := drawClients(t)
		st, ref := Model.Init(), refModel.Init()
		var seen []any
		var seenRef []any
		for range rapid.IntRange(1, 30).Draw(t, "n") {
			op := drawOp(t, c, clients)
			ok, next := Model.Step(st, op.Input, op.Output)
			okRef, nextRef := refModel.Step(ref, op.Input, op.Output)
			if ok != okRef {
				t.Fatalf("%s: accepted %v, the reference %v", Model.DescribeOperation(op.Input, op.Output), ok, okRef)
			}
			if !ok {
				continue
			}
			if !refModel.Equal(toRef(*next.(*kvState)), nextRef) {
				t.Fatalf("%s: state %+v, the reference %+v", Model.DescribeOperation(op.Input, op.Output), next, nextRef)
			}
			st, ref = next, nextRef
			seen, seenRef = append(seen, st), append(seenRef, ref)
		}
		for i := range seen {
			for j := range seen {
				eq := Model.Equal(seen[i], seen[j])
				if eq != refModel.Equal(seenRef[i], seenRef[j]) {
					t.Fatalf("Equal(%+v, %+v) = %v, the reference disagrees", seen[i], seen[j], eq)
				}
				if eq && Model.Hash(seen[i]) != Model.Hash(seen[j]) {
					t.Fatalf("equal states %+v, %+v hash apart", seen[i], seen[j])
				}
			}
		}
	})
}

// TestVerdictMatchesReference: porcupine's verdict on a small history is
// the same with either model. The histories are drawn so that both
// verdicts are common (the test logs how many of each).
func TestVerdictMatchesReference(t *testing.T) {
	var legal, illegal int
	rapid.Check(t, func(t *rapid.T) {
		c := &conns{sent: map[int]int{}}
		clients := drawClients(t)
		ops := make([]porcupine.Operation, rapid.IntRange(1, 8).Draw(t, "n"))
		for i := range ops {
			ops[i] = drawOp(t, c, clients)
		}
		got, want := porcupine.CheckOperations(Model, ops), porcupine.CheckOperations(refModel, ops)
		if got != want {
			t.Fatalf("verdict %v, the reference %v", got, want)
		}
		if got {
			legal++
		} else {
			illegal++
		}
	})
	t.Logf("%d legal histories, %d illegal", legal, illegal)
	if legal == 0 || illegal == 0 {
		t.Errorf("the histories drawn are all of one verdict (%d legal, %d illegal): the property tests nothing", legal, illegal)
	}
}

// TestIsIntegerMatchesReference: the allocation-free test reads integers
// as strconv's round trip does, for every string of a small alphabet.
func TestIsIntegerMatchesReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.StringOf(rapid.SampledFrom([]rune("-+0129_ x"))).Draw(t, "s")
		if isInteger(s) != refIsInteger(s) {
			t.Fatalf("isInteger(%q) = %v", s, isInteger(s))
		}
		n := rapid.Int64().Draw(t, "n")
		if !isDecimal(strconv.FormatInt(n, 10), n) || isDecimal(s, n) != (strconv.FormatInt(n, 10) == s) {
			t.Fatalf("isDecimal disagrees with FormatInt for %q, %d", s, n)
		}
	})
}
