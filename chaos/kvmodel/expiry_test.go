package kvmodel

import (
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// TestExpiryWindows: a key set with PX is surely there for reads that
// end before call+TTL, surely gone for reads that begin after
// return+GoneAfter, and either in between.
func TestExpiryWindows(t *testing.T) {
	ms := func(n int) int64 { return int64(time.Duration(n) * time.Millisecond) }
	set := porcupine.Operation{ClientId: 1, Call: 0, Return: ms(10),
		Input:  Input{Cmd: "setpx", Key: "k", Value: "v", TTL: ms(1000), SureFor: ms(950), GoneAfter: ms(3000)},
		Output: Output{}}
	get := func(call, ret int, out Output) porcupine.Operation {
		return porcupine.Operation{ClientId: 2, Call: ms(call), Return: ms(ret), Input: Input{Cmd: "get", Key: "k"}, Output: out}
	}
	fill := func(ops ...porcupine.Operation) []porcupine.Operation {
		for i := range ops {
			in := ops[i].Input.(Input)
			in.Call, in.Return = ops[i].Call, ops[i].Return
			ops[i].Input = in
		}
		return ops
	}
	nilOut, vOut := Output{Nil: true}, Output{Value: "v"}
	for _, tc := range []struct {
		name  string
		ops   []porcupine.Operation
		legal bool
	}{
		{"present early", fill(set, get(100, 200, vOut)), true},
		{"gone early", fill(set, get(100, 200, nilOut)), false},
		{"gone in the window", fill(set, get(1000, 1100, nilOut)), true},
		{"present in the window", fill(set, get(2000, 2100, vOut)), true},
		{"gone then present", fill(set, get(1000, 1100, nilOut), get(1200, 1300, vOut)), false},
		{"present past the late bound", fill(set, get(3100, 3200, vOut)), false},
		{"gone past the late bound", fill(set, get(3100, 3200, nilOut)), true},
	} {
		if got := porcupine.CheckOperations(Model, tc.ops); got != tc.legal {
			t.Errorf("%s: legal=%v, want %v", tc.name, got, tc.legal)
		}
	}
}
