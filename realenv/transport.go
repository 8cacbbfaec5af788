package realenv

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/seshat-db/seshat/env"
)

// The wire protocol between peers.
//
// A connection carries messages one way only: from the node that dialed
// it to the node that accepted it. Each node dials its own connection to
// every peer, so a network cut in one direction is just that, as in the
// chaos matrix's asymmetric partition.
//
//	handshake: see peerauth.go (hello, challenge, proof, accept)
//	then frames (dialer -> acceptor): length uint32 | body | tag [16]byte
//	and pongs (acceptor -> dialer): one byte, pongByte
//
// All integers are big-endian. The frame body is exactly what the node
// handed to env.Transport.Send. A frame of length zero is a ping, not a
// message: the dialer sends one every KeepaliveInterval and the acceptor
// answers each with a pong.
//
// Pings and pongs are how a link notices that it has gone silent. A TCP
// connection whose packets are being dropped stays "up": writes land in
// the kernel's buffer and TCP retransmits with a backoff that reaches tens
// of seconds, so after a long partition heals the link would carry nothing
// until that backoff ran out (a node cut off for 60 s came back after
// 46 s). Instead, either end that hears nothing for SilenceTimeout closes
// the connection and the dialer redials at once; TCP_USER_TIMEOUT and
// keepalive probes bound how long the kernel itself holds unacknowledged
// data on a broken connection.
//
// Snapshots need nothing special here: node streams them as ordinary
// messages, in chunks far below FrameBytesMax.
//
// protocolVersion 2: every node message starts with an identity envelope
// (node/peer.go), which version 1 nodes cannot read. Version 3: pings
// (empty frames) and pongs, which a version 2 node would take for an
// empty message and a garbled answer. Version 4: the authenticated
// handshake and tagged frames (peerauth.go).
const (
	protocolVersion = 4
	pongByte        = 0x50 // 'P'
	// frameChunk is what a frame's body may take before its bytes arrive:
	// a declared size is a claim, and memory follows the bytes received.
	frameChunk = 64 << 10
)

var protocolMagic = [4]byte{'S', 'S', 'H', 'T'}

// TransportConfig is one node's view of its peers.
type TransportConfig struct {
	ID        uint64            // this node
	ClusterID string            // a cluster's name: nodes of different clusters refuse each other
	Peers     map[uint64]string // every other member's internal address, by id
	// Listen is the address to accept peers on (the internal port).
	Listen string
	// Listener, if set, is Listen already bound, and Start accepts on it:
	// the caller binds every port before it writes anything to disk.
	Listener net.Listener
	// Secret is the cluster secret every peer must prove it holds; empty,
	// the cluster id stands in for it and proves nothing (peerauth.go).
	Secret []byte
	// TLS, if set, is this node's certificate and the cluster CA: every
	// peer connection is mutual TLS, each end's certificate naming its
	// node id (peertls.go). With Secret as well, a peer needs both.
	TLS *PeerTLS

	SendQueueMax int // messages queued per peer; beyond, they are dropped; 4096
	// SendQueueBytesMax bounds the bytes queued per peer the same way;
	// 2 * FrameBytesMax.
	SendQueueBytesMax int64
	// PendingMax bounds the inbound connections still in their handshake;
	// one more displaces the oldest of the address holding the most
	// (pending.go). With one authenticated connection per peer, it bounds
	// the descriptors the peer port can take. 64.
	PendingMax    int
	FrameBytesMax int           // largest frame accepted or sent; 64 MiB
	DialTimeout   time.Duration // 500 ms: a dial that a partition swallows is retried soon after it heals
	WriteTimeout  time.Duration // a write that takes longer breaks the connection; 5 s (raft RPC timeout)
	BackoffMin    time.Duration // first reconnect delay; 50 ms
	BackoffMax    time.Duration // 250 ms: a healed link is redialled within DialTimeout + BackoffMax, well inside the 2 s in which a healed node must serve
	// SilenceTimeout is how long a connection may carry nothing (no frame
	// into the acceptor, no pong back to the dialer) before either end
	// closes it and the dialer redials; about one election timeout. 1 s.
	SilenceTimeout time.Duration
	// KeepaliveInterval is how often the dialer pings; SilenceTimeout/4.
	KeepaliveInterval time.Duration
	Log               *slog.Logger
	// Deliver receives every inbound message with the id of the peer its
	// connection authenticated. It must not block for long; Host.Deliver
	// never does.
	Deliver func(from uint64, msg []byte)
	// OnPeerRTT, if set, hears each ping's round trip to a peer, for
	// metrics. It must not block.
	OnPeerRTT func(peer uint64, rtt time.Duration)
}

