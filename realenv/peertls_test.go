package realenv

import (
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seshat-db/seshat/internal/testpki"
)

// Peer mutual TLS (peertls.go): each attack of issue 16 on an mTLS peer
// port is refused, logged, and gets no message through.

func nodeCert(t *testing.T, ca *testpki.CA, id uint64) *PeerTLS {
	t.Helper()
	leaf := ca.Issue(t, testpki.Spec{Name: "node", URIs: []string{NodeURI(id)}})
	p, err := LoadPeerTLS(id, leaf.CertFile, leaf.KeyFile, ca.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// forgedCert is node claimed's certificate as an attacker would hold it:
// loaded without LoadPeerTLS's checks, which the attacker need not run.
func forgedCert(t *testing.T, ca, trusted *testpki.CA, names uint64) *PeerTLS {
	t.Helper()
	leaf := ca.Issue(t, testpki.Spec{Name: "attacker", URIs: []string{NodeURI(names)}})
	return &PeerTLS{Cert: leaf.TLS, CA: trusted.Pool()}
}

func tlsTransport(t *testing.T, id uint64, secret string, p *PeerTLS, peers map[uint64]string, got chan []byte, log *logBuf) *Transport {
	t.Helper()
	tr, err := NewTransport(TransportConfig{
		ID: id, ClusterID: "c", Secret: []byte(secret), TLS: p, Peers: peers, Listen: "127.0.0.1:0",
		Log: slog.New(slog.NewTextHandler(log, nil)),
		Deliver: func(_ uint64, m []byte) {
			select {
			case got <- m:
			default:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func expectDelivered(t *testing.T, a *Transport, to uint64, got chan []byte) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a.Send(to, []byte("real"))
		select {
		case m := <-got:
			if string(m) != "real" {
				t.Fatalf("got %q", m)
			}
			return
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("a real peer got nothing through in 10 s")
		}
	}
}

func expectNothing(t *testing.T, got chan []byte, what string) {
	t.Helper()
	select {
	case m := <-got:
		t.Fatalf("%q delivered from %s", m, what)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestPeerMutualTLS: two nodes with certificates of the cluster CA talk,
// with and without a cluster secret as well.
func TestPeerMutualTLS(t *testing.T) {
	ca := testpki.NewCA(t, "cluster")
	for _, secret := range []string{"", "0123456789abcdef"} {
		var log logBuf
		got := make(chan []byte, 1)
		b := tlsTransport(t, 2, secret, nodeCert(t, ca, 2), map[uint64]string{1: "127.0.0.1:1"}, got, &log)
		a := tlsTransport(t, 1, secret, nodeCert(t, ca, 1), map[uint64]string{2: b.Addr().String()}, make(chan []byte), &log)
		expectDelivered(t, a, 2, got)
		if strings.Contains(log.String(), "no cluster secret is configured") {
			t.Errorf("secret %q: warned of no secret with TLS on:\n%s", secret, log.String())
		}
	}
}

// TestPeerTLSAttacksAreRefused: a plaintext peer (even one holding the
// secret), a certificate of a foreign CA, and a certificate of the
// cluster CA for another node id are each refused, logged, and deliver
// nothing.
func TestPeerTLSAttacksAreRefused(t *testing.T) {
	const secret = "0123456789abcdef"
	ca := testpki.NewCA(t, "cluster")
	foreign := testpki.NewCA(t, "foreign")
	for _, tc := range []struct {
		name   string
		dialer func(addr string, log *logBuf) *Transport
		logged string
	}{
		{"plaintext with the secret", func(addr string, log *logBuf) *Transport {
			return secretTransport(t, 1, secret, map[uint64]string{2: addr}, make(chan []byte), log)
		}, "first record does not look like a TLS handshake"},
		{"foreign CA", func(addr string, log *logBuf) *Transport {
			return tlsTransport(t, 1, secret, forgedCert(t, foreign, ca, 1), map[uint64]string{2: addr}, make(chan []byte), log)
		}, "certificate signed by unknown authority"},
		{"another node's certificate", func(addr string, log *logBuf) *Transport {
			// Node 3 is a member; its certificate must not speak for node 1.
			return tlsTransport(t, 1, secret, nodeCert(t, ca, 3), map[uint64]string{2: addr}, make(chan []byte), log)
		}, "its certificate names node 3 but its hello claims node 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log logBuf
			got := make(chan []byte, 1)
			b := tlsTransport(t, 2, secret, nodeCert(t, ca, 2), map[uint64]string{1: "127.0.0.1:1", 3: "127.0.0.1:1"}, got, &log)
			a := tc.dialer(b.Addr().String(), &log)
			a.Send(2, []byte("forged"))
			for deadline := time.Now().Add(5 * time.Second); !strings.Contains(log.String(), tc.logged); time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("no refusal for %q logged in 5 s:\n%s", tc.logged, log.String())
				}
			}
			expectNothing(t, got, tc.name)
			time.Sleep(300 * time.Millisecond) // the dialer retries meanwhile
			if n := strings.Count(log.String(), "refused an inbound peer connection"); n != 1 {
				t.Errorf("refusals logged %d times, want once for the one source:\n%s", n, log.String())
			}
			if b.Refused() < 2 {
				t.Errorf("Refused() = %d, want the dialer's retries counted", b.Refused())
			}
		})
	}
}

// TestPeerTLSDialerChecksTheAcceptor: a node that answers with a
// certificate for another id (an attacker holding node 3's certificate
// listening where node 2 should be) gets no message.
func TestPeerTLSDialerChecksTheAcceptor(t *testing.T) {
	ca := testpki.NewCA(t, "cluster")
	var log logBuf
	got := make(chan []byte, 1)
	impostor := tlsTransport(t, 2, "", forgedCert(t, ca, ca, 3), map[uint64]string{1: "127.0.0.1:1"}, got, &log)
	a := tlsTransport(t, 1, "", nodeCert(t, ca, 1), map[uint64]string{2: impostor.Addr().String()}, make(chan []byte), &log)
	a.Send(2, []byte("for node 2"))
	eventually(t, "the dialer's refusal", func() bool {
		return strings.Contains(log.String(), "the certificate names node 3, not node 2")
	})
	expectNothing(t, got, "a dialer that refused the acceptor's certificate")
}

// TestPlaintextCallerOnPeerTLSPortIsToldNothing: what a caller without
// TLS reads back names neither the cluster nor the node, and the
// connection is closed, not left open.
func TestPlaintextCallerOnPeerTLSPortIsToldNothing(t *testing.T) {
	ca := testpki.NewCA(t, "cluster")
	var log logBuf
	b := tlsTransport(t, 2, "", nodeCert(t, ca, 2), map[uint64]string{1: "127.0.0.1:1"}, make(chan []byte, 1), &log)
	plain := &Transport{clusterHash: ClusterHash("c"), cfg: TransportConfig{ID: 1}}
	c, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write(plain.hello(2))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	answer, err := io.ReadAll(c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the connection was left open")
	}
	if strings.Contains(string(answer), "c") && len(answer) > 7 {
		t.Fatalf("the refusal said %q", answer)
	}
	t.Logf("a plaintext hello read back %d bytes: %x", len(answer), answer)
}

// TestRedialingAttackerDoesNotLockOutATLSPeer is the redialling attacker
// against an mTLS port: a peer's TLS handshake takes longer than the
// HMAC one, and must still finish before it is displaced.
func TestRedialingAttackerDoesNotLockOutATLSPeer(t *testing.T) {
	floodedTLSPeerGetsThrough(t, 200*time.Millisecond, net.Dial, func(c net.Conn) {
		_, _ = io.Copy(io.Discard, c)
	})
}

// floodedTLSPeerGetsThrough: 256 attackers redial node 2's mTLS port
// with dial, each doing attack on its connection, for settle; then a
// real peer must still get a message through.
func floodedTLSPeerGetsThrough(t *testing.T, settle time.Duration, dial func(network, addr string) (net.Conn, error), attack func(net.Conn)) {
	ca := testpki.NewCA(t, "cluster")
	var log logBuf
	got := make(chan []byte, 1)
	b := tlsTransport(t, 2, "", nodeCert(t, ca, 2), map[uint64]string{1: "127.0.0.1:1"}, got, &log)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(stop); wg.Wait() }()
	for range 4 * 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := dial("tcp", b.Addr().String())
				if err != nil {
					time.Sleep(time.Millisecond)
					continue
				}
				go func() { <-stop; c.Close() }()
				attack(c)
				c.Close()
			}
		}()
	}
	time.Sleep(settle)
	start := time.Now()
	a := tlsTransport(t, 1, "", nodeCert(t, ca, 1), map[uint64]string{2: b.Addr().String()}, make(chan []byte), &log)
	expectDelivered(t, a, 2, got)
	t.Logf("the TLS peer got through in %v; %d attacker connections displaced", time.Since(start), b.Refused())
}

