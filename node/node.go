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
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/seshat-db/seshat/env"
	"github.com/seshat-db/seshat/internal/assert"
	"github.com/seshat-db/seshat/kv"
	"github.com/seshat-db/seshat/storage"
)

// Node is one replica. Use Open to make one.
type Node struct {
	cfg   Config
	env   env.Env
	store *storage.Store
	rn    *raft.RawNode

	incarnation uint64
	ticks       uint64
	nextSeq     uint64
	lead        uint64
	isLeader    bool // as of the last SoftState raft reported
	stopped     error

	snapshotsTaken     int
	snapshotsInstalled int
	membershipChanges  int
	sending            []*outgoingSnap // one per follower at most, oldest first
	receiving          *incomingSnap

	writes        map[uint64]*request // by seq, until applied or expired
	reads         map[uint64]*request // by ReadIndex context, until served or expired
	inflight      []*request          // every live request, oldest first: expiry order
	readsReady    []readyRead         // confirmed reads waiting for apply to catch up
	replies       []reply             // answers to give once the current batch is durable
	longReads     []*chunkedRead      // reads handed to env.Worker, until they end (reader.go)
	longReadBytes atomic.Int64        // values the long reads hold (reader.go)

	// Membership (membership.go). rn is nil while an empty node probes
	// its peers.
	others         []uint64          // the configured peers but this node, in id order
	probeAnswers   []peerStage       // by position in others
	nextProbe      uint64            // tick
	nextWaitLog    uint64            // tick
	nextJoinAsk    uint64            // tick
	confProposedAt uint64            // tick of this leader's last membership change
	leaderSince    uint64            // tick this node last became leader
	heardAt        map[uint64]uint64 // tick of the last message from each peer's current self
	droppedStale   int               // messages dropped for naming a wrong identity
}

// request is one group of client operations: all reads, served at one
// ReadIndex, or all writes, proposed as one entry. Its ops share its fate:
// a group that fails gives every op the same error.
type request struct {
	ops      []kv.Op
	done     func([]kv.Result)
	deadline uint64 // tick
	retryAt  uint64 // tick: reads only
	key      uint64 // its key in writes or reads
	isWrite  bool
	finished bool
}

type readyRead struct {
	index uint64
	req   *request
}

type reply struct {
	req *request
	res []kv.Result
}

// Open opens the node's storage (bootstrapping a new cluster from
// cfg.Peers when it is empty) and its raft state.
func Open(cfg Config, e env.Env) (*Node, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	store, err := storage.Open(e.FS, cfg.Dir, e.Log, storage.Options{MemTableBytes: cfg.MemTableBytes, BlockCacheBytes: cfg.BlockCacheBytes, UnsafeNoSync: cfg.UnsafeNoSync, UnsafeLegacyWAL: cfg.UnsafeLegacyWAL})
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
		writes:  map[uint64]*request{},
		reads:   map[uint64]*request{},
		heardAt: map[uint64]uint64{},
		others:  othersOf(cfg),
	}
	if !store.IsEmpty() || store.IsJoining() {
		return n, n.startRaft()
	}
	switch {
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
	n.probeAnswers = make([]peerStage, len(n.others))
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
	rn, err := raft.NewRawNode(&raft.Config{
		ID:                        cfg.ID,
		ElectionTick:              cfg.ElectionTicks,
		HeartbeatTick:             cfg.HeartbeatTicks,
		Storage:                   n.store,
		Applied:                   n.store.Applied(),
		MaxSizePerMsg:             cfg.MessageBytesMax,
		MaxCommittedSizePerReady:  4 * cfg.MessageBytesMax,
		MaxUncommittedEntriesSize: cfg.UncommittedBytesMax,
		MaxInflightMsgs:           cfg.MessagesInflightMax,
		CheckQuorum:               !cfg.DisableCheckQuorum,
		PreVote:                   true,
		ReadOnlyOption:            raft.ReadOnlySafe,
		Logger:                    raftLogger{log: n.env.Log},
	})
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	n.rn = rn
	n.incarnation = incarnation
	n.probeAnswers = nil
	return nil
}

// Close closes the node's storage. Requests still waiting are dropped
// without an answer: the host is going away with them.
func (n *Node) Close() error {
	n.closeLongReads()
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
	n.expire()
	n.retrySnapshots()
	n.askToJoin()
}