// Transport is the TCP implementation of env.Transport.
type Transport struct {
	cfg         TransportConfig
	clusterHash uint64
	key         []byte
	acceptConf  *tls.Config // nil without peer TLS
	ln          net.Listener
	peerMap     atomic.Pointer[map[uint64]*peer] // by id; copied, never changed, when AddPeer adds one

	mu      sync.Mutex
	inbound map[net.Conn]struct{}
	pending *pendingPool        // inbound connections in their handshake
	room    *sync.Cond          // on mu: the pending pool may admit again
	current map[uint64]net.Conn // the authenticated inbound connection of each peer
	refused atomic.Uint64       // inbound connections refused: over the cap, or failed handshakes
	sources refusalLog
	closed  bool
	started bool // Start ran: a peer added later gets its dialer at once
	quit    chan struct{}
	wg      sync.WaitGroup
}

var _ env.Transport = (*Transport)(nil)

type peer struct {
	id     uint64
	addr   string
	queue  chan []byte
	queued atomic.Int64 // bytes in queue

	sent       atomic.Uint64
	dropped    atomic.Uint64
	up         atomic.Bool
	connects   atomic.Uint64 // connections that passed the handshake
	silences   atomic.Uint64 // outbound connections closed for hearing no pong
	inSilences atomic.Uint64 // inbound connections from this peer closed for carrying nothing
	bytesOut   atomic.Uint64 // frame bytes written to the peer, headers included
	bytesIn    atomic.Uint64 // frame bytes read from the peer, headers included
	pingAt     atomic.Int64  // unix ns of the ping awaiting its pong (0: none)
}

// PeerStats is one peer's counters, for metrics.
type PeerStats struct {
	ID        uint64
	Sent      uint64
	Dropped   uint64
	Connected bool
	// Reconnects counts outbound connections made after the first.
	Reconnects uint64
	// Silences counts connections to or from the peer closed because
	// they carried nothing for SilenceTimeout.
	Silences uint64
	// BytesSent and BytesReceived count frame bytes, headers included.
	BytesSent, BytesReceived uint64
}

