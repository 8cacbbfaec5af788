package resp

import (
	"os"
	"strings"
	"testing"
)

// A Seshat node that serves CLUSTER tells INFO's Cluster section as a
// Redis Cluster node does (testdata/redismode): redis-cli --cluster
// refuses a node whose INFO lacks cluster_enabled:1. Without CLUSTER
// support there is no such section (testdata/seshat/info.txt).

func TestInfoClusterAsARedisClusterNode(t *testing.T) {
	want, err := os.ReadFile("testdata/redismode/info-cluster.raw")
	if err != nil {
		t.Fatal(err)
	}
	if got := clusterDo(t, threeNodes(), "INFO", "cluster"); got != string(want) {
		t.Fatalf("INFO cluster:\n%q\nRedis:\n%q", got, want)
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

// TestModeStaysStandalone: HELLO's mode and INFO's redis_mode stay
// "standalone" where CLUSTER is served, unlike a Redis Cluster node's
// "cluster" (see withClusterSection): a client that picks its mode from
// them would refuse the cross-slot commands Seshat serves.
func TestModeStaysStandalone(t *testing.T) {
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
	if got := mode(clusterDo(t, threeNodes(), "HELLO", "2")); got != "standalone" {
		t.Fatalf("HELLO's mode: %q", got)
	}
	if got := clusterDo(t, threeNodes(), "INFO", "server"); !strings.Contains(got, "\r\nredis_mode:standalone\r\n") {
		t.Fatalf("INFO server: %q", got)
	}
}
