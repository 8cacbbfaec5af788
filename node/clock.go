package node

import (
	"math"

	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/seshat-db/seshat/kv"
	"github.com/seshat-db/seshat/storage"
)

// The cluster time (CHASSIS.md, "Key expiry") is carried in the log: the
// leader stamps every entry it appends with its view of it, and the
// state machine's clock is the highest stamp applied so far. A leader's
// view is the clock it last applied plus the ticks it counted since it
// applied it: time it can prove elapsed, never its wall clock (read only
// to anchor the first stamp of a new cluster).
//
// Every value is valid as of a tick event: a value v valid as of tick k
// may be read as v plus j ticks at tick k+j, since at least that much real
// time has passed since v was true. A value read between two
// ticks (an applied stamp, noted partway through a tick) is therefore
// valid as of the next tick, and counts from there: counting the rest of
// the current tick as a whole one let the clock run up to a tick ahead of
// real time after each hand-over (an e2e lock was free 6 ms before its
// lease ended, across a leader kill). A stamp carries the tick it is
// valid as of (stampedAt), so re-noting it when it applies loses nothing:
// the count loses at most one tick when another leader's stamps overtake
// this node's, never one per stamp.
type clusterClock struct {
	seen        int64  // the store's clock when last looked at
	seenAt      uint64 // the tick it is valid as of: the one after it was noted
	stamped     int64  // the highest stamp this node gave, so its stamps never go back
	stampedAt   uint64 // the tick it is valid as of
	caughtUp    bool   // this leader has applied an entry of its own term (countsFromLog)
	appliedTerm uint64 // the term of the last entry applied (0 after a restart or a snapshot)
	received    receipts
	// anchorAt is the tick the applied clock is valid as of: the one after
	// the last stamped entry applied reached this node's log. An entry
	// whose stamp is below the clock (a leader that lost time stamped it
	// before applying the entries before it) leaves the clock as it was,
	// yet a key it sets must not expire before its TTL has passed since
	// it was stamped; counting from when the clock last moved would, as
	// leader, expire it early by the time between.
	anchorAt uint64
	anchored bool // anchorAt moved since noteClock last looked
}

// applied notes an entry applied at tick now (stampedOnly: TEST ONLY,
// Config.UnsafeStampedOnlyAnchor).
func (c *clusterClock) applied(e *pb.Entry, now uint64, stampedOnly bool) {
	c.appliedTerm = e.GetTerm()
	at := c.received.take(e.GetIndex(), now)
	// Every entry anchors, stamped or not: the clock (the highest stamp
	// of the entries up to it) was given before any of them reached the
	// log, so it is valid as of the receipt of any of them, and an
	// unstamped entry's key (a forwarded proposal stepped in the batch
	// that won an election, before n.isLeader was set) must count from
	// its own receipt, not from the last stamped one's (seconds earlier
	// on an idle cluster: TestR6UnstampedKeyInElectionBatch).
	if !stampedOnly || isStamped(e) {
		c.anchorAt, c.anchored = at+1, true
	}
}

// restartCount has a node that just became leader forget its own last
// stamp: the ticks it counted on top of it, as a former leader or while a
// majority was down, are time the leader elected meanwhile never saw
// (it restarted from the applied clock), and counting them expired keys
// set under that leader early (scenario partial-restart-expiry, seeds 1
// and 7). Its view is then the applied clock plus the ticks since it
// applied it, and a key set under the other leader exists here only once
// its stamped entry applied, which restarts that count.
func (c *clusterClock) restartCount(now uint64) {
	c.stamped, c.stampedAt, c.caughtUp = 0, now, false
}

// countsFromLog reports whether this leader may count ticks on top of its
// applied clock: only once it has applied an entry of its own term, so
// every entry in its log is applied and re-anchored its count. Before,
// an entry of an earlier term still unapplied here may carry a key set
// after this node last applied (its stamp, from a leader that had lost
// time, below the clock), and counting from that earlier apply would
// expire the key early by the time between. Until then its stamps are
// the applied clock: they move nothing, and keys they set count from
// their own apply.
func (n *Node) countsFromLog() bool {
	if !n.clock.caughtUp {
		n.clock.caughtUp = n.clock.appliedTerm == n.rn.BasicStatus().GetTerm()
	}
	return n.clock.caughtUp
}

