package realenv

import (
	"crypto/tls"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/seshat-db/seshat/internal/testpki"
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
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
				raw, err := d.Dial("tcp", b.Addr().String())
				if err != nil {
					time.Sleep(time.Millisecond)
					continue
				}
				go func() { <-stop; raw.Close() }()
				c := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
				_ = c.Handshake() // the acceptor signs, then asks for a certificate we do not send
				_, _ = io.Copy(io.Discard, raw)
				raw.Close()
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	a := tlsTransport(t, 1, "", nodeCert(t, ca, 1), map[uint64]string{2: b.Addr().String()}, make(chan []byte), &log)
	expectDelivered(t, a, 2, got)
	t.Logf("the TLS peer got through in %v; %d attacker connections displaced", time.Since(start), b.Refused())
}
