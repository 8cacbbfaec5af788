package node

import (
	"fmt"
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// The membership changes the peer guard admits (peerguard_conf.go): the
// shapes Seshat's leader proposes, a Replace and raft's leave among them,
// and snapshots of a joint configuration; and the ones it refuses.

func confEntry(t *testing.T, cc *pb.ConfChangeV2) *pb.Entry {
	t.Helper()
	data, err := proto.Marshal(cc)
	if err != nil {
		t.Fatal(err)
	}
	return &pb.Entry{Type: pb.EntryType_EntryConfChangeV2.Enum(), Data: data}
}

func single(typ pb.ConfChangeType, id uint64) *pb.ConfChangeSingle {
	return &pb.ConfChangeSingle{Type: typ.Enum(), NodeId: proto.Uint64(id)}
}

func TestConfChangeShapes(t *testing.T) {
	opCtx := memberContext{request: 1}.encode()
	add, remove, learner := pb.ConfChangeType_ConfChangeAddNode, pb.ConfChangeType_ConfChangeRemoveNode, pb.ConfChangeType_ConfChangeAddLearnerNode
	replace, _ := replaceChanges(MemberChange{Kind: Replace, Old: 3, ID: 4})
	_, rest := replaceChanges(MemberChange{Kind: Replace, Old: 3, ID: 4})
	explicit := pb.ConfChangeTransition_ConfChangeTransitionJointExplicit
	for _, tc := range []struct {
		name string
		e    *pb.Entry
		ok   bool
	}{
		{"one change", confEntry(t, &pb.ConfChangeV2{Changes: []*pb.ConfChangeSingle{single(learner, 4)}, Context: opCtx}), true},
		{"a replace as proposed", confEntry(t, &pb.ConfChangeV2{Changes: []*pb.ConfChangeSingle{replace, rest[0]}, Context: opCtx}), true},
		{"raft's leave (nil data)", &pb.Entry{Type: pb.EntryType_EntryConfChangeV2.Enum()}, true},
		{"a leave with data", confEntry(t, &pb.ConfChangeV2{Context: []byte{1}}), false},
		{"a replace without context", confEntry(t, &pb.ConfChangeV2{Changes: []*pb.ConfChangeSingle{replace, rest[0]}}), false},
		{"remove before add", confEntry(t, &pb.ConfChangeV2{Changes: []*pb.ConfChangeSingle{rest[0], replace}, Context: opCtx}), false},
		{"two adds", confEntry(t, &pb.ConfChangeV2{Changes: []*pb.ConfChangeSingle{single(add, 4), single(add, 5)}, Context: opCtx}), false},
		{"add and remove one id", confEntry(t, &pb.ConfChangeV2{Changes: []*pb.ConfChangeSingle{single(add, 4), single(remove, 4)}, Context: opCtx}), false},
		{"a learner into the joint config", confEntry(t, &pb.ConfChangeV2{Changes: []*pb.ConfChangeSingle{single(learner, 4), single(remove, 3)}, Context: opCtx}), false},
		{"three changes", confEntry(t, &pb.ConfChangeV2{Changes: []*pb.ConfChangeSingle{single(add, 4), single(remove, 3), single(remove, 2)}, Context: opCtx}), false},
		{"an explicit joint replace", confEntry(t, &pb.ConfChangeV2{Transition: explicit.Enum(), Changes: []*pb.ConfChangeSingle{replace, rest[0]}, Context: opCtx}), false},
		{"a transition out of raft's enum", confEntry(t, &pb.ConfChangeV2{Transition: pb.ConfChangeTransition(48).Enum(), Changes: []*pb.ConfChangeSingle{single(add, 4)}}), false},
	} {
		if err := decodePayload(tc.e); (err == nil) != tc.ok {
			t.Errorf("%s: %v, want accepted %v", tc.name, err, tc.ok)
		}
	}
}

// TestJointSnapshotIsAccepted: a snapshot made while raft is joint (a
// Replace applied, its leave not yet) restores.
func TestJointSnapshotIsAccepted(t *testing.T) {
	m := msg(pb.MessageType_MsgSnap, 1, 5)
	m.Snapshot = &pb.Snapshot{Metadata: &pb.SnapshotMetadata{Index: proto.Uint64(20), Term: proto.Uint64(5),
		ConfState: &pb.ConfState{Voters: []uint64{1, 2, 4}, VotersOutgoing: []uint64{1, 2, 3}, AutoLeave: proto.Bool(true)}}}
	if err := checkSnapshot(m); err != nil {
		t.Fatalf("a joint snapshot: %v", err)
	}
	m.Snapshot.Metadata.ConfState.LearnersNext = []uint64{1} // a voter in both halves cannot also be a learner next
	if err := checkSnapshot(m); err == nil {
		t.Fatal("a snapshot raft cannot restore was accepted")
	}
}

// TestForgedLeaveIsDropped: raft's leave where the log is in no joint
// configuration would be refused by raft at apply (FuzzForgedRaft seed
// 081db5f4dd5348f7); the guard drops the append.
func TestForgedLeaveIsDropped(t *testing.T) {
	c := newCluster(t, 35, testConfig())
	lead, f := written(c, 2)
	term, last := c.node(f).Status().Term, c.node(f).store.LastIndexCached()
	logTerm, _ := c.node(f).store.Term(last)
	app := msg(pb.MessageType_MsgApp, lead, term)
	app.Index, app.LogTerm = proto.Uint64(last), proto.Uint64(logTerm)
	app.Entries = []*pb.Entry{{Index: proto.Uint64(last + 1), Term: proto.Uint64(term), Type: pb.EntryType_EntryConfChangeV2.Enum()}}
	if err := c.forge(f, app); err != nil {
		t.Fatal(err)
	}
	if got := c.node(f).Status().DroppedForged; got != 1 {
		t.Fatalf("dropped %d, want the forged leave", got)
	}
	c.servesAfter("a forged leave of a joint configuration")
}

// TestJointSnapshotWithoutAutoLeaveIsDropped: Seshat enters a joint
// configuration only with transition Auto, so raft leaves it by itself.
// A snapshot of one without AutoLeave (forged: no honest leader makes it)
// would restore a membership raft never leaves, and every operator
// change after it refused as pending.
func TestJointSnapshotWithoutAutoLeaveIsDropped(t *testing.T) {
	m := msg(pb.MessageType_MsgSnap, 1, 5)
	m.Snapshot = &pb.Snapshot{Metadata: &pb.SnapshotMetadata{Index: proto.Uint64(20), Term: proto.Uint64(5),
		ConfState: &pb.ConfState{Voters: []uint64{1, 2, 4}, VotersOutgoing: []uint64{1, 2, 3}}}}
	if err := checkSnapshot(m); err == nil {
		t.Fatal("a joint snapshot raft would never leave was accepted")
	}
}

// TestForgedJointChangesLeaveTheClusterServing: joint changes in every
// shape the guard admits, raft's leave around them and simple changes
// between, forged in an append that commits them, sent to a follower in
// its leader's name and to the leader at a later term. raft refuses the
// ones it cannot make (the error is expected); no node may stop, and the
// cluster must still take a write. Before the removal notice passed over
// at an election, the leader's forged state told a member it was
// removed, that member was elected, and it refused every write.
func TestForgedJointChangesLeaveTheClusterServing(t *testing.T) {
	add, remove, learner := pb.ConfChangeType_ConfChangeAddNode, pb.ConfChangeType_ConfChangeRemoveNode, pb.ConfChangeType_ConfChangeAddLearnerNode
	opCtx := memberContext{request: 1}.encode()
	leave := &pb.Entry{Type: pb.EntryType_EntryConfChangeV2.Enum()}
	joint := func(a, b uint64) *pb.Entry {
		return confEntry(t, &pb.ConfChangeV2{Changes: []*pb.ConfChangeSingle{single(add, a), single(remove, b)}, Context: opCtx})
	}
	simple := func(typ pb.ConfChangeType, a uint64) *pb.Entry {
		return confEntry(t, &pb.ConfChangeV2{Changes: []*pb.ConfChangeSingle{single(typ, a)}, Context: opCtx})
	}
	shapes := []func(lead, f, o uint64) []*pb.Entry{
		func(lead, f, o uint64) []*pb.Entry { return []*pb.Entry{joint(9, lead)} },
		func(lead, f, o uint64) []*pb.Entry { return []*pb.Entry{joint(9, f), leave} },
		func(lead, f, o uint64) []*pb.Entry { return []*pb.Entry{joint(9, o), joint(8, lead)} },
		func(lead, f, o uint64) []*pb.Entry { return []*pb.Entry{joint(9, o), simple(remove, lead)} },
		func(lead, f, o uint64) []*pb.Entry { return []*pb.Entry{joint(f, o), leave, leave} },
		func(lead, f, o uint64) []*pb.Entry { return []*pb.Entry{joint(9, 7), leave} },
		func(lead, f, o uint64) []*pb.Entry { return []*pb.Entry{simple(remove, o), joint(9, lead), leave} },
		func(lead, f, o uint64) []*pb.Entry {
			return []*pb.Entry{simple(learner, 9), joint(9, o), simple(remove, f), leave}
		},
	}
	for seed := uint64(1); seed <= 4; seed++ {
		for i, shape := range shapes {
			for _, toLeader := range []bool{false, true} {
				c := newCluster(t, 50+seed, testConfig())
				c.errorsExpected = true
				lead, f := written(c, 2)
				o := 6 - lead - f
				to, from := f, lead
				term := c.node(to).Status().Term
				if toLeader {
					to, from, term = lead, f, term+1
				}
				last := c.node(to).store.LastIndexCached()
				logTerm, _ := c.node(to).store.Term(last)
				app := msg(pb.MessageType_MsgApp, from, term)
				app.Index, app.LogTerm = proto.Uint64(last), proto.Uint64(logTerm)
				for k, e := range shape(lead, f, o) {
					e = proto.Clone(e).(*pb.Entry)
					e.Index, e.Term = proto.Uint64(last+1+uint64(k)), proto.Uint64(term)
					app.Entries = append(app.Entries, e)
				}
				app.Commit = proto.Uint64(last + uint64(len(app.Entries)))
				_ = c.forge(to, app)
				c.ticks(3)
				c.servesAfter(fmt.Sprintf("seed %d, shape %d, to the leader %v", seed, i, toLeader))
			}
		}
	}
}
