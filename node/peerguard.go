package node

import (
	"errors"
	"fmt"
	"slices"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/confchange"
	pb "go.etcd.io/raft/v3/raftpb"
	"go.etcd.io/raft/v3/tracker"
	"google.golang.org/protobuf/proto"
)

// A raft message from a peer is judged before raft sees it. Raft trusts
// its peers: a commit index past the log, an append whose entries do not
// follow each other, or a snapshot whose membership raft cannot restore
// makes it panic, and one such packet would take the node down. So every
// message that could make raft panic, and every message no honest peer
// can send (two leaders in one term, a term no cluster reaches), is
// dropped here and counted, whoever sent it. This does not make a forged
// message harmless (a forged append at the right term and index is taken
// as any other); only authenticating peers does that (the transport's
// job). It makes sure no message stops the node.

// maxTerm bounds the terms a peer may name. Each election adds one, so no
// cluster gets near it; a forged term past it would sit in every node's
// hard state forever and bring the next increment closer to overflow.
const maxTerm = 1 << 48

// peerTypes are the raft messages a peer may send. Seshat never transfers
// leadership, so MsgTransferLeader and MsgTimeoutNow (which makes the
// receiver campaign at once) come from no honest peer; the local types
// never cross the network at all.
var peerTypes = map[pb.MessageType]bool{
	pb.MessageType_MsgApp: true, pb.MessageType_MsgAppResp: true,
	pb.MessageType_MsgVote: true, pb.MessageType_MsgVoteResp: true,
	pb.MessageType_MsgPreVote: true, pb.MessageType_MsgPreVoteResp: true,
	pb.MessageType_MsgHeartbeat: true, pb.MessageType_MsgHeartbeatResp: true,
	pb.MessageType_MsgProp: true, pb.MessageType_MsgSnap: true,
	pb.MessageType_MsgReadIndex: true, pb.MessageType_MsgReadIndexResp: true,
	pb.MessageType_MsgTimeoutNow: true, // a leadership transfer (checkTimeoutNow)
}

// errPeerDropped wraps the reason a peer message was dropped.
var errPeerDropped = errors.New("node: peer message dropped")

// errNotLeader drops a request meant for the leader that reached a node
// that no longer leads: an ordinary race, not counted.
var errNotLeader = errors.New("node: a peer's request for the leader reached a follower")

// peerGuard holds what the guard needs between messages and what it
// counted.
type peerGuard struct {
	// acked is the highest index this node acknowledged to a leader in a
	// term: only a commit index at or below it, from that leader in that
	// term, proves that the log lost entries (see checkHeartbeat).
	acked struct{ term, to, index uint64 }
	// dropped counts messages dropped, by reason; logged is the reasons
	// already logged, so a flood of forged messages logs each reason once.
	dropped uint64
	// refusedAcked counts refusals of entries already acknowledged
	// (checkRejectBelowMatch).
	refusedAcked uint64
	logged       map[string]bool
	// sentUpTo is the highest entry index this node sent in an append
	// of term sentTerm.
	sentTerm, sentUpTo uint64
}

// noteSent remembers an acknowledgement this node sends.
func (g *peerGuard) noteSent(m *pb.Message) {
	if m.GetType() == pb.MessageType_MsgApp && len(m.GetEntries()) > 0 {
		last := m.GetEntries()[len(m.GetEntries())-1].GetIndex()
		if g.sentTerm != m.GetTerm() {
			g.sentTerm, g.sentUpTo = m.GetTerm(), 0
		}
		g.sentUpTo = max(g.sentUpTo, last)
		return
	}
	if m.GetType() != pb.MessageType_MsgAppResp || m.GetReject() {
		return
	}
	a := &g.acked
	if a.term != m.GetTerm() || a.to != m.GetTo() {
		a.term, a.to, a.index = m.GetTerm(), m.GetTo(), 0
	}
	a.index = max(a.index, m.GetIndex())
}