// Step hands the node a message that arrived from a peer.
func (n *Node) Step(data []byte) error {
	if n.stopped != nil {
		return n.stopped
	}
	hdr, body, err := decodeEnvelope(data)
	if err != nil {
		return err
	}
	switch {
	case hdr.kind == peerProbe:
		n.onProbe(hdr.from)
		return nil
	case hdr.kind == peerProbeReply:
		return n.onProbeReply(hdr.from, body)
	case n.rn == nil:
		return nil // nothing to take part in yet
	case hdr.kind == peerJoin:
		n.onJoin(hdr.from, hdr.fromIdentity)
		return nil
	case !n.knows(hdr):
		// Meant for a former self of this node, or sent by a former self
		// of the peer (or by a peer that does not know a change yet).
		n.droppedStale++
		return nil
	}
	if n.isLeader && hdr.fromIdentity == n.store.MemberIdentity(hdr.from) {
		n.heardAt[hdr.from] = n.ticks // only a leader admits joiners (heardFromLately)
	}
	switch hdr.kind {
	case peerRaft:
	case peerSnapChunk:
		c, err := decodeSnapChunk(body)
		if err != nil || c.to != n.cfg.ID || c.from != hdr.from {
			return fmt.Errorf("node: bad snapshot chunk (to %d): %v", c.to, err)
		}
		return n.onSnapChunk(c)
	case peerSnapAck:
		a, err := decodeSnapAck(body)
		if err != nil || a.to != n.cfg.ID || a.from != hdr.from {
			return fmt.Errorf("node: bad snapshot ack (to %d): %v", a.to, err)
		}
		n.onSnapAck(a)
		return nil
	default:
		return fmt.Errorf("node: unknown peer message kind %d", hdr.kind)
	}
	m := &pb.Message{}
	if err := proto.Unmarshal(body, m); err != nil {
		return fmt.Errorf("node: malformed peer message: %w", err)
	}
	if m.GetFrom() != hdr.from {
		return fmt.Errorf("node: message from %d says it is from %d", hdr.from, m.GetFrom())
	}
	if m.GetTo() != n.cfg.ID {
		return fmt.Errorf("node: message for node %d delivered to node %d", m.GetTo(), n.cfg.ID)
	}
	if raft.IsLocalMsg(m.GetType()) {
		return fmt.Errorf("node: peer sent local message type %s", m.GetType())
	}
	if m.GetType() == pb.MessageType_MsgSnap {
		// A snapshot arrives only as staged chunks; a bare MsgSnap has no
		// data behind it, and installing it would fail the node.
		return fmt.Errorf("node: peer %d sent a bare MsgSnap; snapshots travel in chunks", m.GetFrom())
	}
	// A proposal forwarded to a node that lost its leadership meanwhile is
	// dropped by raft: an ordinary race, not a bad message. Its proposer's
	// request ends UNKNOWN at its deadline, or sooner if it sees the
	// leader change.
	if err := n.checkCommitReachable(m); err != nil {
		return n.stop(err)
	}
	var stepErr error
	if perr := n.guardRaft(func() { stepErr = n.rn.Step(m) }); perr != nil {
		return perr
	}
	if err := stepErr; err != nil && !errors.Is(err, raft.ErrStepPeerNotFound) && !errors.Is(err, raft.ErrProposalDropped) {
		return fmt.Errorf("node: step %s from %d: %w", m.GetType(), m.GetFrom(), err)
	}
	return nil
}

// Submit starts a group of client operations, all reads or all writes,
// to run in order as one: the writes as one raft entry applied in one go,
// the reads at one ReadIndex. done is called exactly once with one result
// per op, from inside this or a later call into the node.
func (n *Node) Submit(ops []kv.Op, done func([]kv.Result)) {
	if len(ops) == 0 {
		done(nil)
		return
	}
	isRead := ops[0].Kind.IsRead()
	for i := range ops {
		assert.That(ops[i].Kind.IsRead() == isRead, "node: a group mixes reads and writes")
	}
	req := &request{ops: ops, done: done}
	switch {
	case n.stopped != nil:
		req.fail(n.refusal())
		return
	case n.rn == nil:
		req.fail(ErrNoQuorum) // no cluster yet: still asking the peers
		return
	case n.store.IsJoining():
		req.fail(ErrJoining)
		return
	case len(n.inflight)+len(n.longReads) >= n.cfg.RequestsInflightMax && n.compactInflight() >= n.cfg.RequestsInflightMax:
		req.fail(ErrBusy)
		return
	}
	if isRead && n.cfg.UnsafeLocalReads {
		n.serveRead(req)
		return
	}
	if n.lead == raft.None {
		req.fail(ErrNoQuorum)
		return
	}
	req.deadline = n.ticks + uint64(n.cfg.RequestTimeoutTicks)
	if isRead {
		n.askReadIndex(req)
	} else if !n.propose(req) {
		return
	}
	n.inflight = append(n.inflight, req)
}

