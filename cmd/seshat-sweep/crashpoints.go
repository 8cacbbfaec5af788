package main

import (
	"fmt"
	"strings"
)

// crashPoints counts the aimed crashes that struck (sim/crashpoints.go),
// by crash point, so a sweep shows that each one was reached.
type crashPoints struct {
	vote, install, compaction, apply, membership int
}

func (p *crashPoints) add(q crashPoints) {
	p.vote += q.vote
	p.install += q.install
	p.compaction += q.compaction
	p.apply += q.apply
	p.membership += q.membership
}

// parseCrashPoints reads a seed's SWEEP-CRASHPOINTS line.
func parseCrashPoints(line string) (p crashPoints, scenario string, ok bool) {
	if !strings.HasPrefix(line, "SWEEP-CRASHPOINTS ") {
		return p, "", false
	}
	var seed int
	_, err := fmt.Sscanf(line, "SWEEP-CRASHPOINTS scenario=%s seed=%d vote=%d install=%d compaction=%d apply=%d membership=%d",
		&scenario, &seed, &p.vote, &p.install, &p.compaction, &p.apply, &p.membership)
	return p, scenario, err == nil
}

// printCrashPoints prints how often each crash point struck, per scenario.
func printCrashPoints(names []string, tallies map[string]*tally) {
	fmt.Printf("\naimed crashes, by crash point:\n%-22s %11s %13s %15s %16s %16s\n", "scenario", "after_vote", "after_install", "mid_compaction", "apply_unanswered", "after_membership")
	for _, name := range names {
		p := tallies[name].points
		fmt.Printf("%-22s %11d %13d %15d %16d %16d\n", name, p.vote, p.install, p.compaction, p.apply, p.membership)
	}
}
