package kvmodel

import (
	"testing"

	"github.com/anishathalye/porcupine"
	"pgregory.net/rapid"
)

// The equivalence properties draw three clients, so a state's Last never
// outgrows the eight places kept beside it (stateWithPlaces). These draw
// up to twelve, reaching the path that allocates Last apart, and states
// whose Last grows from inside the array to past it.
func TestStepMatchesReferenceManyClients(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := &conns{sent: map[int]int{}}
		st, ref := Model.Init(), refModel.Init()
		var seen, seenRef []any
		for range rapid.IntRange(1, 30).Draw(t, "n") {
			op := drawOp(t, c, 12)
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

func TestVerdictMatchesReferenceManyClients(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := &conns{sent: map[int]int{}}
		ops := make([]porcupine.Operation, rapid.IntRange(1, 8).Draw(t, "n"))
		for i := range ops {
			ops[i] = drawOp(t, c, 12)
		}
		if got, want := porcupine.CheckOperations(Model, ops), porcupine.CheckOperations(refModel, ops); got != want {
			t.Fatalf("verdict %v, the reference %v", got, want)
		}
	})
}
