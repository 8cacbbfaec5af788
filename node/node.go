// Package node is one Seshat replica: a raft RawNode, its Pebble storage,
// the key-value state machine, and the client requests waiting on them.
//
// A Node is a deterministic state machine driven from outside. It never
// blocks, sleeps, reads the wall clock or starts a goroutine; everything it
// needs of the world comes through env.Env. The host's duties:
//
//  1. Call Tick once per tick interval of the env's clock.
//  2. Hand every peer message that arrives to Step.
//  3. Hand client operations to Submit, in groups; each group's done
//     callback is called exactly once, from inside a later call into the
//     node (or the same one).
//  4. After any batch of the calls above, call Process. It persists what
//     raft decided (one synced Pebble batch), then sends messages, then
//     answers clients, then advances raft.
//
// All calls come from one goroutine at a time.
package node

import (
	"errors"
	"fmt"
	"sync/atomic"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/seshat-db/seshat/acl"
	"github.com/seshat-db/seshat/env"
	"github.com/seshat-db/seshat/internal/mutant"
	"github.com/seshat-db/seshat/kv"
	"github.com/seshat-db/seshat/storage"
)

// Node is one replica. Use Open to make one. Its state is split by
// responsibility: client requests (requests.go, submit.go), snapshot
// transfers (snapshot.go), admission of members (membership.go); the Ready
// loop is ready.go and the peer transport transport.go.
type Node struct {
	cfg   Config
	env   env.Env
	store *storage.Store
	rn    *raft.RawNode // nil while an empty node probes its peers

	incarnation uint64
	ticks       uint64
	nextSeq     uint64
	// askReads are the reads submitted since the last Process: they share
	// one ReadIndex round, asked at the start of the next Process.
	askReads []*request
	lead     uint64
	isLeader bool // as of the last SoftState raft reported
	stopped  error
	// The term and vote last synced, to tell the host when they change.
	syncedTerm, syncedVote uint64

	snapshotsTaken     int
	snapshotsInstalled int
	leaderChanges      int
	membershipChanges  int
	diverged           bool // UnsafeDivergeAt did its harm (TEST ONLY)

	clients       requests
	othersResults []kv.Result     // applyNormal's results of other nodes' entries, dropped
	longReads     []*chunkedRead  // reads handed to env.Worker, until they end (reader.go)
	parked        []parkedRequest // requests waiting for a leader (parked.go)
	longReadBytes atomic.Int64    // values the long reads hold (reader.go)
	snaps         snapTransfers
	adm           admission
	guard         peerGuard
	clock         clusterClock              // clock.go
	expiring      bool                      // an active-expiry entry is in flight (clock.go)
	expireMore    bool                      // the last one was full: look again at the next tick
	clockOnLead   bool                      // just became leader: stamp the clock (clock.go)
	users         atomic.Pointer[acl.Table] // the ACL this node enforces (users.go)

	memberReq        *memberRequest // the operator's membership change in flight (memberchange.go)
	jointSince       uint64         // tick this leader first saw raft joint (nudgeLeave); 0: not joint
	transfer         *transferRequest
	removedIDs       []uint64          // nodes removed by an operator, as of the applied index (memberchange.go)
	clientAddrs      map[uint64]string // members' recorded client addresses, as of the applied index (announce.go)
	statusIDs        statusIDs         // the id lists Status shares (status.go)
	toldRemovedAt    map[uint64]uint64 // tick this node last told each removed node so
	toldRemoved      bool              // a member told this node it was removed
	leaderHeardAt    uint64            // tick this node last heard entries or a heartbeat from its leader (askIfRemoved)
	nextRemovedAsk   uint64            // tick of a learner's next askIfRemoved
	leaderFirstIndex uint64            // this leader's first entry: raft takes no membership change before it applies
	removedAt        uint64            // the index that removed this node, once it applied
}

