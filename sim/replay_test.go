package sim

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	flagShrinkRuns = flag.Int("shrink.runs", 200, "with -shrink: candidate runs at most")
	flagShrinkWall = flag.Duration("shrink.wall", 10*time.Minute, "with -shrink: wall time at most")
	flagShrinkOut  = flag.String("shrink.out", "", "with -shrink: where the shrunk replay goes (default: FILE with .shrunk.json)")
)

// TestReplay runs the replay file -replay names, and fails as its run
// does; with -shrink it shrinks the run instead (see shrink.go).
func TestReplay(t *testing.T) {
	if *flagReplay == "" {
		t.Skip("no -replay file")
	}
	r, err := ReadReplay(*flagReplay)
	if err != nil {
		t.Fatal(err)
	}
	if *flagShrink {
		shrinkReplay(t, r)
		return
	}
	res := r.Run(*flagVerbose)
	if *flagVerbose {
		for _, line := range res.Trace {
			fmt.Println(line)
		}
	}
	if res.Failure == nil {
		if r.Failure != nil {
			t.Errorf("%s recorded %v, but the run passes now (%d events)", *flagReplay, r.Failure, res.Stats.Events)
		}
		return
	}
	if res.Failure.Class == classLinearizability {
		illegal := res.IllegalKeys()
		for _, key := range slices.Sorted(maps.Keys(illegal)) {
			t.Logf("the operations on key %s, which no order explains:\n  %s", key, strings.Join(illegal[key], "\n  "))
		}
	}
	t.Errorf("%s: %v\n  options: %s\n  skipped: faults %s, kinds %v\n  events:  %d",
		*flagReplay, res.Failure, res.Options, res.Options.SkipFaults, res.Options.SkipKinds, res.Stats.Events)
}

func shrinkReplay(t *testing.T, r Replay) {
	out := *flagShrinkOut
	if out == "" {
		out = strings.TrimSuffix(*flagReplay, ".json") + ".shrunk.json"
	}
	sr, err := Shrink(r.Options, ShrinkBudget{Runs: *flagShrinkRuns, Wall: *flagShrinkWall, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	sr.After.Commit = commit()
	if err := WriteReplay(out, sr.After); err != nil {
		t.Fatal(err)
	}
	linesBefore := len(sr.Before.Run(true).Trace)
	linesAfter := len(sr.After.Run(true).Trace)
	b, _ := os.ReadFile(out)
	t.Logf("shrunk in %d runs: %s\n  before: %d events, %d trace lines: %v\n  after:  %d events, %d trace lines: %v\n  steps:\n    %s\n  written to %s:\n%s",
		sr.Runs, failureKind(sr.After.Failure), sr.Before.Events, linesBefore, sr.Before.Failure,
		sr.After.Events, linesAfter, sr.After.Failure, strings.Join(sr.Steps, "\n    "), out, b)
}

func TestFailureKindKeepsTheGist(t *testing.T) {
	vote := &Failure{Class: classSafety, Message: "n3 voted twice in term 3: for n3, then for n5"}
	sameVote := &Failure{Class: classSafety, Message: "n1 voted twice in term 7: for n2, then for n1"}
	applied := &Failure{Class: classSafety, Message: "n2 reopened at applied index 0, behind the 5 it had durably applied"}
	if failureKind(vote) != failureKind(sameVote) {
		t.Fatalf("two double votes read as different failures: %q, %q", failureKind(vote), failureKind(sameVote))
	}
	if failureKind(vote) == failureKind(applied) {
		t.Fatalf("a double vote and an applied index that went back read as the same failure: %q", failureKind(vote))
	}
}