// judge returns nil if m may be stepped into raft, an error wrapping
// errPeerDropped if it must be dropped, or ErrLogLost if it proves that
// this node lost entries it acknowledged.
func (n *Node) judge(m *pb.Message) error {
	bs := n.rn.BasicStatus()
	term, lead := bs.GetTerm(), bs.Lead
	if m.GetFrom() == raft.None || m.GetFrom() == n.cfg.ID {
		// raft would answer itself (and panics on a self-addressed
		// message). A sender this node does not know is stepped: it may
		// be a member added (even the leader elected) after this node's
		// applied index, and raft ignores what a non-member sends it.
		return dropped("sender %d", m.GetFrom())
	}
	// raft takes a message of term 0 for a local one, and answers it in
	// term 0, which raft's send panics on; only proposals and read
	// requests travel without a term.
	unterm := m.GetType() == pb.MessageType_MsgProp || m.GetType() == pb.MessageType_MsgReadIndex
	if m.GetTerm() >= maxTerm || (m.GetTerm() == 0) != unterm || m.GetLogTerm() > m.GetTerm() && !unterm {
		return dropped("impossible term %d (log term %d) for %s", m.GetTerm(), m.GetLogTerm(), m.GetType())
	}
	if !peerTypes[m.GetType()] {
		return dropped("%s is not a message peers send here", m.GetType())
	}
	switch m.GetType() {
	case pb.MessageType_MsgProp, pb.MessageType_MsgReadIndex:
		if bs.RaftState != raft.StateLeader {
			// raft would forward it to the leader in the sender's name,
			// which the leader must refuse: the sender retries itself.
			return errNotLeader
		}
	}
	switch m.GetType() {
	case pb.MessageType_MsgApp, pb.MessageType_MsgHeartbeat, pb.MessageType_MsgSnap, pb.MessageType_MsgReadIndexResp:
		if m.GetTerm() == term && lead != raft.None && lead != m.GetFrom() {
			return dropped("%s from %d at term %d, whose leader is %d", m.GetType(), m.GetFrom(), term, lead)
		}
	}
	switch m.GetType() {
	case pb.MessageType_MsgApp:
		if err := checkEntries(m); err != nil {
			return err
		}
		if m.GetTerm() < term {
			// raft answers a stale append at its own term without
			// touching its log: the answer tells a leader stuck in an old
			// term to step down (CheckQuorum, PreVote).
			return nil
		}
		if err := n.checkLeaves(m); err != nil {
			return err
		}
		return n.checkOverwrite(m)
	case pb.MessageType_MsgHeartbeat:
		if m.GetTerm() < term {
			return nil // as a stale append: answered, its commit ignored
		}
		return n.checkHeartbeat(m, term)
	case pb.MessageType_MsgAppResp:
		// An honest follower acknowledges only entries this node sent it,
		// and this node sends entries only once they are in its store.
		// A leader sends its appends before its own write is durable
		// (ready.go), so an ack may run ahead of the store by what was
		// sent: judge it against the highest index sent.
		end := n.store.LastIndexCached()
		if n.guard.sentTerm == term {
			end = max(end, n.guard.sentUpTo)
		}
		// Only a leader takes acks; a follower's raft ignores them (one
		// may reach a restarted former leader, meant for its last process).
		if bs.RaftState == raft.StateLeader && m.GetTerm() == term && !m.GetReject() && m.GetIndex() > end {
			return dropped("ack of index %d past the log's end %d", m.GetIndex(), end)
		}
		if bs.RaftState == raft.StateLeader && m.GetTerm() == term && m.GetReject() {
			return n.checkRejectBelowMatch(m)
		}
	case pb.MessageType_MsgSnap:
		if err := checkSnapshot(m); err != nil {
			return err
		}
		return n.checkSnapshotMembers(m)
	case pb.MessageType_MsgTimeoutNow:
		// It makes this node campaign past the leader's lease: only the
		// leader it follows, in its term, hands leadership over. A copy
		// from an older term is an honest one late (a transfer that
		// already took effect, duplicated or held): raft ignores it.
		if m.GetTerm() < term {
			return nil
		}
		if m.GetFrom() != lead || m.GetTerm() != term {
			return dropped("leadership handed over by %d in term %d; the leader is %d in term %d", m.GetFrom(), m.GetTerm(), lead, term)
		}
	case pb.MessageType_MsgReadIndexResp:
		if len(m.GetEntries()) != 1 {
			return dropped("read index answer with %d entries", len(m.GetEntries()))
		}
	case pb.MessageType_MsgProp:
		if len(m.GetEntries()) == 0 {
			return dropped("proposal without entries")
		}
		for _, e := range m.GetEntries() {
			if e.GetType() != pb.EntryType_EntryNormal {
				// Membership changes are proposed by the leader itself,
				// after its checks (onJoin); never forwarded.
				return dropped("a forwarded proposal holds a %s", e.GetType())
			}
		}
		return checkPayloads(m)
	}
	return nil
}

