// This file tests Node without the simulator, in a small deterministic
// harness: three nodes in one goroutine, each with its own in-memory disk,
// a fake clock and a seeded Rand, and one FIFO queue that carries every
// peer message. Raft's election jitter reads crypto/rand, which each test
// pins with cryptotest.SetGlobalRandom, so every run takes the same path.
// The tests drive the harness tick by tick and check the client-visible
// contract: writes and linearizable reads through any node, the errors a
// request can end with and when, exactly-once application of a proposal
// the network duplicated, and restart from disk.
package node

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"testing/cryptotest"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/seshat-db/seshat/env"
	"github.com/seshat-db/seshat/env/envtest"
	"github.com/seshat-db/seshat/kv"
	"github.com/seshat-db/seshat/storage"
)

type message = envtest.Message

// cluster is the harness. Node i+1 is nodes[i]; a nil entry is down.
type cluster struct {
	t     testing.TB
	nodes []*Node
	fss   []vfs.FS
	rands []envtest.Rand // one per node, kept across restarts like a machine's entropy
	cfg   Config
	net   envtest.Queue                         // every peer message, FIFO
	drop  func(m message) bool                  // if set and true, the message is lost
	onLog func(id uint64, msg string, kv []any) // if set, sees every log line
	// applied[i] lists the entry data node i+1 applied, in order.
	applied [][][]byte
	// failed records Process errors instead of failing the test, for the
	// tests that break a disk on purpose.
	failed         map[uint64]error
	errorsExpected bool
	// work holds the jobs the nodes handed to env.Worker; they run only
	// when a test calls runWork, so a test can put events between chunks.
	work envtest.Jobs
	// walls[i], if set, is node i+1's wall clock in ms (env.Clock).
	walls []int64
	// advertise: every node announces addresses p<id> and c<id>.
	advertise bool
}

// runWork runs the queued jobs, and the jobs they queue, until none is
// left, and returns how many ran.
func (c *cluster) runWork() int { return c.work.RunAll() }

func testConfig() Config {
	return Config{
		Peers:               []uint64{1, 2, 3},
		Dir:                 "/data",
		ElectionTicks:       10,
		HeartbeatTicks:      1,
		RequestTimeoutTicks: 5,
		MemTableBytes:       64 << 10,
	}
}

func newCluster(t *testing.T, seed uint64, cfg Config) *cluster {
	cryptotest.SetGlobalRandom(t, seed)
	return openCluster(t, cfg)
}

// openCluster is newCluster for benchmarks too, without fixing crypto/rand.
func openCluster(t testing.TB, cfg Config) *cluster {
	c := &cluster{t: t, cfg: cfg}
	c.nodes = make([]*Node, len(cfg.Peers))
	c.fss = make([]vfs.FS, len(cfg.Peers))
	for i := range cfg.Peers {
		c.rands = append(c.rands, envtest.NewRand(uint64(i+1), 7))
	}
	c.applied = make([][][]byte, len(cfg.Peers))
	for i := range c.nodes {
		c.fss[i] = vfs.NewMem()
		c.start(uint64(i + 1))
	}
	t.Cleanup(func() {
		for i, n := range c.nodes {
			if n != nil {
				if err := n.Close(); err != nil {
					t.Errorf("close node %d: %v", i+1, err)
				}
			}
		}
	})
	return c
}

func (c *cluster) node(id uint64) *Node { return c.nodes[id-1] }

// start opens node id over its disk.
func (c *cluster) start(id uint64) {
	cfg := c.cfg
	cfg.ID = id
	if c.advertise {
		cfg.AdvertisePeerAddr, cfg.AdvertiseClientAddr = fmt.Sprintf("p%d", id), fmt.Sprintf("c%d", id)
	}
	cfg.OnApply = func(index, term uint64, data []byte) {
		c.applied[id-1] = append(c.applied[id-1], append([]byte{}, data...))
	}
	e := env.Env{
		Rand:      c.rands[id-1],
		Transport: c.net.From(id),
		FS:        c.fss[id-1],
		Log:       c.logOf(id),
		Work:      &c.work,
	}
	if c.walls != nil {
		e.Clock = wallClock{&c.walls[id-1]}
	}
	n, err := Open(cfg, e)
	if err != nil {
		c.t.Fatalf("open node %d: %v", id, err)
	}
	c.nodes[id-1] = n
}

