package realenv

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"
)

// TestReviewTLSHelloFloodFromOtherAddr (review of
// issue 16, r6-tls): the redialling attacker of
// TestRedialingAttackerDoesNotLockOutATLSPeer, on the peers' own address
// (loopback), but each of its connections starts a TLS handshake (a
// ClientHello, no certificate), so the acceptor spends a signature on
// every one instead of waiting on a silent socket. The real peer's
// handshake must still finish before PendingMax newer connections
// displace it.
func TestReviewTLSHelloFloodFromOtherAddr(t *testing.T) {
	floodedTLSPeerGetsThrough(t, 300*time.Millisecond, (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).Dial, func(raw net.Conn) {
		c := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
		_ = c.Handshake() // the acceptor signs, then asks for a certificate we do not send
		_, _ = io.Copy(io.Discard, raw)
	})
}
