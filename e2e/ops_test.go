package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

func (p *proc) get(path string) (int, string) {
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + p.admin + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// /health follows etcd: a node cut off from the majority is unhealthy
// though alive. /livez stays up; /version and pprof (behind its setting)
// answer; /metrics carries the families an etcd operator looks for; no
// log line names an attribute twice, and routine compactions log at
// DEBUG.
func TestOpsEndpoints(t *testing.T) {
	c := newCluster(t, buildBinary(t))
	c.args = []string{"-node.pprof", "true", "-raft.snapshot_interval_entries", "50"}
	lead := c.startAll()
	for _, p := range c.nodes {
		for _, path := range []string{"/health", "/livez", "/readyz", "/debug/pprof/"} {
			if code, body := p.get(path); code != 200 {
				t.Fatalf("node %d %s = %d %s", p.id, path, code, body)
			}
		}
	}
	if code, body := c.nodes[0].get("/version"); code != 200 || !strings.Contains(body, `"seshat":`) {
		t.Fatalf("/version = %d %s", code, body)
	}

	ctx := context.Background()
	r := client(c.nodes[lead])
	defer r.Close()
	for i := range 300 {
		if err := r.Set(ctx, fmt.Sprintf("k%d", i), "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	_, metrics := c.nodes[lead].get("/metrics")
	for _, family := range []string{
		"seshat_raft_has_leader 1", "seshat_raft_leader_changes_seen_total",
		"seshat_raft_proposals_committed_total", "seshat_raft_proposals_applied_total", "seshat_raft_proposals_failed_total",
		"seshat_peer_round_trip_time_seconds_bucket", "seshat_peer_sent_bytes_total", "seshat_peer_received_bytes_total",
		"seshat_db_size_bytes", "seshat_db_keys 300", "seshat_pebble_compactions_total", "seshat_pebble_write_stalls_total",
		"seshat_pebble_compaction_debt_bytes", "seshat_db_stats_stale 0",
	} {
		if !strings.Contains(metrics, family) {
			t.Errorf("/metrics lacks %q", family)
		}
	}

	for _, family := range dashboardFamilies(t) {
		if !strings.Contains(metrics, "\n"+family) {
			t.Errorf("the Grafana dashboard queries %s, which /metrics does not serve", family)
		}
	}

	// Cut the leader off from both followers: stop them.
	others := c.without(c.nodes[lead])
	for _, p := range others {
		p.stop(t)
	}
	alone := c.nodes[lead]
	waitFor(t, "/health to fail on the node cut off from the majority", func() bool {
		code, _ := alone.get("/health")
		return code == http.StatusServiceUnavailable
	})
	if code, body := alone.get("/livez"); code != 200 {
		t.Errorf("/livez of a live node cut off from the majority = %d %s, want 200", code, body)
	}

	dup := regexp.MustCompile(`\bnode=\S+.*\bnode=`)
	for _, p := range c.nodes {
		b, err := os.ReadFile(p.logPath)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if dup.MatchString(line) {
				t.Errorf("node %d logged node twice: %s", p.id, line)
				break
			}
			if strings.Contains(line, "log compacted") && !strings.Contains(line, "level=DEBUG") {
				t.Errorf("node %d logged a routine compaction above DEBUG: %s", p.id, line)
				break
			}
		}
	}
}

// dashboardFamilies lists the seshat_ and process_ families the Grafana
// dashboard queries, without histogram suffixes.
func dashboardFamilies(t *testing.T) []string {
	b, err := os.ReadFile("../deploy/grafana/seshat-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	seen := map[string]bool{}
	var out []string
	name := regexp.MustCompile(`\b(seshat|process)_[a-z0-9_]+`)
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, n := range name.FindAllString(tg.Expr, -1) {
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					n = strings.TrimSuffix(n, suffix)
				}
				if !seen[n] {
					seen[n] = true
					out = append(out, n)
				}
			}
		}
	}
	return out
}