// logOf is node id's logger: it shows each line to onLog, if set, and
// fails the test on an error line unless errors are expected.
func (c *cluster) logOf(id uint64) env.Logger {
	quiet := envtest.QuietLog{T: c.t, ErrorsExpected: &c.errorsExpected}
	return envtest.LogFunc(func(level, msg string, kv []any) {
		if c.onLog != nil {
			c.onLog(id, msg, kv)
		}
		if level == "ERROR" {
			quiet.Error(msg, kv...)
		}
	})
}

// stop closes node id; messages to it are lost while it is down.
func (c *cluster) stop(id uint64) {
	if err := c.node(id).Close(); err != nil {
		c.t.Fatalf("close node %d: %v", id, err)
	}
	c.nodes[id-1] = nil
}

// settle processes every node and delivers messages, FIFO, until the
// queue is empty.
func (c *cluster) settle() {
	for i := 0; ; i++ {
		if i > 100000 {
			c.t.Fatal("the cluster never went quiet")
		}
		for id := range c.nodes {
			if n := c.nodes[id]; n != nil {
				if err := n.Process(); err != nil {
					if c.failed != nil {
						c.failed[uint64(id+1)] = err
						continue
					}
					c.t.Fatalf("process node %d: %v", id+1, err)
				}
			}
		}
		m, ok := c.net.Take()
		if !ok {
			return
		}
		if m.To == 0 || m.To > uint64(len(c.nodes)) {
			continue // an answer to a sender a forged message named
		}
		n := c.node(m.To)
		if n == nil || (c.drop != nil && c.drop(m)) {
			continue
		}
		if err := n.Step(m.Data); err != nil {
			if c.failed[m.To] != nil && errors.Is(err, storage.ErrFailed) {
				continue // a stopped node refuses messages
			}
			c.t.Fatalf("node %d stepping a message from %d: %v", m.To, m.From, err)
		}
	}
}

// tick advances every live node's time by one tick, then settles.
func (c *cluster) tick() {
	for _, n := range c.nodes {
		if n != nil {
			n.Tick()
		}
	}
	c.settle()
}

func (c *cluster) ticks(k int) {
	for range k {
		c.tick()
	}
}

// leader ticks until every live node knows one leader, and returns it.
func (c *cluster) leader() uint64 {
	for range 200 {
		var lead uint64
		agreed := true
		for _, n := range c.nodes {
			if n == nil {
				continue
			}
			st := n.Status()
			if lead == 0 {
				lead = st.Lead
			}
			if st.Lead == 0 || st.Lead != lead {
				agreed = false
			}
		}
		if agreed && c.node(lead) != nil && c.node(lead).Status().IsLeader {
			return lead
		}
		c.tick()
	}
	c.t.Fatal("no leader after 200 ticks")
	return 0
}

func (c *cluster) follower(lead uint64) uint64 {
	for id := uint64(1); id <= uint64(len(c.nodes)); id++ {
		if id != lead && c.node(id) != nil {
			return id
		}
	}
	c.t.Fatal("no live follower")
	return 0
}

// call is one client request's outcome.
type call struct {
	n   int // times done was called: must end at exactly 1
	res kv.Result
}

func (c *cluster) submit(id uint64, op kv.Op) *call {
	cl := &call{}
	c.node(id).Submit([]kv.Op{op}, func(r []kv.Result) {
		cl.n++
		cl.res = r[0]
	})
	return cl
}

// wait ticks until the call is done.
func (c *cluster) wait(cl *call) kv.Result {
	c.settle()
	for range 100 {
		if cl.n > 0 {
			break
		}
		c.tick()
	}
	if cl.n != 1 {
		c.t.Fatalf("request answered %d times, want once", cl.n)
	}
	return cl.res
}

// do submits op at node id and waits for its result.
func (c *cluster) do(id uint64, op kv.Op) kv.Result {
	return c.wait(c.submit(id, op))
}

func set(k, v string) kv.Op {
	return kv.Op{Kind: kv.Set, Keys: [][]byte{[]byte(k)}, Values: [][]byte{[]byte(v)}}
}

func get(k string) kv.Op { return kv.Op{Kind: kv.Get, Keys: [][]byte{[]byte(k)}} }

