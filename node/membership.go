package node

import (
	"encoding/binary"
	"fmt"
	"slices"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/seshat-db/seshat/internal/mutant"
	"github.com/seshat-db/seshat/storage"
)

// Membership: how a node with an empty disk finds its place.
//
// A node that forgot its raft state must not take part in raft as if it
// had never voted or acknowledged anything: it could vote twice in one
// term, or help elect a leader that lacks an entry it once acknowledged.
// So an empty node never bootstraps blindly. It first probes its peers
// (peerProbe), and
//
//   - bootstraps the first configuration if every peer answers that it
//     holds nothing either (stageFresh). Then no vote was ever cast and no
//     entry ever acknowledged, so there is nothing it could have forgotten.
//     This is why the first start of a cluster needs every member up;
//   - otherwise, once any peer answers that the cluster has history
//     (stageFormed), becomes a joiner: it takes a new random identity,
//     records it durably, and asks the leader to admit it (peerJoin).
//
// The leader admits a joiner in three membership changes, one at a time,
// each a simple raft ConfChangeV2 committed by the members that still hold
// their state:
//
//  1. remove the node's old self (its progress, with its stale match
//     index, goes with it);
//  2. add the node back as a learner, under its new identity: it catches
//     up by snapshot, then from the log, and votes in nothing;
//  3. promote the learner to voter once it is close behind the leader,
//     if the removed self was a voter: the removal records that in the
//     replicated member record (recordRejoinRole), so a wiped learner
//     stays a learner whatever the joiner believes.
//
// Identities keep the old and new selves apart. Every message carries the
// sender's identity and the identity the sender believes the receiver has
// (as of the sender's applied membership); a message that names a wrong
// identity on either side is dropped. The old self's delayed messages
// therefore never count for the new one, and the new self ignores its
// peers until they know it by its new name.
type peerStage uint64

const (
	stageFresh   peerStage = 1 // no data, or bootstrapped and never past term 1 / index 1
	stageFormed  peerStage = 2 // the cluster has history
	stageJoining peerStage = 3 // rejoining, with no data yet
)

// joinCatchUpEntries is how far behind the leader's commit index a learner
// may be and still be promoted: close enough that it will not hold back a
// quorum for long.
const joinCatchUpEntries = 256

// admission is what a node keeps to find its place (an empty node probing
// its peers, a joiner asking in) and, as leader, to admit others.
type admission struct {
	others         []uint64          // the configured peers but this node, in id order
	probeAnswers   []peerStage       // by position in others
	nextProbe      uint64            // tick
	probeNonce     uint64            // names this start's join probes (joinProbeBody)
	nextWaitLog    uint64            // tick
	nextJoinAsk    uint64            // tick
	confProposedAt uint64            // tick of this leader's last membership change
	leaderSince    uint64            // tick this node last became leader
	heardAt        map[uint64]uint64 // tick of the last message from each peer's current self
	answeredAt     map[uint64]uint64 // tick of each peer's last answer to this leader's appends or heartbeats
	droppedStale   int               // messages dropped for naming a wrong identity
	claimProposed  [2]uint64         // node and identity of this leader's last claim (claim.go)
	joinIdentity   uint64            // a Join node's identity, drawn before it probes (joinprobe.go)
}

func newAdmission(cfg Config) admission {
	return admission{others: othersOf(cfg), heardAt: map[uint64]uint64{}, answeredAt: map[uint64]uint64{}}
}

// answered records peer from's answer to a probe; it reports false if
// from is not one of the peers.
func (a *admission) answered(from uint64, stage peerStage) bool {
	i := slices.Index(a.others, from)
	if i < 0 {
		return false
	}
	a.probeAnswers[i] = stage
	return true
}

// allFresh reports whether every peer answered that it holds nothing.
func (a *admission) allFresh() bool {
	for _, s := range a.probeAnswers {
		if s != stageFresh {
			return false
		}
	}
	return true
}

// heardLately reports, at tick now, whether the current self of peer id
// may be alive: heard from within window ticks, or this node has led for
// less than window (a leader hears every live member within a heartbeat
// or two, a follower may not).
func (a *admission) heardLately(id, now, window uint64) bool {
	return now-a.leaderSince < window || within(a.heardAt, id, now, window)
}

// answeredLately is heardLately for answers to this leader only
// (answeredAt): a member that follows this leader.
func (a *admission) answeredLately(id, now, window uint64) bool {
	return now-a.leaderSince < window || within(a.answeredAt, id, now, window)
}

