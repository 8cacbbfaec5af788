package node

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"go.etcd.io/raft/v3/tracker"
	"google.golang.org/protobuf/proto"

	"github.com/seshat-db/seshat/env"
	"github.com/seshat-db/seshat/internal/mutant"
	"github.com/seshat-db/seshat/kv"
	"github.com/seshat-db/seshat/storage"
)

// Membership changes an operator asks for (CLUSTER ADDNODE, PROMOTE,
// REMOVENODE), as etcd offers them: a node joins as a learner, which
// catches up without a vote and so cannot cost the cluster its quorum,
// then is promoted; a node is removed. Each is one simple raft
// ConfChangeV2, one at a time, proposed by the leader after checking it
// against the applied membership; the node's addresses travel in the
// change's context and become replicated state (storage/memberinfo.go).

// MemberChangeKind names one operator change.
type MemberChangeKind int

const (
	AddLearner MemberChangeKind = iota + 1
	Promote
	Remove
	// Announce records a member's addresses (announce.go); it changes
	// nothing in raft.
	Announce
	// Replace promotes the learner ID and removes the voter Old in one
	// joint change (replace.go).
	Replace
)

func (k MemberChangeKind) String() string {
	switch k {
	case AddLearner:
		return "add-learner"
	case Promote:
		return "promote"
	case Remove:
		return "remove"
	case Announce:
		return "announce"
	case Replace:
		return "replace"
	}
	return fmt.Sprintf("MemberChangeKind(%d)", int(k))
}

// MemberChange is one change an operator asks of the leader.
type MemberChange struct {
	Kind       MemberChangeKind
	ID         uint64
	Old        uint64 // Replace: the voter that leaves
	PeerAddr   string // AddLearner: where peers reach the node
	ClientAddr string // AddLearner: where clients reach it
	// Force skips the quorum check of Remove, Promote and Replace, and
	// the catch-up check of Promote and Replace (an operator removing
	// dead voters to restore a quorum must be able to).
	Force bool
}

// Errors a membership change can end with besides the client errors. The
// change did not happen with any of them but ErrOutcomeUnknown.
var (
	ErrChangePending = errors.New("another membership change is in progress")
	// ErrNotYet: nothing is in progress here, but the change cannot be
	// judged or made yet; the same request asked again later can succeed.
	ErrNotYet         = errors.New("not yet")
	ErrUnsafeChange   = errors.New("the change would leave the cluster without a safe quorum")
	ErrBadChange      = errors.New("the membership change does not apply to the current membership")
	ErrRemoved        = kv.ErrRemoved
	errChangeRefused  = errors.New("raft refused the committed membership change")
	memberContextTag  = byte(0xA7) // first byte of an operator change's context
	memberContextSize = 1 + 8      // tag, request id; then the addresses
)

// NotLeaderError: only the leader changes membership (raft would forward
// a follower's proposal, but only the leader can check it against the
// membership it will apply to).
type NotLeaderError struct{ Leader uint64 }

func (e *NotLeaderError) Error() string {
	if e.Leader == raft.None {
		return "this node is not the leader, and no leader is known"
	}
	return fmt.Sprintf("this node is not the leader; node %d is", e.Leader)
}

// minSafeVoters: with fewer voters, losing any one loses the quorum.
const minSafeVoters = 3

// memberRequest is the operator change this leader proposed and has not
// answered yet.
type memberRequest struct {
	id       uint64 // in the change's context, to know it when it applies
	change   MemberChange
	deadline uint64 // tick
	done     func(error)
	result   error // set when it applied; answered once the batch is durable
	applied  bool
}

// memberContext is an operator change's context: the request id and the
// node's addresses. A rejoining node's admission carries its identity as
// 8 bytes instead; this one is never 8 bytes long.
type memberContext struct {
	request              uint64
	peerAddr, clientAddr string
}

func (c memberContext) encode() []byte {
	b := append([]byte{memberContextTag}, binary.BigEndian.AppendUint64(nil, c.request)...)
	b = binary.AppendUvarint(b, uint64(len(c.peerAddr)))
	b = append(b, c.peerAddr...)
	b = binary.AppendUvarint(b, uint64(len(c.clientAddr)))
	return append(b, c.clientAddr...)
}

