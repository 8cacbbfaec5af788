package sim

import "github.com/seshat-db/seshat/node"

// The applied-state checks: cheap, after every batch, so a bug shows in
// the seed that has it rather than in porcupine's slow verdict.

// appliedState is what the world knows of one machine's applied index.
type appliedState struct {
	seen    uint64 // the highest this process reported
	durable uint64 // the highest durable applied index a batch that returned without error reported
	digest  uint64 // applied index whose data digest was last taken (0: none)
	highest uint64 // the highest any process on this disk reported, at open too
}

// checkAppliedAfterBatch runs after each batch of s: within a process the
// applied index only grows; what a batch that returned reports as durably
// applied, no crash may take back;
// and the data at each new applied index is compared with every other
// replica's at that index.
func (c *checker) checkAppliedAfterBatch(s *simNode, st node.Status, batchErr error) {
	w := c.w
	applied := st.Applied
	if applied < s.applied.seen {
		w.fail(classSafety, "n%d's applied index went back from %d to %d", s.id, s.applied.seen, applied)
		return
	}
	s.applied.seen = applied
	c.noteApplied(applied)
	s.applied.highest = max(s.applied.highest, applied)
	if batchErr == nil && !s.stoppedSeen {
		s.applied.durable = max(s.applied.durable, st.DurableApplied)
	}
	if applied != s.applied.digest && !s.stoppedSeen {
		s.applied.digest = applied
		c.compareOne(s)
	}
}

// checkReopened runs when s opens its disk: the applied state it
// recovered must be one that existed, an index a replica applied (or this
// disk reported before: a bootstrap starts past its configuration
// entries, which no one applies), and not behind what it had durably
// applied (a disk that never promised durability, TEST ONLY, is exempt).
func (c *checker) checkReopened(s *simNode) {
	w := c.w
	applied := s.n.Status().Applied
	s.applied.seen, s.applied.digest = applied, 0
	highest := s.applied.highest
	s.applied.highest = max(highest, applied)
	if w.opts.UnsafeNoSync || w.opts.LyingDisk {
		s.applied.durable = applied
		return
	}
	if applied < s.applied.durable {
		w.fail(classSafety, "n%d reopened at applied index %d, behind the %d it had durably applied", s.id, applied, s.applied.durable)
		return
	}
	if _, ok := c.committed[applied]; applied > highest && !ok && s.downs > 0 {
		w.fail(classSafety, "n%d reopened at applied index %d, which no replica ever applied", s.id, applied)
		return
	}
	s.applied.durable = applied
}