// NewTransport checks cfg and prepares the per-peer queues. Nothing runs
// until Start.
func NewTransport(cfg TransportConfig) (*Transport, error) {
	if cfg.SendQueueMax <= 0 {
		cfg.SendQueueMax = 4096
	}
	if cfg.FrameBytesMax <= 0 {
		cfg.FrameBytesMax = 64 << 20
	}
	if cfg.SendQueueBytesMax <= 0 {
		cfg.SendQueueBytesMax = 2 * int64(cfg.FrameBytesMax)
	}
	if cfg.PendingMax <= 0 {
		cfg.PendingMax = 64
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 500 * time.Millisecond
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 5 * time.Second
	}
	if cfg.BackoffMin <= 0 {
		cfg.BackoffMin = 50 * time.Millisecond
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 250 * time.Millisecond
	}
	if cfg.SilenceTimeout <= 0 {
		cfg.SilenceTimeout = time.Second
	}
	if cfg.KeepaliveInterval <= 0 {
		cfg.KeepaliveInterval = cfg.SilenceTimeout / 4
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Deliver == nil {
		return nil, errors.New("transport: Deliver must be set")
	}
	t := &Transport{
		cfg:         cfg,
		clusterHash: ClusterHash(cfg.ClusterID),
		key:         peerKey(cfg.Secret, cfg.ClusterID),
		inbound:     map[net.Conn]struct{}{},
		pending:     newPendingPool(cfg.PendingMax),
		current:     map[uint64]net.Conn{},
		quit:        make(chan struct{}),
	}
	t.room = sync.NewCond(&t.mu)
	if cfg.TLS != nil {
		t.acceptConf = cfg.TLS.acceptConfig()
	}
	peers := map[uint64]*peer{}
	for id, addr := range cfg.Peers {
		if id == cfg.ID {
			continue
		}
		peers[id] = &peer{id: id, addr: addr, queue: make(chan []byte, cfg.SendQueueMax)}
	}
	t.peerMap.Store(&peers)
	return t, nil
}

// ClusterHash is what the handshake carries of a cluster id: its name
// need not fit a fixed field, and two names collide with negligible odds.
func ClusterHash(clusterID string) uint64 {
	sum := sha256.Sum256([]byte(clusterID))
	return binary.BigEndian.Uint64(sum[:8])
}

// Start listens on cfg.Listen (or takes cfg.Listener) and starts one
// dialer per peer.
func (t *Transport) Start() error {
	ln := t.cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", t.cfg.Listen); err != nil {
			return fmt.Errorf("transport: listen on %s: %w", t.cfg.Listen, err)
		}
	}
	t.ln = ln
	if len(t.cfg.Secret) == 0 && t.cfg.TLS == nil {
		t.cfg.Log.Warn("transport: no cluster secret is configured; any process that knows the cluster id can act as a peer (set cluster_secret or cluster_secret_file, or [tls] peer certificates)")
	}
	t.wg.Add(1)
	go t.acceptLoop()
	t.mu.Lock()
	t.started = true
	for _, p := range *t.peerMap.Load() {
		t.wg.Add(1)
		go t.dialLoop(p)
	}
	t.mu.Unlock()
	return nil
}

// Addr returns the address it listens on (useful with port 0).
func (t *Transport) Addr() net.Addr { return t.ln.Addr() }

// Send implements env.Transport.Send. It never blocks: a message to an
// unknown peer, or to a peer whose queue is full, is dropped.
func (t *Transport) Send(to uint64, msg []byte) {
	p, ok := (*t.peerMap.Load())[to]
	if !ok {
		return
	}
	if len(msg) > t.cfg.FrameBytesMax {
		p.dropped.Add(1)
		t.cfg.Log.Warn("transport: message larger than the frame limit dropped", "peer", to, "bytes", len(msg), "limit", t.cfg.FrameBytesMax)
		return
	}
	if p.queued.Add(int64(len(msg))) > t.cfg.SendQueueBytesMax {
		p.queued.Add(-int64(len(msg)))
		p.dropped.Add(1)
		return
	}
	select {
	case p.queue <- msg:
	default:
		p.queued.Add(-int64(len(msg)))
		p.dropped.Add(1)
	}
}

// take notes that msg left p's queue.
func (p *peer) take(msg []byte) []byte {
	p.queued.Add(-int64(len(msg)))
	return msg
}

