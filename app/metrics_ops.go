package app

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seshat-db/seshat/node"
	"github.com/seshat-db/seshat/realenv"
	"github.com/seshat-db/seshat/storage"
)

// The metrics an operator coming from etcd looks for: leader changes,
// proposals, peer round trips and bytes, snapshot transfers, the
// database's size and keys, Pebble's compactions and write stalls.
// etcd's names are in the help texts where a family mirrors one.

type opsMetrics struct {
	proposalsFailed prometheus.Counter
	peerRTT         *prometheus.HistogramVec
	snapBytes       *prometheus.HistogramVec
	snapSeconds     *prometheus.HistogramVec
	snapFailed      *prometheus.CounterVec
}

func newOpsMetrics(reg *prometheus.Registry) *opsMetrics {
	o := &opsMetrics{
		proposalsFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "seshat_raft_proposals_failed_total",
			Help: "Client writes (raft proposals) answered with an error: not committed in time, no quorum, refused (etcd_server_proposals_failed_total).",
		}),
		peerRTT: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "seshat_peer_round_trip_time_seconds",
			Help:    "Round trip of a keepalive ping to a peer and its pong, on the raft link (etcd_network_peer_round_trip_time_seconds).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}, []string{"peer"}),
		snapBytes: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "seshat_snapshot_transfer_bytes",
			Help:    "Data of each snapshot transfer that succeeded, by direction (sent by a leader, received by a follower).",
			Buckets: prometheus.ExponentialBuckets(1<<10, 4, 12),
		}, []string{"direction"}),
		snapSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "seshat_snapshot_transfer_duration_seconds",
			Help:    "Duration of each snapshot transfer that succeeded, first chunk to last ack or install, counted in node ticks (etcd_network_snapshot_send_total_duration_seconds).",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}, []string{"direction"}),
		snapFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "seshat_snapshot_transfer_failed_total",
			Help: "Snapshot transfers given up, by direction.",
		}, []string{"direction"}),
	}
	reg.MustRegister(o.proposalsFailed, o.peerRTT, o.snapBytes, o.snapSeconds, o.snapFailed)
	// Both directions exist from the start, so dashboards and alerts
	// see zeros rather than no series.
	for _, dir := range []string{"sent", "received"} {
		o.snapBytes.WithLabelValues(dir)
		o.snapSeconds.WithLabelValues(dir)
		o.snapFailed.WithLabelValues(dir)
	}
	return o
}

func (o *opsMetrics) onPeerRTT(peer uint64, rtt time.Duration) {
	o.peerRTT.WithLabelValues(strconv.FormatUint(peer, 10)).Observe(rtt.Seconds())
}

func (o *opsMetrics) onSnapshotTransfer(tick time.Duration) func(node.SnapshotTransfer) {
	return func(t node.SnapshotTransfer) {
		dir := "sent"
		if t.Received {
			dir = "received"
		}
		if !t.OK {
			o.snapFailed.WithLabelValues(dir).Inc()
			return
		}
		o.snapBytes.WithLabelValues(dir).Observe(float64(t.Bytes))
		o.snapSeconds.WithLabelValues(dir).Observe((time.Duration(t.Ticks) * tick).Seconds())
	}
}

// registerOpsGauges adds the families read from the node's status.
func (m *metrics) registerOpsGauges(h *realenv.Host) {
	gauge := func(name, help string, f func() float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
	}
	counter := func(name, help string, f func() float64) {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
	}
	gauge("seshat_raft_has_leader", "1 if this node knows a leader (etcd_server_has_leader).", func() float64 {
		if h.Status().Lead != 0 {
			return 1
		}
		return 0
	})
	counter("seshat_raft_leader_changes_seen_total", "Leaders this node saw take over, since the process started (etcd_server_leader_changes_seen_total).", func() float64 { return float64(h.Status().LeaderChanges) })
	counter("seshat_raft_proposals_committed_total", "Raft entries committed: the commit index (etcd_server_proposals_committed_total).", func() float64 { return float64(h.Status().Commit) })
	counter("seshat_raft_proposals_applied_total", "Raft entries applied: the applied index (etcd_server_proposals_applied_total).", func() float64 { return float64(h.Status().Applied) })
	m.reg.MustRegister(&storageCollector{h: h})
}