func incr(k string) kv.Op { return kv.Op{Kind: kv.IncrBy, Keys: [][]byte{[]byte(k)}, Delta: 1} }

func (c *cluster) mustGet(id uint64, k, want string) {
	c.t.Helper()
	res := c.do(id, get(k))
	if res.Err != nil || res.Nil || string(res.Value) != want {
		c.t.Fatalf("GET %s at node %d = %q (nil %v, err %v), want %q", k, id, res.Value, res.Nil, res.Err, want)
	}
}

// converged ticks until every live node has applied the same index, and
// checks that they hold the same data.
func (c *cluster) converged() {
	c.t.Helper()
	for range 50 {
		c.tick()
		var applied, digest []uint64
		for _, n := range c.nodes {
			if n == nil {
				continue
			}
			a, d, err := n.DataDigest()
			if err != nil {
				c.t.Fatal(err)
			}
			applied, digest = append(applied, a), append(digest, d)
		}
		same := true
		for i := range applied {
			same = same && applied[i] == applied[0] && applied[i] == c.node(c.leader()).Status().Commit
		}
		if same {
			for i := range digest {
				if digest[i] != digest[0] {
					c.t.Fatalf("nodes applied index %d but hold different data: digests %x", applied[0], digest)
				}
			}
			return
		}
	}
	c.t.Fatal("nodes did not converge")
}

func TestElectAndReplicate(t *testing.T) {
	c := newCluster(t, 1, testConfig())
	lead := c.leader()
	f := c.follower(lead)
	if res := c.do(lead, set("a", "1")); res.Err != nil || res.Nil {
		t.Fatalf("SET via leader: %+v", res)
	}
	if res := c.do(f, set("b", "2")); res.Err != nil || res.Nil {
		t.Fatalf("SET via follower: %+v", res)
	}
	c.converged()
	for id := uint64(1); id <= 3; id++ {
		c.mustGet(id, "a", "1")
		c.mustGet(id, "b", "2")
	}
	for i, log := range c.applied {
		var writes int
		for _, d := range log {
			if len(d) > 0 {
				writes++
			}
		}
		if writes != 2 {
			t.Errorf("node %d applied %d writes, want 2", i+1, writes)
		}
	}
}

// TestFollowerReadSeesLatestWrite: a ReadIndex read through a follower
// that has not yet received an acknowledged write still returns it: the
// follower waits until it has applied the leader's commit index.
func TestFollowerReadSeesLatestWrite(t *testing.T) {
	c := newCluster(t, 2, testConfig())
	lead := c.leader()
	f := c.follower(lead)
	for i := range 5 {
		v := fmt.Sprint(i)
		// The write commits through the other follower while f hears
		// nothing.
		c.drop = func(m message) bool { return m.To == f }
		if res := c.do(lead, set("k", v)); res.Err != nil {
			t.Fatal(res.Err)
		}
		c.drop = nil
		if got, want := c.node(f).Status().Applied, c.node(lead).Status().Applied; got >= want {
			t.Fatalf("follower applied %d, leader %d: the test needs a lagging follower", got, want)
		}
		c.mustGet(f, "k", v)
	}
}

// TestNoLeaderWaitsForOne: before the cluster forms, a request fails at
// once; once it has, a request that finds no leader waits for the next
// one (up to two election timeouts) and is served by it; with no quorum
// left it fails with ErrNoQuorum once that wait is over, having done
// nothing.
func TestNoLeaderWaitsForOne(t *testing.T) {
	cfg := testConfig()
	cfg.RequestTimeoutTicks = 100 // the wait is the shorter of two election timeouts and this
	c := newCluster(t, 3, cfg)
	for _, op := range []kv.Op{set("a", "1"), get("a")} {
		cl := c.submit(1, op)
		if cl.n != 1 || !errors.Is(cl.res.Err, ErrNoQuorum) {
			t.Errorf("%s before the cluster formed: called %d times, %v; want ErrNoQuorum at once", op.Kind, cl.n, cl.res.Err)
		}
	}
	lead := c.leader()
	c.stop(lead)
	f := c.follower(lead)
	for c.node(f).Status().Lead != 0 {
		c.tick()
	}
	for _, op := range []kv.Op{set("a", "2"), get("a")} {
		cl := c.submit(f, op)
		if cl.n != 0 {
			t.Fatalf("%s with no leader answered at once: %v", op.Kind, cl.res.Err)
		}
		if res := c.wait(cl); res.Err != nil {
			t.Fatalf("%s with no leader, then a new one: %v", op.Kind, res.Err)
		}
	}
	// No quorum: the second of three down.
	lead = c.leader()
	c.stop(lead)
	f = c.follower(lead)
	for c.node(f).Status().Lead != 0 {
		c.tick()
	}
	cl := c.submit(f, get("a"))
	for i := 0; i < 2*c.cfg.ElectionTicks-1; i++ {
		c.tick()
	}
	if cl.n != 0 {
		t.Fatalf("a read with no quorum answered before two election timeouts: %v", cl.res.Err)
	}
	c.ticks(2)
	if cl.n != 1 || !errors.Is(cl.res.Err, ErrNoQuorum) {
		t.Fatalf("a read with no quorum after two election timeouts: called %d times, %v; want ErrNoQuorum", cl.n, cl.res.Err)
	}
}

