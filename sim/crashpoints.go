package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/seshat-db/seshat/node"
)

// Aimed crashes, in the spirit of FoundationDB's BUGGIFY: a crash that
// lands at random almost never lands just after a vote was persisted or a
// snapshot installed, yet those are the moments where a forgotten write
// costs the most. The node tells the world of each such moment
// (node.Config.OnMoment); the world may kill it right there, before it
// sends or answers anything that moment allowed.
//
// In the swarm each kind of crash point is armed on its own schedule
// (every Options.CrashPointEvery on average); an armed point strikes the
// first node to reach that moment, if a majority stays up. In a chaos
// scenario (Options.AimKills), the scenario's own Kill waits for the
// node's next moment of any kind, a little while at most, and kills it
// there. Every choice comes from a stream of its own, derived from the
// seed, so the seeds' other faults stay what they were.

// The kinds of crash point, also their names for allowFault.
const (
	crashAfterVote       = "crash-after-vote-sync"
	crashAfterInstall    = "crash-after-snapshot-install"
	crashMidCompaction   = "crash-mid-compaction"
	crashApplyUnanswered = "crash-between-apply-and-reply"
	crashAfterMembership = "crash-after-membership-change"
)

var crashPointKinds = []string{crashAfterVote, crashAfterInstall, crashMidCompaction, crashApplyUnanswered, crashAfterMembership}

// CrashPointCounts counts the aimed crashes that struck, by kind.
type CrashPointCounts struct {
	AfterVote       int // just after a hard state sync that changed the term or the vote
	AfterInstall    int // just after a snapshot install was synced
	MidCompaction   int // in the sync of the batch that truncates the log
	ApplyUnanswered int // entries applied and synced, their clients not yet answered
	AfterMembership int // just after a membership change applied
}

func (c *CrashPointCounts) add(kind string) {
	switch kind {
	case crashAfterVote:
		c.AfterVote++
	case crashAfterInstall:
		c.AfterInstall++
	case crashMidCompaction:
		c.MidCompaction++
	case crashApplyUnanswered:
		c.ApplyUnanswered++
	case crashAfterMembership:
		c.AfterMembership++
	}
}

// crashPoints is the world's state of aimed crashes.
type crashPoints struct {
	rng   *rand.Rand      // of its own: drawing here leaves w.rng's stream alone
	armed map[string]bool // kinds that strike at their next moment
}

func (p *crashPoints) init(seed uint64) {
	p.rng = rand.New(rand.NewPCG(seed, 0xa1ed))
	p.armed = map[string]bool{}
}

// crashPointKind names the crash point a moment is, or "".
func crashPointKind(m node.Moment) string {
	switch m.Kind {
	case node.MomentHardStateSynced:
		if m.VoteChanged {
			return crashAfterVote
		}
	case node.MomentSnapshotInstalled:
		return crashAfterInstall
	case node.MomentCompacting:
		return crashMidCompaction
	case node.MomentApplied:
		return crashApplyUnanswered
	case node.MomentMembershipApplied:
		return crashAfterMembership
	}
	return ""
}

// scheduleCrashPoints arms every kind of crash point, each after its own
// delay.
func (w *World) scheduleCrashPoints() {
	for i := range crashPointKinds {
		w.armCrashPointLater(i)
	}
}

// armCrashPointLater arms crashPointKinds[i] after a random delay. The
// event is a crash event: it is one, aimed.
func (w *World) armCrashPointLater(i int) {
	kind := crashPointKinds[i]
	every := int64(w.opts.CrashPointEvery)
	delay := time.Duration(w.points.rng.Int64N(2*every)) + 1
	w.schedule(delay, evCrash, -1, uint64(i+1), func() {
		if w.now < w.opts.FaultsEnd {
			w.points.armed[kind] = true
		}
	})
}

// onMoment is each node's node.Config.OnMoment.
func (s *simNode) onMoment(m node.Moment) {
	w := s.w
	if m.Kind == node.MomentHardStateSynced || m.Kind == node.MomentSnapshotInstalled {
		w.votes.synced(s, m)
	}
	kind := crashPointKind(m)
	if kind == "" {
		return
	}
	if s.aimKill {
		if w.allowFault(kind) {
			s.crashAt(kind, false) // the scenario's Kill, which restarts it itself
		}
		return
	}
	if !w.points.armed[kind] || w.now >= w.opts.FaultsEnd || w.failure != nil {
		return
	}
	if down := len(w.nodes) - w.upCount(); down >= (len(w.nodes)-1)/2 {
		return // stays armed: a crash now could leave no majority
	}
	w.points.armed[kind] = false
	w.armCrashPointLater(slices.Index(crashPointKinds, kind))
	if w.allowFault(kind) {
		// A skipped crash point is disarmed as if it had struck, so
		// leaving one out of a schedule does not move it to the next
		// moment of its kind.
		s.crashAt(kind, true)
	}
}

// aimedCrash is the panic that ends a node process at a crash point: it
// unwinds out of the node at once, so the process does nothing more.
type aimedCrash struct {
	kind  string
	image *diskImage // the disk as it was at that instant
	// restart: the world brings the node back (in a scenario, the
	// scenario does).
	restart bool
}

// crashAt kills the node at the moment it is in. The disk keeps what was
// synced by then; mid-compaction, the crash strikes inside the
// compaction's own sync instead (diskFaults), keeping or tearing its
// unsynced tail as a mid-write crash does.
func (s *simNode) crashAt(kind string, restart bool) {
	w := s.w
	if kind == crashMidCompaction {
		s.disk.armCrash(1, w.crashPointKeep(), w.points.rng.Uint64())
		s.aimedCompaction = &aimedCrash{kind: kind, restart: restart}
		w.tracef("%s n%d: crash point %s armed on its next sync", w.now, s.id, kind)
		return
	}
	panic(aimedCrash{kind: kind, image: s.syncedImage(), restart: restart})
}

