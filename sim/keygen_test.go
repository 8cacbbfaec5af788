package sim

import (
	"math"
	"strings"
	"testing"
)

func TestKeyGensRetireAtTheBound(t *testing.T) {
	var k keyGens
	if got := k.name(2); got != "k2" {
		t.Fatalf("generation 0 of key 2 is %q, want k2", got)
	}
	for range unknownPerKey - 1 {
		k.noteUnknown("k2")
	}
	k.noteUnknown("k1") // never named: no key of the workload
	if got := k.name(2); got != "k2" {
		t.Fatalf("retired before the bound: %q", got)
	}
	k.noteUnknown("k2")
	if got := k.name(2); got != "k2.1" {
		t.Fatalf("after %d unknown writes key 2 is %q, want k2.1", unknownPerKey, got)
	}
	k.noteUnknown("k2") // a late one to the retired name counts for nothing
	if k.unknown[2] != 0 {
		t.Fatalf("the retired name's unknown write counted for the new one")
	}
}

// TestHeldSeed10KeysStayCheckable: held seed 10 with transactions on
// gave key k2 20 unknown writes, and porcupine a minute on it alone. With
// keys retired, no key of the single-key workload gathers more than the
// bound plus what one crash leaves unanswered at once.
func TestHeldSeed10KeysStayCheckable(t *testing.T) {
	res := Run(held(10))
	if res.Failure != nil {
		t.Fatalf("seed 10: %v", res.Failure)
	}
	unknown := map[string]int{}
	for _, op := range res.hist.ops {
		if key := op.Input.(opInput).Key; op.Return == math.MaxInt64 && strings.HasPrefix(key, "k") {
			unknown[key]++
		}
	}
	worst, most := "", 0
	for k, n := range unknown {
		if n > most || n == most && k < worst {
			worst, most = k, n
		}
	}
	t.Logf("most unknown writes on one key: %d (%s); transactions committed: %d", most, worst, res.Stats.TxnsCommitted)
	if most > 12 || res.Stats.TxnsCommitted == 0 {
		t.Fatalf("key %s has %d writes of unknown outcome (%d transactions committed)", worst, most, res.Stats.TxnsCommitted)
	}
}
