package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/seshat-db/seshat/node"
	"github.com/seshat-db/seshat/realenv"
	"github.com/seshat-db/seshat/resp"
	"github.com/seshat-db/seshat/server"
	"github.com/seshat-db/seshat/storage"
)

// Version is reported by INFO, /version and -version. make release
// stamps it: -ldflags "-X github.com/seshat-db/seshat/app.Version=v1.2.3".
var Version = "0.1.0-dev"

// NewLogger builds the slog logger a configuration asks for.
func NewLogger(c LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Run runs one node until ctx is cancelled, then shuts it down in order:
// client connections, the node (its host goroutine and storage), peers,
// the admin endpoint. ready, if not nil, is called once every port is
// listening.
func Run(ctx context.Context, cfg Config, log *slog.Logger, ready func()) error {
	clock := realenv.NewClock(time.Duration(cfg.Test.ClockOffsetMs)*time.Millisecond, cfg.Test.ClockDriftPPM)
	log = slog.New(newDedupHandler(clockHandler{log.Handler(), clock})).With("node", cfg.Node.ID)
	started := time.Now()
	m := newMetrics()

	if cfg.Cluster.JoinAddr != "" && len(cfg.Cluster.InitialMembers) == 0 {
		if err := resolveJoin(ctx, &cfg, log, holdsNoData(cfg.Node.DataDir)); err != nil {
			return err
		}
	}
	peers := map[uint64]string{}
	var ids []uint64
	for _, mem := range cfg.Cluster.InitialMembers {
		ids = append(ids, mem.ID)
		if mem.ID != cfg.Node.ID {
			peers[mem.ID] = mem.Addr
		}
	}
	for _, w := range cfg.Warnings() {
		log.Warn("config: " + w)
	}
	// Bind every port before the data directory is touched, so that a
	// port in use fails the start and leaves no new directory behind.
	lns, err := listenAll(cfg.Node, cfg.TLS.ClientAddr)
	if err != nil {
		return err
	}
	defer lns.close()
	clientLn, err := clientListener(lns, cfg.TLS)
	if err != nil {
		return err
	}
	adminLn := lns.admin
	var host atomic.Pointer[realenv.Host]
	secret, err := cfg.Security.PeerSecret()
	if err != nil {
		return err
	}
	peerTLS, err := cfg.TLS.PeerTLS(cfg.Node.ID)
	if err != nil {
		return err
	}
	tr, err := realenv.NewTransport(realenv.TransportConfig{
		Secret:        secret,
		TLS:           peerTLS,
		ID:            cfg.Node.ID,
		ClusterID:     cfg.Cluster.ClusterID,
		Peers:         peers,
		Listen:        cfg.Node.InternalAddr,
		Listener:      lns.internal,
		FrameBytesMax: frameBytesMax,
		WriteTimeout:  time.Duration(cfg.Limits.RaftRPCTimeoutSecs) * time.Second,
		// A link silent for an election timeout is redialled: by then raft
		// would have expected a heartbeat on it several times over.
		SilenceTimeout: time.Duration(cfg.Raft.ElectionTimeoutMaxMs) * time.Millisecond,
		Log:            log,
		OnPeerRTT:      m.etcdLike.onPeerRTT,
		Deliver: func(from uint64, msg []byte) {
			// Frames that arrive before the host exists are dropped:
			// raft retries.
			if h := host.Load(); h != nil {
				h.Deliver(from, msg)
			}
		},
	})
	if err != nil {
		return err
	}

	fs := realenv.NewTimedFS(vfs.Default, func(d time.Duration) { m.fsync.Observe(d.Seconds()) })
	tick := node.TickInterval
	electionTicks := int(time.Duration(cfg.Raft.ElectionTimeoutMinMs) * time.Millisecond / tick)
	heartbeatTicks := int(time.Duration(cfg.Raft.HeartbeatIntervalMs) * time.Millisecond / tick)
	if cfg.Raft.ElectionTimeoutMaxMs != 2*cfg.Raft.ElectionTimeoutMinMs {
		log.Warn("raft draws its election timeout from [min, 2*min); election_timeout_max_ms is not used otherwise",
			"election_timeout_min_ms", cfg.Raft.ElectionTimeoutMinMs, "election_timeout_max_ms", cfg.Raft.ElectionTimeoutMaxMs)
	}
	if err := checkDataDir(cfg.Node.DataDir); err != nil {
		return err
	}
	// A backup's checkpoint outlives its process only if the process died
	// while streaming it; it holds tables compaction would free.
	if err := os.RemoveAll(backupsDir(cfg)); err != nil {
		return fmt.Errorf("removing backups left by an earlier process: %w", err)
	}
	fresh := isEmptyDir(cfg.Node.DataDir)
	if abs, err := filepath.Abs(cfg.Node.DataDir); err == nil {
		cfg.Node.DataDir = abs
	}
	uncommitted := uint64(cfg.Limits.MaxUncommittedBytes)
	baseline, err := cfg.Auth.Baseline()
	if err != nil {
		return err
	}
	self := clusterHost{cfg: cfg}
	n, err := node.Open(node.Config{
		ACLBaseline:         baseline,
		ID:                  cfg.Node.ID,
		AdvertisePeerAddr:   self.memberAddr(cfg.Node.ID),
		AdvertiseClientAddr: self.ownClientAddr(),
		Peers:               ids,
		Join:                !cfg.Cluster.Bootstrap,
		Dir:                 cfg.Node.DataDir,
		ElectionTicks:       electionTicks,
		HeartbeatTicks:      heartbeatTicks,
		RequestTimeoutTicks: int(time.Duration(cfg.Limits.RequestTimeoutSecs) * time.Second / tick),
		SnapshotEntries:     uint64(cfg.Raft.SnapshotIntervalEntries),
		SnapshotLogBytes:    uint64(cfg.Raft.SnapshotIntervalBytes),
		BlockCacheBytes:     int64(cfg.Limits.BlockCacheBytes),
		UncommittedBytesMax: uncommitted,
		EntryBytesMax:       min(uncommitted, frameBytesMax-frameOverheadBytes),
		// A reply past a client's hard output limit closes the client, so
		// a read need not gather more; and the long reads together stay
		// within what all clients may hold.
		ReadReplyBytesMax:  cfg.Limits.ClientOutputBufferHardBytes,
		LongReadsBytesMax:  int64(cfg.Limits.MaxMemoryClientsBytes),
		OnSnapshotTransfer: m.etcdLike.onSnapshotTransfer(tick),
	}, realenv.New(tr, log, fs))
	if err != nil {
		return openError(err, cfg.Node.DataDir)
	}
	if fresh {
		log.Info("empty data directory: asking the peers whether the cluster exists before bootstrapping it", "data_dir", cfg.Node.DataDir, "members", ids)
	} else {
		log.Info("restarted from existing data", "data_dir", cfg.Node.DataDir, "applied", n.Status().Applied)
	}
	h := realenv.NewHost(n, realenv.HostConfig{
		TickInterval: tick,
		Log:          log,
		OnOpDone:     m.onOpDone,
		OnProcess:    func(d time.Duration) { m.process.Observe(d.Seconds()) },
		// The same timeout on the wall clock, for when no tick runs.
		RequestTimeout: time.Duration(cfg.Limits.RequestTimeoutSecs) * time.Second,
		Clock:          clock,
	})
	host.Store(h)
	if err := tr.Start(); err != nil {
		_ = h.Close()
		return err
	}

	info := &serverInfo{cfg: cfg, host: h, started: started}
	srv := server.NewServer(server.ServerConfig{
		ClientsMax: cfg.Limits.MaxConcurrentClientConnections,
		Limits: resp.Limits{KeyBytesMax: cfg.Limits.MaxKeySizeBytes, ValueBytesMax: cfg.Limits.MaxValueSizeBytes,
			KeysPerWriteMax: cfg.Limits.MaxKeysPerWrite, KeysPerReadMax: cfg.Limits.MaxKeysPerRead},
		Clients: server.ClientLimits{
			OutputBytesHard:    int64(cfg.Limits.ClientOutputBufferHardBytes),
			OutputBytesSoft:    int64(cfg.Limits.ClientOutputBufferSoftBytes),
			OutputSoftDuration: time.Duration(cfg.Limits.ClientOutputBufferSoftSecs) * time.Second,
			InputBytesMax:      int64(cfg.Limits.ClientQueryBufferBytes),
			TotalBytesMax:      int64(cfg.Limits.MaxMemoryClientsBytes),
		},
		Log:       log,
		OnCommand: m.onCommand,
		Auth: server.AuthConfig{
			ProtectedMode: cfg.Auth.ProtectedMode,
			OnAuthFailed:  func(string, string) { m.auth.clientFailures.Inc() },
			OnDenied:      m.auth.denied.Inc,
		},
	}, clusterHost{Host: h, cfg: cfg}, info)
	info.srv = srv
	m.registerGauges(h, srv, tr)

	serveErr := make(chan error, 3)
	go func() { serveErr <- srv.Serve(clientLn) }()
	var admin *http.Server
	if adminLn != nil {
		mux := adminMux(h, m, cfg)
		addOpsEndpoints(mux, h, cfg)
		addClusterEndpoints(mux, clusterHost{Host: h, cfg: cfg}, adminWait(cfg))
		if cfg.Test.ClockControl {
			mux.HandleFunc("/test/clock", clockControl(clock, log))
		}
		token, err := cfg.Auth.Token()
		if err != nil {
			return err
		}
		admin = &http.Server{Handler: refuseBrowsers(requireToken(mux, token, m.auth.adminFailures)), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := admin.Serve(adminLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				serveErr <- err
			}
		}()
	}
	if cfg.Cluster.JoinAddr != "" {
		go func() {
			// A refusal for good stops the process: it would otherwise
			// go on dialling the peers under an id it may not have.
			if err := askToBeAdded(ctx, cfg, self.ownClientAddr(), log); err != nil {
				serveErr <- err
			}
		}()
	}
	log.Info("seshat node serving", "version", Version, "clients", addrOf(lns.client), "tls_clients", addrOf(lns.clientTLS),
		"internal", tr.Addr().String(), "admin", cfg.Node.AdminAddr, "tick", tick, "election_ticks", electionTicks)
	if ready != nil {
		ready()
	}

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case runErr = <-serveErr:
		log.Error("server failed; shutting down", "err", runErr)
	}
	_ = srv.Close()
	if err := h.Close(); err != nil && runErr == nil {
		runErr = fmt.Errorf("close node: %w", err)
	}
	_ = tr.Close()
	if admin != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = admin.Shutdown(sctx)
		cancel()
	}
	log.Info("stopped")
	return runErr
}

