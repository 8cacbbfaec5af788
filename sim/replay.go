package sim

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Replay is a failing run written out as a small file: the options that
// replay it exactly (seed, workload, fault settings, and the faults the
// shrinker left out) and what it failed with. `go test ./sim
// -replay=FILE` runs it; durations are in nanoseconds.
type Replay struct {
	// Summary is Options in words, for the reader; Options is what runs.
	Summary string
	Options Options
	Failure *Failure `json:",omitempty"`
	Events  int      // the run's events, to compare with a shrunk version
	// ShrunkFrom is the original run's events, in a shrunk replay.
	ShrunkFrom int `json:",omitempty"`
	// Commit is the source the run failed at: fault numbers and the
	// random stream belong to it, so another commit may replay it
	// differently.
	Commit string `json:",omitempty"`
}

// NewReplay describes the run res. Its options must be resolved (as
// Result.Options are): a replay does not draw them from the seed again,
// because a resolved option that is off (0) would be drawn anew.
func NewReplay(res Result) Replay {
	o := res.Options
	o.Verbose = false
	return Replay{Summary: o.String(), Options: o, Failure: res.Failure, Events: res.Stats.Events}
}

// Run replays the file's run; verbose keeps its trace.
func (r Replay) Run(verbose bool) Result {
	o := r.Options
	o.Verbose = verbose
	return run(o, false)
}

// WriteReplay writes r to path as indented JSON.
func WriteReplay(path string, r Replay) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadReplay reads a replay file.
func ReadReplay(path string) (Replay, error) {
	var r Replay
	b, err := os.ReadFile(path)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("replay file %s: %w", path, err)
	}
	if r.Options.Seed == 0 || r.Options.Nodes == 0 {
		return r, fmt.Errorf("replay file %s: no seed or no resolved options", path)
	}
	return r, nil
}

// failureKind is what a shrunk run must still fail with: the class and
// the gist of the message (its words, without the numbers that name
// nodes, terms and indexes, up to the first colon or 60 characters), so a
// double vote does not shrink into an unrelated safety failure or a panic
// elsewhere. A linearizability check that timed out is told apart from
// one that found an illegal history (a timeout proves nothing).
func failureKind(f *Failure) string {
	if f == nil {
		return "ok"
	}
	if f.Class == classLinearizability {
		if strings.Contains(f.Message, "timed out") {
			return f.Class + " (timed out)"
		}
		return f.Class // the message counts operations, which shrinking changes
	}
	gist := f.Message
	if i := strings.IndexAny(gist, ":\n"); i >= 0 {
		gist = gist[:i]
	}
	gist = strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return -1
		}
		return r
	}, gist)
	if len(gist) > 60 {
		gist = gist[:60]
	}
	return f.Class + ": " + gist
}
