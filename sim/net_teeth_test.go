package sim

import (
	"testing"
	"time"
)

// held is a short swarm run whose network holds messages hard.
func held(seed uint64) Options {
	return Options{Seed: seed, Run: 30 * time.Second, FaultsEnd: 20 * time.Second,
		HoldPercent: 3, HoldCutPercent: 50, RedeliverPercent: 1, LongDelayPercent: 1}
}

// unheld is the same run with the network's long faults off.
func unheld(seed uint64) Options {
	o := held(seed)
	o.HoldPercent, o.HoldCutPercent, o.RedeliverPercent, o.LongDelayPercent = -1, -1, -1, -1
	return o
}

// TestHeldMessagesFindDedupThatForgetsAtNewTerm plants a dedup window
// that starts afresh in each term: only a copy of a forwarded proposal
// that outlives a leader change reaches it.
func TestHeldMessagesFindDedupThatForgetsAtNewTerm(t *testing.T) {
	plantCaught(t, "a dedup window that forgets at a new term", 20, held,
		func(o *Options) { o.UnsafeDedupForgetsAtNewTerm = true },
		func(*Failure) bool { return true })
}

// TestHeldMessagesScenarioFindsDedupThatForgetsAtNewTerm: the
// held-messages scenario alone catches the same planted defect.
func TestHeldMessagesScenarioFindsDedupThatForgetsAtNewTerm(t *testing.T) {
	plantCaught(t, "a dedup window that forgets at a new term", 10,
		func(seed uint64) Options { return Options{Scenario: "held-messages", Seed: seed} },
		func(o *Options) { o.UnsafeDedupForgetsAtNewTerm = true },
		func(*Failure) bool { return true })
}