// crashPointKeep draws whether a mid-compaction crash keeps the unsynced
// tail (then torn at a seeded point) or loses it, as keepShare does, from
// the crash points' own stream.
func (w *World) crashPointKeep() int {
	if w.opts.UnsyncedPercent <= 0 || w.opts.LyingDisk || w.points.rng.IntN(100) >= w.opts.UnsyncedPercent {
		return 0
	}
	return 100
}

// runBatch runs the driver's batch and catches an aimed crash that ended
// the process inside it.
func (s *simNode) runBatch() (handled int, crashed *aimedCrash, err error) {
	defer func() {
		if p := recover(); p != nil {
			c, ok := p.(aimedCrash)
			if !ok {
				panic(p)
			}
			crashed = &c
		}
	}()
	handled, err = s.driver.RunBatch()
	return handled, nil, err
}

// diedAt finishes an aimed crash: the process is gone, its disk is the
// image taken at the crash point.
func (s *simNode) diedAt(c *aimedCrash, image *diskImage) {
	w := s.w
	w.stats.CrashPoints.add(c.kind)
	s.die(image, "crashed at crash point "+c.kind)
	if c.restart {
		w.stats.Crashes++
		w.scheduleRestartIn(s, "crashed at "+c.kind, w.crashPointDowntime())
	}
}

// crashPointDowntime is short half the time: a process restarted at once
// meets the messages its death left in flight.
func (w *World) crashPointDowntime() time.Duration {
	if w.points.rng.IntN(2) == 0 {
		return time.Millisecond + time.Duration(w.points.rng.Int64N(int64(100*time.Millisecond)))
	}
	return time.Millisecond + time.Duration(w.points.rng.Int64N(int64(max(w.opts.DowntimeMax, time.Millisecond))))
}

// killAtMoment is a scenario's Kill when kills are aimed: the node runs
// until its next crash point, for aimKillWaitMax at most, and dies there.
// It reports whether the node died at one.
func (w *World) killAtMoment(s *simNode) bool {
	s.aimKill = true
	defer func() { s.aimKill = false }()
	w.runWhile(w.now+aimKillWaitMax, func() bool { return !s.up() || s.aimedCompaction != nil })
	if s.aimedCompaction != nil {
		// The compaction's sync is armed to crash: let it come.
		w.runWhile(w.now+aimKillWaitMax, func() bool { return !s.up() })
	}
	if !s.up() {
		return true
	}
	s.disk.disarm()
	s.aimedCompaction = nil
	return false
}

// aimKillWaitMax bounds how long a scenario's aimed Kill waits for a
// crash point: a little over a heartbeat, so a node under load reaches
// one and the scenario's timing barely moves.
const aimKillWaitMax = 150 * time.Millisecond

// voteRecords is the invariant "a vote once persisted is never
// forgotten": per node, the newest hard state it synced.
type voteRecords struct {
	w     *World
	nodes []voteRecord
}

type voteRecord struct {
	term, vote, commit uint64
}

func (v *voteRecords) init(w *World, nodes int) {
	v.w = w
	v.nodes = make([]voteRecord, nodes)
}

// synced notes a hard state that s made durable, and checks that it does
// not contradict an earlier one within the same process.
func (v *voteRecords) synced(s *simNode, m node.Moment) {
	r := &v.nodes[s.idx]
	sameTerm := m.Term == r.term && r.vote != 0
	switch {
	case v.w.opts.noVoteCheck:
	case m.Term < r.term:
		v.w.fail(classSafety, "n%d synced term %d after term %d", s.id, m.Term, r.term)
	case sameTerm && m.Vote != 0 && m.Vote != r.vote:
		v.w.fail(classSafety, "n%d voted twice in term %d: for n%d, then for n%d", s.id, m.Term, r.vote, m.Vote)
	case sameTerm && m.Vote == 0 && !v.w.opts.noRestartVoteCheck:
		v.w.fail(classSafety, "n%d synced term %d without its vote for n%d (forgotten)", s.id, m.Term, r.vote)
	}
	vote := m.Vote
	if sameTerm && vote == 0 {
		vote = r.vote // a vote forgotten is still cast: a second one is a double vote
	}
	r.term, r.vote, r.commit = m.Term, vote, max(r.commit, m.Commit)
}

// restarted checks what s's new process starts from against what s had
// synced: a lower term, a vote lost or changed in the same term, or a
// lower commit index means the disk forgot a synced hard state.
func (v *voteRecords) restarted(s *simNode, st node.Status) {
	if v.w.opts.noVoteCheck || v.w.opts.noRestartVoteCheck {
		return
	}
	r := v.nodes[s.idx]
	why := ""
	switch {
	case st.Term < r.term:
		why = fmt.Sprintf("its term went back from %d to %d", r.term, st.Term)
	case st.Term == r.term && r.vote != 0 && st.Vote != r.vote:
		why = fmt.Sprintf("its vote in term %d went from n%d to n%d (0: forgotten)", r.term, r.vote, st.Vote)
	case st.Commit < r.commit:
		why = fmt.Sprintf("its commit index went back from %d to %d", r.commit, st.Commit)
	}
	if why != "" {
		v.w.fail(classSafety, "n%d restarted from a hard state older than one it had synced: %s", s.id, why)
	}
}

// wiped forgets s's record: an empty disk rejoins under a new identity and
// has no vote to keep.
func (v *voteRecords) wiped(s *simNode) { v.nodes[s.idx] = voteRecord{} }