// TestRequestTimeout: with every message lost, a write ends with
// ErrOutcomeUnknown and a read with ErrReadTimeout exactly when
// RequestTimeoutTicks have passed, long before the leader steps down.
func TestRequestTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.RequestTimeoutTicks = 4
	c := newCluster(t, 4, cfg)
	lead := c.leader()
	f := c.follower(lead)
	c.drop = func(message) bool { return true }
	calls := map[string]*call{
		"leader write":   c.submit(lead, set("a", "1")),
		"leader read":    c.submit(lead, get("a")),
		"follower write": c.submit(f, set("b", "1")),
		"follower read":  c.submit(f, get("b")),
	}
	c.settle()
	for range cfg.RequestTimeoutTicks - 1 {
		c.tick()
	}
	for name, cl := range calls {
		if cl.n != 0 {
			t.Fatalf("%s finished early: %v", name, cl.res.Err)
		}
	}
	c.tick()
	for name, cl := range calls {
		want := ErrOutcomeUnknown
		if name == "leader read" || name == "follower read" {
			want = ErrReadTimeout
		}
		if cl.n != 1 || !errors.Is(cl.res.Err, want) {
			t.Errorf("%s: called %d times, %v; want %v", name, cl.n, cl.res.Err, want)
		}
	}
	if st := c.node(lead).Status(); !st.IsLeader || st.Inflight != 0 {
		t.Errorf("leader status after the timeouts: %+v", st)
	}
	// The network heals. A write that timed out may or may not have
	// happened: the leader's was in its log and now commits; the
	// follower's forwarded proposal was lost.
	c.drop = nil
	if res := c.do(lead, set("c", "1")); res.Err != nil {
		t.Fatalf("write after healing: %v", res.Err)
	}
	c.mustGet(f, "c", "1")
	c.mustGet(f, "a", "1")
	if res := c.do(f, get("b")); !res.Nil || res.Err != nil {
		t.Errorf("the lost proposal happened: %+v", res)
	}
}

func TestInflightLimit(t *testing.T) {
	cfg := testConfig()
	cfg.RequestsInflightMax = 2
	c := newCluster(t, 5, cfg)
	lead := c.leader()
	c.drop = func(message) bool { return true }
	a, b := c.submit(lead, set("a", "1")), c.submit(lead, get("a"))
	third := c.submit(lead, set("c", "1"))
	if a.n != 0 || b.n != 0 {
		t.Fatal("requests finished with the network down")
	}
	if third.n != 1 || !errors.Is(third.res.Err, ErrBusy) {
		t.Fatalf("third request: called %d times, %v; want ErrBusy", third.n, third.res.Err)
	}
	// Freed slots are reusable.
	c.drop = nil
	c.wait(a)
	c.wait(b)
	if res := c.do(lead, set("d", "1")); res.Err != nil {
		t.Fatalf("after the backlog drained: %v", res.Err)
	}
}

