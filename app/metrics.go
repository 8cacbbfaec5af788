package app

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/seshat-db/seshat/kv"
	"github.com/seshat-db/seshat/realenv"
	"github.com/seshat-db/seshat/server"
)

// metrics is one node's Prometheus collectors, in a registry of its own so
// that several nodes can share a process (cmd/seshat-cluster).
type metrics struct {
	reg       *prometheus.Registry
	ops       *prometheus.CounterVec
	opLatency *prometheus.HistogramVec
	commands  *prometheus.CounterVec
	auth      *authMetrics // auth.go
	fsync     prometheus.Histogram
	process   prometheus.Histogram
	etcdLike  *opsMetrics // metrics_ops.go
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "seshat_node_ops_total",
			Help: "Client operations finished by the node, by kind (read ops go through ReadIndex, write ops are raft proposals) and result.",
		}, []string{"op", "kind", "result"}),
		opLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "seshat_node_op_duration_seconds",
			Help:    "Time from submitting an operation to the node until its answer; kind=read is the ReadIndex latency, kind=write the proposal-to-apply latency.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18),
		}, []string{"kind"}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "seshat_client_commands_total",
			Help: "RESP commands answered, by command name and result (ok or error).",
		}, []string{"command", "result"}),
		fsync: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "seshat_fsync_duration_seconds",
			Help:    "Duration of each file sync Pebble performs.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 18),
		}),
		process: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "seshat_node_process_duration_seconds",
			Help:    "Duration of each Node.Process call (persist, send, apply, answer) on the host goroutine.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 18),
		}),
	}
	m.reg.MustRegister(m.ops, m.opLatency, m.commands, m.fsync, m.process,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.etcdLike = newOpsMetrics(m.reg)
	m.auth = newAuthMetrics(m.reg)
	return m
}

// knownCommands keeps the command label's cardinality bounded: anything a
// client types that is not here counts as "other".
var knownCommands = map[string]bool{
	"get": true, "set": true, "del": true, "exists": true, "ping": true, "command": true, "hello": true,
	"client": true, "select": true, "config": true, "info": true, "echo": true, "quit": true, "dbsize": true,
	"mget": true, "mset": true, "incr": true, "incrby": true, "decr": true, "decrby": true, "append": true,
	"strlen": true, "setnx": true, "getdel": true, "cluster": true,
}

func (m *metrics) onCommand(name string, isErr bool) {
	if !knownCommands[name] {
		name = "other"
	}
	result := "ok"
	if isErr {
		result = "error"
	}
	m.commands.WithLabelValues(name, result).Inc()
}

func (m *metrics) onOpDone(k kv.Kind, took time.Duration, err error) {
	kind := "write"
	if k.IsRead() {
		kind = "read"
	}
	result := "ok"
	if err != nil {
		// The first word of a node error is its Redis error code
		// (NOQUORUM, UNKNOWN, TRYAGAIN, ERR): a bounded label.
		result = firstWord(err.Error())
	}
	m.ops.WithLabelValues(k.String(), kind, result).Inc()
	if kind == "write" && err != nil {
		m.etcdLike.proposalsFailed.Inc()
	}
	m.opLatency.WithLabelValues(kind).Observe(took.Seconds())
}

func firstWord(s string) string {
	for i, c := range s {
		if c == ' ' {
			return s[:i]
		}
	}
	return s
}