// checkEntries: the entries of an append follow its index one by one, in
// terms that never go down and never pass the message's term; a
// membership change among them must decode, or applying it would fail.
func checkEntries(m *pb.Message) error {
	prevTerm := m.GetLogTerm()
	for i, e := range m.GetEntries() {
		want := m.GetIndex() + 1 + uint64(i)
		if want <= m.GetIndex() || e.GetIndex() != want {
			return dropped("append after %d has entry %d at position %d", m.GetIndex(), e.GetIndex(), i)
		}
		if e.GetTerm() < prevTerm || e.GetTerm() > m.GetTerm() {
			return dropped("append at term %d has entry %d of term %d after term %d", m.GetTerm(), e.GetIndex(), e.GetTerm(), prevTerm)
		}
		prevTerm = e.GetTerm()
	}
	return checkPayloads(m)
}

// checkPayloads: every entry must decode as its type says, or applying it
// once committed would fail and stop every node that applies it.
func checkPayloads(m *pb.Message) error {
	for i, e := range m.GetEntries() {
		if err := decodePayload(e); err != nil {
			return dropped("%s has entry %d (position %d) that does not decode: %v", m.GetType(), e.GetIndex(), i, err)
		}
	}
	return nil
}

// checkOverwrite: an append replaces the entries of this node's log that
// it conflicts with, which is honest only for entries of an older term
// than the leader's (left by a former leader). An entry of the leader's
// term or a later one came from that leader or one after it; overwriting
// it would make the node forget what it may have acknowledged.
// An entry at or below the commit index cannot be overwritten at all:
// raft panics. An honest leader never asks it; if the node holds a
// committed entry its leader does not (an append forged earlier, or a
// bug), it refuses the leader's appends from then on, loudly, and the
// rest of the cluster goes on without it.
func (n *Node) checkOverwrite(m *pb.Message) error {
	last := n.store.LastIndexCached()
	// The store's commit, not raft's: an append stepped earlier in this
	// batch may have replaced uncommitted entries in raft's memory and
	// moved raft's commit past them before the store holds the new ones
	// (kill-mid-burst seed 2 dropped an honest append so).
	committed := n.store.StoredCommit()
	for _, e := range m.GetEntries() {
		if e.GetIndex() > last {
			break
		}
		have, err := n.store.Term(e.GetIndex())
		if err != nil || have == e.GetTerm() {
			continue
		}
		if have >= m.GetTerm() {
			return dropped("append at term %d would overwrite entry %d of term %d", m.GetTerm(), e.GetIndex(), have)
		}
		if e.GetIndex() <= committed {
			return dropped("append at term %d would overwrite committed entry %d of term %d (commit %d)", m.GetTerm(), e.GetIndex(), have, committed)
		}
	}
	return nil
}

func decodePayload(e *pb.Entry) error {
	switch e.GetType() {
	case pb.EntryType_EntryNormal:
		if len(e.GetData()) == 0 {
			return nil // raft's own empty entry, a new leader's first
		}
		return checkEntry(e.GetData())
	case pb.EntryType_EntryConfChange:
		return proto.Unmarshal(e.GetData(), &pb.ConfChange{})
	case pb.EntryType_EntryConfChangeV2:
		if isLeave(e) {
			return nil // judged where it stands in the log (checkLeaves)
		}
		cc := &pb.ConfChangeV2{}
		if err := proto.Unmarshal(e.GetData(), cc); err != nil {
			return err
		}
		return checkConfChangeShape(cc)
	}
	return fmt.Errorf("unknown entry type %d", e.GetType())
}

// checkHeartbeat: raft commits up to a heartbeat's commit index and panics
// if that is past its log. A leader's heartbeat carries at most what this
// node acknowledged to it in its term, and this node acknowledges only
// entries in its store. So a commit past the store's end is either the
// proof that the disk lost acknowledged entries (this node did
// acknowledge that index to that leader in that term: the node stops, see
// damage.go), or a message no honest leader sends (dropped). A forged
// heartbeat cannot stop the node: it would have to name an index this
// node acknowledged and no longer has.
func (n *Node) checkHeartbeat(m *pb.Message, term uint64) error {
	last := n.store.LastIndexCached()
	if m.GetCommit() <= last {
		return nil
	}
	a := n.guard.acked
	if m.GetTerm() == term && a.term == term && a.to == m.GetFrom() && m.GetCommit() <= a.index {
		return n.logLost(fmt.Sprintf("leader %d (term %d) says entries up to %d are committed and this node acknowledged %d to it, but its log ends at %d",
			m.GetFrom(), m.GetTerm(), m.GetCommit(), a.index, last))
	}
	return dropped("heartbeat commits %d, past the log's end %d, more than this node acknowledged", m.GetCommit(), last)
}