// within reports, at tick now, whether at[id] is less than window ticks
// ago.
func within(at map[uint64]uint64, id, now, window uint64) bool {
	t, ok := at[id]
	return ok && now-t < window
}

// changing reports, at tick now, whether this leader proposed a
// membership change less than window ticks ago: one at a time.
func (a *admission) changing(now, window uint64) bool {
	return a.confProposedAt != 0 && now-a.confProposedAt < window
}

// knows reports whether a message's envelope may be stepped:
//
//   - A joiner, which holds no state yet, takes only messages that name
//     its new identity. Only a peer that applied its admission knows that
//     name, and such a peer's raft holds fresh progress for it; a message
//     meant for its former self could carry that self's match index, which
//     the empty joiner would panic on, or lead it to act as that self.
//   - A node with state drops messages from a retired identity of the
//     sender: a former self's delayed answers must not count for its new
//     self (an inflated match index would have the leader send commit
//     indexes beyond the new self's log). Any other identity is taken,
//     even one this node does not know yet: it may be behind on
//     membership, and must still hear the members it does not know of.
//     But nothing from a member recorded unclaimed (claim.go): no
//     process runs under its identity 0, so such a message is an older
//     binary's process's, or a claimant's this node has not seen claim.
//   - A node with state takes messages addressed to a former self of its
//     own. Those come from peers behind on membership, or were sent
//     before its admission; raft's term and log checks make them
//     harmless to a node whose log starts after its admission, and
//     refusing them would cut off the peers that are behind.
func (n *Node) knows(hdr envelope) bool {
	if n.store.IsJoining() {
		return hdr.toIdentity == n.store.Identity()
	}
	return !n.store.IsRetired(hdr.from, hdr.fromIdentity) && !n.store.IsUnclaimed(hdr.from)
}

// othersOf lists the configured peers other than this node, in id order.
func othersOf(cfg Config) []uint64 {
	out := make([]uint64, 0, len(cfg.Peers))
	for _, id := range slices.Sorted(slices.Values(cfg.Peers)) {
		if id != cfg.ID {
			out = append(out, id)
		}
	}
	return out
}

// stage is what this node answers a probe.
func (n *Node) stage() peerStage {
	switch {
	case n.rn == nil && n.cfg.Join:
		return stageJoining // it bootstraps nothing, whatever it hears
	case n.rn == nil:
		return stageFresh
	case n.store.IsJoining():
		return stageJoining
	}
	hs, _, _ := n.store.InitialState()
	if hs.GetTerm() <= 1 && n.store.LastIndexCached() <= 1 {
		return stageFresh
	}
	return stageFormed
}

// discover runs on every tick while the node has no raft state: it probes
// the peers it has no answer from.
func (n *Node) discover() {
	if n.ticks < n.adm.nextProbe {
		return
	}
	n.adm.nextProbe = n.ticks + uint64(n.cfg.HeartbeatTicks)*2
	if n.cfg.Join {
		n.probeAsJoiner()
		return
	}
	for i, id := range n.adm.others {
		if n.adm.probeAnswers[i] != stageFresh {
			n.send(id, peerProbe, nil)
		}
	}
	if n.adm.nextWaitLog == 0 {
		n.adm.nextWaitLog = n.ticks + uint64(n.cfg.ElectionTicks)*2 // quiet unless it takes a while
	}
	if n.ticks >= n.adm.nextWaitLog {
		n.adm.nextWaitLog = n.ticks + uint64(n.cfg.ElectionTicks)*10
		n.env.Log.Info("empty data directory: waiting for every peer to answer before bootstrapping", "node", n.cfg.ID, "peers", n.adm.others, "answers", n.adm.probeAnswers)
	}
}

// onProbe answers a probe with this node's stage, and a Join node's
// probe (a non-empty body) with the verdict too (joinprobe.go). A node
// this one records as removed is told so instead.
func (n *Node) onProbe(from uint64, body []byte) {
	if n.stopped != nil || n.tellRemoved(from) {
		return
	}
	reply := binary.AppendUvarint(nil, uint64(n.stage()))
	if len(body) > 0 {
		reply = binary.AppendUvarint(reply, uint64(n.verdictFor(from)))
		if len(body) == 9 {
			reply = append(reply, body[1:]...) // the nonce
		}
	}
	n.send(from, peerProbeReply, reply)
}

