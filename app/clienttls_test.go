package app

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/seshat-db/seshat/internal/testpki"
)

// TestSilentPlaintextClientOnTLSPortIsClosed: a client that connects to
// the TLS port and says nothing is closed after the handshake timeout,
// not held forever.
func TestSilentPlaintextClientOnTLSPortIsClosed(t *testing.T) {
	ca := testpki.NewCA(t, "servers")
	leaf := ca.Issue(t, testpki.Spec{Name: "seshat", DNS: []string{"localhost"}})
	conf, err := TLSConfig{ClientAddr: "127.0.0.1:0", ClientCertFile: leaf.CertFile, ClientKeyFile: leaf.KeyFile}.ClientTLS()
	if err != nil {
		t.Fatal(err)
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &tlsListener{Listener: inner, conf: conf, timeout: 200 * time.Millisecond}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }() // as the server's read loop
		}
	}()
	c, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	_, err = io.ReadAll(c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("a silent client on the TLS port was held for 5 s")
	}
	t.Logf("closed after %v", time.Since(start))
}

func TestTLSConfigIsChecked(t *testing.T) {
	ca := testpki.NewCA(t, "c")
	leaf := ca.Issue(t, testpki.Spec{Name: "s"})
	node := NodeConfig{ID: 1, ClientAddr: "127.0.0.1:6379", InternalAddr: "127.0.0.1:7379"}
	for _, tc := range []struct {
		c    TLSConfig
		want string
	}{
		{TLSConfig{PeerCertFile: leaf.CertFile}, "set peer_cert_file, peer_key_file and peer_ca_file together"},
		{TLSConfig{PeerCertFile: leaf.CertFile, PeerKeyFile: leaf.KeyFile, PeerCAFile: ca.CertFile}, "names no node"},
		{TLSConfig{ClientAddr: "127.0.0.1:6380"}, "needs client_cert_file and client_key_file"},
		{TLSConfig{ClientAddr: "127.0.0.1:6379", ClientCertFile: leaf.CertFile, ClientKeyFile: leaf.KeyFile}, "same port as node.client_addr"},
		{TLSConfig{ClientAddr: "127.0.0.1:6380", ClientCertFile: leaf.CertFile, ClientKeyFile: leaf.KeyFile, ClientAuth: "yes please"}, "use none, request or require"},
		{TLSConfig{ClientAddr: "127.0.0.1:6380", ClientCertFile: leaf.CertFile, ClientKeyFile: leaf.KeyFile, ClientAuth: "require"}, "needs the CA"},
		{TLSConfig{ClientCertFile: leaf.CertFile}, "tls.client_addr"},
	} {
		err := tc.c.validate(node)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.c, err, tc.want)
		}
	}
	ok := TLSConfig{ClientAddr: "127.0.0.1:6380", ClientCertFile: leaf.CertFile, ClientKeyFile: leaf.KeyFile, ClientCAFile: ca.CertFile}
	if err := ok.validate(node); err != nil {
		t.Errorf("a good config refused: %v", err)
	}
	if ok.clientAuth() != "require" {
		t.Errorf("with a client CA, client_auth defaults to %q, want require (Redis's tls-auth-clients yes)", ok.clientAuth())
	}
}