// Open opens the node's storage (bootstrapping a new cluster from
// cfg.Peers when it is empty) and its raft state.
func Open(cfg Config, e env.Env) (*Node, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	store, err := storage.Open(e.FS, cfg.Dir, e.Log, storage.Options{MemTableBytes: cfg.MemTableBytes, BlockCacheBytes: cfg.BlockCacheBytes, UnsafeNoSync: cfg.UnsafeNoSync, UnsafeLegacyWAL: cfg.UnsafeLegacyWAL, UnsafeLazyApplied: cfg.UnsafeLazyApplied, UnsafeConfFromBase: cfg.UnsafeConfFromBase, DeterministicFlush: cfg.DeterministicFlush, DataSum: cfg.DataSum, MemDisk: cfg.MemDisk})
	if err != nil {
		return nil, err
	}
	n, err := open(cfg, e, store)
	if err != nil {
		_ = store.Close()
		return nil, err
	}
	return n, nil
}

func open(cfg Config, e env.Env, store *storage.Store) (*Node, error) {
	n := &Node{
		cfg:     cfg,
		env:     e,
		store:   store,
		clients: newRequests(),
		adm:     newAdmission(cfg),
	}
	if err := n.loadUsers(); err != nil {
		return nil, err
	}
	if store.IsNewMember() && store.IsEmpty() && !cfg.UnsafeNewLearnerVerdict {
		// An older binary's first start waited here under identity 0,
		// which no member takes from a member recorded unclaimed: it
		// claims an identity of its own instead, as a joiner (review5).
		if err := store.BecomeJoiner(n.env.Rand.Uint64() | 1); err != nil {
			return nil, err
		}
	}
	if store.IsJoining() && len(n.adm.others) == 0 {
		// A joiner asks the members to admit it (askToJoin): with none to
		// ask it would wait forever, saying nothing (review6).
		return nil, fmt.Errorf("node: %s holds no data yet and this node is joining a cluster, but no other member's address was given to ask: set cluster.initial_members or -join", cfg.Dir)
	}
	if !store.IsEmpty() || store.IsJoining() {
		return n, n.startRaft()
	}
	switch {
	case cfg.Join && len(n.adm.others) > 0:
		// Added before and wiped since, or never added: only the
		// members can tell (joinprobe.go).
		n.adm.probeAnswers = make([]peerStage, len(n.adm.others))
		n.adm.probeNonce = n.env.Rand.Uint64() | 1
		n.adm.joinIdentity = n.env.Rand.Uint64() | 1 // never 0 (claim.go)
		return n, nil
	case cfg.Join && cfg.UnsafeNewLearnerVerdict:
		return n, n.becomeNewMember() // TEST ONLY: the old first start, under identity 0
	case cfg.Join:
		// It could only wait under identity 0, whose messages no member
		// takes once ADDNODE records the member unclaimed (claim.go).
		return nil, fmt.Errorf("node: %s holds no data and this node joins (bootstrap = false), but no member's address was given to ask: set cluster.initial_members or -join", cfg.Dir)
	case len(cfg.Peers) == 0:
		return nil, fmt.Errorf("node: %s holds no data and no peers were given to bootstrap a cluster", cfg.Dir)
	case len(cfg.Peers) == 1 || cfg.UnsafeBlindBootstrap:
		// A cluster of one: there is nobody to ask and nobody to agree with.
		if err := store.Bootstrap(cfg.Peers); err != nil {
			return nil, err
		}
		return n, n.startRaft()
	}
	// An empty disk: ask the peers before bootstrapping (membership.go).
	n.adm.probeAnswers = make([]peerStage, len(n.adm.others))
	return n, nil
}