// onProbeReply records a peer's answer and, once the answers decide it,
// bootstraps or becomes a joiner.
func (n *Node) onProbeReply(from uint64, body []byte) error {
	if n.rn != nil {
		return nil
	}
	r := byteReader{b: body}
	stage := peerStage(r.uvarint())
	var verdict joinVerdict
	if len(r.b) > 0 {
		verdict = joinVerdict(r.uvarint())
	}
	var nonce uint64
	if len(r.b) == 8 {
		nonce = binary.BigEndian.Uint64(r.b)
		r.b = nil
	}
	if r.err != nil || len(r.b) != 0 || stage < stageFresh || stage > stageJoining || verdict > verdictClaim {
		return fmt.Errorf("node: malformed probe reply from %d", from)
	}
	if !n.adm.answered(from, stage) {
		return fmt.Errorf("node: probe reply from %d, which is not a peer", from)
	}
	if n.cfg.Join {
		if nonce != n.adm.probeNonce {
			return nil // an answer to another start of this node
		}
		return n.onJoinVerdict(from, verdict)
	}
	if stage == stageFormed {
		identity := n.env.Rand.Uint64() | 1 // never 0, which names a first-configuration member
		n.env.Log.Warn("empty data directory, but the cluster has history: rejoining under a new identity", "node", n.cfg.ID, "identity", identityText(identity), "told_by", from)
		if err := n.store.BecomeJoiner(identity); err != nil {
			return n.stop(err)
		}
		return n.startRaft()
	}
	if !n.adm.allFresh() {
		return nil
	}
	n.env.Log.Info("every peer is empty: bootstrapping a new cluster", "node", n.cfg.ID, "voters", n.cfg.Peers)
	if err := n.store.Bootstrap(n.cfg.Peers); err != nil {
		return n.stop(err)
	}
	return n.startRaft()
}

// joining reports whether this node still waits to be admitted under its
// own identity: recorded, and, if its rejoin must end so (the replicated
// record says it was a voter), promoted.
func (n *Node) joining() bool {
	id := n.store.Identity()
	return id != 0 && (n.store.MemberIdentity(n.cfg.ID) != id ||
		n.store.RejoinsAsVoter(n.cfg.ID) && !slices.Contains(n.store.ConfState().GetVoters(), n.cfg.ID))
}

// askToJoin runs on every tick of a joiner: it asks every peer, since it
// cannot know the leader before the leader admits it.
func (n *Node) askToJoin() {
	if n.ticks < n.adm.nextJoinAsk || !n.joining() {
		return
	}
	n.adm.nextJoinAsk = n.ticks + uint64(n.cfg.ElectionTicks)/2
	for _, id := range n.adm.others {
		n.send(id, peerJoin, nil)
	}
}

// onJoin is a leader's next step in admitting a joiner: remove its old
// self, add it as a learner, or promote it. Each step is computed from the
// applied membership, and raft accepts a membership change only when none
// is pending, so each applies to the membership it was computed from.
func (n *Node) onJoin(from, identity uint64) {
	if !n.isLeader || from == n.cfg.ID || identity == 0 || !slices.Contains(n.cfg.Peers, from) && !n.addedByOperator(from) {
		return
	}
	known := n.store.MemberIdentity(from) == identity // identity is not 0 here: never so for an unclaimed record
	if known {
		n.adm.heardAt[from] = n.ticks // its current self asks: alive (heardFromLately)
	}
	if n.adm.changing(n.ticks, uint64(n.cfg.ElectionTicks)) || n.memberReq != nil {
		return // one change at a time; the joiner will ask again
	}
	cs := n.store.ConfState()
	if len(cs.GetVotersOutgoing()) > 0 {
		return // raft is leaving a joint configuration by itself
	}
	isVoter, isLearner := slices.Contains(cs.GetVoters(), from), slices.Contains(cs.GetLearners(), from)
	claims := isLearner && n.store.IsUnclaimed(from)
	var change *pb.ConfChangeSingle
	var context []byte
	switch {
	case claims:
		// Its first process (claim.go): the claim applies only if the
		// record is still unclaimed then.
		change = &pb.ConfChangeSingle{Type: pb.ConfChangeType_ConfChangeAddLearnerNode.Enum(), NodeId: proto.Uint64(from)}
		context = claimContext(identity)
	case (isVoter || isLearner) && !known && n.heardFromLately(from):
		// Its current self answered within the last election timeout: a
		// wiped node cannot have restarted that fast, so this is more
		// likely a second process started under the same id. Replacing
		// the live member would cost the cluster a healthy copy; wait.
		n.env.Log.Debug("join request for a member that is still active; waiting", "node", n.cfg.ID, "of", from, "identity", identityText(identity))
		return
	case (isVoter || isLearner) && !known:
		change = &pb.ConfChangeSingle{Type: pb.ConfChangeType_ConfChangeRemoveNode.Enum(), NodeId: proto.Uint64(from)}
	case !isVoter && !isLearner:
		change = &pb.ConfChangeSingle{Type: pb.ConfChangeType_ConfChangeAddLearnerNode.Enum(), NodeId: proto.Uint64(from)}
		context = binary.BigEndian.AppendUint64(nil, identity)
	case isLearner && n.store.RejoinsAsVoter(from) && n.caughtUp(from):
		// A voter's rejoin ends with its promotion; a learner's with the
		// learner, whatever the joiner believes (the role is replicated).
		change = &pb.ConfChangeSingle{Type: pb.ConfChangeType_ConfChangeAddNode.Enum(), NodeId: proto.Uint64(from)}
	default:
		return // admitted, or a voter's rejoin still catching up
	}
	cc := &pb.ConfChangeV2{Changes: []*pb.ConfChangeSingle{change}, Context: context}
	if err := n.rn.ProposeConfChange(cc); err != nil {
		n.env.Log.Warn("membership change not proposed", "node", n.cfg.ID, "change", change.GetType(), "of", from, "err", err)
		return
	}
	n.adm.confProposedAt = n.ticks
	n.adm.claimProposed = [2]uint64{}
	if claims {
		// Not told by the context's first byte: a rejoin's context is a
		// bare identity, which starts with the claim's tag one time in 256.
		n.adm.claimProposed = [2]uint64{from, identity}
	}
	n.env.Log.Info("membership change proposed", "node", n.cfg.ID, "change", change.GetType(), "of", from, "identity", identityText(identity))
}