// Stats returns every peer's counters, sorted by id.
func (t *Transport) Stats() []PeerStats {
	peers := *t.peerMap.Load()
	out := make([]PeerStats, 0, len(peers))
	for _, p := range peers {
		out = append(out, PeerStats{
			ID: p.id, Sent: p.sent.Load(), Dropped: p.dropped.Load(), Connected: p.up.Load(),
			Reconnects: max(p.connects.Load(), 1) - 1, Silences: p.silences.Load() + p.inSilences.Load(),
			BytesSent: p.bytesOut.Load(), BytesReceived: p.bytesIn.Load(),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Close stops listening, closes every connection and waits for the
// transport's goroutines.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	close(t.quit)
	t.room.Broadcast()
	for c := range t.inbound {
		_ = c.Close()
	}
	t.mu.Unlock()
	var err error
	if t.ln != nil {
		err = t.ln.Close()
	}
	t.wg.Wait()
	return err
}

func (t *Transport) hello(to uint64) []byte {
	b := make([]byte, 0, helloBytes)
	b = append(b, protocolMagic[:]...)
	b = binary.BigEndian.AppendUint16(b, protocolVersion)
	b = binary.BigEndian.AppendUint16(b, 0)
	b = binary.BigEndian.AppendUint64(b, t.clusterHash)
	b = binary.BigEndian.AppendUint64(b, t.cfg.ID)
	b = binary.BigEndian.AppendUint64(b, to)
	nonce := newNonce()
	return append(b, nonce[:]...)
}

// checkHello returns the sender's id, or why the connection is refused
// (for this node's log only: the caller is told nothing).
func (t *Transport) checkHello(h []byte) (uint64, string) {
	if [4]byte(h[:4]) != protocolMagic {
		return 0, "bad magic: not a seshat peer"
	}
	if v := binary.BigEndian.Uint16(h[4:]); v != protocolVersion {
		return 0, fmt.Sprintf("protocol version %d, this node speaks %d", v, protocolVersion)
	}
	if c := binary.BigEndian.Uint64(h[8:]); c != t.clusterHash {
		return 0, fmt.Sprintf("cluster id mismatch (hash %016x, this node's cluster %q hashes to %016x)", c, t.cfg.ClusterID, t.clusterHash)
	}
	from := binary.BigEndian.Uint64(h[16:])
	to := binary.BigEndian.Uint64(h[24:])
	if to != t.cfg.ID {
		return from, fmt.Sprintf("dialer expected node %d but reached node %d", to, t.cfg.ID)
	}
	if _, ok := (*t.peerMap.Load())[from]; !ok {
		return from, fmt.Sprintf("sender id %d is not a member this node knows", from)
	}
	return from, ""
}

func (t *Transport) acceptLoop() {
	defer t.wg.Done()
	for {
		// Every slot holds a handshake under way: newcomers wait in the
		// kernel's queue, in order (pending.go).
		t.mu.Lock()
		for !t.closed && !t.pending.admits() {
			t.room.Wait()
		}
		t.mu.Unlock()
		c, err := t.ln.Accept()
		if err != nil {
			select {
			case <-t.quit:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			t.cfg.Log.Warn("transport: accept failed", "err", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			_ = c.Close()
			return
		}
		evicted := t.pending.add(c)
		if evicted != nil {
			delete(t.inbound, evicted)
		}
		t.inbound[c] = struct{}{}
		t.mu.Unlock()
		if evicted != nil {
			_ = evicted.Close()
			t.refuse(evicted, 0, fmt.Sprintf("displaced from a full handshake queue (%d connections in their handshake)", t.cfg.PendingMax))
		}
		t.wg.Add(1)
		go t.serveInbound(c)
	}
}

// serveInbound reads one dialer's frames. raw is the TCP connection, the
// one the transport's books and closes (closing a TLS connection would
// send an alert, which a stuck link can hold up); c, the one read and
// written, is raw or TLS over it.
func (t *Transport) serveInbound(raw net.Conn) {
	defer t.wg.Done()
	defer func() {
		t.mu.Lock()
		delete(t.inbound, raw)
		t.mu.Unlock()
		_ = raw.Close()
	}()
	watched := &firstReadConn{Conn: raw, onFirst: func() {
		t.mu.Lock()
		t.pending.spoke(raw)
		t.mu.Unlock()
	}}
	c, from, tags, reason := t.acceptHandshake(watched)
	t.mu.Lock()
	// A connection displaced meanwhile is closed and counted already.
	stillPending := t.pending.remove(raw)
	t.room.Broadcast()
	ok := stillPending && reason == "" && !t.closed
	if ok {
		// One connection per peer: a newer one replaces the older, which
		// a dialer that redialled has given up anyway.
		if old := t.current[from]; old != nil {
			_ = old.Close()
		}
		t.current[from] = raw
	}
	t.mu.Unlock()
	if !ok {
		if stillPending && reason != "" {
			t.refuse(raw, from, reason)
		}
		return
	}
	defer func() {
		t.mu.Lock()
		if t.current[from] == raw {
			delete(t.current, from)
		}
		t.mu.Unlock()
	}()
	remote := raw.RemoteAddr().String()
	setLinkOptions(raw, t.cfg.WriteTimeout)
	t.cfg.Log.Info("transport: inbound peer connected", "peer", from, "remote", remote)
	r := bufio.NewReaderSize(c, 64<<10)
	var hdr [4]byte
	tag := make([]byte, tagBytes)
	lastPong := time.Now()
	for {
		// The dialer pings every KeepaliveInterval: a connection silent for
		// SilenceTimeout is dead or stuck behind a partition.
		_ = c.SetReadDeadline(time.Now().Add(t.cfg.SilenceTimeout))
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			var ne net.Error
			switch {
			case errors.As(err, &ne) && ne.Timeout():
				(*t.peerMap.Load())[from].inSilences.Add(1)
				t.cfg.Log.Info("transport: inbound peer connection silent; closing it", "peer", from, "silent_for", t.cfg.SilenceTimeout)
			case !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed):
				t.cfg.Log.Info("transport: inbound peer connection lost", "peer", from, "err", err)
			}
			return
		}
		size := binary.BigEndian.Uint32(hdr[:])
		if int64(size) > int64(t.cfg.FrameBytesMax) {
			t.cfg.Log.Error("transport: frame larger than the limit; closing the connection", "peer", from, "bytes", size, "limit", t.cfg.FrameBytesMax)
			return
		}
		msg, err := t.readBody(c, r, int(size), &lastPong)
		if err == nil {
			_, err = io.ReadFull(r, tag)
		}
		if err != nil {
			t.cfg.Log.Info("transport: inbound peer connection lost mid-frame", "peer", from, "err", err)
			return
		}
		if !tags.check(tag, hdr[:], msg) {
			t.cfg.Log.Error("transport: closing a peer connection", "peer", from, "remote", remote, "err", errBadTag)
			return
		}
		if size == 0 {
			if err := t.pong(c); err != nil {
				t.cfg.Log.Info("transport: inbound peer connection lost answering a ping", "peer", from, "err", err)
				return
			}
			lastPong = time.Now()
			continue
		}
		(*t.peerMap.Load())[from].bytesIn.Add(uint64(4 + size))
		t.cfg.Deliver(from, msg)
	}
}

// acceptHandshake runs the acceptor's side of the handshake within half
// a silence timeout, as the dialer does. A refusal closes the connection
// with nothing said; reason says why, for this node's log.
func (t *Transport) acceptHandshake(raw net.Conn) (c net.Conn, from uint64, tags *frameMAC, reason string) {
	_ = raw.SetDeadline(time.Now().Add(t.cfg.SilenceTimeout / 2))
	c, certID, reason := t.acceptTLS(raw)
	if reason != "" {
		return nil, 0, nil, reason
	}
	hello := make([]byte, helloBytes)
	if _, err := io.ReadFull(c, hello); err != nil {
		return nil, 0, nil, "closed or silent before its hello: " + err.Error()
	}
	from, reason = t.checkHello(hello)
	if reason == "" && certID != 0 && from != certID {
		reason = fmt.Sprintf("its certificate names node %d but its hello claims node %d", certID, from)
	}
	if reason != "" {
		return nil, from, nil, reason
	}
	nonce := newNonce()
	if _, err := c.Write(nonce[:]); err != nil {
		return nil, from, nil, "closed during the handshake: " + err.Error()
	}
	proof := make([]byte, proofBytes)
	if _, err := io.ReadFull(c, proof); err != nil {
		return nil, from, nil, "closed or silent before its proof: " + err.Error()
	}
	if !hmac.Equal(proof, mac(t.key, "dialer", hello, nonce[:])) {
		return nil, from, nil, "wrong proof of the cluster secret"
	}
	if _, err := c.Write(mac(t.key, "acceptor", hello, nonce[:])); err != nil {
		return nil, from, nil, "closed during the handshake: " + err.Error()
	}
	_ = raw.SetDeadline(time.Time{})
	return c, from, newFrameMAC(t.key, hello, nonce[:]), ""
}

// refuse counts a refused inbound connection and logs why, once per
// source address.
func (t *Transport) refuse(c net.Conn, claimed uint64, reason string) {
	t.refused.Add(1)
	remote := c.RemoteAddr().String()
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	if t.sources.first(host) {
		t.cfg.Log.Warn("transport: refused an inbound peer connection (logged once per source address)", "remote", remote, "claimed_id", claimed, "reason", reason)
	}
}

// Refused counts the inbound connections refused: over the handshake
// cap, or failing the handshake.
func (t *Transport) Refused() uint64 { return t.refused.Load() }

// refusalLog remembers the sources already logged, up to a bound: a flood
// from many addresses logs its first thousand and counts the rest.
type refusalLog struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (l *refusalLog) first(source string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[string]bool{}
	}
	if l.seen[source] || len(l.seen) >= 1000 {
		return false
	}
	l.seen[source] = true
	return true
}

// readBody reads a frame's body as it comes. A large frame on a slow link
// can take longer than a silence: the deadline is per read, so a frame
// that keeps arriving is not taken for silence, and a pong goes back every
// KeepaliveInterval, so the dialer, whose pings wait behind the frame,
// hears that its bytes arrive.
func (t *Transport) readBody(c net.Conn, r *bufio.Reader, size int, lastPong *time.Time) ([]byte, error) {
	msg := make([]byte, 0, min(size, frameChunk))
	for len(msg) < size {
		if len(msg) == cap(msg) {
			// Grow by what arrived so far: memory stays within twice the
			// bytes received, whatever size the header declared.
			msg = slices.Grow(msg, min(size-len(msg), len(msg)))
		}
		_ = c.SetReadDeadline(time.Now().Add(t.cfg.SilenceTimeout))
		n, err := r.Read(msg[len(msg):min(cap(msg), size)])
		msg = msg[:len(msg)+n]
		if err != nil && len(msg) < size {
			return nil, err
		}
		if time.Since(*lastPong) >= t.cfg.KeepaliveInterval {
			if err := t.pong(c); err != nil {
				return nil, err
			}
			*lastPong = time.Now()
		}
	}
	return msg, nil
}

// pong tells the dialer its bytes arrive.
func (t *Transport) pong(c net.Conn) error {
	_ = c.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout))
	_, err := c.Write([]byte{pongByte})
	return err
}

