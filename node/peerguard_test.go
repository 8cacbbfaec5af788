package node

import (
	"errors"
	"slices"
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
	"pgregory.net/rapid"

	"github.com/seshat-db/seshat/kv"
)

// The attacks of issue 16 that a well-formed raft message can make, each
// sent to a running cluster: the node must neither panic nor stop, must
// count the message as dropped, and the cluster must go on serving.

// forge steps m into node to as if m.From sent it, and returns Step's error.
func (c *cluster) forge(to uint64, m *pb.Message) error {
	m.To = proto.Uint64(to)
	return c.node(to).Step(envelope{kind: peerRaft, from: m.GetFrom()}.encode(marshalRaft(m)))
}

// servesAfter checks that no node stopped and that the cluster still
// takes a write.
func (c *cluster) servesAfter(what string) {
	c.t.Helper()
	for id := range c.nodes {
		if err := c.nodes[id].StopErr(); err != nil {
			c.t.Fatalf("%s: node %d stopped: %v", what, id+1, err)
		}
	}
	// A forged message may cost an election (one at a later term makes
	// the leader step down), and a write in its midst may end unknown.
	// Some leader, not one every node agrees on: a well-formed forged
	// snapshot may rewrite the membership (node ids are not fixed since
	// operators change membership), which only peer authentication stops.
	var err error
	for range 5 {
		if err = c.do(c.theLeader(), set("after", what)).Err; err == nil {
			return
		}
	}
	c.t.Fatalf("%s: five writes after it failed, the last: %v", what, err)
}

func written(c *cluster, k int) (lead, follower uint64) {
	lead = c.leader()
	for i := range k {
		if res := c.do(lead, set(string(rune('a'+i)), "v")); res.Err != nil {
			c.t.Fatal(res.Err)
		}
	}
	return lead, c.follower(lead)
}

func msg(typ pb.MessageType, from, term uint64) *pb.Message {
	return &pb.Message{Type: typ.Enum(), From: proto.Uint64(from), Term: proto.Uint64(term)}
}

// TestForgedHeartbeatIsDropped: the one-packet kill, a heartbeat
// in the leader's name at the current term with commit 999999999 (raft:
// tocommit(999999999) is out of range), sent to a follower and to the
// leader itself.
func TestForgedHeartbeatIsDropped(t *testing.T) {
	c := newCluster(t, 31, testConfig())
	lead, f := written(c, 3)
	term := c.node(f).Status().Term
	beat := msg(pb.MessageType_MsgHeartbeat, lead, term)
	beat.Commit = proto.Uint64(999999999)
	if err := c.forge(f, beat); err != nil {
		t.Fatalf("forged heartbeat to the follower: %v", err)
	}
	beat = msg(pb.MessageType_MsgHeartbeat, f, term)
	beat.Commit = proto.Uint64(999999999)
	if err := c.forge(lead, beat); err != nil {
		t.Fatalf("forged heartbeat to the leader: %v", err)
	}
	if got := c.node(f).Status().DroppedForged + c.node(lead).Status().DroppedForged; got != 2 {
		t.Fatalf("dropped %d forged heartbeats, want 2", got)
	}
	c.servesAfter("forged heartbeats")
	c.converged()
}

// TestForgedAppendCannotOverwrite: an append in the leader's name at its
// term that would replace the leader's own entries on a follower (raft
// would truncate the follower's log: what it acknowledged is gone) is
// dropped, and the follower keeps its log.
func TestForgedAppendCannotOverwrite(t *testing.T) {
	c := newCluster(t, 32, testConfig())
	lead, f := written(c, 3)
	n := c.node(f)
	term, last := n.Status().Term, n.store.LastIndexCached()
	first := last // the first entry of the leader's term
	for first > 1 {
		if tm, err := n.store.Term(first - 1); err != nil || tm != term {
			break
		}
		first--
	}
	prevTerm, err := n.store.Term(first - 1)
	if err != nil {
		t.Fatal(err)
	}
	app := msg(pb.MessageType_MsgApp, lead, term)
	app.Index, app.LogTerm = proto.Uint64(first-1), proto.Uint64(prevTerm)
	app.Entries = []*pb.Entry{{Index: proto.Uint64(first), Term: proto.Uint64(prevTerm)}}
	if err := c.forge(f, app); err != nil {
		t.Fatalf("forged append: %v", err)
	}
	c.settle()
	if got := n.store.LastIndexCached(); got != last {
		t.Fatalf("the follower's log ends at %d after a forged append, was %d", got, last)
	}
	if got := n.Status().DroppedForged; got != 1 {
		t.Fatalf("dropped %d, want 1", got)
	}
	c.servesAfter("a forged overwriting append")
	c.converged()
}

