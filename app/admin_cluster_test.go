package app

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seshat-db/seshat/node"
	"github.com/seshat-db/seshat/resp"
)

// The admin port's membership endpoints against a backend that records
// what it is asked: POST /cluster/members/replace reads old, new and
// force into one replace, and answers a refusal with its CLUSTER text.

type recordingCluster struct {
	changes []resp.ClusterChange
	err     error
	view    resp.ClusterView
}

func (f *recordingCluster) ClusterView(done func(resp.ClusterView, error)) {
	done(f.view, nil)
}

func (f *recordingCluster) ChangeMembership(ch resp.ClusterChange, done func(error)) {
	f.changes = append(f.changes, ch)
	done(f.err)
}

func (f *recordingCluster) TransferLeader(uint64, func(error)) {}

func TestAdminReplace(t *testing.T) {
	f := &recordingCluster{}
	mux := http.NewServeMux()
	addClusterEndpoints(mux, f, time.Second)
	post := func(form url.Values) (int, string) {
		req := httptest.NewRequest(http.MethodPost, "/cluster/members/replace", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		return w.Code, strings.TrimSpace(w.Body.String())
	}
	for _, tc := range []struct {
		form url.Values
		code int
		body string
	}{
		{url.Values{"old": {"3"}, "new": {"4"}}, 200, "OK"},
		{url.Values{"old": {"3"}, "new": {"4"}, "force": {"true"}}, 200, "OK"},
		{url.Values{"old": {"3"}}, 400, "invalid node id '': a raft node id is a positive integer"},
		{url.Values{"old": {"x"}, "new": {"4"}}, 400, "invalid node id 'x': a raft node id is a positive integer"},
		{url.Values{"old": {"3"}, "new": {"4"}, "force": {"maybe"}}, 400, "invalid force 'maybe': want true or false"},
	} {
		if code, body := post(tc.form); code != tc.code || body != tc.body {
			t.Errorf("%v: %d %q, want %d %q", tc.form, code, body, tc.code, tc.body)
		}
	}
	want := []resp.ClusterChange{{Kind: "replace", ID: 4, Old: 3}, {Kind: "replace", ID: 4, Old: 3, Force: true}}
	if len(f.changes) != len(want) || f.changes[0] != want[0] || f.changes[1] != want[1] {
		t.Fatalf("changes %+v, want %+v", f.changes, want)
	}
	f.err = errors.New("ERR the membership change does not apply to the current membership: node 4 is not a learner")
	if code, body := post(url.Values{"old": {"3"}, "new": {"4"}}); code != http.StatusConflict || !strings.Contains(body, "not a learner") {
		t.Fatalf("a refusal: %d %q", code, body)
	}
	for _, retry := range []error{fmt.Errorf("%w: node 3 leads and is handing leadership to node 2; ask the new leader again", node.ErrNotYet), node.ErrChangePending} {
		f.err = retry
		req := httptest.NewRequest(http.MethodPost, "/cluster/members/replace", strings.NewReader(url.Values{"old": {"3"}, "new": {"4"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "1" || !strings.Contains(w.Body.String(), retry.Error()) {
			t.Fatalf("%v: %d Retry-After %q %q, want 503 with Retry-After 1 and the reason", retry, w.Code, w.Header().Get("Retry-After"), w.Body.String())
		}
	}
	f.err = node.ErrOutcomeUnknown
	if code, _ := post(url.Values{"old": {"3"}, "new": {"4"}}); code != http.StatusGatewayTimeout {
		t.Fatalf("an unknown outcome: %d", code)
	}
	req := httptest.NewRequest(http.MethodGet, "/cluster/members/replace?old=3&new=4", nil)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	if w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", w.Code)
	}
}

// TestAdminMembersTellsFailed: GET /cluster/members says which members
// the leader flags failed, as CLUSTER NODES does.
func TestAdminMembersTellsFailed(t *testing.T) {
	f := &recordingCluster{view: resp.ClusterView{Self: 1, Leader: 1, Term: 3, Members: []resp.ClusterMember{
		{ID: 1, Voter: true, PeerAddr: "a:7379", ClientAddr: "a:6379"},
		{ID: 2, Voter: true, PeerAddr: "b:7379", ClientAddr: "b:6379", Failed: true},
	}}}
	mux := http.NewServeMux()
	addClusterEndpoints(mux, f, time.Second)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/cluster/members", nil))
	want := `{"self":1,"leader":1,"term":3,"members":[` +
		`{"id":1,"voter":true,"leader":true,"peer_addr":"a:7379","client_addr":"a:6379","failed":false},` +
		`{"id":2,"voter":true,"leader":false,"peer_addr":"b:7379","client_addr":"b:6379","failed":true}]}`
	if got := strings.TrimSpace(w.Body.String()); w.Code != 200 || got != want {
		t.Fatalf("GET /cluster/members: %d\n%s\nwant\n%s", w.Code, got, want)
	}
}
