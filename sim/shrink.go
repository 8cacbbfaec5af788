package sim

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Shrinking: a failing run reduced to a smaller one that fails the same
// way, in the spirit of delta debugging. Each step proposes a smaller run
// (a shorter run, fewer clients, keys or pipelined commands, a fault kind
// or a set of numbered faults left out), runs it, and keeps it when it
// still fails with the same kind of failure. The world's random stream is
// shared by faults and workload, so a change reshapes what follows it;
// a step is kept only on the evidence of its own run, never by reasoning,
// and the result replays exactly.

// ShrinkBudget bounds a shrink.
type ShrinkBudget struct {
	Runs int           // candidate runs at most (0: 200)
	Wall time.Duration // wall time at most (0: 10 minutes)
	// Logf, when set, hears each kept step.
	Logf func(format string, args ...any)
}

// ShrinkResult is a shrink's outcome.
type ShrinkResult struct {
	Before, After Replay
	Runs          int      // candidate runs made
	Steps         []string // the reductions kept, in order
}

// faultGroups are the fault kinds shrunk one by one, in the order tried:
// the few coarse faults first, then each message fault, of which there
// are thousands.
var faultGroups = [][]string{
	{faultCrash, faultDowntime, faultPartition, faultDiskFail, faultDiskCrash, faultWipe, faultFlip, faultSkew, faultDrift,
		crashAfterVote, crashAfterInstall, crashMidCompaction, crashApplyUnanswered, crashAfterMembership,
		faultCrashLoop, faultReconnect},
	{faultDrop}, {faultDup}, {faultJitter},
	{faultHold, faultHoldCut, faultHoldDown}, {faultRedeliver}, {faultLongDelay}, {faultEcho},
}

// ddminMax bounds the faults of one group that delta debugging goes over
// one by one; a larger group is only switched off as a kind, as the skip
// list would outgrow the file it is meant to shrink.
const ddminMax = 4096

type shrinker struct {
	budget   ShrinkBudget
	deadline time.Time
	kind     string // what the run must keep failing with
	cur      Options
	res      Result
	runs     int
	steps    []string
}

// Shrink reduces the failing run that opts (resolved options, as in a
// replay file) describes.
func Shrink(opts Options, budget ShrinkBudget) (ShrinkResult, error) {
	if budget.Runs == 0 {
		budget.Runs = 200
	}
	if budget.Wall == 0 {
		budget.Wall = 10 * time.Minute
	}
	opts.Verbose = false
	opts.recordFaults = true
	s := &shrinker{budget: budget, deadline: time.Now().Add(budget.Wall), cur: opts}
	s.res = run(opts, false)
	if s.res.Failure == nil {
		return ShrinkResult{}, errors.New("shrink: the run does not fail")
	}
	s.kind = failureKind(s.res.Failure)
	before := NewReplay(s.res)
	for progress := true; progress && s.left(); {
		n := len(s.steps)
		s.shortenRun()
		s.dropKinds()
		if _, ok := s.cur.scenario(); !ok { // a scenario starts its own clients
			s.fewer("clients", func(o *Options) *int { return &o.Clients }, 1)
		}
		s.fewer("keys", func(o *Options) *int { return &o.Keys }, 1)
		s.fewer("pipeline_max", func(o *Options) *int { return &o.PipelineMax }, 1)
		for _, g := range faultGroups {
			s.ddmin(g)
		}
		progress = len(s.steps) > n
	}
	after := NewReplay(s.res)
	after.ShrunkFrom = before.Events
	return ShrinkResult{Before: before, After: after, Runs: s.runs, Steps: s.steps}, nil
}

func (s *shrinker) left() bool { return s.runs < s.budget.Runs && time.Now().Before(s.deadline) }

// try runs cand and keeps it if it fails as the original did, in no
// more events.
func (s *shrinker) try(cand Options, step string) bool {
	if !s.left() {
		return false
	}
	s.runs++
	res := run(cand, false)
	if failureKind(res.Failure) != s.kind {
		return false
	}
	if res.Stats.Events > s.res.Stats.Events {
		return false // simpler, but not smaller: the failure took longer to come
	}
	s.cur, s.res = cand, res
	s.steps = append(s.steps, fmt.Sprintf("%s: %d events", step, res.Stats.Events))
	if s.budget.Logf != nil {
		s.budget.Logf("shrink: kept %s (%d events, run %d)", step, res.Stats.Events, s.runs)
	}
	return true
}