var (
	dbSizeDesc        = prometheus.NewDesc("seshat_db_size_bytes", "Disk space of the node's Pebble store: tables, WAL, manifest (etcd_mvcc_db_total_size_in_bytes).", nil, nil)
	dbKeysDesc        = prometheus.NewDesc("seshat_db_keys", "Keys in the node's applied state (what DBSIZE answers).", nil, nil)
	compactionsDesc   = prometheus.NewDesc("seshat_pebble_compactions_total", "Pebble compactions finished since the node opened its store.", nil, nil)
	compactSecsDesc   = prometheus.NewDesc("seshat_pebble_compaction_duration_seconds_total", "Time Pebble's finished compactions took, summed.", nil, nil)
	compactDebtDesc   = prometheus.NewDesc("seshat_pebble_compaction_debt_bytes", "Bytes Pebble estimates it must compact to reach a stable shape; growing debt comes before write stalls.", nil, nil)
	compactRunDesc    = prometheus.NewDesc("seshat_pebble_compactions_running", "Pebble compactions in progress.", nil, nil)
	flushesDesc       = prometheus.NewDesc("seshat_pebble_flushes_total", "Memtable flushes since the node opened its store.", nil, nil)
	stallsDesc        = prometheus.NewDesc("seshat_pebble_write_stalls_total", "Write stalls Pebble began (too many memtables or L0 files): writes wait until compactions catch up.", nil, nil)
	stallActiveDesc   = prometheus.NewDesc("seshat_pebble_write_stall_active", "1 while a Pebble write stall is on.", nil, nil)
	l0FilesDesc       = prometheus.NewDesc("seshat_pebble_l0_files", "Files in Pebble's level 0; many of them stall writes.", nil, nil)
	storageStaleDesc  = prometheus.NewDesc("seshat_db_stats_stale", "1 if the storage figures above are from an earlier scrape: the node's goroutine did not answer in time.", nil, nil)
	storageStatsTimer = time.Second
)

// storageCollector reads the store's figures on the node's goroutine
// (Host.Call), the only one that may touch the store; if that goroutine
// is busy past a second, it serves the last figures and says they are
// stale.
type storageCollector struct {
	h    *realenv.Host
	mu   sync.Mutex
	last storage.Stats
	seen bool
}

func (c *storageCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dbSizeDesc, dbKeysDesc, compactionsDesc, compactSecsDesc, compactDebtDesc, compactRunDesc, flushesDesc, stallsDesc, stallActiveDesc, l0FilesDesc, storageStaleDesc} {
		ch <- d
	}
}

func (c *storageCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), storageStatsTimer)
	defer cancel()
	var st storage.Stats
	err := c.h.Call(ctx, func(n *node.Node) { st = n.StorageStats() })
	c.mu.Lock()
	defer c.mu.Unlock()
	stale := 0.0
	if err == nil {
		c.last, c.seen = st, true
	} else {
		stale = 1
	}
	if !c.seen {
		ch <- prometheus.MustNewConstMetric(storageStaleDesc, prometheus.GaugeValue, stale)
		return
	}
	s := c.last
	active := 0.0
	if s.InWriteStall {
		active = 1
	}
	for _, v := range []struct {
		d *prometheus.Desc
		t prometheus.ValueType
		v float64
	}{
		{dbSizeDesc, prometheus.GaugeValue, float64(s.DiskBytes)},
		{dbKeysDesc, prometheus.GaugeValue, float64(s.Keys)},
		{compactionsDesc, prometheus.CounterValue, float64(s.Compactions)},
		{compactSecsDesc, prometheus.CounterValue, s.CompactionDuration.Seconds()},
		{compactDebtDesc, prometheus.GaugeValue, float64(s.CompactionDebtBytes)},
		{compactRunDesc, prometheus.GaugeValue, float64(s.CompactionsRunning)},
		{flushesDesc, prometheus.CounterValue, float64(s.FlushCount)},
		{stallsDesc, prometheus.CounterValue, float64(s.WriteStalls)},
		{stallActiveDesc, prometheus.GaugeValue, active},
		{l0FilesDesc, prometheus.GaugeValue, float64(s.L0Files)},
		{storageStaleDesc, prometheus.GaugeValue, stale},
	} {
		ch <- prometheus.MustNewConstMetric(v.d, v.t, v.v)
	}
}

var (
	peerBytesSentDesc = prometheus.NewDesc("seshat_peer_sent_bytes_total", "Bytes of raft frames written to a peer (etcd_network_peer_sent_bytes_total).", []string{"peer"}, nil)
	peerBytesRecvDesc = prometheus.NewDesc("seshat_peer_received_bytes_total", "Bytes of raft frames read from a peer (etcd_network_peer_received_bytes_total).", []string{"peer"}, nil)
)
