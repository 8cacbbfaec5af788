package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// adminPost posts form to path on p's admin port and returns the status
// and body.
func adminPost(t *testing.T, p *proc, path string, form url.Values) (int, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 30 * time.Second}).PostForm("http://"+p.admin+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// adminChange posts a membership change, again while it is told another
// is in progress: the first members record their addresses for a moment
// after the start, and a new leader takes none before its first entry.
func adminChange(t *testing.T, p *proc, path string, form url.Values) (int, string) {
	t.Helper()
	code, body := adminPost(t, p, path, form)
	for i := 0; i < 30 && strings.Contains(body, "in progress"); i++ {
		time.Sleep(100 * time.Millisecond)
		code, body = adminPost(t, p, path, form)
	}
	return code, body
}

type adminMembers struct {
	Leader  uint64 `json:"leader"`
	Members []struct {
		ID         uint64 `json:"id"`
		Voter      bool   `json:"voter"`
		ClientAddr string `json:"client_addr"`
	} `json:"members"`
}

func membersOf(t *testing.T, p *proc) adminMembers {
	t.Helper()
	code, body := p.get("/cluster/members")
	var m adminMembers
	if code != 200 || json.Unmarshal([]byte(body), &m) != nil {
		t.Fatalf("GET /cluster/members: %d %s", code, body)
	}
	return m
}

// TestAdminHTTPMembership: the membership operations of CLUSTER on the
// admin port: list, add, promote, transfer leadership, remove, with the
// refusals CLUSTER gives.
func TestAdminHTTPMembership(t *testing.T) {
	c := newCluster(t, buildBinary(t))
	lead := c.nodes[c.startAll()]
	p4 := c.extra(4, "n4", true, "-cluster.bootstrap=false")

	if m := membersOf(t, lead); len(m.Members) != 3 || m.Leader != uint64(lead.id) {
		t.Fatalf("members before: %+v", m)
	}
	for _, bad := range []struct {
		path string
		form url.Values
		code int
	}{
		{"/cluster/members/add", url.Values{"id": {"x"}}, 400},
		{"/cluster/members/add", url.Values{"id": {"4"}, "peer_addr": {p4.internal}, "client_addr": {"nonsense"}}, 400},
		{"/cluster/members/promote", url.Values{"id": {"4"}}, 409}, // not a learner yet
		{"/cluster/members/remove", url.Values{"id": {"2"}, "force": {"maybe"}}, 400},
	} {
		if code, body := adminPost(t, lead, bad.path, bad.form); code != bad.code {
			t.Fatalf("POST %s %v: %d %s, want %d", bad.path, bad.form, code, body, bad.code)
		}
	}
	if code, _ := lead.get("/cluster/members/add"); code != http.StatusMethodNotAllowed {
		t.Fatalf("GET /cluster/members/add: %d", code)
	}
	follower := c.without(lead)[0]
	if code, body := adminPost(t, follower, "/cluster/members/add", url.Values{"id": {"4"}, "peer_addr": {p4.internal}, "client_addr": {p4.client}}); code != 409 || !strings.Contains(body, "not the leader") {
		t.Fatalf("add through a follower: %d %s", code, body)
	}
	code, body := adminChange(t, lead, "/cluster/members/add", url.Values{"id": {"4"}, "peer_addr": {p4.internal}, "client_addr": {p4.client}})
	if code != 200 {
		t.Fatalf("add: %d %s", code, body)
	}
	waitFor(t, "node 4 promoted", func() bool {
		code, _ := adminPost(t, lead, "/cluster/members/promote", url.Values{"id": {"4"}})
		return code == 200
	})
	if code, body := adminPost(t, lead, "/cluster/leader", url.Values{"id": {"4"}}); code != 200 {
		t.Fatalf("transfer to 4: %d %s", code, body)
	}
	if m := membersOf(t, p4); m.Leader != 4 || len(m.Members) != 4 {
		t.Fatalf("members after the transfer, on node 4: %+v", m)
	}
	if code, body := adminChange(t, p4, "/cluster/members/remove", url.Values{"id": {fmt.Sprint(follower.id)}}); code != 200 {
		t.Fatalf("remove node %d: %d %s", follower.id, code, body)
	}
	m := membersOf(t, p4)
	for _, mem := range m.Members {
		if mem.ID == uint64(follower.id) || !mem.Voter {
			t.Fatalf("members after the removal: %+v", m)
		}
	}
	// The first members record their client addresses one change at a
	// time, between the operator's: every one is there soon.
	waitFor(t, "every member's client address in /cluster/members", func() bool {
		for _, mem := range membersOf(t, p4).Members {
			if mem.ClientAddr == "" {
				return false
			}
		}
		return true
	})
}