// shortenRun halves the faulty part of the run and then the healed tail
// after it, while the run keeps failing. A chaos scenario's timeline sets
// its own length, so it is left alone.
func (s *shrinker) shortenRun() {
	if _, ok := s.cur.scenario(); ok {
		return
	}
	const floor = time.Second
	// A failure while faults strike needs nothing after it: end the
	// faults just past it, which leaves the run up to it as it was.
	if at := s.res.Failure.At; at+100*time.Millisecond < s.cur.FaultsEnd {
		c := s.cur
		c.FaultsEnd = (at/(100*time.Millisecond) + 2) * 100 * time.Millisecond
		c.Run = c.FaultsEnd + (s.cur.Run - s.cur.FaultsEnd)
		s.try(c, "faults_end="+c.FaultsEnd.String())
	}
	for s.cur.FaultsEnd/2 >= floor {
		c := s.cur
		c.FaultsEnd /= 2
		c.Run = c.FaultsEnd + (s.cur.Run - s.cur.FaultsEnd)
		if !s.try(c, "faults_end="+c.FaultsEnd.String()) {
			break
		}
	}
	for tail := s.cur.Run - s.cur.FaultsEnd; tail/2 >= floor; tail /= 2 {
		c := s.cur
		c.Run = c.FaultsEnd + tail/2
		if !s.try(c, "run="+c.Run.String()) {
			break
		}
	}
}

// dropKinds switches off, one at a time, each kind of fault the run has.
func (s *shrinker) dropKinds() {
	for _, g := range faultGroups {
		for _, k := range g {
			if !s.applies(k) || slices.Contains(s.cur.SkipKinds, k) {
				continue
			}
			c := s.cur
			c.SkipKinds = append(slices.Clone(c.SkipKinds), k)
			s.try(c, "no "+k+" faults")
		}
	}
}

func (s *shrinker) applies(kind string) bool {
	for _, f := range s.res.Faults {
		if f.Kind == kind {
			return true
		}
	}
	return false
}

// fewer lowers one workload setting: to its floor at once, else to a
// quarter, a half, or one less.
func (s *shrinker) fewer(name string, field func(*Options) *int, floor int) {
	for {
		v := *field(&s.cur)
		kept := false
		tried := map[int]bool{}
		for _, to := range []int{floor, v / 4, v / 2, v - 1} {
			if to < floor || to >= v || tried[to] {
				continue
			}
			tried[to] = true
			c := s.cur
			*field(&c) = to
			if s.try(c, fmt.Sprintf("%s=%d", name, to)) {
				kept = true
				break
			}
		}
		if !kept {
			return
		}
	}
}

// ddmin leaves out ever smaller chunks of the group's faults (the
// reduction half of Zeller's delta debugging). After each kept step the
// faults are those of the new run, as leaving one out renumbers the ones
// after it.
func (s *shrinker) ddmin(kinds []string) {
	n := 2
	for s.left() {
		var items []FaultRecord
		for _, f := range s.res.Faults {
			if slices.Contains(kinds, f.Kind) {
				items = append(items, f)
			}
		}
		if len(items) == 0 || len(items) > ddminMax {
			return
		}
		n = min(n, len(items))
		kept := false
		for i := range n {
			chunk := items[i*len(items)/n : (i+1)*len(items)/n]
			c := s.cur
			c.SkipFaults = slices.Clone(c.SkipFaults)
			for _, f := range chunk {
				c.SkipFaults = append(c.SkipFaults, f.N)
			}
			slices.Sort(c.SkipFaults)
			if s.try(c, "without "+describeFaults(chunk)) {
				kept = true
				n = max(n-1, 2)
				break
			}
		}
		if !kept {
			if n >= len(items) {
				return
			}
			n = min(2*n, len(items))
		}
	}
}

// describeFaults names a few faults, for a step's description.
func describeFaults(fs []FaultRecord) string {
	var b strings.Builder
	for i, f := range fs {
		if i == 4 {
			fmt.Fprintf(&b, " and %d more", len(fs)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s #%d", f.Kind, f.N)
	}
	return b.String()
}