// TestDuplicatedProposalAppliesOnce: the network delivers a follower's
// forwarded proposal to the leader twice, so the INCR is in the log twice;
// the session dedup applies it once, on every node.
func TestDuplicatedProposalAppliesOnce(t *testing.T) {
	c := newCluster(t, 6, testConfig())
	lead := c.leader()
	f := c.follower(lead)
	var props int
	c.net.OnSend = func(m message) {
		hdr, body, err := decodeEnvelope(m.Data)
		if err != nil || hdr.kind != peerRaft {
			return
		}
		var pm pb.Message
		if err := proto.Unmarshal(body, &pm); err != nil {
			t.Fatal(err)
		}
		if pm.GetType() == pb.MessageType_MsgProp {
			props++
			c.net.Msgs = append(c.net.Msgs, m) // the copy arrives too
		}
	}
	res := c.do(f, incr("n"))
	c.net.OnSend = nil
	if props != 1 {
		t.Fatalf("saw %d MsgProp, want 1", props)
	}
	if res.Err != nil || res.Int != 1 {
		t.Fatalf("INCR = %+v, want 1", res)
	}
	c.converged()
	for i, log := range c.applied {
		var copies int
		for _, d := range log {
			if ent, err := decodeEntry(d); err == nil && ent.ops[0].Kind == kv.IncrBy {
				copies++
			}
		}
		if copies != 2 {
			t.Fatalf("node %d applied the INCR entry %d times, want 2 (the test needs the duplicate in the log)", i+1, copies)
		}
	}
	for id := uint64(1); id <= 3; id++ {
		c.mustGet(id, "n", "1")
	}
	if res := c.do(f, incr("n")); res.Err != nil || res.Int != 2 {
		t.Fatalf("second INCR = %+v, want 2", res)
	}
}

// TestRestartKeepsDataAndRejoins: a node closed and reopened over its
// disk keeps what it had, catches up on what it missed, and proposes
// again under a new session.
func TestRestartKeepsDataAndRejoins(t *testing.T) {
	c := newCluster(t, 7, testConfig())
	lead := c.leader()
	f := c.follower(lead)
	if res := c.do(f, incr("n")); res.Err != nil || res.Int != 1 {
		t.Fatalf("INCR = %+v", res)
	}
	c.converged()
	_, before, _ := c.node(f).DataDigest()
	c.stop(f)
	if res := c.do(lead, set("missed", "x")); res.Err != nil {
		t.Fatal(res.Err)
	}
	c.start(f)
	_, after, err := c.node(f).DataDigest()
	if err != nil || after != before {
		t.Fatalf("data after reopen differs: %x vs %x (%v)", after, before, err)
	}
	c.leader()
	c.converged()
	c.mustGet(f, "missed", "x")
	// Its first proposal of the new incarnation is seq 1 again: the dedup
	// must not mistake it for the old session's seq 1.
	if res := c.do(f, incr("n")); res.Err != nil || res.Int != 2 {
		t.Fatalf("INCR after restart = %+v, want 2", res)
	}
	// Restart the leader too: the cluster elects and keeps everything.
	c.stop(lead)
	c.start(lead)
	c.leader()
	c.converged()
	for id := uint64(1); id <= 3; id++ {
		c.mustGet(id, "n", "2")
	}
}

func TestStepRejects(t *testing.T) {
	c := newCluster(t, 8, testConfig())
	c.leader()
	n := c.node(1)
	marshal := func(m *pb.Message) []byte {
		return envelope{kind: peerRaft, from: m.GetFrom()}.encode(marshalRaft(m))
	}
	cases := map[string][]byte{
		"malformed":      {0xff, 0xff, 0xff},
		"for another":    marshal(&pb.Message{Type: pb.MessageType_MsgHeartbeat.Enum(), From: proto.Uint64(2), To: proto.Uint64(3), Term: proto.Uint64(1)}),
		"for nobody":     marshal(&pb.Message{Type: pb.MessageType_MsgHeartbeat.Enum(), From: proto.Uint64(2), Term: proto.Uint64(1)}),
		"local hup":      marshal(&pb.Message{Type: pb.MessageType_MsgHup.Enum(), From: proto.Uint64(2), To: proto.Uint64(1)}),
		"local beat":     marshal(&pb.Message{Type: pb.MessageType_MsgBeat.Enum(), From: proto.Uint64(2), To: proto.Uint64(1)}),
		"local unreach":  marshal(&pb.Message{Type: pb.MessageType_MsgUnreachable.Enum(), From: proto.Uint64(2), To: proto.Uint64(1)}),
		"local snap st.": marshal(&pb.Message{Type: pb.MessageType_MsgSnapStatus.Enum(), From: proto.Uint64(2), To: proto.Uint64(1)}),
		"local checkq":   marshal(&pb.Message{Type: pb.MessageType_MsgCheckQuorum.Enum(), From: proto.Uint64(2), To: proto.Uint64(1)}),
	}
	before := n.Status()
	for name, data := range cases {
		if err := n.Step(data); err == nil {
			t.Errorf("%s: Step accepted it", name)
		}
	}
	c.settle()
	if after := n.Status(); after.Term != before.Term || after.Lead != before.Lead {
		t.Errorf("rejected messages changed the node: %+v -> %+v", before, after)
	}
	if res := c.do(1, set("still", "works")); res.Err != nil {
		t.Fatal(res.Err)
	}
}