// checkSnapshot: raft restores a snapshot's membership and panics if it
// cannot; the snapshot must also name this node and not come from a
// later term than its message.
func checkSnapshot(m *pb.Message) error {
	meta := m.GetSnapshot().GetMetadata()
	switch {
	case meta.GetIndex() == 0:
		return dropped("snapshot at index 0")
	case meta.GetTerm() > m.GetTerm() || meta.GetTerm() == 0:
		return dropped("snapshot of term %d in a message of term %d", meta.GetTerm(), m.GetTerm())
	}
	cs := pb.EnsureConfState(meta.GetConfState())
	if len(cs.GetVoters()) == 0 {
		return dropped("snapshot with no voters")
	}
	if len(cs.GetVotersOutgoing()) > 0 && !cs.GetAutoLeave() {
		// Seshat's joint changes are Auto (replace.go): raft would never
		// leave this one, and every later change would wait for it.
		return dropped("snapshot of a joint configuration raft would never leave")
	}
	chg := confchange.Changer{Tracker: tracker.MakeProgressTracker(1, 0), LastIndex: meta.GetIndex()}
	cfg, prs, err := confchange.Restore(chg, cs)
	if err == nil {
		// raft asserts this after restoring, and panics if it fails: a
		// node both voter and learner restores as something else
		trk := tracker.MakeProgressTracker(1, 0)
		trk.Config, trk.Progress = cfg, prs
		err = trk.ConfState().Equivalent(cs)
	}
	if err != nil {
		return dropped("snapshot membership cannot be restored: %v", err)
	}
	return nil
}

// checkRejectBelowMatch drops a refusal of an entry the follower already
// acknowledged in this term. A delayed copy of an old refusal is one, and
// raft would at most probe once more; but a follower whose disk lost
// entries it acknowledged refuses afresh every probe, and raft answers
// each refusal with a new probe at once: a loop at the speed of the
// link, which duplicated messages multiply (a simulated run with nodes
// that never fsync stalled in it). Dropped, the follower stays behind,
// and the drop names the reason: its disk broke its promise.
func (n *Node) checkRejectBelowMatch(m *pb.Message) error {
	var match uint64
	n.rn.WithProgress(func(id uint64, _ raft.ProgressType, pr tracker.Progress) {
		if id == m.GetFrom() {
			match = pr.Match
		}
	})
	if m.GetIndex() <= match {
		n.guard.refusedAcked++
		return dropped("refusal of index %d, which it acknowledged (matched up to %d): its log lost acknowledged entries, or the refusal is an old one", m.GetIndex(), match)
	}
	return nil
}

func dropped(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errPeerDropped, fmt.Sprintf(format, args...))
}

// stepJudged judges m, then steps it under the panic guard. A dropped
// message is counted and logged (once per reason's first word run, so a
// flood does not flood the log); it is not an error of the node's.
func (n *Node) stepJudged(m *pb.Message) (stepped bool, stepErr error, stopErr error) {
	if err := n.judge(m); err != nil {
		if errors.Is(err, ErrLogLost) {
			return false, nil, n.stop(err)
		}
		if err == errNotLeader {
			return false, nil, nil
		}
		n.noteDropped(m, err)
		return false, nil, nil
	}
	n.stampForwarded(m)
	stopErr = n.guardRaft(func() { stepErr = n.rn.Step(m) })
	return true, stepErr, stopErr
}

func (n *Node) noteDropped(m *pb.Message, err error) {
	n.guard.dropped++
	key := fmt.Sprintf("%d/%s", m.GetFrom(), m.GetType())
	if n.guard.logged[key] {
		return
	}
	if n.guard.logged == nil {
		n.guard.logged = map[string]bool{}
	}
	n.guard.logged[key] = true
	n.env.Log.Warn("dropped a peer message raft could not take (logged once per sender and type)", "node", n.cfg.ID, "from", m.GetFrom(), "type", m.GetType().String(), "err", err)
}

// checkSnapshotMembers: an honest snapshot is sent by its leader, a voter
// in it, to a member it lists (a leader tracks a node only once it applied
// its addition, and snapshots are made from the applied state). Any id
// may appear besides: members added after this node's applied index are
// unknown to it until the snapshot arrives.
func (n *Node) checkSnapshotMembers(m *pb.Message) error {
	cs := m.GetSnapshot().GetMetadata().GetConfState()
	inAny := func(id uint64, sets ...[]uint64) bool {
		for _, set := range sets {
			if slices.Contains(set, id) {
				return true
			}
		}
		return false
	}
	if !inAny(m.GetFrom(), cs.GetVoters(), cs.GetVotersOutgoing()) {
		return dropped("snapshot from %d, which is no voter in it", m.GetFrom())
	}
	if !inAny(n.cfg.ID, cs.GetVoters(), cs.GetLearners(), cs.GetVotersOutgoing(), cs.GetLearnersNext()) {
		return dropped("snapshot that does not list this node")
	}
	return nil
}
