package resp

import (
	"errors"
	"strings"
	"testing"

	"github.com/seshat-db/seshat/kv"
)

// fakeCluster is a Backend with CLUSTER support: a fixed view, and the
// changes asked of it recorded.
type fakeCluster struct {
	memBackend
	view      ClusterView
	changes   []ClusterChange
	changeErr error
	transfers []uint64
}

func (f *fakeCluster) ClusterView(done func(ClusterView, error)) { done(f.view, nil) }
func (f *fakeCluster) ChangeMembership(ch ClusterChange, done func(error)) {
	f.changes = append(f.changes, ch)
	done(f.changeErr)
}
func (f *fakeCluster) TransferLeader(to uint64, done func(error)) {
	f.transfers = append(f.transfers, to)
	done(nil)
}

func clusterDo(t *testing.T, f *fakeCluster, args ...string) string {
	t.Helper()
	return execDo(t, NewExecutor(f, Limits{}, nil), args...)
}

func execDo(t *testing.T, e *Executor, args ...string) string {
	t.Helper()
	var got []byte
	calls := 0
	var bargs [][]byte
	for _, a := range args {
		bargs = append(bargs, []byte(a))
	}
	e.Execute(bargs, func(b []byte) { got = b; calls++ })
	e.Flush()
	if calls != 1 {
		t.Fatalf("%q answered %d times", args, calls)
	}
	return string(got)
}

func threeNodes() *fakeCluster {
	return &fakeCluster{memBackend: memBackend{store: memStore{}}, view: ClusterView{Self: 2, Leader: 1, Term: 7, Members: []ClusterMember{
		{ID: 1, Voter: true, ClientAddr: "10.0.0.1:6379", PeerAddr: "10.0.0.1:7379"},
		{ID: 2, Voter: true, ClientAddr: "10.0.0.2:6379", PeerAddr: "10.0.0.2:7379"},
		{ID: 4, ClientAddr: "", PeerAddr: "10.0.0.4:7379"},
	}}}
}

func TestClusterNodes(t *testing.T) {
	f := threeNodes()
	want := "0000000000000000000000000000000000000001 10.0.0.1:6379@7379 master - 0 0 7 connected 0-16383\n" +
		"0000000000000000000000000000000000000002 10.0.0.2:6379@7379 myself,slave 0000000000000000000000000000000000000001 0 0 7 connected\n" +
		"0000000000000000000000000000000000000004 :0@0 slave,noaddr 0000000000000000000000000000000000000001 0 0 7 connected\n"
	if got := clusterDo(t, f, "CLUSTER", "NODES"); got != string(AppendBulkString(nil, want)) {
		t.Fatalf("CLUSTER NODES:\n%q\nwant\n%q", got, AppendBulkString(nil, want))
	}
	if got := clusterDo(t, f, "cluster", "myid"); got != "$40\r\n0000000000000000000000000000000000000002\r\n" {
		t.Fatalf("CLUSTER MYID: %q", got)
	}
	info := clusterDo(t, f, "cluster", "info")
	for _, line := range []string{"cluster_state:ok\r\n", "cluster_known_nodes:3\r\n", "cluster_current_epoch:7\r\n", "cluster_slots_assigned:16384\r\n"} {
		if !strings.Contains(info, line) {
			t.Fatalf("CLUSTER INFO lacks %q: %q", line, info)
		}
	}
	f.view.Leader = 0
	if info := clusterDo(t, f, "cluster", "info"); !strings.Contains(info, "cluster_state:fail\r\n") {
		t.Fatalf("CLUSTER INFO with no leader: %q", info)
	}
}