func decodeMemberContext(b []byte) (memberContext, bool) {
	if len(b) < memberContextSize+2 || b[0] != memberContextTag {
		return memberContext{}, false
	}
	c := memberContext{request: binary.BigEndian.Uint64(b[1:])}
	r := byteReader{b: b[memberContextSize:]}
	c.peerAddr = string(r.bytes(r.uvarint()))
	c.clientAddr = string(r.bytes(r.uvarint()))
	return c, r.err == nil && len(r.b) == 0
}

// ChangeMembership proposes ch if this node leads and the change is safe
// now; done is called exactly once, from inside this or a later call into
// the node, with nil once the change is applied and durable here.
func (n *Node) ChangeMembership(ch MemberChange, done func(error)) {
	if err := n.checkMemberChange(ch); err != nil {
		done(err)
		return
	}
	req := &memberRequest{id: n.env.Rand.Uint64(), change: ch, deadline: n.ticks + uint64(n.cfg.RequestTimeoutTicks), done: done}
	var single *pb.ConfChangeSingle
	var more []*pb.ConfChangeSingle
	switch ch.Kind {
	case AddLearner:
		single = &pb.ConfChangeSingle{Type: pb.ConfChangeType_ConfChangeAddLearnerNode.Enum(), NodeId: proto.Uint64(ch.ID)}
	case Promote:
		single = &pb.ConfChangeSingle{Type: pb.ConfChangeType_ConfChangeAddNode.Enum(), NodeId: proto.Uint64(ch.ID)}
	case Remove:
		single = &pb.ConfChangeSingle{Type: pb.ConfChangeType_ConfChangeRemoveNode.Enum(), NodeId: proto.Uint64(ch.ID)}
	case Announce:
		// Adding a member as what it is already changes nothing in raft.
		t := pb.ConfChangeType_ConfChangeAddNode
		if !slices.Contains(n.store.ConfState().GetVoters(), ch.ID) {
			t = pb.ConfChangeType_ConfChangeAddLearnerNode
		}
		single = &pb.ConfChangeSingle{Type: t.Enum(), NodeId: proto.Uint64(ch.ID)}
	case Replace:
		single, more = replaceChanges(ch)
		if n.cfg.UnsafeReplaceKeepsOld {
			more = nil // TEST ONLY: the old voter stays
		}
	}
	ctx := memberContext{request: req.id, peerAddr: ch.PeerAddr, clientAddr: ch.ClientAddr}.encode()
	cc := &pb.ConfChangeV2{Changes: append([]*pb.ConfChangeSingle{single}, more...), Context: ctx}
	var err error
	if n.guardRaft(func() { err = n.rn.ProposeConfChange(cc) }) != nil || err != nil {
		done(fmt.Errorf("%w: %v", ErrNoQuorum, err))
		return
	}
	n.memberReq = req // the admission of rejoiners waits for it too (onJoin)
	if mutant.On(mutant.MemberAckBeforeApply) {
		n.memberReq = nil
		done(nil)
		return
	}
	n.env.Log.Info("membership change proposed", "node", n.cfg.ID, "change", ch.Kind, "of", ch.ID, "force", ch.Force)
}