// noteClock re-anchors the applied cluster time when a stamped entry
// applied (anchorAt) or the clock moved otherwise (a snapshot, a
// restart): it is valid as of the next tick, the first whole one after it
// was seen.
func (n *Node) noteClock() {
	switch c := n.store.Clock(); {
	case n.clock.anchored:
		n.clock.seen, n.clock.seenAt, n.clock.anchored = c, n.clock.anchorAt, false
	case c != n.clock.seen:
		n.clock.seen, n.clock.seenAt = c, n.ticks+1
	}
}

// countFrom is a value valid as of tick at, counted on to the node's tick
// count now: the value there and the tick that is valid as of (at itself
// while that tick is still to come).
func (n *Node) countFrom(value int64, at uint64) (int64, uint64) {
	if n.ticks <= at {
		return value, at
	}
	return value + int64(n.ticks-at)*n.cfg.clockTickMillis(), n.ticks
}

// clusterNow is this node's view of the cluster time, as a leader
// stamps it.
func (n *Node) clusterNow() int64 {
	n.noteClock()
	var now int64
	asOf := n.ticks + 1
	if n.clock.seen == 0 && !n.countsFromLog() && n.logHoldsStamps() {
		// Its log holds stamps it has not applied yet (it never learned
		// they committed): the cluster is not new, and its wall clock is
		// no measure of the time they give. It stamps nothing (0:
		// stampEntry leaves the entry unstamped, a stamp of 0 does not
		// decode); its entries apply after those, take their clock and
		// anchor at their own receipt (TestR6NewLeaderWithZeroClockStampsWallClock).
		return 0
	}
	if n.clock.seen == 0 {
		// A new cluster: nothing to count from but the wall clock.
		if n.env.Clock != nil {
			now = n.env.Clock.UnixMilli()
		}
		now = max(now, 1)
	} else if !n.countsFromLog() {
		return n.clock.seen
	} else {
		now, asOf = n.countFrom(n.clock.seen, n.clock.seenAt)
	}
	if n.clock.stamped != 0 {
		// Its own last stamp counts on too: the applied clock lags it by
		// the time the stamped entry took to apply, which would otherwise
		// be lost at every write. Of two equal values, the one valid
		// earlier counts on sooner.
		if v, at := n.countFrom(n.clock.stamped, n.clock.stampedAt); v > now || v == now && at < asOf {
			now, asOf = v, at
		}
	}
	if n.cfg.UnsafeWallClockStamps && n.env.Clock != nil {
		now = max(n.env.Clock.UnixMilli(), n.clock.stamped) // TEST ONLY: the bug the skew scenario catches
		asOf = n.ticks
	}
	n.clock.stamped, n.clock.stampedAt = now, asOf
	return now
}

// logHoldsStamps reports whether this node's log, past the applied
// index, holds a stamped entry. A leader's log holds every committed
// entry, so a leader whose applied clock is 0 and whose log holds no
// stamp knows no stamp ever committed: the cluster is new. Entries a
// leader received are in storage by the time it leads: it stepped them
// as a follower, and winning needed a campaign whose messages went out
// in a Ready after it, which persisted them.
func (n *Node) logHoldsStamps() bool {
	last, _ := n.store.LastIndex()
	first := n.store.Applied() + 1
	if last < first {
		return false
	}
	entries, err := n.store.Entries(first, last+1, math.MaxUint64)
	if err != nil {
		return true // unknown: assume the cluster is not new
	}
	for _, e := range entries {
		if isStamped(e) {
			return true
		}
	}
	return false
}

