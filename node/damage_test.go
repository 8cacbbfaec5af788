package node

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/seshat-db/seshat/storage"
)

// TestCommitPastLogStopsTheNode: a leader's heartbeat whose commit index
// is past this node's log, at an index this node acknowledged to that
// leader in that term, means the node lost entries it acknowledged. Raft
// would panic (tocommit(N) is out of range [lastIndex(M)]); the node
// stops instead, and says which directory to rebuild and how. The loss is
// planted in the store (its tail cut by a write no raft message asked
// for); the heartbeat is the leader's own.
func TestCommitPastLogStopsTheNode(t *testing.T) {
	c := newCluster(t, 21, testConfig())
	lead := c.leader()
	for i := range 5 {
		if res := c.do(lead, set(fmt.Sprint("k", i), "v")); res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	f := c.follower(lead)
	n := c.node(f)
	last := n.store.LastIndexCached()
	if n.guard.acked.index != last || n.guard.acked.to != lead {
		t.Fatalf("acked %+v, want index %d to %d", n.guard.acked, last, lead)
	}
	cut := n.store.NewBatch()
	keep, err := n.store.Term(last - 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := cut.Append([]*pb.Entry{{Index: proto.Uint64(last - 3), Term: proto.Uint64(keep)}}); err != nil {
		t.Fatal(err)
	}
	if err := cut.Commit(); err != nil {
		t.Fatal(err)
	}
	c.failed, c.errorsExpected = map[uint64]error{}, true
	var stepErr error
	c.drop = func(m message) bool {
		if m.To != f || stepErr != nil {
			return m.To == f
		}
		stepErr = n.Step(m.Data)
		return true
	}
	for range 3 * c.cfg.HeartbeatTicks {
		c.tick()
	}
	err = n.StopErr()
	if !errors.Is(err, ErrLogLost) || !errors.Is(stepErr, ErrLogLost) {
		t.Fatalf("the node runs on after its log lost acknowledged entries: %v", err)
	}
	for _, want := range []string{"/data", "move /data away", fmt.Sprint(last - 3)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the stop does not say %q: %v", want, err)
		}
	}
	if got := n.StopReason(); got != "damaged" {
		t.Errorf("StopReason %q, want damaged", got)
	}
	if cl := c.submit(f, get("k0")); !errors.Is(cl.res.Err, ErrStopped) {
		t.Errorf("a request after the stop: %v", cl.res.Err)
	}
	t.Logf("stopped: %v", err)
	_ = n.Close()
	c.nodes[f-1] = nil
}

// TestRaftPanicBecomesStop: a raft panic that Step's guard cannot foresee
// (raft asking storage for entries it lost, a storage error raft does not
// handle) ends as the node's stop, not a crash of the process; a panic
// that is a bug still crashes.
func TestRaftPanicBecomesStop(t *testing.T) {
	c := newCluster(t, 22, testConfig())
	lead := c.leader()
	n := c.node(lead)
	c.errorsExpected = true
	err := n.guardRaft(func() { raftLogger{}.Panicf("entries[%d:%d) is unavailable from storage", 5, 9) })
	if !errors.Is(err, ErrLogLost) || !strings.Contains(err.Error(), "unavailable from storage") {
		t.Fatalf("guardRaft: %v", err)
	}
	if !n.Status().Stopped {
		t.Fatal("the node runs on after raft panicked")
	}
	f := c.follower(lead)
	err = c.node(f).guardRaft(func() { panic(fmt.Errorf("wrapped: %w", storage.ErrDamaged)) })
	if !errors.Is(err, storage.ErrDamaged) {
		t.Fatalf("a storage error raft panicked with: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("guardRaft swallowed a panic that is a bug, not damage")
		}
	}()
	other := uint64(6) - lead - f
	_ = c.node(other).guardRaft(func() { panic("a bug") })
}

// errNoSpace is ENOSPC as the kernel words it.
var errNoSpace = errors.New("write /data/000005.log: no space left on device")

// TestFullDiskStopsTheNode: writes that fail for lack of space stop the
// node like any failed write, and its refusals then say the disk is full.
func TestFullDiskStopsTheNode(t *testing.T) {
	c := newCluster(t, 23, testConfig())
	lead := c.leader()
	f := c.follower(lead)
	c.stop(f)
	var full atomic.Bool
	c.fss[f-1] = errorfs.Wrap(c.fss[f-1], errorfs.InjectorFunc(func(op errorfs.Op) error {
		if full.Load() && (op.Kind == errorfs.OpFileWrite || op.Kind == errorfs.OpFileSync || op.Kind == errorfs.OpFileSyncData) {
			return errNoSpace
		}
		return nil
	}))
	c.start(f)
	c.leader()
	c.failed, c.errorsExpected = map[uint64]error{}, true
	full.Store(true)
	cl := c.submit(f, set("a", "1"))
	c.settle()
	if !errors.Is(c.failed[f], storage.ErrNoSpace) {
		t.Fatalf("Process on the full disk: %v, want storage.ErrNoSpace", c.failed[f])
	}
	if cl.n != 1 || !errors.Is(cl.res.Err, ErrOutcomeUnknown) {
		t.Fatalf("write in flight: called %d times, %v; want ErrOutcomeUnknown", cl.n, cl.res.Err)
	}
	if later := c.submit(f, set("b", "2")); !errors.Is(later.res.Err, ErrNoSpace) {
		t.Fatalf("a write after the disk filled: %v, want ErrNoSpace", later.res.Err)
	}
	if got := c.node(f).StopReason(); got != "nospace" {
		t.Fatalf("StopReason %q", got)
	}
	if res := c.do(lead, set("c", "3")); res.Err != nil {
		t.Fatalf("the healthy majority stopped: %v", res.Err)
	}
	_ = c.node(f).Close()
	c.nodes[f-1] = nil
}