// stopReason names why the node cannot serve: its own StopReason, or
// "stalled" while its host goroutine is stuck.
func stopReason(h *realenv.Host) string {
	if r := h.Status().StopReason; r != "" {
		return r
	}
	if h.Stalled() > 0 {
		return "stalled"
	}
	return ""
}

func isEmptyDir(dir string) bool {
	entries, err := os.ReadDir(dir)
	return err != nil || len(entries) == 0
}

// holdsNoData reports whether dir holds no member's data: nothing at all,
// or a store that never received any (a first start killed while it
// probed, or a joiner that drew its identity). Such a start can only ask
// the join address, as a first start does: its own records name no
// member, and falling back to them left it refused at open, or, as a
// joiner, asking nobody (review6).
func holdsNoData(dir string) bool {
	if isEmptyDir(dir) {
		return true
	}
	s, err := storage.Open(vfs.Default, dir, quietStoreLog{}, storage.Options{})
	if err != nil {
		return false // the real open says what is wrong
	}
	empty := s.IsEmpty()
	_ = s.Close()
	return empty
}

// Status is the JSON that /status serves.
type Status struct {
	ID       uint64 `json:"id"`
	Term     uint64 `json:"term"`
	Leader   uint64 `json:"leader"`
	IsLeader bool   `json:"is_leader"`
	Commit   uint64 `json:"commit"`
	Applied  uint64 `json:"applied"`
	Stopped  bool   `json:"stopped"`
	Ready    bool   `json:"ready"`

	// Membership: Role is discovering (empty disk, asking the peers),
	// joining (rejoining under a new identity, no data yet), learner,
	// voter, removed or replaced. Identity is 0 for a member of the first
	// configuration, and new each time the node rejoins with an empty disk.
	Role              string   `json:"role"`
	Identity          string   `json:"identity"`
	Voters            []uint64 `json:"voters"`
	Learners          []uint64 `json:"learners"`
	MembershipChanges int      `json:"membership_changes"`

	// The log and its snapshots: the log starts after SnapshotIndex and
	// holds LogEntries entries. SnapshotsTaken (log compactions) and
	// SnapshotsInstalled (received from a leader) count since this
	// process started.
	SnapshotIndex      uint64 `json:"snapshot_index"`
	LogEntries         uint64 `json:"log_entries"`
	SnapshotsTaken     int    `json:"snapshots_taken"`
	SnapshotsInstalled int    `json:"snapshots_installed"`
}