// TestConnectionFloodOnATLSPortIsCapped: 500 idle connections to an mTLS
// port hold at most PendingMax descriptors, and a real peer connects
// through them.
func TestConnectionFloodOnATLSPortIsCapped(t *testing.T) {
	ca := testpki.NewCA(t, "cluster")
	var log logBuf
	got := make(chan []byte, 1)
	b := tlsTransport(t, 2, "", nodeCert(t, ca, 2), map[uint64]string{1: "127.0.0.1:1"}, got, &log)
	var flood []net.Conn
	defer func() {
		for _, c := range flood {
			c.Close()
		}
	}()
	for range 500 {
		c, err := net.Dial("tcp", b.Addr().String())
		if err != nil {
			t.Fatalf("after %d connections: %v", len(flood), err)
		}
		flood = append(flood, c)
	}
	eventually(t, "displacements", func() bool { return b.Refused() >= 500-uint64(b.cfg.PendingMax) })
	b.mu.Lock()
	held := len(b.inbound)
	b.mu.Unlock()
	if held > b.cfg.PendingMax {
		t.Fatalf("the port holds %d connections, cap %d", held, b.cfg.PendingMax)
	}
	a := tlsTransport(t, 1, "", nodeCert(t, ca, 1), map[uint64]string{2: b.Addr().String()}, make(chan []byte), &log)
	expectDelivered(t, a, 2, got)
}