// activeExpiry is how often (in ticks) a leader looks for due keys, and
// how many it deletes in one entry: a wave of expiries goes through the
// log in entries that apply in bounded time, between other writes.
const (
	expiryEveryTicks = 10
	expiryBatchKeys  = 512
	// clockEntryMillis: a leader whose store holds deadlines stamps an
	// entry of its own when the applied clock lags its view by this much,
	// so TTL and PTTL replies stay fresh without writes.
	clockEntryMillis = 1000
)

// expireDue runs on the leader's ticks: it proposes the deletion of keys
// whose deadline has passed in its view of the cluster time, a bounded
// batch at a time, one batch in flight. It looks every expiryEveryTicks,
// or at the next tick after a full batch applied (a wave of expiries
// drains at a batch per tick, between other writes). Each key is checked
// again when the entry applies (kv.ExpireKeys), so a key written
// meanwhile survives.
func (n *Node) expireDue() {
	if !n.isLeader || n.expiring || n.ticks%expiryEveryTicks != 0 && !n.expireMore || n.store.IsJoining() {
		return
	}
	n.expireMore = false
	next, err := n.store.NextDeadline()
	if err != nil || next == 0 {
		return
	}
	now := n.clusterNow()
	var ops []kv.Op
	if due := now - kv.ExpirySlackMillis; next <= due {
		// Keys live one tick past their deadline (kv.ExpirySlackMillis).
		keys, err := n.store.DueKeys(due, expiryBatchKeys)
		if err != nil || len(keys) == 0 {
			return
		}
		ops = []kv.Op{{Kind: kv.ExpireKeys, Keys: keys}}
	} else if now-n.store.Clock() < clockEntryMillis {
		return
	}
	n.expiring = true
	full := ops != nil && len(ops[0].Keys) == expiryBatchKeys
	req := &request{ops: ops, done: func([]kv.Result) { n.expiring, n.expireMore = false, full }}
	if ops == nil {
		n.proposeClock(req)
		return
	}
	if n.propose(req) {
		n.clients.track(req, n.ticks+uint64(n.cfg.RequestTimeoutTicks))
	}
}

// stampNewTerm has a new leader stamp its view at once, if any key has a
// deadline: the applied clock is as old as the last stamp of the leader
// before, which an election may have taken a second or more to replace,
// and reads served meanwhile would see keys live that are past their
// deadline. It stamps once the leader has applied its term's first entry
// (countsFromLog), so reads in the term's first round trip may still see
// the clock of before.
func (n *Node) stampNewTerm() {
	if !n.clockOnLead || n.isLeader && !n.countsFromLog() {
		return
	}
	n.clockOnLead = false
	if !n.isLeader || n.store.IsJoining() {
		return
	}
	if next, err := n.store.NextDeadline(); err != nil || next == 0 {
		return
	}
	data := encodeClockEntry(n.clusterNow())
	_ = n.guardRaft(func() { _ = n.rn.Propose(data) })
}

// proposeClock proposes an entry that only advances the cluster time.
func (n *Node) proposeClock(req *request) {
	if now := n.clusterNow(); now > 0 { // 0: no time to give yet
		data := encodeClockEntry(now)
		_ = n.guardRaft(func() { _ = n.rn.Propose(data) })
	}
	req.done(nil)
}

// applyClock raises the batch's cluster time to an entry's stamp.
func applyClock(batch *storage.Batch, stamp int64) { batch.AdvanceClock(stamp) }

// stampForwarded stamps a follower's proposal that this leader is about to
// append: the leader that appends an entry stamps it with cluster time,
// replacing any stamp it came with. A forwarded clock entry becomes an
// empty one (a no-op): cluster time is the leader's alone to move, and a
// clock entry from elsewhere could expire every key at once.
func (n *Node) stampForwarded(m *pb.Message) {
	if m.GetType() != pb.MessageType_MsgProp || !n.isLeader {
		return
	}
	for _, e := range m.GetEntries() {
		if e.GetType() != pb.EntryType_EntryNormal || len(e.GetData()) == 0 {
			continue
		}
		if e.GetData()[0] == entryClock {
			e.Data = nil
			continue
		}
		e.Data = stampEntry(e.GetData(), n.clusterNow())
	}
}