// checkMemberChange returns why ch cannot be proposed now, or nil. A
// Replace of this leader that is otherwise allowed starts a leadership
// hand-off as it answers (handOffBeforeReplace): call it only for a
// change about to be proposed.
func (n *Node) checkMemberChange(ch MemberChange) error {
	switch {
	case n.stopped != nil:
		return n.refusal()
	case n.rn == nil || n.store.IsJoining():
		return ErrJoining
	case n.removedSelf():
		return ErrRemoved
	case !n.isLeader:
		return &NotLeaderError{Leader: n.lead}
	case ch.ID == 0:
		return fmt.Errorf("%w: node id 0 is not allowed", ErrBadChange)
	case n.memberReq != nil:
		return fmt.Errorf("%w: %s of node %d, proposed by this leader, is not applied yet", ErrChangePending, n.memberReq.change.Kind, n.memberReq.change.ID)
	case n.adm.changing(n.ticks, uint64(n.cfg.ElectionTicks)):
		return fmt.Errorf("%w: the leader is admitting a rejoining node", ErrChangePending)
	case n.rn.BasicStatus().Applied < n.leaderFirstIndex:
		// raft drops a change proposed before the new leader applied its
		// first entry (it cannot know none is pending): refuse it instead.
		return fmt.Errorf("%w: the new leader has not applied its first entry yet", ErrChangePending)
	}
	cs := n.store.ConfState()
	if len(cs.GetVotersOutgoing()) > 0 {
		return fmt.Errorf("%w: raft is leaving a joint configuration", ErrChangePending)
	}
	voters, learners := cs.GetVoters(), cs.GetLearners()
	isVoter, isLearner := slices.Contains(voters, ch.ID), slices.Contains(learners, ch.ID)
	switch ch.Kind {
	case AddLearner:
		if isVoter || isLearner {
			return n.checkReAdd(ch)
		}
		if ch.PeerAddr == "" || ch.ClientAddr == "" {
			return fmt.Errorf("%w: a new node needs a peer and a client address", ErrBadChange)
		}
		info, found, err := n.store.MemberInfo(ch.ID)
		if err != nil {
			return err
		}
		if found && info.State == storage.MemberRemoved || n.store.MemberIdentity(ch.ID) != 0 || n.store.IsRetired(ch.ID, 0) {
			// A removed node's delayed messages could otherwise count for
			// a new one under its id, as etcd refuses reused ids too.
			return fmt.Errorf("%w: node id %d was a member before; give the new node a new id", ErrBadChange, ch.ID)
		}
		return n.checkAddressesFree(ch)
	case Promote:
		if !isLearner {
			return fmt.Errorf("%w: node %d is not a learner", ErrBadChange, ch.ID)
		}
		if err := n.checkStarted(ch.ID); err != nil {
			return err
		}
		if !ch.Force && !n.caughtUp(ch.ID) {
			return fmt.Errorf("%w: learner %d has not caught up with the log yet", ErrUnsafeChange, ch.ID)
		}
		return n.checkQuorumAfter(append(slices.Clone(voters), ch.ID), ch.Force)
	case Remove:
		if !isVoter && !isLearner {
			return fmt.Errorf("%w: node %d is not a member", ErrBadChange, ch.ID)
		}
		if !isVoter {
			return nil
		}
		after := slices.DeleteFunc(slices.Clone(voters), func(id uint64) bool { return id == ch.ID })
		if len(after) == 0 {
			return fmt.Errorf("%w: node %d is the last voter", ErrBadChange, ch.ID)
		}
		if len(after) < minSafeVoters && !ch.Force {
			return fmt.Errorf("%w: %d voters would remain, and with fewer than %d one failure stops the cluster (FORCE overrides)", ErrUnsafeChange, len(after), minSafeVoters)
		}
		return n.checkQuorumAfter(after, ch.Force)
	case Replace:
		return n.checkReplace(ch, voters, isVoter, isLearner)
	case Announce:
		if !isVoter && !isLearner {
			return fmt.Errorf("%w: node %d is not a member", ErrBadChange, ch.ID)
		}
		if ch.PeerAddr == "" || ch.ClientAddr == "" {
			return fmt.Errorf("%w: a member's record needs a peer and a client address", ErrBadChange)
		}
		return nil
	}
	return fmt.Errorf("%w: unknown change kind %d", ErrBadChange, int(ch.Kind))
}

// checkQuorumAfter refuses a change after which the voters this leader
// heard from within an election timeout would not be a quorum: the
// cluster would stop at once (etcd's strict reconfiguration check).
func (n *Node) checkQuorumAfter(voters []uint64, force bool) error {
	if force {
		return nil
	}
	active := 0
	n.rn.WithProgress(func(id uint64, _ raft.ProgressType, pr tracker.Progress) {
		if slices.Contains(voters, id) && n.active(id) {
			active++
		}
	})
	if need := len(voters)/2 + 1; active < need {
		return fmt.Errorf("%w: only %d of the %d voters after it are active, %d are needed (FORCE overrides)", ErrUnsafeChange, active, len(voters), need)
	}
	return nil
}

// removedSelf reports whether this node applied its own removal, or a
// member told it of it: it serves nothing more, and says so.
func (n *Node) removedSelf() bool {
	return n.toldRemoved || n.rn != nil && !n.store.IsJoining() && n.role() == "removed"
}