// TestDeterministic: the same seed gives the same leader and the same
// message bytes.
func TestDeterministic(t *testing.T) {
	trace := func() []byte {
		var out bytes.Buffer
		c := newCluster(t, 9, testConfig())
		c.net.OnSend = func(m message) { fmt.Fprintf(&out, "%d>%d %x\n", m.From, m.To, m.Data) }
		fmt.Fprintf(&out, "leader %d\n", c.leader())
		c.do(2, set("a", "1"))
		c.do(3, get("a"))
		return out.Bytes()
	}
	if a, b := trace(), trace(); !bytes.Equal(a, b) {
		t.Fatal("two runs with one seed differ")
	}
}

// TestDiskFailureStopsTheNode: when a node's disk fails under Process, the
// node stops: Process returns the storage error, the write in flight ends
// with ErrOutcomeUnknown, every later request gets ErrStopped, and the rest
// of the cluster carries on.
func TestDiskFailureStopsTheNode(t *testing.T) {
	c := newCluster(t, 10, testConfig())
	lead := c.leader()
	f := c.follower(lead)
	c.stop(f)
	var broken atomic.Bool
	c.fss[f-1] = errorfs.Wrap(c.fss[f-1], errorfs.InjectorFunc(func(op errorfs.Op) error {
		if broken.Load() && (op.Kind == errorfs.OpFileSync || op.Kind == errorfs.OpFileSyncData || op.Kind == errorfs.OpFileSyncTo) {
			return errorfs.ErrInjected
		}
		return nil
	}))
	c.start(f)
	c.leader()
	c.failed, c.errorsExpected = map[uint64]error{}, true
	broken.Store(true)
	cl := c.submit(f, set("a", "1"))
	c.settle()
	if !errors.Is(c.failed[f], storage.ErrFailed) {
		t.Fatalf("Process on the broken node: %v, want storage.ErrFailed", c.failed[f])
	}
	if cl.n != 1 || !errors.Is(cl.res.Err, ErrOutcomeUnknown) {
		t.Fatalf("write in flight: called %d times, %v; want ErrOutcomeUnknown", cl.n, cl.res.Err)
	}
	if !c.node(f).Status().Stopped {
		t.Fatal("status does not say stopped")
	}
	if later := c.submit(f, get("a")); later.n != 1 || !errors.Is(later.res.Err, ErrStopped) {
		t.Fatalf("request after the failure: %v, want ErrStopped", later.res.Err)
	}
	if err := c.node(f).Process(); !errors.Is(err, storage.ErrFailed) {
		t.Fatalf("Process after the failure: %v", err)
	}
	c.ticks(3)
	if res := c.do(lead, set("b", "2")); res.Err != nil {
		t.Fatalf("the healthy majority stopped: %v", res.Err)
	}
	// Close reports the failure again; the harness must not trip on it.
	_ = c.node(f).Close()
	c.nodes[f-1] = nil
}

// waitRole ticks until node id reports role, and returns its status.
func (c *cluster) waitRole(id uint64, role string) Status {
	c.t.Helper()
	for range 500 {
		if st := c.node(id).Status(); st.Role == role {
			return st
		}
		c.tick()
	}
	c.t.Fatalf("node %d is %q after 500 ticks, want %q", id, c.node(id).Status().Role, role)
	return Status{}
}