// dropQueued drops the messages queued for p when its link has failed.
// They are stale by the time a new connection carries anything: raft
// repeats what still matters (heartbeats, and appends from the leader's
// view of the follower). Delivered, a backlog does harm: after a 30 s
// partition the cut-off follower answered each of some 300 queued
// heartbeats, and the leader answered each answer with an append of up to
// MaxSizePerMsg read from its log, which kept its event loop busy for
// seconds: followers lost it, and the healed node served a read only 6 s
// after the heal. A failed connection attempt also drops what queued
// during it, so no backlog is older than one attempt.
func (p *peer) dropQueued() {
	for {
		select {
		case msg := <-p.queue:
			p.take(msg)
			p.dropped.Add(1)
		default:
			return
		}
	}
}

// errSilent ends a connection that heard no pong for SilenceTimeout.
var errSilent = errors.New("no pong within the silence timeout")

// dialLoop keeps one outbound connection to p, reconnecting with
// exponential backoff, and writes p's queue to it.
func (t *Transport) dialLoop(p *peer) {
	defer t.wg.Done()
	backoff := t.cfg.BackoffMin
	var lastErr string
	for {
		connectsBefore := p.connects.Load()
		err := t.connectAndSend(p)
		p.up.Store(false)
		select {
		case <-t.quit:
			return
		default:
		}
		p.dropQueued()
		if p.connects.Load() != connectsBefore {
			// The link worked until now: redial at once, as after a
			// healed partition, rather than after old failures' backoff.
			backoff = 0
			lastErr = ""
		}
		switch {
		case errors.Is(err, errSilent):
			p.silences.Add(1)
			t.cfg.Log.Info("transport: connection to peer silent; redialling", "peer", p.id, "silent_for", t.cfg.SilenceTimeout)
		case err != nil:
			// Log a failure once per distinct reason, not once per retry.
			if s := err.Error(); s != lastErr {
				t.cfg.Log.Warn("transport: connection to peer failed; retrying with backoff", "peer", p.id, "addr", p.addr, "err", err)
				lastErr = s
			}
		}
		// An attempt that timed out (a dial or handshake swallowed by a
		// partition) has waited already: redial at once, so that a dial
		// lost at the moment a partition heals costs only its own
		// timeout. Backoff paces the attempts that fail fast (refused,
		// reset).
		var ne net.Error
		timedOut := errors.As(err, &ne) && ne.Timeout()
		if backoff > 0 && !timedOut {
			timer := time.NewTimer(backoff)
			select {
			case <-t.quit:
				timer.Stop()
				return
			case <-timer.C:
			}
		}
		backoff = min(max(2*backoff, t.cfg.BackoffMin), t.cfg.BackoffMax)
	}
}