// loadRemovedIDs caches the ids an operator removed, as of the applied
// index, for tellRemoved, and tells the transport the addresses of the
// members an operator added.
func (n *Node) loadRemovedIDs() error {
	infos, err := n.store.MemberInfos()
	if err != nil {
		return err
	}
	n.removedIDs = n.removedIDs[:0]
	n.clientAddrs = map[uint64]string{}
	dir, _ := n.env.Transport.(env.PeerDirectory)
	for _, m := range infos {
		if m.State == storage.MemberActive && m.ClientAddr != "" {
			n.clientAddrs[m.ID] = m.ClientAddr
		}
		switch {
		case m.State == storage.MemberRemoved:
			n.removedIDs = append(n.removedIDs, m.ID)
		case dir != nil && m.PeerAddr != "":
			dir.AddPeer(m.ID, m.PeerAddr)
		}
	}
	return nil
}

// tellRemoved reports whether a raft message from id must be dropped
// because id was removed; then, at most once per election timeout, it
// tells id so. The leader stops sending to a node once it applies the
// node's removal, so a removed node that missed the commit would never
// learn it otherwise: it would campaign, and answer clients NOQUORUM,
// forever (RedisRaft's removed node that still served is the worse case).
func (n *Node) tellRemoved(id uint64) bool {
	if !slices.Contains(n.removedIDs, id) {
		return false
	}
	if n.toldRemovedAt == nil {
		n.toldRemovedAt = map[uint64]uint64{}
	}
	if at, ok := n.toldRemovedAt[id]; !ok || n.ticks-at >= uint64(n.cfg.ElectionTicks) {
		n.toldRemovedAt[id] = n.ticks
		n.send(id, peerRemoved, nil)
	}
	return true
}

// onRemovedNotice: a member whose applied state records this node's
// removal says so, and this node refuses clients (refusing is always
// safe). Only a member this node knows as a voter is believed, and only
// until its leader is heard from (heardFromLeader): the notice comes
// with no proof, and a node still a member gets entries or heartbeats
// that a removed one no longer does. A leader ignores it: it learns its
// own removal from its log. A node with no state yet (probing, or
// rejoining) knows no voters: it believes one of its configured peers,
// as it believes their probe answers. A removed node whose disk was
// wiped would otherwise wait forever to be added again, which it never
// is (its id is retired).
func (n *Node) onRemovedNotice(from uint64) {
	noState := n.rn == nil || n.store.IsJoining()
	switch {
	case n.toldRemoved || n.isLeader:
		return
	case noState && !slices.Contains(n.adm.others, from):
		return
	case !noState && !slices.Contains(n.store.ConfState().GetVoters(), from):
		return
	}
	n.toldRemoved = true
	n.env.Log.Warn("a member says this node was removed from the cluster: it serves no request from now on; stop it, or wipe its data directory and add it under a new id", "node", n.cfg.ID, "told_by", from)
	n.clients.failAll(ErrRemoved, ErrOutcomeUnknown)
	n.failParked(ErrRemoved)
}

// checkAddressesFree refuses a new node whose peer or client address a
// member has: the member would dial itself as the new peer, and clients
// would be sent to it for the new node (review r8), as initial_members
// refuses a repeated address.
func (n *Node) checkAddressesFree(ch MemberChange) error {
	infos, err := n.store.MemberInfos()
	if err != nil {
		return err
	}
	for _, m := range infos {
		if m.State != storage.MemberActive {
			continue
		}
		if m.PeerAddr == ch.PeerAddr || m.ClientAddr == ch.ClientAddr {
			return fmt.Errorf("%w: node %d already has address %s / %s; give the new node addresses of its own", ErrBadChange, m.ID, m.PeerAddr, m.ClientAddr)
		}
	}
	return nil
}

// heardFromLeader undoes a removal notice when the leader sends this node
// entries or a heartbeat: it still counts this node as a member.
func (n *Node) heardFromLeader(m *pb.Message) {
	if m.GetFrom() != n.rn.BasicStatus().Lead {
		return
	}
	switch m.GetType() {
	case pb.MessageType_MsgApp, pb.MessageType_MsgHeartbeat, pb.MessageType_MsgSnap:
		n.leaderHeardAt = n.ticks
		if !n.toldRemoved {
			return
		}
		n.toldRemoved = false
		n.env.Log.Warn("the leader still counts this node as a member: the removal notice was wrong, and it serves again", "node", n.cfg.ID, "leader", m.GetFrom())
	}
}