// wipe stops node id, replaces its disk with an empty one, and starts it.
func (c *cluster) wipe(id uint64) {
	c.stop(id)
	c.fss[id-1] = vfs.NewMem()
	c.start(id)
}

// TestWipedNodeRejoins: a node whose disk was wiped does not bootstrap a
// second cluster; it rejoins under a new identity (removed, added back as
// a learner, caught up by snapshot, promoted), serves everything the
// cluster holds, and proposes under sessions that do not collide with
// its former self's. Then the leader is wiped, and a rejoined node again.
func TestWipedNodeRejoins(t *testing.T) {
	c := newCluster(t, 11, testConfig())
	lead := c.leader()
	f := c.follower(lead)
	for range 3 {
		if res := c.do(f, incr("n")); res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	c.converged()

	c.wipe(f)
	if st := c.node(f).Status(); st.Role != "discovering" {
		t.Fatalf("a wiped node starts as %q, want discovering", st.Role)
	}
	if res := c.do(f, get("n")); !errors.Is(res.Err, ErrNoQuorum) && !errors.Is(res.Err, ErrJoining) {
		t.Fatalf("GET on a node with no data = %+v, want NOQUORUM or LOADING", res)
	}
	st := c.waitRole(f, "voter")
	if st.Identity == 0 || st.SnapshotsInstalled != 1 {
		t.Fatalf("rejoined node: %+v, want a new identity and one snapshot installed", st)
	}
	if ls := c.node(c.leader()).Status(); !slices.Equal(ls.Voters, []uint64{1, 2, 3}) || len(ls.Learners) != 0 || ls.MembershipChanges != 3 {
		t.Fatalf("leader after the rejoin: %+v, want voters 1 2 3 after three membership changes", ls)
	}
	c.converged()
	c.mustGet(f, "n", "3")
	// Its former self proposed under incarnation 1; so would it, if it
	// did not number its sessions past the ones in the snapshot.
	if res := c.do(f, incr("n")); res.Err != nil || res.Int != 4 {
		t.Fatalf("INCR on the rejoined node = %+v, want 4", res)
	}

	lead = c.leader()
	c.wipe(lead)
	c.waitRole(lead, "voter")
	c.converged()
	c.mustGet(lead, "n", "4")

	c.wipe(f) // a second wipe: the identity it rejoined under is replaced
	if again := c.waitRole(f, "voter"); again.Identity == st.Identity {
		t.Fatalf("second rejoin kept identity %x", st.Identity)
	}
	c.converged()
	for id := uint64(1); id <= 3; id++ {
		c.mustGet(id, "n", "4")
	}
	if res := c.do(f, incr("n")); res.Err != nil || res.Int != 5 {
		t.Fatalf("INCR after the second rejoin = %+v, want 5", res)
	}
}

// TestFirstStartWaitsForEveryPeer: empty nodes bootstrap only once every
// peer has answered that it is empty too; with one peer missing they wait
// (and tell clients there is no quorum) rather than risk being a wiped
// member that forgot its votes.
func TestFirstStartWaitsForEveryPeer(t *testing.T) {
	c := newCluster(t, 12, testConfig())
	c.stop(3)
	c.ticks(100)
	for id := uint64(1); id <= 2; id++ {
		if st := c.node(id).Status(); st.Role != "discovering" || st.Lead != 0 {
			t.Fatalf("node %d with a peer missing: %+v, want discovering with no leader", id, st)
		}
	}
	if res := c.do(1, set("k", "v")); !errors.Is(res.Err, ErrNoQuorum) {
		t.Fatalf("SET while discovering = %+v, want NOQUORUM", res)
	}
	c.start(3)
	c.leader()
	for id := uint64(1); id <= 3; id++ {
		if st := c.node(id).Status(); st.Role != "voter" || st.Identity != 0 || st.MembershipChanges != 0 {
			t.Fatalf("node %d after forming: %+v, want a first-configuration voter", id, st)
		}
	}
}

// TestStaleIdentityDropped: a joiner drops a message meant for its former
// self, and a node drops a message from a retired identity of its sender.
// Without either, the heartbeat below (a higher term) would reach raft.
func TestStaleIdentityDropped(t *testing.T) {
	c := newCluster(t, 13, testConfig())
	lead := c.leader()
	f := c.follower(lead)
	heartbeat := func(from, to uint64) []byte {
		st := c.node(to).Status()
		return marshalRaft(&pb.Message{Type: pb.MessageType_MsgHeartbeat.Enum(), From: proto.Uint64(from), To: proto.Uint64(to), Term: proto.Uint64(st.Term + 5)})
	}
	dropped := func(name string, to uint64, data []byte) {
		t.Helper()
		before := c.node(to).Status()
		if err := c.node(to).Step(data); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		after := c.node(to).Status()
		if after.DroppedStale != before.DroppedStale+1 || after.Term != before.Term {
			t.Fatalf("%s: dropped %d -> %d, term %d -> %d; want it dropped unseen", name, before.DroppedStale, after.DroppedStale, before.Term, after.Term)
		}
	}

	c.wipe(f)
	c.waitRole(f, "joining")
	dropped("to a joiner's former self", f, envelope{kind: peerRaft, from: lead}.encode(heartbeat(lead, f)))

	if st := c.waitRole(f, "voter"); st.Identity == 0 {
		t.Fatal("rejoined with identity 0")
	}
	c.converged()
	g := c.follower(f)
	dropped("from a retired identity", g, envelope{kind: peerRaft, from: f}.encode(heartbeat(f, g)))
}

// TestJoinOfLiveMemberWaits: a join request under the id of a member that
// is alive and answering (a second process started with the same id, say)
// does not get the live member removed.
func TestJoinOfLiveMemberWaits(t *testing.T) {
	c := newCluster(t, 15, testConfig())
	lead := c.leader()
	f := c.follower(lead)
	for range 30 {
		if err := c.node(lead).Step(envelope{kind: peerJoin, from: f, fromIdentity: 77}.encode(nil)); err != nil {
			t.Fatal(err)
		}
		c.tick()
	}
	if st := c.node(lead).Status(); st.MembershipChanges != 0 || !slices.Contains(st.Voters, f) {
		t.Fatalf("leader after join requests for live node %d: %+v", f, st)
	}
	if res := c.do(f, set("k", "v")); res.Err != nil {
		t.Fatalf("the live member no longer serves: %v", res.Err)
	}
}

// TestDelayedReadConfirmationAfterRestart: a ReadIndex confirmation meant
// for a read of a node's previous process, delivered after a restart, must
// not serve the new process's read (it would be at an index from before
// writes that completed before the new read began).
func TestDelayedReadConfirmationAfterRestart(t *testing.T) {
	c := newCluster(t, 16, testConfig())
	lead := c.leader()
	f := c.follower(lead)
	if res := c.do(lead, set("k", "old")); res.Err != nil {
		t.Fatal(res.Err)
	}
	c.converged()
	isType := func(m message, typ pb.MessageType) bool {
		hdr, body, err := decodeEnvelope(m.Data)
		var pm pb.Message
		return err == nil && hdr.kind == peerRaft && proto.Unmarshal(body, &pm) == nil && pm.GetType() == typ
	}
	var held []message
	c.drop = func(m message) bool {
		if m.To == f && isType(m, pb.MessageType_MsgReadIndexResp) {
			held = append(held, m)
			return true
		}
		return false
	}
	c.submit(f, get("k"))
	c.settle()
	if len(held) != 1 {
		t.Fatalf("held %d read confirmations, want 1", len(held))
	}
	c.stop(f)
	if res := c.do(lead, set("k", "new")); res.Err != nil {
		t.Fatal(res.Err)
	}
	// The restarted node hears the leader but gets no entries: it cannot
	// apply "new" yet, so only a confirmation at the old index could
	// serve its read now.
	c.drop = func(m message) bool { return m.To == f && isType(m, pb.MessageType_MsgApp) }
	c.start(f)
	for c.node(f).Status().Lead == 0 {
		c.tick()
	}
	read := c.submit(f, get("k"))
	if err := c.node(f).Step(held[0].Data); err != nil {
		t.Fatal(err)
	}
	c.settle()
	if read.n != 0 && read.res.Err == nil && string(read.res.Value) == "old" {
		t.Fatalf("a read begun after SET k new returned %q: served by a confirmation meant for the previous process", read.res.Value)
	}
	c.drop = nil
	if res := c.wait(read); res.Err != nil || string(res.Value) != "new" {
		t.Fatalf("GET k = %+v, want new", res)
	}
}