func (t *Transport) connectAndSend(p *peer) error {
	d := net.Dialer{Timeout: t.cfg.DialTimeout}
	raw, err := d.Dial("tcp", p.addr)
	if err != nil {
		return err
	}
	// raw is closed, never c: closing TLS sends an alert, which a stuck
	// link can hold up for seconds.
	defer raw.Close()
	// Close the connection when the transport closes, to unblock writes.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-t.quit:
			_ = raw.Close()
		case <-stop:
		}
	}()
	// A peer that answers at all answers at once: a handshake unanswered
	// for half a silence is stuck behind a partition. The bound matters
	// after a heal: a dial made just before it is given up after this,
	// then redialled after at most BackoffMax, and the two must fit well
	// inside the 2 s in which a healed node should serve again (with
	// DialTimeout + SilenceTimeout here and a 500 ms BackoffMax, real
	// processes behind a dropping proxy took up to 2.5 s to reconnect).
	_ = raw.SetDeadline(time.Now().Add(t.cfg.SilenceTimeout / 2))
	c, err := t.dialTLS(raw, p.id)
	if err != nil {
		return err
	}
	tags, err := t.dialHandshake(c, p.id)
	if err != nil {
		return err
	}
	_ = raw.SetDeadline(time.Time{})
	setLinkOptions(raw, t.cfg.WriteTimeout)
	p.connects.Add(1)
	p.up.Store(true)
	t.cfg.Log.Info("transport: connected to peer", "peer", p.id, "addr", p.addr)

	silent := make(chan error, 1)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		silent <- t.readPongs(c, raw, p)
	}()
	defer func() { _ = raw.Close(); <-readerDone }()

	ping := time.NewTicker(t.cfg.KeepaliveInterval)
	defer ping.Stop()
	w := bufio.NewWriterSize(c, 64<<10)
	for {
		var msg []byte
		select {
		case <-t.quit:
			return nil
		case err := <-silent:
			return err
		case <-ping.C:
			// An empty frame is a ping.
			_ = c.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout))
			if err := writeFrame(w, tags, nil); err != nil {
				return err
			}
			if err := w.Flush(); err != nil {
				return err
			}
			p.pingAt.CompareAndSwap(0, time.Now().UnixNano())
			continue
		case msg = <-p.queue:
			p.take(msg)
		}
		// Write everything queued, then flush once: one syscall per burst.
		// The deadline is per frame, so a link kept busy is not torn down
		// while its data flows; a silence heard meanwhile ends the burst.
		for {
			select {
			case err := <-silent:
				return err
			default:
			}
			_ = c.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout))
			if err := writeFrame(w, tags, msg); err != nil {
				return err
			}
			p.sent.Add(1)
			p.bytesOut.Add(uint64(4 + len(msg)))
			select {
			case msg = <-p.queue:
				p.take(msg)
				continue
			default:
			}
			break
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
}