// registerGauges adds the gauges read from the node's status, the server
// and the transport at scrape time.
func (m *metrics) registerGauges(h *realenv.Host, srv *server.Server, tr *realenv.Transport) {
	gauge := func(name, help string, f func() float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
	}
	counter := func(name, help string, f func() float64) {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
	}
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	gauge("seshat_raft_term", "Current raft term.", func() float64 { return float64(h.Status().Term) })
	gauge("seshat_raft_leader_id", "Raft leader this node knows of (0: none).", func() float64 { return float64(h.Status().Lead) })
	gauge("seshat_raft_is_leader", "1 if this node is the raft leader.", func() float64 { return b2f(h.Status().IsLeader) })
	gauge("seshat_raft_commit_index", "Raft commit index.", func() float64 { return float64(h.Status().Commit) })
	gauge("seshat_raft_applied_index", "Index of the last entry applied (durably) to the state machine.", func() float64 { return float64(h.Status().Applied) })
	gauge("seshat_raft_snapshot_index", "Index of the log's base: the last entry compacted into the state machine's snapshot.", func() float64 { return float64(h.Status().SnapshotIndex) })
	gauge("seshat_raft_log_entries", "Entries in the raft log after the snapshot index.", func() float64 { return float64(h.Status().LogEntries) })
	gauge("seshat_node_requests_inflight", "Client requests waiting inside the node.", func() float64 { return float64(h.Status().Inflight) })
	gauge("seshat_raft_is_voter", "1 if this node is a voting member under its own identity.", func() float64 { return b2f(h.Status().Role == "voter") })
	gauge("seshat_raft_voters", "Voters in the membership this node has applied.", func() float64 { return float64(len(h.Status().Voters)) })
	gauge("seshat_node_stopped", "1 if the node fail-stopped after a storage failure.", func() float64 { return b2f(h.Status().Stopped) })
	// Like etcd's NOSPACE alarm: why the node refuses, one series per reason.
	for _, reason := range []string{"nospace", "damaged", "failed", "stalled"} {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "seshat_node_alarm", Help: "1 while the node refuses to serve for this reason: nospace (disk full), damaged (data damaged), failed (a write failed), stalled (blocked in storage).",
			ConstLabels: prometheus.Labels{"reason": reason},
		}, func() float64 { return b2f(stopReason(h) == reason) }))
	}
	counter("seshat_requests_expired_by_watchdog_total", "Client requests answered by the wall-clock deadline because the node did not answer (it was blocked).", func() float64 { return float64(h.ExpiredByWatchdog()) })
	gauge("seshat_client_connections", "Open client connections.", func() float64 { return float64(srv.Clients()) })
	counter("seshat_client_connections_rejected_total", "Client connections refused at the connection limit.", func() float64 { return float64(srv.Rejected()) })
	gauge("seshat_client_buffer_bytes", "Bytes all client connections hold: unanswered commands, unwritten replies, read buffers (bounded by limits.maxmemory_clients_bytes).", func() float64 { return float64(srv.LimitStats().BufferBytes) })
	counter("seshat_client_output_limit_closed_total", "Client connections closed for passing the output buffer limit (hard, or soft for its seconds).", func() float64 { return float64(srv.LimitStats().OutputLimitClosed) })
	counter("seshat_client_evicted_total", "Client connections closed, biggest first, because all clients together held more than limits.maxmemory_clients_bytes.", func() float64 { return float64(srv.LimitStats().Evicted) })
	counter("seshat_client_input_paused_total", "Times a client connection was not read for memory: its unanswered commands at limits.client_query_buffer_bytes, or all clients near the total bound.", func() float64 { return float64(srv.LimitStats().InputPauses) })
	counter("seshat_raft_snapshots_taken_total", "Snapshots taken by compacting the log, since the process started.", func() float64 { return float64(h.Status().SnapshotsTaken) })
	counter("seshat_raft_snapshots_installed_total", "Snapshots received from a leader and installed, since the process started.", func() float64 { return float64(h.Status().SnapshotsInstalled) })
	counter("seshat_raft_membership_changes_total", "Membership changes applied, since the process started.", func() float64 { return float64(h.Status().MembershipChanges) })
	counter("seshat_peer_stale_identity_dropped_total", "Peer messages dropped for naming a retired identity of their sender, or (at a joiner) not the joiner's new identity.", func() float64 { return float64(h.Status().DroppedStale) })
	counter("seshat_peer_inbound_dropped_total", "Peer messages dropped because the host's queue was full.", func() float64 { return float64(h.DroppedPeerMessages()) })
	m.reg.MustRegister(&peerCollector{tr: tr})
	m.registerOpsGauges(h)
}

var (
	peerSentDesc    = prometheus.NewDesc("seshat_peer_messages_sent_total", "Raft messages written to a peer.", []string{"peer"}, nil)
	peerDroppedDesc = prometheus.NewDesc("seshat_peer_messages_dropped_total", "Raft messages to a peer dropped (queue full or too large).", []string{"peer"}, nil)
	peerUpDesc      = prometheus.NewDesc("seshat_peer_connected", "1 while the outbound connection to a peer is up.", []string{"peer"}, nil)
	peerReconnDesc  = prometheus.NewDesc("seshat_peer_reconnects_total", "Outbound connections to a peer made after the first one.", []string{"peer"}, nil)
	peerSilentDesc  = prometheus.NewDesc("seshat_peer_link_silences_total", "Connections to or from a peer closed because they carried nothing (no frame, no pong) for an election timeout.", []string{"peer"}, nil)
)

type peerCollector struct{ tr *realenv.Transport }

func (c *peerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- peerSentDesc
	ch <- peerDroppedDesc
	ch <- peerUpDesc
	ch <- peerReconnDesc
	ch <- peerSilentDesc
	ch <- peerBytesSentDesc
	ch <- peerBytesRecvDesc
}

func (c *peerCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.tr.Stats() {
		id := strconv.FormatUint(p.ID, 10)
		up := 0.0
		if p.Connected {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(peerSentDesc, prometheus.CounterValue, float64(p.Sent), id)
		ch <- prometheus.MustNewConstMetric(peerDroppedDesc, prometheus.CounterValue, float64(p.Dropped), id)
		ch <- prometheus.MustNewConstMetric(peerUpDesc, prometheus.GaugeValue, up, id)
		ch <- prometheus.MustNewConstMetric(peerReconnDesc, prometheus.CounterValue, float64(p.Reconnects), id)
		ch <- prometheus.MustNewConstMetric(peerSilentDesc, prometheus.CounterValue, float64(p.Silences), id)
		ch <- prometheus.MustNewConstMetric(peerBytesSentDesc, prometheus.CounterValue, float64(p.BytesSent), id)
		ch <- prometheus.MustNewConstMetric(peerBytesRecvDesc, prometheus.CounterValue, float64(p.BytesReceived), id)
	}
}