// TestImpossibleMessagesAreDropped: each message raft would panic on, or
// no honest peer sends, is dropped and counted; the cluster serves after.
func TestImpossibleMessagesAreDropped(t *testing.T) {
	garbage := &pb.Entry{Data: []byte{0xff, 1, 2}}
	cases := []struct {
		name   string
		toLead bool
		make   func(lead, f, term, last uint64) *pb.Message
	}{
		{"term past maxTerm", false, func(lead, f, term, last uint64) *pb.Message {
			return msg(pb.MessageType_MsgVote, lead, maxTerm)
		}},
		{"log term past term", false, func(lead, f, term, last uint64) *pb.Message {
			m := msg(pb.MessageType_MsgApp, lead, term)
			m.Index, m.LogTerm = proto.Uint64(last), proto.Uint64(term+1)
			return m
		}},
		{"heartbeat from a second leader", false, func(lead, f, term, last uint64) *pb.Message {
			return msg(pb.MessageType_MsgHeartbeat, 6-lead-f, term)
		}},
		{"append with a gap", false, func(lead, f, term, last uint64) *pb.Message {
			m := msg(pb.MessageType_MsgApp, lead, term)
			m.Index, m.LogTerm = proto.Uint64(last), proto.Uint64(term)
			m.Entries = []*pb.Entry{{Index: proto.Uint64(last + 1), Term: proto.Uint64(term)}, {Index: proto.Uint64(last + 5), Term: proto.Uint64(term)}}
			return m
		}},
		{"append with an entry that does not decode", false, func(lead, f, term, last uint64) *pb.Message {
			m := msg(pb.MessageType_MsgApp, lead, term)
			m.Index, m.LogTerm, m.Commit = proto.Uint64(last), proto.Uint64(term), proto.Uint64(last+1)
			e := proto.Clone(garbage).(*pb.Entry)
			e.Index, e.Term = proto.Uint64(last+1), proto.Uint64(term)
			m.Entries = []*pb.Entry{e}
			return m
		}},
		{"membership change that does not decode", false, func(lead, f, term, last uint64) *pb.Message {
			m := msg(pb.MessageType_MsgApp, lead, term)
			m.Index, m.LogTerm = proto.Uint64(last), proto.Uint64(term)
			m.Entries = []*pb.Entry{{Index: proto.Uint64(last + 1), Term: proto.Uint64(term), Type: pb.EntryType_EntryConfChangeV2.Enum(), Data: []byte{0xff}}}
			return m
		}},
		{"empty proposal", true, func(lead, f, term, last uint64) *pb.Message {
			return msg(pb.MessageType_MsgProp, f, 0)
		}},
		{"proposal that does not decode", true, func(lead, f, term, last uint64) *pb.Message {
			m := msg(pb.MessageType_MsgProp, f, 0)
			m.Entries = []*pb.Entry{garbage}
			return m
		}},
		{"ack past the leader's log", true, func(lead, f, term, last uint64) *pb.Message {
			m := msg(pb.MessageType_MsgAppResp, f, term)
			m.Index = proto.Uint64(last + 1000)
			return m
		}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, uint64(40+i), testConfig())
			lead, f := written(c, 2)
			to := f
			if tc.toLead {
				to = lead
			}
			n := c.node(to)
			m := tc.make(lead, f, n.Status().Term, n.store.LastIndexCached())
			if err := c.forge(to, m); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if got := n.Status().DroppedForged; got != 1 {
				t.Fatalf("%s: dropped %d, want 1", tc.name, got)
			}
			c.settle()
			c.servesAfter(tc.name)
			c.converged()
		})
	}
}

// TestSnapshotOfUnknownMembershipIsDropped: a snapshot transfer whose
// last chunk names a membership raft cannot restore (a voter that is also
// a learner) is dropped; before, raft panicked (unable to restore config).
func TestSnapshotOfUnknownMembershipIsDropped(t *testing.T) {
	c := newCluster(t, 33, testConfig())
	lead, f := written(c, 2)
	n := c.node(f)
	term := n.Status().Term
	snap := msg(pb.MessageType_MsgSnap, lead, term)
	snap.To = proto.Uint64(f)
	snap.Snapshot = &pb.Snapshot{Metadata: &pb.SnapshotMetadata{
		Index: proto.Uint64(n.store.LastIndexCached() + 100), Term: proto.Uint64(term),
		ConfState: &pb.ConfState{Voters: []uint64{1, 2, 3}, Learners: []uint64{f}},
	}}
	chunk := snapChunk{from: lead, to: f, id: 1, seq: 0, final: marshalRaft(snap)}
	if err := n.Step(envelope{kind: peerSnapChunk, from: lead}.encode(chunk.encode())); err != nil {
		t.Fatalf("forged snapshot: %v", err)
	}
	if got := n.Status().DroppedForged; got != 1 {
		t.Fatalf("dropped %d, want 1", got)
	}
	c.drop = func(m message) bool { return m.From == f && m.To == lead && m.Data[0] == peerSnapAck }
	c.settle()
	c.drop = nil
	c.servesAfter("a snapshot of unknown membership")
}