// startRaft starts raft over the store, which holds a bootstrapped or
// restored state, or nothing at all for a joiner.
func (n *Node) startRaft() error {
	incarnation, err := n.store.NextIncarnation(n.cfg.ID)
	if err != nil {
		return err
	}
	cfg := n.cfg
	hs, _, _ := n.store.InitialState()
	n.syncedTerm, n.syncedVote = hs.GetTerm(), hs.GetVote()
	var rs raft.Storage = n.store
	if cfg.UnsafeForgetVote {
		rs = forgetfulStore{n.store}
	}
	rn, err := raft.NewRawNode(&raft.Config{
		ID:                        cfg.ID,
		ElectionTick:              cfg.ElectionTicks,
		HeartbeatTick:             cfg.HeartbeatTicks,
		Storage:                   rs,
		Applied:                   n.store.Applied(),
		MaxSizePerMsg:             cfg.MessageBytesMax,
		MaxCommittedSizePerReady:  4 * cfg.MessageBytesMax,
		MaxUncommittedEntriesSize: cfg.UncommittedBytesMax,
		MaxInflightMsgs:           cfg.MessagesInflightMax,
		CheckQuorum:               !cfg.DisableCheckQuorum,
		PreVote:                   true,
		ReadOnlyOption:            raft.ReadOnlySafe,
		Logger:                    newRaftLogger(n.env.Log),
		StepDownOnRemoval:         true,
	})
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	n.rn = rn
	if err := n.loadRemovedIDs(); err != nil {
		return err
	}
	n.incarnation = incarnation
	n.adm.probeAnswers = nil
	return nil
}

// Close closes the node's storage. Requests still waiting are dropped
// without an answer: the host is going away with them.
func (n *Node) Close() error {
	n.closeLongReads()
	// A snapshot being sent holds a storage snapshot open; the store
	// would report it leaked.
	if !mutant.On(mutant.CloseLeaksTransfer) {
		n.snaps.closeAll()
	}
	return n.store.Close()
}

// Tick advances the node's time by one tick.
func (n *Node) Tick() {
	if n.stopped != nil {
		return
	}
	n.ticks++
	if n.rn == nil {
		n.discover()
		return
	}
	if n.guardRaft(n.rn.Tick) != nil {
		return
	}
	n.clients.expire(n.ticks, n.retry)
	n.releaseParked()
	n.retrySnapshots()
	n.askToJoin()
	n.expireDue()
	n.answerMemberChange()
	n.answerTransfer()
	n.nudgeLeave()
	n.announce()
	n.askIfRemoved()
}

// StepFrom is Step for a message whose sender the transport
// authenticated: a message whose envelope names another sender is
// dropped before anything reads it (a peer may speak only for itself,
// whatever it puts inside). from 0 means the transport knows no sender.
func (n *Node) StepFrom(from uint64, data []byte) error {
	if from != 0 {
		if hdr, _, err := decodeEnvelope(data); err == nil && hdr.from != from {
			n.guard.dropped++
			return fmt.Errorf("%w: peer %d sent a message in the name of %d", errPeerDropped, from, hdr.from)
		}
	}
	return n.Step(data)
}

// Step hands the node a message that arrived from a peer: decode its
// envelope, route it by kind, and step raft with it if it is raft's.
func (n *Node) Step(data []byte) error {
	if n.stopped != nil {
		return n.stopped
	}
	hdr, body, err := decodeEnvelope(data)
	if err != nil {
		return err
	}
	if hdr.kind != peerRaft {
		return n.route(hdr, body)
	}
	if n.tellRemoved(hdr.from) || !n.admit(hdr) {
		return nil
	}
	m, err := n.decodeRaft(hdr, body)
	if err != nil {
		return err
	}
	taken, err := n.stepRaft(m)
	if taken {
		n.noteAnswer(hdr, m) // not one the peer guard dropped
	}
	return err
}