// errRefused: the peer closed the connection during the handshake. It
// says nothing, by design; its log says why (peerauth.go).
var errRefused = errors.New("peer closed the connection during the handshake: a different cluster id, cluster secret or membership? (the peer's log says which)")

// dialHandshake runs the dialer's side of the handshake (peerauth.go).
func (t *Transport) dialHandshake(c net.Conn, to uint64) (*frameMAC, error) {
	hello := t.hello(to)
	if _, err := c.Write(hello); err != nil {
		return nil, fmt.Errorf("handshake: %w", err)
	}
	nonce := make([]byte, nonceBytes)
	if _, err := io.ReadFull(c, nonce); err != nil {
		return nil, refusedOr(err)
	}
	if _, err := c.Write(mac(t.key, "dialer", hello, nonce)); err != nil {
		return nil, fmt.Errorf("handshake: %w", err)
	}
	accept := make([]byte, proofBytes)
	if _, err := io.ReadFull(c, accept); err != nil {
		return nil, refusedOr(err)
	}
	if !hmac.Equal(accept, mac(t.key, "acceptor", hello, nonce)) {
		return nil, errors.New("handshake: the peer does not hold this cluster's secret")
	}
	return newFrameMAC(t.key, hello, nonce), nil
}

// refusedOr names a handshake read that met a closed connection.
func refusedOr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		return errRefused
	}
	return fmt.Errorf("handshake answer: %w", err)
}

