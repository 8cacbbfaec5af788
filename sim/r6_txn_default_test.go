package sim

import "testing"

// r6 review (MEDIUM): since 5c17a27 the transaction workload is off by
// default (TxnPercent 0) and cmd/seshat-sweep never sets it, so the sweep
// the "done when" asks for ("clean with transactions on") runs
// no transaction at all; porcupine also no longer sees transfers or
// audits. A default run must run transactions.
func TestR6DefaultRunRunsTransactions(t *testing.T) {
	res := Run(Options{Seed: 1})
	if res.Failure != nil {
		t.Fatalf("seed 1: %v", res.Failure)
	}
	if res.Stats.TxnsCommitted == 0 {
		t.Fatalf("a default simulator run committed %d transactions: the sweep does not exercise MULTI/EXEC/WATCH", res.Stats.TxnsCommitted)
	}
}