func TestClusterChanges(t *testing.T) {
	f := threeNodes()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"cluster", "addnode", "5", "10.0.0.5:7379", "10.0.0.5:6379"}, "+OK\r\n"},
		{[]string{"cluster", "addnode", "0", "a:1", "b:2"}, "-ERR invalid node id '0': a raft node id is a positive integer\r\n"},
		{[]string{"cluster", "addnode", "5", "nohost", "b:2"}, "-ERR invalid address 'nohost': want host:port\r\n"},
		{[]string{"cluster", "addnode", "5", "a:1"}, "-ERR wrong number of arguments for 'cluster|addnode' command\r\n"},
		{[]string{"cluster", "promote", "5"}, "+OK\r\n"},
		{[]string{"cluster", "removenode", "3", "FORCE"}, "+OK\r\n"},
		{[]string{"cluster", "removenode", "3", "now"}, "-ERR syntax error\r\n"},
		{[]string{"cluster", "removenode", "3", "force", "x"}, "-ERR wrong number of arguments for 'cluster|removenode' command\r\n"},
		{[]string{"cluster", "transfer-leader", "2"}, "+OK\r\n"},
		{[]string{"cluster", "replacenode", "3", "6"}, "+OK\r\n"},
		{[]string{"cluster", "REPLACENODE", "3", "6", "force"}, "+OK\r\n"},
		{[]string{"cluster", "replacenode", "3"}, "-ERR wrong number of arguments for 'cluster|replacenode' command\r\n"},
		{[]string{"cluster", "replacenode", "3", "6", "force", "x"}, "-ERR wrong number of arguments for 'cluster|replacenode' command\r\n"},
		{[]string{"cluster", "replacenode", "3", "6", "now"}, "-ERR syntax error\r\n"},
		{[]string{"cluster", "replacenode", "x", "6"}, "-ERR invalid node id 'x': a raft node id is a positive integer\r\n"},
		{[]string{"cluster", "replacenode", "3", "0"}, "-ERR invalid node id '0': a raft node id is a positive integer\r\n"},
	} {
		if got := clusterDo(t, f, tc.args...); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.args, got, tc.want)
		}
	}
	want := []ClusterChange{{Kind: "add-learner", ID: 5, PeerAddr: "10.0.0.5:7379", ClientAddr: "10.0.0.5:6379"}, {Kind: "promote", ID: 5}, {Kind: "remove", ID: 3, Force: true},
		{Kind: "replace", ID: 6, Old: 3}, {Kind: "replace", ID: 6, Old: 3, Force: true}}
	if len(f.changes) != len(want) {
		t.Fatalf("changes %+v, want %+v", f.changes, want)
	}
	for i := range want {
		if f.changes[i] != want[i] {
			t.Fatalf("change %d: %+v, want %+v", i, f.changes[i], want[i])
		}
	}
	if len(f.transfers) != 1 || f.transfers[0] != 2 {
		t.Fatalf("transfers %v", f.transfers)
	}
	f.changeErr = kv.ErrRemoved
	if got := clusterDo(t, f, "cluster", "promote", "4"); got != "-"+ErrorReply(kv.ErrRemoved)+"\r\n" {
		t.Fatalf("a refused change: %q", got)
	}
	f.changeErr = errors.New("another membership change is in progress")
	if got := clusterDo(t, f, "cluster", "promote", "4"); got != "-ERR another membership change is in progress\r\n" {
		t.Fatalf("a refused change: %q", got)
	}
}

type masterInfo struct{ fakeInfo }

func (masterInfo) Replication() Replication {
	return Replication{Master: true, Offset: 64, Links: []ReplicaLink{{Host: "127.0.0.1", Port: 26380, Offset: 64}}}
}

// TestRoleListsReplicas: a master's ROLE lists its connected replicas as
// Redis 7.0.15 does (captured from a redis-server with one replica
// attached: port and offset are bulk strings), the replicas CLUSTER
// SLOTS lists beside it.
func TestRoleListsReplicas(t *testing.T) {
	e := NewExecutor(&memBackend{store: memStore{}}, Limits{}, masterInfo{})
	got := execDo(t, e, "ROLE")
	want := "*3\r\n$6\r\nmaster\r\n:64\r\n*1\r\n*3\r\n$9\r\n127.0.0.1\r\n$5\r\n26380\r\n$2\r\n64\r\n"
	if got != want {
		t.Fatalf("ROLE:\n%q\nwant\n%q", got, want)
	}
}

type syncingInfo struct{ fakeInfo }

func (syncingInfo) Replication() Replication {
	return Replication{Master: true, Offset: 64, Links: []ReplicaLink{
		{Host: "127.0.0.1", Port: 26380, Offset: 64},
		{Host: "127.0.0.1", Port: 26381, Offset: 0, Syncing: true},
	}}
}

// TestRoleLeavesOutASyncingReplica: Redis's ROLE lists only online
// replicas; one still receiving the whole data set (a raft snapshot) is
// left out, as Redis leaves out a replica in full sync.
func TestRoleLeavesOutASyncingReplica(t *testing.T) {
	e := NewExecutor(&memBackend{store: memStore{}}, Limits{}, syncingInfo{})
	got := execDo(t, e, "ROLE")
	want := "*3\r\n$6\r\nmaster\r\n:64\r\n*1\r\n*3\r\n$9\r\n127.0.0.1\r\n$5\r\n26380\r\n$2\r\n64\r\n"
	if got != want {
		t.Fatalf("ROLE:\n%q\nwant\n%q", got, want)
	}
}
