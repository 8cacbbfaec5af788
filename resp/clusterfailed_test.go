package resp

import (
	"os"
	"strings"
	"testing"
)

// A member the leader has not heard from lately is told as Redis 7 tells
// a node flagged fail. testdata/redisfailed holds a real redis-server's
// replies about a killed replica; each test reads the words for the
// failed node from there and checks Seshat's reply uses the same ones.

func failedReplica() *fakeCluster {
	return &fakeCluster{memBackend: memBackend{store: memStore{}}, view: ClusterView{Self: 1, Leader: 1, Term: 7, SelfApplied: 40, Members: []ClusterMember{
		{ID: 1, Voter: true, ClientAddr: "10.0.0.1:6379", PeerAddr: "10.0.0.1:7379"},
		{ID: 2, Voter: true, ClientAddr: "10.0.0.2:6379", PeerAddr: "10.0.0.2:7379"},
		{ID: 3, Voter: true, ClientAddr: "10.0.0.3:6379", PeerAddr: "10.0.0.3:7379", Failed: true},
	}}}
}

func redisCapture(t *testing.T, name string) Reply {
	t.Helper()
	b, err := os.ReadFile("testdata/redisfailed/" + name)
	if err != nil {
		t.Fatal(err)
	}
	r, rest, err := ParseReply(b)
	if err != nil || len(rest) != 0 {
		t.Fatalf("%s: %v (%d bytes left)", name, err, len(rest))
	}
	return r
}

// failedLine returns the one CLUSTER NODES line whose flags say fail.
func failedLine(t *testing.T, nodes string) []string {
	t.Helper()
	var found []string
	for _, line := range strings.Split(strings.TrimSuffix(nodes, "\n"), "\n") {
		f := strings.Fields(line)
		if len(f) > 2 && strings.Contains(f[2], "fail") {
			if found != nil {
				t.Fatalf("two failed lines in\n%s", nodes)
			}
			found = f
		}
	}
	if found == nil {
		t.Fatalf("no failed line in\n%s", nodes)
	}
	return found
}

func TestClusterNodesTellsAFailedMember(t *testing.T) {
	redis := failedLine(t, redisCapture(t, "cluster-nodes.raw").Str)
	got := clusterDo(t, failedReplica(), "cluster", "nodes")
	want := "$354\r\n" +
		"0000000000000000000000000000000000000001 10.0.0.1:6379@7379 myself,master - 0 0 7 connected 0-16383\n" +
		"0000000000000000000000000000000000000002 10.0.0.2:6379@7379 slave 0000000000000000000000000000000000000001 0 0 7 connected\n" +
		"0000000000000000000000000000000000000003 10.0.0.3:6379@7379 slave,fail 0000000000000000000000000000000000000001 0 0 7 disconnected\n\r\n"
	if got != want {
		t.Fatalf("CLUSTER NODES:\n%q\nwant\n%q", got, want)
	}
	r, _, err := ParseReply([]byte(got))
	if err != nil {
		t.Fatal(err)
	}
	ours := failedLine(t, r.Str)
	if len(ours) != len(redis) || ours[2] != redis[2] || ours[7] != redis[7] {
		t.Fatalf("the failed member's line %q; Redis's %q: want the same fields, flags and link state", ours, redis)
	}
}

func TestClusterSlotsLeavesOutAFailedReplica(t *testing.T) {
	redis := redisCapture(t, "cluster-slots.raw")
	// Redis's range 0-5460 is served by 27001, whose replica 27004 failed:
	// the range lists its master alone.
	for _, rng := range redis.Array {
		if rng.Array[0].Int == 0 && len(rng.Array) != 3 {
			t.Fatalf("Redis's range 0-5460 lists %d nodes, want its master alone", len(rng.Array)-2)
		}
	}
	got := clusterDo(t, failedReplica(), "cluster", "slots")
	want := "*1\r\n*4\r\n:0\r\n:16383\r\n" +
		"*4\r\n$8\r\n10.0.0.1\r\n:6379\r\n$40\r\n0000000000000000000000000000000000000001\r\n*0\r\n" +
		"*4\r\n$8\r\n10.0.0.2\r\n:6379\r\n$40\r\n0000000000000000000000000000000000000002\r\n*0\r\n"
	if got != want {
		t.Fatalf("CLUSTER SLOTS:\n%q\nwant\n%q", got, want)
	}
}

func TestClusterShardsTellsAFailedMember(t *testing.T) {
	health := func(r Reply) map[string]string {
		out := map[string]string{}
		for _, shard := range r.Array {
			for i := 0; i+1 < len(shard.Array); i += 2 {
				if shard.Array[i].Str != "nodes" {
					continue
				}
				for _, n := range shard.Array[i+1].Array {
					var id, h string
					for j := 0; j+1 < len(n.Array); j += 2 {
						switch n.Array[j].Str {
						case "id":
							id = n.Array[j+1].Str
						case "health":
							h = n.Array[j+1].Str
						}
					}
					out[id] = h
				}
			}
		}
		return out
	}
	redisWord := health(redisCapture(t, "cluster-shards.raw"))["cebc238598c9869187481676a39621bc72f61c7c"]
	r, _, err := ParseReply([]byte(clusterDo(t, failedReplica(), "cluster", "shards")))
	if err != nil {
		t.Fatal(err)
	}
	got := health(r)
	if redisWord != "fail" || got[clusterNodeID(3)] != redisWord || got[clusterNodeID(2)] != "online" || got[clusterNodeID(1)] != "online" {
		t.Fatalf("health %v; Redis tells its failed replica %q", got, redisWord)
	}
}