// fail answers every op of a request that never entered the node's maps.
func (req *request) fail(err error) {
	req.finished = true
	req.done(errResults(len(req.ops), err))
}

func errResults(n int, err error) []kv.Result {
	res := make([]kv.Result, n)
	for i := range res {
		res[i].Err = err
	}
	return res
}

func (n *Node) propose(req *request) bool {
	n.nextSeq++
	seq := n.nextSeq
	data := encodeEntry(n.sessionID(), seq, req.ops)
	if uint64(len(data)) > n.cfg.EntryBytesMax {
		// It could never be replicated: refuse it rather than try.
		req.fail(&WriteTooLargeError{Bytes: len(data), Max: int(n.cfg.EntryBytesMax)})
		return false
	}
	var err error
	if n.guardRaft(func() { err = n.rn.Propose(data) }) != nil {
		req.fail(ErrOutcomeUnknown)
		return false
	}
	if err != nil {
		// Dropped before it reached any log: it did not happen. A leader
		// drops a proposal only when its uncommitted bytes are at their
		// bound (Seshat never transfers leadership); anyone else only
		// when it knows no leader (a follower forwards).
		if n.rn.BasicStatus().RaftState == raft.StateLeader {
			req.fail(ErrUncommittedFull)
		} else {
			req.fail(ErrNoQuorum)
		}
		return false
	}
	req.isWrite = true
	req.key = seq
	n.writes[seq] = req
	return true
}

func (n *Node) askReadIndex(req *request) {
	n.nextSeq++
	delete(n.reads, req.key)
	req.key = n.nextSeq
	n.reads[n.nextSeq] = req
	req.retryAt = n.ticks + uint64(n.cfg.ReadRetryTicks)
	// The context names this process too: a confirmation meant for a
	// read of an earlier process of this node, delayed in the network,
	// must not serve a read of this one at an index that may be stale.
	ctx := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, n.incarnation), n.nextSeq)
	if n.guardRaft(func() { n.rn.ReadIndex(ctx) }) != nil {
		n.finishErr(req, n.refusal())
	}
}

// expire fails requests past their deadline and asks again for reads that
// got no ReadIndex answer.
func (n *Node) expire() {
	live := n.inflight[:0]
	for _, req := range n.inflight {
		switch {
		case req.finished:
			continue
		case n.ticks >= req.deadline && req.isWrite:
			n.finishErr(req, ErrOutcomeUnknown)
			continue
		case n.ticks >= req.deadline:
			n.finishErr(req, ErrReadTimeout)
			continue
		case !req.isWrite && n.ticks >= req.retryAt:
			n.askReadIndex(req)
		}
		live = append(live, req)
	}
	clear(n.inflight[len(live):])
	n.inflight = live
}

// finish answers a request once. Map entries that still point at it are
// dropped lazily: a finished request ignores later answers.
func (n *Node) finish(req *request, res []kv.Result) {
	if req.finished {
		return
	}
	req.finished = true
	if req.isWrite {
		delete(n.writes, req.key)
	} else {
		delete(n.reads, req.key)
	}
	req.done(res)
}

// finishErr answers every op of a request with err.
func (n *Node) finishErr(req *request, err error) {
	if !req.finished {
		n.finish(req, errResults(len(req.ops), err))
	}
}

// failAll answers every live request: reads did not happen; writes may
// have. Called when the leader is lost or the node stops.
func (n *Node) failAll(readErr, writeErr error) {
	for _, req := range n.inflight {
		if req.isWrite {
			n.finishErr(req, writeErr)
		} else {
			n.finishErr(req, readErr)
		}
	}
	clear(n.inflight)
	n.inflight = n.inflight[:0]
	clear(n.writes)
	clear(n.reads)
	n.readsReady = nil
}

