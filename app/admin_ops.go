package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/pprof"
	"runtime"
	"time"

	"github.com/seshat-db/seshat/kv"
	"github.com/seshat-db/seshat/realenv"
)

// healthKey is the key /health reads: any key does, the read's worth is
// its ReadIndex round through a quorum.
var healthKey = []byte("\x00seshat-health")

// addOpsEndpoints adds the probes an operator from etcd expects:
//
//   - /health: 200 only if this node can serve a linearizable read now,
//     which takes a quorum (etcd's /health does a quorum read too). A node
//     cut off from the majority answers 503, though it is alive.
//   - /livez: 200 while the process works: its node goroutine is not
//     stuck. No quorum is asked: restarting a node for a partition helps
//     nobody (a Kubernetes liveness probe).
//   - /readyz: /ready's answer (a member that knows a leader).
//   - /version: the build's version, as JSON.
//   - /debug/pprof/: Go's profiler, only with node.pprof = true.
func addOpsEndpoints(mux *http.ServeMux, h *realenv.Host, cfg Config) {
	timeout := healthTimeout(cfg)
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		if err := h.Health(); err != nil {
			// Fail-stopped: say why (nospace, damaged, failed) before
			// anything else, so an operator sees a full disk at once.
			http.Error(w, "node stopped ("+stopReason(h)+"): "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		if err := quorumRead(r.Context(), h, timeout); err != nil {
			http.Error(w, "unhealthy: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/livez", func(w http.ResponseWriter, r *http.Request) {
		if d := h.Stalled(); d > 0 {
			http.Error(w, "not live: the node's goroutine has been stuck for "+d.Round(time.Second).String(), http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/ready"
		mux.ServeHTTP(w, r2)
	})
	mux.HandleFunc("/backup", backupHandler(h, cfg))
	mux.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"seshat": Version, "go": runtime.Version(), "cluster_id": cfg.Cluster.ClusterID,
		})
	})
	if cfg.Node.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
}

// healthTimeout gives a quorum read two election timeouts: enough for a
// leader to be elected if one was just lost, short enough for a probe.
func healthTimeout(cfg Config) time.Duration {
	return 2 * time.Duration(cfg.Raft.ElectionTimeoutMaxMs) * time.Millisecond
}

// quorumRead answers why the node cannot serve a linearizable read now,
// or nil.
func quorumRead(ctx context.Context, h *realenv.Host, timeout time.Duration) error {
	if err := h.Health(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	got := make(chan error, 1)
	h.Submit([]kv.Op{{Kind: kv.Exists, Keys: [][]byte{healthKey}}}, func(res []kv.Result) { got <- res[0].Err })
	select {
	case err := <-got:
		return err
	case <-ctx.Done():
		return errNoQuorumInTime
	}
}

type probeError string

func (e probeError) Error() string { return string(e) }

const errNoQuorumInTime = probeError("no quorum read within the timeout: this node cannot reach a majority")