// writeFrame writes one tagged frame; a nil msg is a ping.
func writeFrame(w *bufio.Writer, tags *frameMAC, msg []byte) error {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(msg)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	_, err := w.Write(tags.tag(hdr[:], msg))
	return err
}

// readPongs reads the acceptor's pongs until one is late (errSilent) or
// the connection fails.
func (t *Transport) readPongs(c, raw net.Conn, p *peer) error {
	var b [1]byte
	for {
		_ = c.SetReadDeadline(time.Now().Add(t.cfg.SilenceTimeout))
		if _, err := io.ReadFull(c, b[:]); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Close now: a write stuck behind the silence fails at
				// once rather than at its own deadline.
				_ = raw.Close()
				return errSilent
			}
			return err
		}
		if b[0] != pongByte {
			return fmt.Errorf("peer sent %#x where a pong belongs", b[0])
		}
		// The round trip of the last ping; a pong the acceptor sends
		// unasked, mid-frame, can make it read short.
		if at := p.pingAt.Swap(0); at != 0 && t.cfg.OnPeerRTT != nil {
			t.cfg.OnPeerRTT(p.id, time.Since(time.Unix(0, at)))
		}
	}
}

// AddPeer makes a member added after start reachable (CLUSTER ADDNODE
// replicates its address; node.Node hands it here as it applies): a dialer
// starts for it, and its connections pass the handshake. A peer already
// known keeps its address.
func (t *Transport) AddPeer(id uint64, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.peerMap.Load()
	if _, ok := old[id]; ok || id == t.cfg.ID || t.closed || addr == "" {
		return
	}
	peers := make(map[uint64]*peer, len(old)+1)
	for k, v := range old {
		peers[k] = v
	}
	p := &peer{id: id, addr: addr, queue: make(chan []byte, t.cfg.SendQueueMax)}
	peers[id] = p
	t.peerMap.Store(&peers)
	t.cfg.Log.Info("transport: peer added", "peer", id, "addr", addr)
	if t.started {
		t.wg.Add(1)
		go t.dialLoop(p)
	}
}
