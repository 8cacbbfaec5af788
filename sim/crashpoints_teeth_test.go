package sim

import (
	"strings"
	"testing"
	"time"
)

// TestForgottenVoteIsCaught plants a node that forgets its persisted vote
// when it restarts (a double vote waiting to happen): the check that a
// synced hard state is never forgotten must catch it, and the same seed
// must pass without the plant.
func TestForgottenVoteIsCaught(t *testing.T) {
	plantCaught(t, "a node that forgets its vote on restart", 5,
		func(seed uint64) Options {
			return Options{Seed: seed, Run: 20 * time.Second, FaultsEnd: 10 * time.Second, CrashPointEvery: 2 * time.Second}
		},
		func(o *Options) { o.UnsafeForgetVote = true },
		func(f *Failure) bool { return f.Class == classSafety && strings.Contains(f.Message, "forgotten") })
}

// TestCrashPointsStrike: on a seed of the swarm with aimed crashes, each
// crash point is reached and strikes, and the run stays correct.
func TestCrashPointsStrike(t *testing.T) {
	if replaying() {
		t.Skip("replaying particular runs")
	}
	res := Run(Options{Seed: 1})
	if res.Failure != nil {
		t.Fatal(res.Failure)
	}
	cp := res.Stats.CrashPoints
	t.Logf("swarm seed 1: %+v", cp)
	for name, n := range map[string]int{crashAfterVote: cp.AfterVote, crashAfterInstall: cp.AfterInstall, crashMidCompaction: cp.MidCompaction,
		crashApplyUnanswered: cp.ApplyUnanswered, crashAfterMembership: cp.AfterMembership} {
		if n == 0 {
			t.Errorf("crash point %s never struck", name)
		}
	}
}

// TestAimedCrashesMakeDoubleVotes: with the restart check silent, a node
// that forgets its vote must be seen voting for two candidates in one
// term. Crashes just after a vote sync, and quick restarts, make that
// happen within a few seconds of a few seeds; without aimed crashes none
// of swarm seeds 1 to 20 cast a second vote.
func TestAimedCrashesMakeDoubleVotes(t *testing.T) {
	plantCaught(t, "a node that forgets its vote, seen voting twice", 5,
		func(seed uint64) Options {
			return Options{Seed: seed, Run: 20 * time.Second, FaultsEnd: 10 * time.Second, CrashPointEvery: 3 * time.Second, noRestartVoteCheck: true}
		},
		func(o *Options) { o.UnsafeForgetVote = true },
		func(f *Failure) bool {
			return f.Class == classSafety && strings.Contains(f.Message, "voted twice")
		})
}
