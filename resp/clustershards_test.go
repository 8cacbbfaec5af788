package resp

import (
	"strings"
	"testing"
)

// TestClusterShards: Redis 7.0's CLUSTER SHARDS shape (captured from a
// redis-server in cluster mode: slots, then nodes, each with id, port,
// ip, endpoint, role, replication-offset and health), with the leader as
// the master first and a learner still loading.
func TestClusterShards(t *testing.T) {
	f := threeNodes()
	f.view.SelfApplied = 42
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
	want = append(want, node(clusterNodeID(4), "", "", "replica", 0, "loading")...)
	if got := clusterDo(t, f, "CLUSTER", "SHARDS"); got != string(want) {
		t.Fatalf("CLUSTER SHARDS:\n%q\nwant\n%q", got, want)
	}
	f.view.Leader = 0
	if got := clusterDo(t, f, "cluster", "shards"); !strings.HasPrefix(got, "*1\r\n*4\r\n$5\r\nslots\r\n*0\r\n$5\r\nnodes\r\n*3\r\n") {
		t.Fatalf("CLUSTER SHARDS with no leader serves slots: %q", got)
	}
}