// route handles the messages of the node's own protocols: admission and
// snapshot transfer.
func (n *Node) route(hdr envelope, body []byte) error {
	switch {
	case hdr.kind == peerProbe:
		n.onProbe(hdr.from, body)
		return nil
	case hdr.kind == peerProbeReply:
		return n.onProbeReply(hdr.from, body)
	case hdr.kind == peerJoin:
		// A removed node is told so, never admitted again: its id is
		// retired for good, as ADDNODE refuses it. A join request of a
		// retired identity is an old start's, held by the network: taken,
		// it would remove the member's current self and admit a self no
		// process holds (review3 finding 5).
		if n.rn != nil && !n.tellRemoved(hdr.from) && (n.cfg.UnsafeJoinFromRetired || !n.store.IsRetired(hdr.from, hdr.fromIdentity)) {
			n.onJoin(hdr.from, hdr.fromIdentity)
		}
		return nil
	case hdr.kind == peerRemoved:
		n.onRemovedNotice(hdr.from)
		return nil
	case !n.admit(hdr):
		return nil
	case hdr.kind == peerAnnounce:
		n.onAnnounce(hdr.from, body)
		return nil
	case hdr.kind == peerSnapChunk:
		c, err := decodeSnapChunk(body)
		if err != nil || c.to != n.cfg.ID || c.from != hdr.from {
			return fmt.Errorf("node: bad snapshot chunk (to %d): %v", c.to, err)
		}
		return n.onSnapChunk(c)
	case hdr.kind == peerSnapAck:
		a, err := decodeSnapAck(body)
		if err != nil || a.to != n.cfg.ID || a.from != hdr.from {
			return fmt.Errorf("node: bad snapshot ack (to %d): %v", a.to, err)
		}
		n.onSnapAck(a)
		return nil
	}
	return fmt.Errorf("node: unknown peer message kind %d", hdr.kind)
}

// admit reports whether a message that takes part in raft may be taken,
// and notes, as leader, that its sender's current self is alive.
func (n *Node) admit(hdr envelope) bool {
	switch {
	case n.rn == nil:
		return false // nothing to take part in yet
	case !n.knows(hdr):
		// Meant for a former self of this node, or sent by a former self
		// of the peer (or by a peer that does not know a change yet).
		n.adm.droppedStale++
		return false
	}
	if n.isLeader && hdr.fromIdentity == n.store.MemberIdentity(hdr.from) {
		n.adm.heardAt[hdr.from] = n.ticks // only a leader admits joiners (heardFromLately)
	}
	return true
}

// decodeRaft unmarshals a raft message and checks that its envelope,
// sender and receiver agree and that a peer may send it.
func (n *Node) decodeRaft(hdr envelope, body []byte) (*pb.Message, error) {
	m := &pb.Message{}
	if err := proto.Unmarshal(body, m); err != nil {
		return nil, fmt.Errorf("node: malformed peer message: %w", err)
	}
	switch {
	case m.GetFrom() != hdr.from:
		return nil, fmt.Errorf("node: message from %d says it is from %d", hdr.from, m.GetFrom())
	case m.GetTo() != n.cfg.ID:
		return nil, fmt.Errorf("node: message for node %d delivered to node %d", m.GetTo(), n.cfg.ID)
	case raft.IsLocalMsg(m.GetType()):
		return nil, fmt.Errorf("node: peer sent local message type %s", m.GetType())
	case m.GetType() == pb.MessageType_MsgSnap:
		// A snapshot arrives only as staged chunks; a bare MsgSnap has no
		// data behind it, and installing it would fail the node.
		return nil, fmt.Errorf("node: peer %d sent a bare MsgSnap; snapshots travel in chunks", m.GetFrom())
	}
	return m, nil
}

// stepRaft steps raft with a peer's message. A proposal forwarded to a
// node that lost its leadership meanwhile is dropped by raft: an ordinary
// race, not a bad message. Its proposer's request ends UNKNOWN at its
// deadline, or sooner if it sees the leader change. taken reports
// whether raft took m: not dropped by the peer guard, nor refused.
func (n *Node) stepRaft(m *pb.Message) (taken bool, err error) {
	stepped, stepErr, stopErr := n.stepJudged(m)
	if stopErr != nil {
		return false, stopErr
	}
	if err := stepErr; err != nil && !errors.Is(err, raft.ErrStepPeerNotFound) && !errors.Is(err, raft.ErrProposalDropped) {
		return false, fmt.Errorf("node: step %s from %d: %w", m.GetType(), m.GetFrom(), err)
	}
	if stepErr == nil {
		n.heardFromLeader(m)
	}
	return stepped && stepErr == nil, nil
}
