package app

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/seshat-db/seshat/node"
	"github.com/seshat-db/seshat/resp"
)

// The membership operations of CLUSTER on the admin port, for operators
// and tools that speak HTTP (as etcd's members API):
//
//	GET  /cluster/members                                   the membership, as JSON
//	POST /cluster/members/add?id=&peer_addr=&client_addr=   CLUSTER ADDNODE
//	POST /cluster/members/promote?id=[&force=true]          CLUSTER PROMOTE
//	POST /cluster/members/remove?id=[&force=true]           CLUSTER REMOVENODE
//	POST /cluster/members/replace?old=&new=[&force=true]    CLUSTER REPLACENODE
//	POST /cluster/leader?id=                                CLUSTER TRANSFER-LEADER
//
// A change is answered once it applied (200), or refused with the text
// CLUSTER replies: 400 for a bad argument, 409 for a change the
// membership refuses (not the leader, unsafe), 503 with Retry-After for
// one that asked again shortly can succeed (another change pending, a
// leader handing off), 504 when its outcome is unknown (look at
// /cluster/members).

// memberJSON is one member in /cluster/members.
type memberJSON struct {
	ID         uint64 `json:"id"`
	Voter      bool   `json:"voter"`
	Leader     bool   `json:"leader"`
	PeerAddr   string `json:"peer_addr"`
	ClientAddr string `json:"client_addr"`
	// Failed: asked of the leader, the member has not answered it within
	// an election timeout (CLUSTER NODES flags it fail); a follower
	// flags nobody.
	Failed bool `json:"failed"`
}

// adminWait bounds an HTTP membership call: the request timeout a change
// may take, and a margin.
func adminWait(cfg Config) time.Duration {
	return time.Duration(cfg.Limits.RequestTimeoutSecs)*time.Second + clusterCallTimeout
}

// addClusterEndpoints serves c's membership on mux; wait bounds a call.
func addClusterEndpoints(mux *http.ServeMux, c resp.ClusterBackend, wait time.Duration) {
	mux.HandleFunc("/cluster/members", func(w http.ResponseWriter, r *http.Request) {
		got := make(chan struct{}, 1)
		var v resp.ClusterView
		var verr error
		c.ClusterView(func(view resp.ClusterView, err error) { v, verr = view, err; got <- struct{}{} })
		select {
		case <-got:
		case <-time.After(wait):
			verr = errors.New("the node did not answer in time")
		}
		if verr != nil {
			http.Error(w, resp.ErrorReply(verr), http.StatusServiceUnavailable)
			return
		}
		out := struct {
			Self    uint64       `json:"self"`
			Leader  uint64       `json:"leader"`
			Term    uint64       `json:"term"`
			Members []memberJSON `json:"members"`
		}{Self: v.Self, Leader: v.Leader, Term: v.Term, Members: []memberJSON{}}
		for _, m := range v.Members {
			out.Members = append(out.Members, memberJSON{ID: m.ID, Voter: m.Voter, Leader: m.ID == v.Leader, PeerAddr: m.PeerAddr, ClientAddr: m.ClientAddr, Failed: m.Failed})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	change := func(kind string) http.HandlerFunc {
		return post(func(w http.ResponseWriter, r *http.Request) {
			id, force, ok := idAndForce(w, r)
			if !ok {
				return
			}
			ch := resp.ClusterChange{Kind: kind, ID: id, Force: force}
			if kind == "add-learner" {
				ch.PeerAddr, ch.ClientAddr = r.FormValue("peer_addr"), r.FormValue("client_addr")
				for _, a := range []struct{ name, v string }{{"peer_addr", ch.PeerAddr}, {"client_addr", ch.ClientAddr}} {
					if _, port, err := net.SplitHostPort(a.v); err != nil || port == "0" || port == "" {
						http.Error(w, "invalid "+a.name+" '"+a.v+"': want host:port", http.StatusBadRequest)
						return
					}
				}
			}
			answer(w, wait, func(done func(error)) { c.ChangeMembership(ch, done) })
		})
	}
	mux.HandleFunc("/cluster/members/add", change("add-learner"))
	mux.HandleFunc("/cluster/members/promote", change("promote"))
	mux.HandleFunc("/cluster/members/remove", change("remove"))
	mux.HandleFunc("/cluster/members/replace", post(func(w http.ResponseWriter, r *http.Request) {
		old, ok := nodeIDParam(w, r, "old")
		if !ok {
			return
		}
		id, ok := nodeIDParam(w, r, "new")
		if !ok {
			return
		}
		force, ok := forceParam(w, r)
		if !ok {
			return
		}
		ch := resp.ClusterChange{Kind: "replace", ID: id, Old: old, Force: force}
		answer(w, wait, func(done func(error)) { c.ChangeMembership(ch, done) })
	}))
	mux.HandleFunc("/cluster/leader", post(func(w http.ResponseWriter, r *http.Request) {
		id, _, ok := idAndForce(w, r)
		if !ok {
			return
		}
		answer(w, wait, func(done func(error)) { c.TransferLeader(id, done) })
	}))
}

// post refuses every method but POST: a change is not a GET.
func post(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "use POST", http.StatusMethodNotAllowed)
			return
		}
		h(w, r)
	}
}

// idAndForce reads id (a positive integer) and force (a boolean, false
// when absent), answering 400 for a bad one.
func idAndForce(w http.ResponseWriter, r *http.Request) (uint64, bool, bool) {
	id, ok := nodeIDParam(w, r, "id")
	if !ok {
		return 0, false, false
	}
	force, ok := forceParam(w, r)
	return id, force, ok
}

// nodeIDParam reads the node id form value name, answering 400 for a bad one.
func nodeIDParam(w http.ResponseWriter, r *http.Request, name string) (uint64, bool) {
	id, err := strconv.ParseUint(r.FormValue(name), 10, 64)
	if err != nil || id == 0 {
		http.Error(w, "invalid node id '"+r.FormValue(name)+"': a raft node id is a positive integer", http.StatusBadRequest)
		return 0, false
	}
	return id, true
}

// forceParam reads force (false when absent), answering 400 for a bad one.
func forceParam(w http.ResponseWriter, r *http.Request) (bool, bool) {
	f := r.FormValue("force")
	if f == "" {
		return false, true
	}
	force, err := strconv.ParseBool(f)
	if err != nil {
		http.Error(w, "invalid force '"+f+"': want true or false", http.StatusBadRequest)
		return false, false
	}
	return force, true
}

// answer runs a change and writes its outcome.
func answer(w http.ResponseWriter, wait time.Duration, run func(done func(error))) {
	got := make(chan error, 1)
	run(func(err error) { got <- err })
	var err error
	select {
	case err = <-got:
	case <-time.After(wait):
		err = node.ErrOutcomeUnknown
	}
	switch {
	case err == nil:
		_, _ = w.Write([]byte("OK\n"))
	case errors.Is(err, node.ErrOutcomeUnknown):
		http.Error(w, resp.ErrorReply(err), http.StatusGatewayTimeout)
	case errors.Is(err, node.ErrNotYet), errors.Is(err, node.ErrChangePending):
		// Nothing is wrong with the request: the same one asked again
		// shortly can succeed (a change in flight, a leader handing off),
		// which is what 503 with Retry-After tells an HTTP client.
		w.Header().Set("Retry-After", "1")
		http.Error(w, resp.ErrorReply(err), http.StatusServiceUnavailable)
	default:
		http.Error(w, resp.ErrorReply(err), http.StatusConflict)
	}
}
