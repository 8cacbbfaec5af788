package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAdminRefusesBrowsers (review r8, HIGH): with the defaults (admin on
// loopback, no token, no cluster secret) a web page the operator opens
// could send a cross-site "simple" POST (no body, text/plain, no
// preflight) to /cluster/members/add with a peer address of its own, and
// the leader would stream it a snapshot of every key. A request that
// names an Origin or a browser's fetch mode is refused; the same request
// without them is an operator's and is taken.
func TestAdminRefusesBrowsers(t *testing.T) {
	c := newCluster(t, buildBinary(t))
	lead := c.nodes[c.startAll()]
	post := func(headers map[string]string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+lead.admin+"/cluster/members/add?id=9&peer_addr=127.0.0.1:1&client_addr=127.0.0.1:2", nil)
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		for range 30 {
			resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(b), "in progress") {
				return resp.StatusCode, string(b)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatal("a membership change stayed in progress for 3 s")
		return 0, ""
	}
	for _, h := range []map[string]string{
		{"Origin": "http://evil.example", "Content-Type": "text/plain"},
		{"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Site": "cross-site"},
	} {
		if code, body := post(h); code != http.StatusForbidden {
			t.Fatalf("a browser's POST %v: %d %s, want 403", h, code, body)
		}
	}
	if code, body := post(nil); code != http.StatusOK {
		t.Fatalf("the operator's POST: %d %s", code, body)
	}
}