// heardFromLately reports whether the current self of peer id may be
// alive (admission.heardLately) within an election timeout.
func (n *Node) heardFromLately(id uint64) bool {
	return n.adm.heardLately(id, n.ticks, uint64(n.cfg.ElectionTicks))
}

// followsLately reports whether peer id answered this leader's appends
// or heartbeats within an election timeout (admission.answeredLately):
// a member in good health, an online replica. Not any message
// (heardFromLately): a voter the leader cannot reach still sends it
// pre-votes every election timeout or so, and acknowledges nothing.
func (n *Node) followsLately(id uint64) bool {
	return n.adm.answeredLately(id, n.ticks, uint64(n.cfg.ElectionTicks))
}

// active reports whether peer id's current self answered this leader's
// appends or heartbeats within an election timeout, with no benefit of
// the doubt for a new leader. Not raft's RecentActive: CheckQuorum clears
// it for every peer at each election timeout, and until the next
// heartbeat's answers every peer looked gone (a change refused as
// unsafe); without CheckQuorum it is never cleared, and a voter down for
// minutes looked alive (a hand-off to it). Not any message either
// (followsLately).
func (n *Node) active(id uint64) bool {
	return id == n.cfg.ID || within(n.adm.answeredAt, id, n.ticks, uint64(n.cfg.ElectionTicks))
}

// noteAnswer records, as leader, that the current self of m's sender
// answered this leader's appends or heartbeats in its term, as raft's
// RecentActive does, but kept past raft's quorum check. The node's own
// view of its role and term, not raft's status, which allocates: once
// raft steps down within a batch, its answers carry a newer term.
func (n *Node) noteAnswer(hdr envelope, m *pb.Message) {
	switch m.GetType() {
	case pb.MessageType_MsgAppResp, pb.MessageType_MsgHeartbeatResp:
	default:
		return
	}
	if n.isLeader && m.GetTerm() == n.syncedTerm && hdr.fromIdentity == n.store.MemberIdentity(hdr.from) {
		n.adm.answeredAt[hdr.from] = n.ticks
	}
}

// caughtUp reports whether the learner id is close behind the commit index.
func (n *Node) caughtUp(id uint64) bool {
	match := n.matchOf(id)
	return match > 0 && match+joinCatchUpEntries >= n.rn.BasicStatus().GetCommit()
}