// recordMemberInfo records what an applied operator change carries, in
// the batch that applies it; every replica does the same at the same index.
func (n *Node) recordMemberInfo(batch *storage.Batch, v2 *pb.ConfChangeV2, c memberContext) {
	if len(v2.GetChanges()) != 1 {
		return
	}
	ch := v2.GetChanges()[0]
	switch ch.GetType() {
	case pb.ConfChangeType_ConfChangeAddLearnerNode:
		batch.SetMemberInfo(storage.MemberInfo{ID: ch.GetNodeId(), State: storage.MemberActive, PeerAddr: c.peerAddr, ClientAddr: c.clientAddr})
	case pb.ConfChangeType_ConfChangeAddNode:
		// A promotion carries no addresses; an announcement does.
		if c.peerAddr != "" && c.clientAddr != "" {
			batch.SetMemberInfo(storage.MemberInfo{ID: ch.GetNodeId(), State: storage.MemberActive, PeerAddr: c.peerAddr, ClientAddr: c.clientAddr})
		}
	case pb.ConfChangeType_ConfChangeRemoveNode:
		batch.SetMemberInfo(storage.MemberInfo{ID: ch.GetNodeId(), State: storage.MemberRemoved})
	}
}

// memberChangeApplied answers this leader's request once its change
// applied (err: raft refused it); the answer waits for durability.
func (n *Node) memberChangeApplied(c memberContext, err error) {
	if n.memberReq != nil && n.memberReq.id == c.request {
		n.memberReq.applied, n.memberReq.result = true, err
	}
}

// answerMemberChange runs after a batch is durable, and at every tick for
// the deadline and leader loss.
func (n *Node) answerMemberChange() {
	req := n.memberReq
	switch {
	case req == nil:
		return
	case req.applied && n.replaceLeaving(req):
		return
	case req.applied:
	case n.stopped != nil:
		req.result = ErrOutcomeUnknown
	case !n.isLeader || n.ticks >= req.deadline:
		// It may still commit under another leader: the operator must
		// look (CLUSTER NODES) before asking again.
		req.result = ErrOutcomeUnknown
	default:
		return
	}
	n.memberReq = nil
	req.done(req.result)
}

// noteSelfRemoved logs, once, that this node's own removal applied.
func (n *Node) noteSelfRemoved() {
	if n.removedAt == 0 && !n.toldRemoved && n.removedSelf() {
		index := n.store.Applied()
		n.removedAt = index
		writeErr := ErrOutcomeUnknown
		if n.cfg.UnsafeRemovedRefusesWrites {
			writeErr = ErrRemoved // TEST ONLY: a write that may still commit, told it did not
		}
		n.clients.failAll(ErrRemoved, writeErr)
		n.failParked(ErrRemoved)
		n.env.Log.Warn("this node was removed from the cluster: it serves no request from now on; stop it, or wipe its data directory and add it under a new id", "node", n.cfg.ID, "index", index)
	}
}

// ErrTransferFailed: the named voter did not take over (it is down, or
// behind and could not catch up within an election timeout, when raft
// gives the transfer up); the old leader may lead again.
var ErrTransferFailed = errors.New("leadership transfer did not complete: the voter did not take over within an election timeout")

// transferRequest is a leadership transfer this node started.
type transferRequest struct {
	to       uint64
	deadline uint64
	done     func(error)
}

// TransferLeadership asks this leader to hand leadership to voter to;
// done is called once: nil when this node sees to lead.
func (n *Node) TransferLeadership(to uint64, done func(error)) {
	switch {
	case n.stopped != nil:
		done(n.refusal())
		return
	case n.rn == nil || n.store.IsJoining():
		done(ErrJoining)
		return
	case n.removedSelf():
		done(ErrRemoved)
		return
	case !n.isLeader:
		done(&NotLeaderError{Leader: n.lead})
		return
	case to == n.cfg.ID:
		done(nil)
		return
	case !slices.Contains(n.store.ConfState().GetVoters(), to):
		done(fmt.Errorf("%w: node %d is not a voter", ErrBadChange, to))
		return
	case n.transfer != nil:
		done(fmt.Errorf("%w: a leadership transfer to node %d is under way", ErrChangePending, n.transfer.to))
		return
	}
	if n.guardRaft(func() { n.rn.TransferLeader(to) }) != nil {
		done(n.refusal())
		return
	}
	n.transfer = &transferRequest{to: to, deadline: n.ticks + 2*uint64(n.cfg.ElectionTicks), done: done}
	n.env.Log.Info("leadership transfer started", "node", n.cfg.ID, "to", to)
}