// leaderLost answers what was in flight through the old leader. A read
// did nothing, so it fails now. A write may be lost or may still commit:
// a new leader commits the entries of earlier terms that it holds with
// its first entry, so a write that reached it applies about an election
// later. A write keeps its place (and the answer of its apply, when it
// comes) for WriteGraceElections election timeouts more, then ends
// UNKNOWN at its deadline. Failing writes at once answered UNKNOWN for
// writes that were applied a moment later.
func (n *Node) leaderLost() {
	deadline := n.ticks + uint64(WriteGraceElections*n.cfg.ElectionTicks)
	for _, req := range n.inflight {
		switch {
		case req.finished:
		case req.isWrite:
			req.deadline = min(req.deadline, deadline)
		default:
			n.finishErr(req, ErrNoQuorum)
		}
	}
	n.readsReady = nil
}

// WriteGraceElections: see leaderLost. Two election timeouts elect a new
// leader (raft draws the timeout from [1, 2) of ElectionTicks); one more
// lets it commit its first entry and the proposer apply it.
const WriteGraceElections = 3

// Process drains raft's Ready: it persists entries, hard state and the
// effects of committed entries in one synced batch, then sends messages,
// answers clients and advances raft. A returned error is a storage
// failure: the node has stopped and every later request fails.
func (n *Node) Process() error {
	if n.stopped != nil {
		return n.stopped
	}
	if n.rn == nil {
		return nil
	}
	for n.rn.HasReady() {
		var err error
		if perr := n.guardRaft(func() { err = n.processReady(n.rn.Ready()) }); perr != nil {
			return perr
		}
		if err != nil {
			return n.stop(err)
		}
	}
	if err := n.maybeCompact(); err != nil {
		return n.stop(err)
	}
	return nil
}

// stop makes the node fail-stop: after a storage failure nothing it holds
// in memory can be trusted to match the disk, so it answers nothing more.
func (n *Node) stop(err error) error {
	if n.stopped == nil {
		n.stopped = err
		n.env.Log.Error("node stopped", "node", n.cfg.ID, "err", err)
		n.failAll(ErrStopped, ErrOutcomeUnknown)
		for len(n.sending) > 0 {
			n.removeOutgoing(n.sending[0])
		}
	}
	return n.stopped
}

func (n *Node) processReady(rd raft.Ready) error {
	if rd.SoftState != nil {
		isLeader := rd.SoftState.RaftState == raft.StateLeader
		if isLeader && !n.isLeader {
			n.leaderSince = n.ticks
		}
		n.isLeader = isLeader
		n.noteLeader(rd.SoftState.Lead)
	}
	if !raft.IsEmptySnap(rd.Snapshot) {
		if err := n.installSnapshot(rd.Snapshot, rd.HardState); err != nil {
			return err
		}
	}
	// A leader may send its appends before its own write is durable
	// (Raft thesis 10.2.1): its followers then sync in parallel with it.
	// This is safe because raft counts the leader's own copy toward a
	// quorum only after Advance, which comes after the sync below.
	sentEarly := n.isLeader
	if sentEarly {
		for _, m := range rd.Messages {
			if m.GetType() == pb.MessageType_MsgApp {
				n.sendRaft(m)
			}
		}
	}
	batch := n.store.NewBatch()
	if !raft.IsEmptyHardState(rd.HardState) && rd.HardState != nil {
		batch.SetHardState(rd.HardState)
	}
	if err := batch.Append(rd.Entries); err != nil {
		return err
	}
	if err := n.apply(batch, rd.CommittedEntries); err != nil {
		return err
	}
	if err := batch.Commit(); err != nil {
		return err
	}
	// Durable from here on: tell peers, then clients.
	for _, m := range rd.Messages {
		switch {
		case m.GetType() == pb.MessageType_MsgSnap:
			n.startSnapshot(m)
		case sentEarly && m.GetType() == pb.MessageType_MsgApp:
		default:
			n.sendRaft(m)
		}
	}
	for _, r := range n.replies {
		n.finish(r.req, r.res)
	}
	clear(n.replies)
	n.replies = n.replies[:0]
	for _, rs := range rd.ReadStates {
		n.readConfirmed(rs)
	}
	n.serveReadyReads()
	n.rn.Advance(rd)
	return nil
}

func (n *Node) noteLeader(lead uint64) {
	if lead == n.lead {
		return
	}
	old := n.lead
	n.lead = lead
	n.env.Log.Info("leader changed", "node", n.cfg.ID, "from", old, "to", lead, "term", n.rn.BasicStatus().GetTerm())
	if old != raft.None {
		n.leaderLost()
	}
}