// TestStepSurvivesForgedRaft extends TestStepSurvivesGarbage to raft
// messages that decode and name real members at terms and indexes near
// the receiver's: whatever their type and fields, no node stops and the
// cluster still takes a write.
func TestStepSurvivesForgedRaft(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		f := drawForged(rt)
		forgeAndServe(t, f)
	})
}

// forged is one forged raft message, its fields relative to the
// receiver's term and log.
type forged struct {
	seed                    uint64
	toLeader                bool
	from, typ               uint8
	termOff, logTermOff     int8
	indexOff, commitOff     int16
	reject                  bool
	entries                 uint8
	entryTermOff, entryKind int8
	data                    []byte
}

func drawForged(rt *rapid.T) forged {
	return forged{
		seed:         rapid.Uint64Range(1, 4).Draw(rt, "seed"),
		toLeader:     rapid.Bool().Draw(rt, "toLeader"),
		from:         rapid.Uint8Range(0, 4).Draw(rt, "from"),
		typ:          rapid.Uint8Range(0, 24).Draw(rt, "type"),
		termOff:      rapid.Int8Range(-2, 2).Draw(rt, "termOff"),
		logTermOff:   rapid.Int8Range(-2, 2).Draw(rt, "logTermOff"),
		indexOff:     rapid.Int16Range(-8, 8).Draw(rt, "indexOff"),
		commitOff:    rapid.Int16Range(-8, 1000).Draw(rt, "commitOff"),
		reject:       rapid.Bool().Draw(rt, "reject"),
		entries:      rapid.Uint8Range(0, 4).Draw(rt, "entries"),
		entryTermOff: rapid.Int8Range(-2, 1).Draw(rt, "entryTermOff"),
		entryKind:    rapid.Int8Range(0, 3).Draw(rt, "entryKind"),
		data:         rapid.SliceOfN(rapid.Byte(), 0, 16).Draw(rt, "data"),
	}
}

func offset[T int8 | int16](base uint64, off T) uint64 {
	if off < 0 && uint64(-off) > base {
		return 0
	}
	return uint64(int64(base) + int64(off))
}

// message builds f's raft message for node n.
func (f forged) message(n *Node) *pb.Message {
	term, last := n.Status().Term, n.store.LastIndexCached()
	m := msg(pb.MessageType(f.typ), uint64(f.from), offset(term, f.termOff))
	m.LogTerm = proto.Uint64(offset(term, f.logTermOff))
	m.Index = proto.Uint64(offset(last, f.indexOff))
	m.Commit = proto.Uint64(offset(last, f.commitOff))
	m.Reject = proto.Bool(f.reject)
	m.RejectHint = proto.Uint64(offset(last, f.indexOff/2))
	for i := range uint64(f.entries) {
		e := &pb.Entry{Index: proto.Uint64(m.GetIndex() + 1 + i), Term: proto.Uint64(offset(m.GetTerm(), f.entryTermOff))}
		switch f.entryKind {
		case 1:
			e.Data = f.data
		case 2:
			e.Type, e.Data = pb.EntryType_EntryConfChangeV2.Enum(), f.data
		case 3:
			e.Data = encodeEntry(session{origin: 9, incarnation: 9}, 1+i, []kv.Op{set("forged", string(f.data))})
		}
		m.Entries = append(m.Entries, e)
	}
	if pb.MessageType(f.typ) == pb.MessageType_MsgSnap {
		m.Snapshot = &pb.Snapshot{Metadata: &pb.SnapshotMetadata{Index: m.Index, Term: m.LogTerm,
			ConfState: &pb.ConfState{Voters: []uint64{1, 2, uint64(f.from)}, Learners: []uint64{uint64(f.entries)}}}}
	}
	return m
}

// forgeAndServe sends f to a fresh cluster and checks that it serves on.
func forgeAndServe(t *testing.T, f forged) {
	c := newCluster(t, 50+f.seed, testConfig())
	lead, fl := written(c, 2)
	to := fl
	if f.toLeader {
		to = lead
	}
	m := f.message(c.node(to))
	var err error
	if pb.MessageType(f.typ) == pb.MessageType_MsgSnap {
		m.To = proto.Uint64(to)
		chunk := snapChunk{from: m.GetFrom(), to: to, id: 1, final: marshalRaft(m)}
		err = c.node(to).Step(envelope{kind: peerSnapChunk, from: m.GetFrom()}.encode(chunk.encode()))
	} else {
		err = c.forge(to, m)
	}
	if errors.Is(err, ErrLogLost) || c.node(to).StopErr() != nil {
		t.Fatalf("forged %s stopped node %d: %v", m.GetType(), to, err)
	}
	c.servesAfter("forged " + m.GetType().String())
}