func statusOf(h *realenv.Host) Status {
	st := h.Status()
	return Status{
		ID: st.ID, Term: st.Term, Leader: st.Lead, IsLeader: st.IsLeader, Commit: st.Commit,
		Applied: st.Applied, Stopped: st.Stopped,
		Ready: !st.Stopped && st.Lead != 0 && (st.Role == "voter" || st.Role == "learner"),
		Role:  st.Role, Identity: fmt.Sprintf("%016x", st.Identity),
		Voters: append([]uint64{}, st.Voters...), Learners: append([]uint64{}, st.Learners...),
		MembershipChanges: st.MembershipChanges,
		SnapshotIndex:     st.SnapshotIndex, LogEntries: st.LogEntries,
		SnapshotsTaken: st.SnapshotsTaken, SnapshotsInstalled: st.SnapshotsInstalled,
	}
}

func adminMux(h *realenv.Host, m *metrics, cfg Config) *http.ServeMux {
	mux := http.NewServeMux()
	// /ready: a member that knows a leader, so client requests can succeed.
	mux.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) {
		st := statusOf(h)
		if err := h.Health(); err != nil {
			http.Error(w, "not ready: node stopped ("+stopReason(h)+"): "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		if !st.Ready {
			reason := "no leader known"
			switch {
			case st.Stopped:
				reason = "node stopped after a storage failure"
			case st.Role != "voter" && st.Role != "learner":
				reason = "node is " + st.Role
			}
			http.Error(w, "not ready: "+reason, http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready: leader "+strconv.FormatUint(st.Leader, 10)+"\n")
	})
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(statusOf(h))
	})
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	return mux
}

// serverInfo answers INFO with the sections after the executor's own
// Server section.
type serverInfo struct {
	cfg     Config
	host    *realenv.Host
	srv     *server.Server
	started time.Time
}

func joinIDs(ids []uint64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatUint(id, 10)
	}
	return strings.Join(parts, ",")
}
