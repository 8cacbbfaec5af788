package realenv

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/seshat-db/seshat/internal/testpki"
)

// TestReviewTLSHelloFloodFromLoopbackDoesNotLockOutAPeer (review of
// issue 16, r6-tls): the redialling attacker of
// TestRedialingAttackerDoesNotLockOutATLSPeer, on the peers' own address
// (loopback), but each of its connections starts a TLS handshake (a
// ClientHello, no certificate), so the acceptor spends a signature on
// every one instead of waiting on a silent socket. The real peer's
// handshake must still finish before PendingMax newer connections
// displace it.
func TestReviewTLSHelloFloodFromLoopbackDoesNotLockOutAPeer(t *testing.T) {
	floodedTLSPeerGetsThrough(t, 300*time.Millisecond, net.Dial, func(raw net.Conn) {
		c := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
		_ = c.Handshake() // the acceptor signs, then asks for a certificate we do not send
		_, _ = io.Copy(io.Discard, raw)
	})
}

// TestReviewExpiredPeerCertificatesAreRefused: an expired certificate of
// the cluster CA for the right node is refused on both sides (no test
// covered expiry).
func TestReviewExpiredPeerCertificatesAreRefused(t *testing.T) {
	ca := testpki.NewCA(t, "cluster")
	expired := func(id uint64) *PeerTLS {
		leaf := ca.Issue(t, testpki.Spec{Name: "old", URIs: []string{NodeURI(id)}, NotAfter: time.Now().Add(-time.Minute)})
		return &PeerTLS{Cert: leaf.TLS, CA: ca.Pool()}
	}
	t.Run("dialer", func(t *testing.T) {
		var log logBuf
		got := make(chan []byte, 1)
		b := tlsTransport(t, 2, "", nodeCert(t, ca, 2), map[uint64]string{1: "127.0.0.1:1"}, got, &log)
		a := tlsTransport(t, 1, "", expired(1), map[uint64]string{2: b.Addr().String()}, make(chan []byte), &log)
		a.Send(2, []byte("x"))
		expectNothing(t, got, "a dialer with an expired certificate")
	})
	t.Run("acceptor", func(t *testing.T) {
		var log logBuf
		got := make(chan []byte, 1)
		b := tlsTransport(t, 2, "", expired(2), map[uint64]string{1: "127.0.0.1:1"}, got, &log)
		a := tlsTransport(t, 1, "", nodeCert(t, ca, 1), map[uint64]string{2: b.Addr().String()}, make(chan []byte), &log)
		a.Send(2, []byte("x"))
		expectNothing(t, got, "an acceptor with an expired certificate")
	})
}