// applyConfChange applies a committed membership change: to raft, and to
// the membership kept in the batch (the ConfState that snapshots carry,
// and the identities). A snapshot made from here on describes the new
// membership: snapshots are made on demand, from the applied state.
func (n *Node) applyConfChange(batch *storage.Batch, e *pb.Entry) error {
	var cc pb.ConfChangeI
	if e.GetType() == pb.EntryType_EntryConfChange {
		v1 := &pb.ConfChange{}
		if err := proto.Unmarshal(e.GetData(), v1); err != nil {
			return err
		}
		cc = v1
	} else {
		v2 := &pb.ConfChangeV2{}
		if err := proto.Unmarshal(e.GetData(), v2); err != nil {
			return err
		}
		cc = v2
	}
	if mutant.On(mutant.ConfSkippedOnFollower) && !n.isLeader {
		return nil
	}
	v2 := cc.AsV2()
	if id, identity, ok := decodeClaim(v2); ok {
		n.applyClaim(batch, e.GetIndex(), id, identity)
		return nil
	}
	opCtx, isOp := decodeMemberContext(v2.GetContext())
	prev := batch.ConfState()
	for _, ch := range v2.GetChanges() {
		// A node added back carries its new identity; the old one retires
		// with that, not at the removal before it: until a peer knows the
		// new identity, the old self is just a removed member to raft.
		if ch.GetType() == pb.ConfChangeType_ConfChangeAddLearnerNode {
			if ctx := v2.GetContext(); len(ctx) == 8 && len(v2.GetChanges()) == 1 {
				batch.SetMemberIdentity(ch.GetNodeId(), binary.BigEndian.Uint64(ctx))
			}
		}
	}
	cs, err := applyConfChange(n.rn, cc)
	if err != nil {
		// Every replica refuses it alike (raft checks the change against
		// the membership before changing anything), so they stay in step.
		n.env.Log.Error("refused a committed membership change raft cannot make", "node", n.cfg.ID, "index", e.GetIndex(), "changes", v2.GetChanges(), "err", err)
		if isOp {
			n.memberChangeApplied(opCtx, fmt.Errorf("%w: %v", errChangeRefused, err))
		}
		return nil
	}
	if len(v2.GetChanges()) == 0 {
		// raft's leave of a joint configuration (replace.go)
		recordLeft(batch, batch.ConfState(), cs)
	}
	recordRejoinRole(batch, prev, v2, isOp)
	if isOp && len(v2.GetChanges()) == 1 && !n.cfg.UnsafeNewLearnerVerdict {
		if ch := v2.GetChanges()[0]; ch.GetType() == pb.ConfChangeType_ConfChangeAddLearnerNode &&
			!slices.Contains(prev.GetVoters(), ch.GetNodeId()) && !slices.Contains(prev.GetLearners(), ch.GetNodeId()) {
			batch.MarkUnclaimed(ch.GetNodeId()) // claim.go
		}
	}
	if !mutant.On(mutant.ConfNotPersisted) {
		batch.SetConfState(cs)
	}
	n.membershipChanges++
	if isOp {
		n.recordMemberInfo(batch, v2, opCtx)
		n.memberChangeApplied(opCtx, nil)
	}
	n.env.Log.Info("membership changed", "node", n.cfg.ID, "index", e.GetIndex(), "changes", v2.GetChanges(), "voters", cs.GetVoters(), "learners", cs.GetLearners())
	return nil
}

// role names what this node is in the cluster, for Status.
func (n *Node) role() string {
	switch {
	case n.toldRemoved:
		return "removed"
	case n.rn == nil:
		return "discovering"
	case n.store.IsJoining():
		return "joining"
	case n.store.MemberIdentity(n.cfg.ID) != n.store.Identity():
		return "replaced"
	case slices.Contains(n.store.ConfState().GetVoters(), n.cfg.ID),
		slices.Contains(n.store.ConfState().GetVotersOutgoing(), n.cfg.ID):
		// A voter a Replace removes votes on until raft leaves the joint
		// configuration (replace.go).
		return "voter"
	case slices.Contains(n.store.ConfState().GetLearners(), n.cfg.ID):
		return "learner"
	}
	return "removed"
}

// identityText writes an identity as /status, INFO and the admin tools
// do: sixteen hex digits, so one identity reads the same everywhere.
func identityText(id uint64) string { return fmt.Sprintf("%016x", id) }

// applyConfChange applies cc, or returns why raft cannot: raft panics on
// an impossible change (one that removes every voter, say) before it
// changes anything, so the panic is its refusal. Seshat proposes only
// changes it checked; a committed impossible one came from a forged or
// buggy proposal, and must not take every replica down at every restart.
func applyConfChange(rn *raft.RawNode, cc pb.ConfChangeI) (cs *pb.ConfState, err error) {
	defer func() {
		if r := recover(); r != nil {
			cs, err = nil, fmt.Errorf("raft refused it: %v", r)
		}
	}()
	return rn.ApplyConfChange(cc), nil
}