// answerTransfer runs at every tick and after every Ready.
func (n *Node) answerTransfer() {
	t := n.transfer
	if t == nil {
		return
	}
	// Raft's own state, not isLeader and lead: a batch may step the new
	// leader's vote request, which makes raft a follower with no
	// transferee, then tick before Process tells the node.
	st := n.rn.BasicStatus()
	var err error
	switch {
	case n.lead == t.to:
	case n.stopped != nil || n.ticks >= t.deadline:
		err = ErrTransferFailed
	case st.RaftState == raft.StateLeader && st.LeadTransferee != t.to:
		// Raft gave the transfer up (an election timeout without the
		// voter taking over) or never took it: it accepts proposals
		// again, so the caller hears now, not at our own deadline.
		err = ErrTransferFailed
	case st.RaftState != raft.StateLeader && st.Lead != 0 && st.Lead != t.to:
		err = fmt.Errorf("%w: node %d leads instead", ErrTransferFailed, st.Lead)
	default:
		// Stepped down for the transfer: the voter's first message
		// as leader is on its way (Process then tells the node), or the
		// deadline answers.
		return
	}
	n.transfer = nil
	t.done(err)
}

// MemberView is one member as Members reports it.
type MemberView struct {
	ID         uint64
	Voter      bool // else a learner
	PeerAddr   string
	ClientAddr string // "" for a member of the first configuration: its host knows it
	// Failed: this node leads and the member's current self has not
	// answered it within an election timeout (followsLately), as Redis flags a
	// node fail. A follower hears only from its leader: it tells no
	// member failed.
	Failed bool
}

// Members lists the membership as of the applied index, in id order, with
// the addresses the member records hold.
func (n *Node) Members() ([]MemberView, error) {
	if n.rn == nil {
		return nil, nil
	}
	infos, err := n.store.MemberInfos()
	if err != nil {
		return nil, err
	}
	cs := n.store.ConfState()
	var out []MemberView
	for _, id := range slices.Sorted(slices.Values(append(slices.Clone(cs.GetVoters()), cs.GetLearners()...))) {
		v := MemberView{ID: id, Voter: slices.Contains(cs.GetVoters(), id)}
		v.Failed = n.isLeader && id != n.cfg.ID && !n.followsLately(id) && !mutant.On(mutant.FailedMemberHidden)
		if i := slices.IndexFunc(infos, func(m storage.MemberInfo) bool { return m.ID == id }); i >= 0 {
			v.PeerAddr, v.ClientAddr = infos[i].PeerAddr, infos[i].ClientAddr
		}
		out = append(out, v)
	}
	return out, nil
}

// askIfRemoved: a learner that has heard nothing from a leader for two
// election timeouts probes the voters it knows, once per election
// timeout. A voter learns its removal from members' answers to its
// campaigns (tellRemoved), but a learner never campaigns, and the leader
// stops sending to a node once it applies its removal: a learner removed
// while cut off or down would never learn it (swarm seed 127). A member
// that recorded the removal answers the probe with the notice.
//
// So does a node started to join that waits to be added and has applied
// no membership yet: an operator may add and remove it before it heard
// anything (swarm seed 795), and it would wait to be added forever under
// an id never given out again. It asks its configured peers, whom it
// knows; over TCP a member that does not know it refuses the probe.
func (n *Node) askIfRemoved() {
	if n.rn == nil || n.isLeader || n.toldRemoved {
		return
	}
	cs := n.store.ConfState()
	asked := cs.GetVoters()
	switch {
	case n.cfg.Join && len(cs.GetVoters()) == 0 && n.store.Identity() == 0:
		asked = n.adm.others
	case n.store.IsJoining() || !slices.Contains(cs.GetLearners(), n.cfg.ID):
		return
	}
	election := uint64(n.cfg.ElectionTicks)
	if n.ticks < n.leaderHeardAt+2*election || n.ticks < n.nextRemovedAsk {
		return
	}
	n.nextRemovedAsk = n.ticks + election
	for _, id := range asked {
		n.send(id, peerProbe, nil)
	}
}
