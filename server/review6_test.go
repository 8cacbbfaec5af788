package server

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// remoteTLSListener serves TLS, as app's tlsListener does on
// tls.client_addr once s6-tls merges (the handshake runs on the first
// read or write), and makes its first `remote` connections look as if
// they came from another host.
type remoteTLSListener struct {
	net.Listener
	conf   *tls.Config
	remote int32
	n      atomic.Int32
}

type addrTLSConn struct {
	*tls.Conn
	addr net.Addr
}

func (c addrTLSConn) RemoteAddr() net.Addr { return c.addr }

func (l *remoteTLSListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := tls.Server(c, l.conf)
	if l.n.Add(1) <= l.remote {
		return addrTLSConn{tc, &net.TCPAddr{IP: net.ParseIP("203.0.113.9"), Port: 4000}}, nil
	}
	return tc, nil
}

func selfSigned(t *testing.T) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestReviewProtectedModeRefusalDoesNotStallAccept (review of issue 16,
// r6-auth with s6-tls merged): protected mode writes -DENIED in the
// accept loop (refuseUnprotected). On a TLS port that first write runs
// the TLS handshake, which waits for the client's hello with no
// deadline but the write's: a remote client that connects and says
// nothing holds the accept loop, so every client of the node (loopback
// and plaintext included, through the merged listener) waits. Against a
// 3-node cluster of s6-auth+s6-tls, 5 silent connections to
// tls.client_addr from 192.0.2.2 delayed a loopback PING on the
// plaintext port by 9.8 s; an attacker that keeps them coming stops the
// node serving new clients at all.
func TestReviewProtectedModeRefusalDoesNotStallAccept(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &remoteTLSListener{Listener: raw, conf: &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}, remote: 3}
	srv := NewServer(ServerConfig{Auth: AuthConfig{ProtectedMode: true}}, &heldBackend{}, nil)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	for range 3 { // remote, silent
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", raw.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("a loopback client behind 3 silent remote clients cannot even finish its TLS handshake in 3 s: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, err := c.Read(buf)
	if took := time.Since(start); took > time.Second || err != nil {
		t.Fatalf("a loopback client's PING behind 3 silent remote clients: %q %v after %v", buf[:n], err, took)
	}
}

// TestReviewFailedAuthLogIsBounded: every failed AUTH writes a WARN line,
// and AUTH needs no authentication, so one unauthenticated client
// pipelining "AUTH nobody x" turns 33 bytes sent into a ~110-byte log
// line each, without bound (20,000 pipelined attempts added 20,000 lines
// to a node's log). Redis logs none (ACL LOG is in memory and bounded);
// the metric counts them all, the log should say so once in a while.
func TestReviewFailedAuthLogIsBounded(t *testing.T) {
	_, addr, logs := startLimitServer(t, ClientLimits{}, &heldBackend{})
	c, r := dial(t, addr)
	const n = 2000
	if _, err := c.Write(bytes.Repeat([]byte("*3\r\n$4\r\nAUTH\r\n$6\r\nnobody\r\n$1\r\nx\r\n"), n)); err != nil {
		t.Fatal(err)
	}
	for range n {
		if _, err := r.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	if lines := strings.Count(logs.String(), "authentication failed"); lines > 100 {
		t.Errorf("%d failed AUTHs from one client wrote %d log lines", n, lines)
	}
}