// apply applies committed entries into batch, in log order, and queues the
// answers for requests this node proposed.
func (n *Node) apply(batch *storage.Batch, entries []*pb.Entry) error {
	for _, e := range entries {
		assert.That(e.GetIndex() == batch.Applied()+1, "applying entry %d after %d", e.GetIndex(), batch.Applied())
		switch e.GetType() {
		case pb.EntryType_EntryNormal:
			if len(e.GetData()) > 0 {
				if err := n.applyNormal(batch, e.GetData()); err != nil {
					return fmt.Errorf("node: apply entry %d: %w", e.GetIndex(), err)
				}
			}
		case pb.EntryType_EntryConfChange, pb.EntryType_EntryConfChangeV2:
			if err := n.applyConfChange(batch, e); err != nil {
				return fmt.Errorf("node: apply membership change %d: %w", e.GetIndex(), err)
			}
		default:
			return fmt.Errorf("node: entry %d has type %s, which this version does not apply", e.GetIndex(), e.GetType())
		}
		batch.SetApplied(e.GetIndex())
		if n.cfg.OnApply != nil {
			n.cfg.OnApply(e.GetIndex(), e.GetTerm(), e.GetData())
		}
	}
	return nil
}

func (n *Node) applyNormal(batch *storage.Batch, data []byte) error {
	ent, err := decodeEntry(data)
	if err != nil {
		return err
	}
	fresh, err := admitOnce(batch, ent.session, ent.seq)
	if err != nil {
		return err
	}
	fresh = fresh || n.cfg.UnsafeNoDedup
	res := make([]kv.Result, len(ent.ops))
	for i := range ent.ops {
		if !fresh {
			// A duplicate (the network delivered a proposal twice) or a
			// proposal too old to tell: it has no effect now.
			res[i].Err = ErrOutcomeUnknown
			continue
		}
		// The batch is indexed: each op sees the effects of those before it.
		if res[i], err = kv.Apply(batch, ent.ops[i]); err != nil {
			return err
		}
	}
	if ent.session == n.sessionID() {
		if req, ok := n.writes[ent.seq]; ok {
			delete(n.writes, ent.seq)
			n.replies = append(n.replies, reply{req: req, res: res})
		}
	}
	return nil
}

// readConfirmed records that a read may be served once the node has
// applied rs.Index.
func (n *Node) readConfirmed(rs raft.ReadState) {
	if len(rs.RequestCtx) != 16 || binary.BigEndian.Uint64(rs.RequestCtx) != n.incarnation {
		return
	}
	ctx := binary.BigEndian.Uint64(rs.RequestCtx[8:])
	req, ok := n.reads[ctx]
	if !ok {
		return
	}
	delete(n.reads, ctx)
	if req.finished {
		return
	}
	n.readsReady = append(n.readsReady, readyRead{index: rs.Index, req: req})
}

func (n *Node) serveReadyReads() {
	waiting := n.readsReady[:0]
	for _, r := range n.readsReady {
		if r.req.finished {
			continue
		}
		if r.index <= n.store.Applied() {
			n.serveRead(r.req)
			continue
		}
		waiting = append(waiting, r)
	}
	clear(n.readsReady[len(waiting):])
	n.readsReady = waiting
}

// serveRead runs a read group's ops in order against the applied state:
// all of them see the same index.
func (n *Node) serveRead(req *request) {
	if n.serveLongRead(req) {
		return
	}
	view := n.store.DataView()
	res := make([]kv.Result, len(req.ops))
	for i := range req.ops {
		r, err := kv.Apply(view, req.ops[i])
		if err != nil {
			n.stopped = fmt.Errorf("node: read: %w", err)
			n.finishErr(req, ErrStopped)
			return
		}
		res[i] = r
	}
	n.finish(req, res)
}

// compactInflight drops finished requests and ended long reads and
// returns how many are left: a long read holds its snapshot and results
// until it answers, so it counts toward RequestsInflightMax. Tick's expire
// does the same for requests; this runs only when the lists look full, so
// Process stays free of a scan per Ready.
func (n *Node) compactInflight() int {
	n.longReads = pruneLongReads(n.longReads)
	live := n.inflight[:0]
	for _, req := range n.inflight {
		if !req.finished {
			live = append(live, req)
		}
	}
	clear(n.inflight[len(live):])
	n.inflight = live
	return len(n.inflight) + len(n.longReads)
}

// sessionID names this incarnation of this node as a proposer.
func (n *Node) sessionID() session { return session{origin: n.cfg.ID, incarnation: n.incarnation} }
