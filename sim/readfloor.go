package sim

import (
	"github.com/seshat-db/seshat/kv"
	"github.com/seshat-db/seshat/node"
)

// The read floor: a read must see every write committed before it began.
// Whatever leader confirms its ReadIndex, that leader's commit index is
// at or past every index committed by then (it commits an entry of its own
// term before it confirms reads), so a read served at an applied index
// below the highest index any replica had applied when the read was
// submitted is stale, whatever the cause: a confirmation meant for another
// read or another process, a read served before its index is applied, a
// read served locally. Porcupine finds such a read only if a write it
// missed was acknowledged before it and to the same key; this finds it in
// the batch that serves it.

// noteApplied raises the floor to an index some replica applied.
func (c *checker) noteApplied(index uint64) {
	c.appliedMax = max(c.appliedMax, index)
}

// checkedReads wraps the done of a read group submitted to s's process n
// now: when the group is answered without error, the process's applied
// index must be at or past the floor of now.
func (w *World) checkedReads(s *simNode, n *node.Node, ops []kv.Op, done func([]kv.Result)) func([]kv.Result) {
	if len(ops) == 0 || !ops[0].Kind.IsRead() || w.opts.UnsafeLocalReads {
		// Local reads (TEST ONLY) are left to porcupine: its teeth
		// tests plant them to show it catches a stale read.
		return done
	}
	floor := w.checks.appliedMax
	return func(res []kv.Result) {
		if len(res) > 0 && res[0].Err == nil && s.n == n {
			if applied := n.Status().Applied; applied < floor {
				w.fail(classSafety, "n%d served a read at applied index %d, below index %d, which a replica had applied before the read was submitted (a stale read)",
					s.id, applied, floor)
			}
		}
		done(res)
	}
}
