package resp

import (
	"os"
	"strings"
	"testing"
)

// A Seshat node that serves CLUSTER says it is a Redis Cluster node, as a
// real one does (testdata/redismode): redis-cli --cluster refuses a node
// whose INFO lacks cluster_enabled:1, and clients that read the mode
// (HELLO, INFO server) then ask CLUSTER NODES or SLOTS. Without CLUSTER
// support it stays standalone (testdata/seshat/info.txt).

func TestInfoClusterAsARedisClusterNode(t *testing.T) {
	want, err := os.ReadFile("testdata/redismode/info-cluster.raw")
	if err != nil {
		t.Fatal(err)
	}
	if got := clusterDo(t, threeNodes(), "INFO", "cluster"); got != string(want) {
		t.Fatalf("INFO cluster:\n%q\nRedis:\n%q", got, want)
	}
	if got := clusterDo(t, threeNodes(), "INFO", "server"); !strings.Contains(got, "\r\nredis_mode:cluster\r\n") {
		t.Fatalf("INFO server: %q, want redis_mode:cluster", got)
	}
	e := NewExecutor(&memBackend{store: memStore{}}, Limits{}, nil)
	if got := execDo(t, e, "INFO", "cluster"); got != "$0\r\n\r\n" {
		t.Fatalf("INFO cluster without CLUSTER support: %q", got)
	}
}

// TestInfoClusterSectionBeforeKeyspace: Redis tells Cluster just before
// Keyspace; Seshat's own Raft section comes after both.
func TestInfoClusterSectionBeforeKeyspace(t *testing.T) {
	got := withClusterSection([]InfoSection{{Name: "Server"}, {Name: "CPU"}, {Name: "Keyspace"}, {Name: "Raft"}})
	var names []string
	for _, s := range got {
		names = append(names, s.Name)
	}
	if strings.Join(names, " ") != "Server CPU Cluster Keyspace Raft" {
		t.Fatalf("sections %v", names)
	}
}

func TestHelloModeAsARedisClusterNode(t *testing.T) {
	raw, err := os.ReadFile("testdata/redismode/hello-2.raw")
	if err != nil {
		t.Fatal(err)
	}
	mode := func(reply string) string {
		r, _, err := ParseReply([]byte(reply))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(r.Array); i += 2 {
			if r.Array[i].Str == "mode" {
				return r.Array[i+1].Str
			}
		}
		t.Fatalf("no mode in %q", reply)
		return ""
	}
	redis := mode(string(raw))
	if got := mode(clusterDo(t, threeNodes(), "HELLO", "2")); redis != "cluster" || got != redis {
		t.Fatalf("HELLO's mode: %q, Redis's %q", got, redis)
	}
}
