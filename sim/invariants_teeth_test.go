package sim

import (
	"strings"
	"testing"
	"time"
)

// The cheap invariants, each shown failing on the bug it guards against,
// on a short run: porcupine took eight minutes to time out on the first.

func shortRun(seed uint64) Options {
	return Options{Seed: seed, Run: 10 * time.Second, FaultsEnd: 5 * time.Second}
}

// TestReadIndexAssertionTeeth: a node that serves a confirmed read before
// it applied the read index trips node's assertion at the serving point.
func TestReadIndexAssertionTeeth(t *testing.T) {
	plantCaught(t, "reads served before their read index is applied", 20, shortRun,
		func(o *Options) { o.UnsafeEarlyReads = true },
		func(f *Failure) bool {
			return f.Class == classCrash && strings.Contains(f.Message, "before its read index")
		})
}

// TestReplicaDivergenceTeeth: node 2 applies one write differently; the
// data digests compared at each applied index must catch it.
func TestReplicaDivergenceTeeth(t *testing.T) {
	plantCaught(t, "a replica that applies one entry differently", 5, shortRun,
		func(o *Options) { o.UnsafeDivergeAt = 100 },
		func(f *Failure) bool {
			return f.Class == classSafety && strings.Contains(f.Message, "replicas diverged")
		})
}

// TestAppliedRegressTeeth: a node that persists its applied index lazily
// reopens behind what it had durably applied.
func TestAppliedRegressTeeth(t *testing.T) {
	crashy := func(seed uint64) Options {
		o := shortRun(seed)
		o.CrashEvery = time.Second
		return o
	}
	plantCaught(t, "an applied index that reopens behind what was durable", 5, crashy,
		func(o *Options) { o.UnsafeLazyApplied = true },
		func(f *Failure) bool { return f.Class == classSafety && strings.Contains(f.Message, "behind the") })
}
