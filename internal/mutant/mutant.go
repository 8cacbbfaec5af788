// Package mutant holds the switches of the planted bugs that `make
// mutants` runs the simulator against (cmd/seshat-mutants). Each mutant is
// one `if mutant.On(mutant.X)` at its site in node or storage code, so the
// bug lives in the repository next to the code it breaks, and mutation
// testing is a standing check rather than a patch that rots.
//
// Without the build tag `mutants`, On is a constant false that the
// compiler inlines and deletes along with the branch it guards: production
// binaries carry no planted bug and pay nothing. With `-tags mutants`, the
// simulator's test selects one mutant (Select) before it runs, and On
// reports whether that is the one. The choice is made once per process and
// never changes during a run, so runs stay deterministic.
package mutant

// Name names one planted bug.
type Name string

// The planted bugs, each a bug that Raft-based stores have shipped.
const (
	EntriesUnsynced           Name = "entries-unsynced"
	AckBeforeSync             Name = "ack-before-sync"
	AckBeforeCommit           Name = "ack-before-commit"
	VoteForgottenOnRestart    Name = "vote-forgotten-on-restart"
	VoteNotPersisted          Name = "vote-not-persisted"
	ReadBeforeApplied         Name = "read-before-applied"
	StaleReadConfirmation     Name = "stale-read-confirmation"
	LeaderLocalReads          Name = "leader-local-reads"
	DedupForgetsAtNewTerm     Name = "dedup-forgets-at-new-term"
	DedupLatestOnly           Name = "dedup-latest-only"
	InstallUnsynced           Name = "install-unsynced"
	InstallKeepsOldData       Name = "install-keeps-old-data"
	SnapshotStaleData         Name = "snapshot-stale-data"
	CompactOneTooFar          Name = "compact-one-too-far"
	CompactBaseNotPersisted   Name = "compact-base-not-persisted"
	ConfNotPersisted          Name = "conf-not-persisted"
	ConfSkippedOnFollower     Name = "conf-skipped-on-follower"
	GroupAppliedPartially     Name = "group-applied-partially"
	ScanCursorSkips           Name = "scan-cursor-skips"
	InstallSkipsScanIndex     Name = "install-skips-scan-index"
	MemberAckBeforeApply      Name = "member-ack-before-apply"
	UnrecordedMemberAlreadyIn Name = "unrecorded-member-already-in"
	CloseLeaksTransfer        Name = "close-leaks-transfer"
	FailedMemberHidden        Name = "failed-member-hidden"
)

// Info describes a planted bug for the runner's table.
type Info struct {
	Name Name
	Area string // durability, reads, dedup, snapshots, membership, votes, compaction, apply
	Bug  string // what the code does wrong
	// Unsafe says the bug is switched by an existing TEST ONLY option of
	// the simulator (sim.Options.Unsafe...) rather than by a mutant.On site.
	Unsafe bool
}

// All lists every mutant the runner tries, in the order of its table.
var All = []Info{
	{EntriesUnsynced, "durability", "log entries are written without fsync (hard state and data still synced)", false},
	{AckBeforeSync, "durability", "a follower sends its acks and votes first and commits its batch without fsync, leaving durability to its next synced write", false},
	{AckBeforeCommit, "durability", "a leader answers a write once it is in its own log, before it commits", false},
	{"no-sync", "durability", "nothing is fsynced (sim.Options.UnsafeNoSync)", true},
	{VoteForgottenOnRestart, "votes", "a restarted node forgets whom it voted for in its term", false},
	{VoteNotPersisted, "votes", "the hard state is persisted with the term but the vote of before", false},
	{ReadBeforeApplied, "reads", "a confirmed read is served before applied reaches its read index", false},
	{StaleReadConfirmation, "reads", "a ReadIndex confirmation meant for an earlier process of the node serves a read", false},
	{LeaderLocalReads, "reads", "a node that believes it leads serves reads from local state, without ReadIndex", false},
	{"local-reads", "reads", "every node serves reads without ReadIndex (sim.Options.UnsafeLocalReads)", true},
	{DedupForgetsAtNewTerm, "dedup", "the dedup window lets a duplicate through when it is the first entry of a new term", false},
	{DedupLatestOnly, "dedup", "dedup remembers only a session's latest proposal, not its window", false},
	{"no-dedup", "dedup", "duplicated proposals apply twice (sim.Options.UnsafeNoDedup)", true},
	{InstallUnsynced, "snapshots", "an installed snapshot is swapped in without fsync, then acknowledged", false},
	{InstallKeepsOldData, "snapshots", "installing a snapshot keeps keys the snapshot does not have", false},
	{SnapshotStaleData, "snapshots", "a snapshot sends the data as of the last compaction under the applied index", false},
	{CompactOneTooFar, "compaction", "compaction deletes one log entry past the new base", false},
	{CompactBaseNotPersisted, "compaction", "compaction deletes the log entries but does not persist the new base", false},
	{ConfNotPersisted, "membership", "a membership change is applied to raft but not persisted with the batch", false},
	{ConfSkippedOnFollower, "membership", "a node that does not lead skips applying membership changes", false},
	{MemberAckBeforeApply, "membership", "the leader answers an operator's membership change once it proposed it, before it applies", false},
	{UnrecordedMemberAlreadyIn, "membership", "an ADDNODE under a member's id whose address is not recorded yet is answered 'already a member', whichever machine asks", false},
	{"blind-bootstrap", "membership", "a wiped node bootstraps a new cluster without asking (sim.Options.UnsafeBlindBootstrap)", true},
	{"new-learner-verdict", "membership", "an added learner runs under identity 0 and its wiped self is called new, so its old self's held acknowledgements count (sim.Options.UnsafeNewLearnerVerdict)", true},
	{"join-from-retired", "membership", "a leader takes a join request of a retired identity, so a held one of a wiped node's earlier start removes its current self (sim.Options.UnsafeJoinFromRetired)", true},
	{GroupAppliedPartially, "apply", "the last op of a multi-op entry is answered but not applied", false},
	{ScanCursorSkips, "reads", "SCAN's cursor skips the first key past the last one returned", false},
	{InstallSkipsScanIndex, "snapshots", "installing a snapshot does not build SCAN's index for the keys it brings", false},
	{CloseLeaksTransfer, "snapshots", "Close leaves a snapshot being sent open, so the storage snapshot behind it leaks", false},
	{FailedMemberHidden, "membership", "the leader never flags a member it has not heard from failed: CLUSTER NODES tells a dead node connected", false},
}

// Lookup returns the mutant called name.
func Lookup(name string) (Info, bool) {
	for _, m := range All {
		if string(m.Name) == name {
			return m, true
		}
	}
	return Info{}, false
}
