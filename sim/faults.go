package sim

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The editable fault schedule. Every fault decision of a run goes through
// allowFault, which numbers it in the order it is drawn and may switch it
// off (Options.SkipFaults, Options.SkipKinds). That is what lets a failure
// shrink (shrink.go): a replay file names the faults it leaves out.
//
// A skipped fault still consumes the random draws it would have made, so
// the world's random stream stays aligned for as long as the skip changes
// nothing else; what the fault would have caused (a lost message, a dead
// node) then takes the run its own way, as it must.

// The kinds of fault the swarm draws. Scenario timelines (package chaos)
// are not numbered: their expectations assume their faults happen.
const (
	faultCrash     = "crash"      // a node process killed
	faultDowntime  = "downtime"   // how long a dead node stays down (skipped: 1 ms)
	faultPartition = "partition"  // a partition of the network
	faultDiskFail  = "disk-fail"  // a disk armed to fail (or fill) at a coming sync
	faultDiskCrash = "disk-crash" // a disk armed to crash the machine at a coming sync
	faultWipe      = "wipe"       // a node crashed and its disk replaced by an empty one
	faultFlip      = "flip"       // a node crashed and a synced WAL byte flipped
	faultSkew      = "skew"       // a node's clock set off
	faultDrift     = "drift"      // a node's clock running fast or slow
	faultDrop      = "drop"       // a message lost
	faultDup       = "dup"        // a message delivered twice
	faultJitter    = "jitter"     // a message delayed past the link's latency
	// The network's long faults (network.go).
	faultHold      = "hold"       // a message parked until a leader change, a restart or a long time
	faultHoldCut   = "hold-cut"   // a message a partition would lose, parked until the heal
	faultHoldDown  = "hold-down"  // a message to a down node, parked until its restart
	faultRedeliver = "redeliver"  // an old message delivered again
	faultLongDelay = "long-delay" // a message delayed by election timeouts
	faultEcho      = "echo"       // confirmations of a node's previous process sent to its next one (echo.go)
	faultCrashLoop = "crash-loop" // a restarted node crashed again soon (echo.go)
	faultReconnect = "reconnect"  // clients sent to a restarted node (echo.go)
)

// FaultRecord is one fault a run applied: its number and kind.
type FaultRecord struct {
	N    int
	Kind string
}

// faultSchedule numbers a run's fault decisions and knows which to skip.
type faultSchedule struct {
	seq       int
	skipN     map[int]bool
	skipKind  map[string]bool
	applied   []FaultRecord // when recording
	recording bool
}

func newFaultSchedule(o Options) faultSchedule {
	fs := faultSchedule{recording: o.recordFaults}
	if len(o.SkipFaults) > 0 {
		fs.skipN = make(map[int]bool, len(o.SkipFaults))
		for _, n := range o.SkipFaults {
			fs.skipN[n] = true
		}
	}
	if len(o.SkipKinds) > 0 {
		fs.skipKind = make(map[string]bool, len(o.SkipKinds))
		for _, k := range o.SkipKinds {
			fs.skipKind[k] = true
		}
	}
	return fs
}

// allowFault numbers the next fault decision, of the given kind, and
// reports whether the run applies it. Call it after the fault's random
// draws, so a skipped fault has consumed them too.
func (w *World) allowFault(kind string) bool {
	f := &w.faultSched
	f.seq++
	if f.skipKind[kind] || f.skipN[f.seq] {
		w.stats.FaultsSkipped++
		return false
	}
	w.stats.Faults++
	if f.recording {
		f.applied = append(f.applied, FaultRecord{N: f.seq, Kind: kind})
	}
	return true
}

// crashDraws are the random draws a crash makes: whether it keeps the
// unsynced writes, and the seed of the crash image.
type crashDraws struct {
	keep         int
	seedA, seedB uint64
}

func (w *World) drawCrash() crashDraws {
	keep := w.keepShare()
	return crashDraws{keep: keep, seedA: w.rng.Uint64(), seedB: w.rng.Uint64()}
}

// skipCrash consumes what a crash and its restart would have drawn, for a
// crash the schedule leaves out.
func (w *World) skipCrash() {
	w.drawCrash()
	w.drawDowntime()
}

// FaultSet is a set of fault numbers. It reads and writes as ranges
// ("6-109,111,140-148"), as a shrunk run leaves out long runs of them.
type FaultSet []int

func (s FaultSet) String() string {
	sorted := slices.Clone(s)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	var b strings.Builder
	for i := 0; i < len(sorted); {
		j := i
		for j+1 < len(sorted) && sorted[j+1] == sorted[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if j == i {
			fmt.Fprintf(&b, "%d", sorted[i])
		} else {
			fmt.Fprintf(&b, "%d-%d", sorted[i], sorted[j])
		}
		i = j + 1
	}
	return b.String()
}

func (s FaultSet) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

func (s *FaultSet) UnmarshalJSON(b []byte) error {
	var list []int
	if json.Unmarshal(b, &list) == nil {
		*s = list // a plain list, as a hand-written file may have it
		return nil
	}
	var text string
	if err := json.Unmarshal(b, &text); err != nil {
		return fmt.Errorf("fault set: want a string of ranges like \"3,7-9\": %w", err)
	}
	*s = nil
	for _, part := range strings.Split(text, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return fmt.Errorf("fault set %q: %w", text, err)
		}
		z := a
		if isRange {
			if z, err = strconv.Atoi(hi); err != nil || z < a {
				return fmt.Errorf("fault set %q: bad range %q", text, part)
			}
		}
		for n := a; n <= z; n++ {
			*s = append(*s, n)
		}
	}
	return nil
}