// TestStepFromRefusesAnotherSendersName: a peer the transport
// authenticated as 3 sends a heartbeat whose envelope and body name the
// leader. It is dropped before decoding; the same bytes from the leader's
// connection are taken.
func TestStepFromRefusesAnotherSendersName(t *testing.T) {
	c := newCluster(t, 34, testConfig())
	lead, f := written(c, 2)
	other := 6 - lead - f
	beat := msg(pb.MessageType_MsgHeartbeat, lead, c.node(f).Status().Term)
	beat.To = proto.Uint64(f)
	data := envelope{kind: peerRaft, from: lead}.encode(marshalRaft(beat))
	if err := c.node(f).StepFrom(other, data); !errors.Is(err, errPeerDropped) {
		t.Fatalf("a message in the leader's name from peer %d: %v", other, err)
	}
	if got := c.node(f).Status().DroppedForged; got != 1 {
		t.Fatalf("dropped %d, want 1", got)
	}
	if err := c.node(f).StepFrom(lead, data); err != nil {
		t.Fatalf("the leader's own heartbeat: %v", err)
	}
}

// TestRefusalOfAcknowledgedEntryIsDropped: a follower that refuses an
// entry it acknowledged in this term lost it (its disk broke its
// promise), or the refusal is an old copy. Raft answers such a refusal,
// in probe state, with a new probe at once, a loop that never ends
// while the follower keeps refusing (a simulated run with nodes that
// never fsync stalled in it), so the leader drops it.
func TestRefusalOfAcknowledgedEntryIsDropped(t *testing.T) {
	c := newCluster(t, 33, testConfig())
	lead, f := written(c, 3)
	term, acked := c.node(lead).Status().Term, c.node(f).store.LastIndexCached()
	refusal := msg(pb.MessageType_MsgAppResp, f, term)
	refusal.Index, refusal.Reject, refusal.RejectHint = proto.Uint64(acked), proto.Bool(true), proto.Uint64(1)
	if err := c.forge(lead, refusal); err != nil {
		t.Fatalf("refusal to the leader: %v", err)
	}
	if got := c.node(lead).Status().DroppedForged; got != 1 {
		t.Fatalf("the leader dropped %d refusals of acknowledged entry %d, want 1", got, acked)
	}
	c.servesAfter("a refusal of an acknowledged entry")
	c.converged()
}

// TestForgedJoinIsRefused: issue 16's forged join, a request to admit
// a member under an identity the attacker picks, sent by an
// authenticated peer in the name of a member that is down. The
// transport authenticated the sender, so a join in another's name is
// dropped before the leader reads it, and the member keeps its identity.
func TestForgedJoinIsRefused(t *testing.T) {
	c := newCluster(t, 35, testConfig())
	lead, f := written(c, 2)
	victim := 6 - lead - f
	c.stop(victim)
	before := c.node(lead).store.MemberIdentity(victim)
	join := envelope{kind: peerJoin, from: victim, fromIdentity: 0x7777}.encode(nil)
	if err := c.node(lead).StepFrom(f, join); !errors.Is(err, errPeerDropped) {
		t.Errorf("a join in node %d's name from peer %d: %v", victim, f, err)
	}
	c.settle()
	if got := c.node(lead).store.MemberIdentity(victim); got != before {
		t.Fatalf("node %d's identity changed from %x to %x after a forged join", victim, before, got)
	}
	if voters := c.node(lead).store.ConfState().GetVoters(); !slices.Contains(voters, victim) {
		t.Fatalf("node %d was removed after a forged join: voters %v", victim, voters)
	}
}

// TestLateTimeoutNowIsNotForged: the swarm's operator (swarm seed 77)
// moved leadership from 3 to 1, and a duplicated copy of 3's TimeoutNow
// reached 1 once it led the next term. A message of an older term is
// stale, not forged: raft ignores it, and the guard must not count it.
func TestLateTimeoutNowIsNotForged(t *testing.T) {
	c := newCluster(t, 33, testConfig())
	lead, f := written(c, 2)
	term := c.node(lead).Status().Term
	if err := c.forge(lead, msg(pb.MessageType_MsgTimeoutNow, f, term-1)); err != nil {
		t.Fatalf("a late TimeoutNow: %v", err)
	}
	if got := c.node(lead).Status().DroppedForged; got != 0 {
		t.Fatalf("the guard dropped a TimeoutNow of an older term as forged (%d)", got)
	}
	if !c.node(lead).Status().IsLeader {
		t.Fatalf("n%d stopped leading after a stale TimeoutNow", lead)
	}
	c.servesAfter("a late TimeoutNow")
}
