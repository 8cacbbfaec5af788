// Tests that a peer link cut by a dropping network comes back soon after
// the network heals, however long the cut lasted: the defect was a node
// that took about as long as its partition to serve again, because a
// connection whose packets were dropped stayed in use until TCP's
// backed-off retransmission got through.
package realenv

import (
	"encoding/binary"
	"flag"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seshat-db/seshat/internal/faultproxy"
)

var healCuts = flag.String("heal.cuts", "3s", "comma-separated partition lengths for TestPeerLinkHealsAfterCut (the issue's measure: 5s,30s,120s)")

// linkPair is two transports whose every byte passes a fault proxy.
type linkPair struct {
	tr      [2]*Transport
	proxy   [2]*faultproxy.Proxy // proxy[i] carries i's connection to the other
	lastGot [2]atomic.Uint64     // lastGot[i]: the newest sequence number i received
}

func newLinkPair(t *testing.T, silence time.Duration) *linkPair {
	t.Helper()
	lp := &linkPair{}
	var ln [2]net.Listener
	for i := range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln[i] = l
	}
	for i := range 2 {
		p, err := faultproxy.New("127.0.0.1:0", ln[1-i].Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		lp.proxy[i] = p
		t.Cleanup(func() { p.Close() })
	}
	for i := range 2 {
		id, other := uint64(i+1), uint64(2-i)
		tr, err := NewTransport(TransportConfig{
			ID: id, ClusterID: "heal", Peers: map[uint64]string{other: lp.proxy[i].Addr()}, Listener: ln[i],
			SilenceTimeout: silence,
			Log:            slog.New(slog.NewTextHandler(&strings.Builder{}, nil)),
			Deliver: func(_ uint64, m []byte) {
				seq := binary.BigEndian.Uint64(m)
				for {
					old := lp.lastGot[i].Load()
					if seq <= old || lp.lastGot[i].CompareAndSwap(old, seq) {
						return
					}
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Start(); err != nil {
			t.Fatal(err)
		}
		lp.tr[i] = tr
		t.Cleanup(func() { tr.Close() })
	}
	return lp
}

// sendEvery has both sides send a growing sequence number every 20 ms, as
// raft's heartbeats would, until stop closes; seq is the newest sent.
func (lp *linkPair) sendEvery(stop chan struct{}, seq *atomic.Uint64) {
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			n := seq.Add(1)
			msg := binary.BigEndian.AppendUint64(nil, n)
			lp.tr[0].Send(2, msg)
			lp.tr[1].Send(1, msg)
		}
	}()
}

// healTime cuts both directions for cut, heals, and returns how long after
// the heal a message sent after it reached each side (or limit).
func (lp *linkPair) healTime(t *testing.T, cut, limit time.Duration) time.Duration {
	var seq atomic.Uint64
	stop := make(chan struct{})
	defer close(stop)
	lp.sendEvery(stop, &seq)
	waitFor(t, 5*time.Second, func() bool { return lp.lastGot[0].Load() > 0 && lp.lastGot[1].Load() > 0 })
	for _, p := range lp.proxy {
		p.Block(true, true)
	}
	time.Sleep(cut)
	for _, p := range lp.proxy {
		p.Heal()
	}
	healed := time.Now()
	mark := seq.Load()
	for time.Since(healed) < limit {
		if lp.lastGot[0].Load() > mark && lp.lastGot[1].Load() > mark {
			return time.Since(healed)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return limit
}

func waitFor(t *testing.T, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPeerLinkHealsAfterCut measures, for each cut length in -heal.cuts,
// how long after the heal both directions carry messages again. The
// issue's target is 2 s for the node to serve; the link's part of that is
// one silence timeout (1 s) plus a redial. The bound asserted here is
// looser, so a loaded CI machine does not fail it; the time is logged.
func TestPeerLinkHealsAfterCut(t *testing.T) {
	for _, s := range strings.Split(*healCuts, ",") {
		cut, err := time.ParseDuration(s)
		if err != nil {
			t.Fatal(err)
		}
		lp := newLinkPair(t, time.Second)
		got := lp.healTime(t, cut, 10*time.Second)
		t.Logf("cut %s: both directions carried messages again %s after the heal", cut, got.Round(time.Millisecond))
		if got >= 10*time.Second {
			t.Fatalf("after a %s cut the link had not healed 10 s after the network did", cut)
		}
		st := lp.tr[0].Stats()[0]
		if st.Silences == 0 || st.Reconnects == 0 {
			t.Fatalf("stats %+v: the cut should have counted a silence and a reconnect", st)
		}
	}
}

// TestPeerLinkWithoutSilenceDetectionStaysStuck shows the proxy reproduces
// the defect: with silence detection off (a timeout longer than the test),
// a link cut for two seconds does not carry messages in the five seconds
// after the heal.
func TestPeerLinkWithoutSilenceDetectionStaysStuck(t *testing.T) {
	lp := newLinkPair(t, time.Hour)
	if got := lp.healTime(t, 2*time.Second, 5*time.Second); got < 5*time.Second {
		t.Fatalf("the link healed after %s with silence detection off: the proxy does not model a stuck TCP connection", got)
	}
}
