package chaos

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Scenario is one row of the chaos matrix.
type Scenario struct {
	Name string // short, for -scenario=NAME
	Doc  string // what it proves, one sentence
	// Nodes is the cluster size the scenario is written for.
	Nodes int
	// InitialVoters, if not 0, forms the cluster from the first this many
	// nodes; the others start empty, waiting to be added (MemberChanger).
	InitialVoters int
	// SnapshotEntries, when set, asks the runner to configure nodes to
	// snapshot this often (node.Config.SnapshotEntries).
	SnapshotEntries uint64
	// Pending, when set, names the work this scenario waits for: it is
	// expected to fail until then, and default test runs skip it.
	Pending string
	// SimulatorOnly marks a scenario that needs the simulator's network
	// (MessageHolder); the real-process runner leaves it out.
	SimulatorOnly bool
	// Run is the timeline.
	Run func(t *T)
}

// T is what a scenario's timeline gets: the cluster, and a way to fail.
type T struct {
	Cluster
	scenario string
	errs     []string
}

// fatal unwinds a timeline that cannot go on.
type fatal struct{}

// Errorf records a failed expectation and lets the timeline go on.
func (t *T) Errorf(format string, args ...any) {
	msg := fmt.Sprintf("%s at %s: %s", t.scenario, t.Now(), fmt.Sprintf(format, args...))
	t.errs = append(t.errs, msg)
	t.Logf("EXPECTATION FAILED: %s", msg)
}

// Fatalf records a failed expectation and ends the timeline.
func (t *T) Fatalf(format string, args ...any) {
	t.Errorf(format, args...)
	panic(fatal{})
}

// Check fails the timeline when cond does not hold.
func (t *T) Check(cond bool, format string, args ...any) {
	if !cond {
		t.Fatalf(format, args...)
	}
}

// ErrExpectation marks the error Execute returns when a scenario's own
// expectations failed.
var ErrExpectation = errors.New("chaos: expectation failed")

// Execute runs a scenario's timeline against c and returns its failed
// expectations, if any. Panics other than a failed expectation (the
// runner's own, for instance when it stops a run) pass through.
func Execute(c Cluster, s Scenario) (err error) {
	t := &T{Cluster: c, scenario: s.Name}
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(fatal); !ok {
				panic(p)
			}
		}
		if len(t.errs) > 0 {
			err = fmt.Errorf("%w: %s", ErrExpectation, strings.Join(t.errs, "; "))
		}
	}()
	s.Run(t)
	return nil
}

// pollEvery is how often waits look at the cluster.
const pollEvery = 10 * time.Millisecond

// WaitFor runs the cluster until cond holds or timeout passes, and says how
// long it took.
func (t *T) WaitFor(timeout time.Duration, cond func() bool) (time.Duration, bool) {
	start := t.Now()
	for {
		if cond() {
			return t.Now() - start, true
		}
		if t.Now()-start >= timeout {
			return t.Now() - start, false
		}
		t.RunFor(pollEvery)
	}
}

// WaitLeader waits for a leader that a quorum of the nodes follows.
func (t *T) WaitLeader(timeout time.Duration) (ID, time.Duration) {
	lead, took, ok := t.WaitNewLeader(0, timeout)
	if !ok {
		t.Fatalf("no leader within %s", timeout)
	}
	return lead, took
}

// WaitNewLeader waits for a leader other than old that a quorum of the
// nodes follows: elected, and known to be.
func (t *T) WaitNewLeader(old ID, timeout time.Duration) (ID, time.Duration, bool) {
	var lead ID
	took, ok := t.WaitFor(timeout, func() bool {
		l, ok := t.Leader()
		lead = l
		return ok && l != old && t.followers(l) >= len(t.Nodes())/2+1
	})
	return lead, took, ok
}

// followers counts the running nodes that follow lead, itself included.
func (t *T) followers(lead ID) int {
	n := 0
	for _, id := range t.Nodes() {
		if st, ok := t.Status(id); ok && st.Lead == lead {
			n++
		}
	}
	return n
}

// WaitKnowsLeader waits until id knows a leader.
func (t *T) WaitKnowsLeader(id ID, timeout time.Duration) bool {
	_, ok := t.WaitFor(timeout, func() bool {
		st, up := t.Status(id)
		return up && st.Lead != 0
	})
	return ok
}

// Term is the highest term any running node knows.
func (t *T) Term() uint64 {
	var term uint64
	for _, id := range t.Nodes() {
		if st, ok := t.Status(id); ok {
			term = max(term, st.Term)
		}
	}
	return term
}

// Others lists every node but the ones given.
func (t *T) Others(not ...ID) []ID {
	var out []ID
	for _, id := range t.Nodes() {
		skip := false
		for _, n := range not {
			skip = skip || n == id
		}
		if !skip {
			out = append(out, id)
		}
	}
	return out
}

// Pick chooses one of ids with the scenario's seeded source.
func (t *T) Pick(ids []ID) ID {
	return ids[t.Rand().IntN(len(ids))]
}

// MustDo sends a command and fails the timeline unless it succeeds.
func (t *T) MustDo(id ID, args ...string) Reply {
	r := t.Do(id, args...)
	if r.Outcome != OK {
		t.Fatalf("%s via n%d: %s (%s), want success", strings.Join(args, " "), id, r.Outcome, r.Text)
	}
	return r
}

// Follower picks a running node that is not the leader.
func (t *T) Follower(leader ID) ID {
	var ups []ID
	for _, id := range t.Others(leader) {
		if t.Up(id) {
			ups = append(ups, id)
		}
	}
	t.Check(len(ups) > 0, "no running follower of n%d", leader)
	return t.Pick(ups)
}

// Scenarios is the chaos matrix, in the product's order, and then the
// scenarios that go beyond it.
func Scenarios() []Scenario {
	return []Scenario{
		LeaderKilled,
		FollowerKilled,
		Partition21,
		Asymmetric,
		LeaderIsolated,
		Cascading,
		KillMidBurst,
		FullRestart,
		SlowNetwork,
		Compaction,
		ClockSkew,
		DiskWiped,
		DiskWipedLagging,
		HeldMessages,
		PartialRestartExpiry,
		Membership,
		Replace,
		RemovePartitioned,
		ChangeCrashReads,
		LearnerWipedHeldAcks,
		RetiredJoinHeld,
	}
}

// Lookup finds a scenario by name.
func Lookup(name string) (Scenario, bool) {
	for _, s := range Scenarios() {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}
