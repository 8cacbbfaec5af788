package resp

import (
	"strings"
	"testing"
)

// TestClusterShards: Redis 7.0's CLUSTER SHARDS shape (captured from a
// redis-server in cluster mode: slots, then nodes, each with id, port,
// ip, endpoint, role, replication-offset and health), with the leader as
// the master first and a learner still loading; a member whose client
// address is not known yet is left out (a client would dial ":0").
func TestClusterShards(t *testing.T) {
	f := threeNodes()
	f.view.SelfApplied = 42
	f.view.Members = append(f.view.Members, ClusterMember{ID: 5, ClientAddr: "10.0.0.5:6379", PeerAddr: "10.0.0.5:7379"})
	node := func(id, port, ip, role string, offset int64, health string) []byte {
		out := AppendArray(nil, 14)
		for _, kv := range [][2]string{{"id", id}, {"port", ""}, {"ip", ip}, {"endpoint", ip}, {"role", role}, {"replication-offset", ""}, {"health", health}} {
			out = AppendBulkString(out, kv[0])
			switch kv[0] {
			case "port":
				p := int64(0)
				if port != "" {
					p = 6379
				}
				out = AppendInt(out, p)
			case "replication-offset":
				out = AppendInt(out, offset)
			default:
				out = AppendBulkString(out, kv[1])
			}
		}
		return out
	}
	want := AppendArray(nil, 1)
	want = AppendArray(want, 4)
	want = AppendBulkString(want, "slots")
	want = AppendArray(want, 2)
	want = AppendInt(want, 0)
	want = AppendInt(want, 16383)
	want = AppendBulkString(want, "nodes")
	want = AppendArray(want, 3)
	want = append(want, node(clusterNodeID(1), "6379", "10.0.0.1", "master", 0, "online")...)
	want = append(want, node(clusterNodeID(2), "6379", "10.0.0.2", "replica", 42, "online")...)
	want = append(want, node(clusterNodeID(5), "6379", "10.0.0.5", "replica", 0, "loading")...)
	if got := clusterDo(t, f, "CLUSTER", "SHARDS"); got != string(want) {
		t.Fatalf("CLUSTER SHARDS:\n%q\nwant\n%q", got, want)
	}
	f.view.Leader = 0
	if got := clusterDo(t, f, "cluster", "shards"); !strings.HasPrefix(got, "*1\r\n*4\r\n$5\r\nslots\r\n*0\r\n$5\r\nnodes\r\n*3\r\n") {
		t.Fatalf("CLUSTER SHARDS with no leader serves slots: %q", got)
	}
	f.view.Leader, f.view.Members[0].ClientAddr = 1, ""
	if got := clusterDo(t, f, "cluster", "shards"); !strings.HasPrefix(got, "*1\r\n*4\r\n$5\r\nslots\r\n*0\r\n$5\r\nnodes\r\n*2\r\n") {
		t.Fatalf("CLUSTER SHARDS with a leader of unknown address serves slots: %q", got)
	}
}
