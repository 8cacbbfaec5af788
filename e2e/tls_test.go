package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/seshat-db/seshat/internal/testpki"
	"github.com/seshat-db/seshat/realenv"
)

// tlsCluster is a cluster whose peers speak mutual TLS with a cluster CA
// and whose nodes serve clients over TLS (requiring client certificates
// of the client CA) beside the plaintext port.
type tlsCluster struct {
	*cluster
	peerCA, serverCA, clientCA *testpki.CA
	tlsPort                    map[int]string // node id -> its TLS client address
	client                     testpki.Leaf   // a certificate of the client CA
}

func newTLSCluster(t *testing.T) *tlsCluster {
	c := &tlsCluster{
		cluster:  newCluster(t, buildBinary(t)),
		peerCA:   testpki.NewCA(t, "peers"),
		serverCA: testpki.NewCA(t, "servers"),
		clientCA: testpki.NewCA(t, "clients"),
		tlsPort:  map[int]string{},
	}
	c.client = c.clientCA.Issue(t, testpki.Spec{Name: "app", Usage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	server := c.serverCA.Issue(t, testpki.Spec{Name: "seshat", DNS: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)},
		Usage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	peer := map[int]testpki.Leaf{}
	for _, p := range c.nodes {
		peer[p.id] = c.peerCA.Issue(t, testpki.Spec{Name: "node", URIs: []string{realenv.NodeURI(uint64(p.id))}})
		c.tlsPort[p.id] = freePort(t)
	}
	c.nodeArgs = func(p *proc) []string {
		return []string{
			"-tls.peer_cert_file", peer[p.id].CertFile, "-tls.peer_key_file", peer[p.id].KeyFile, "-tls.peer_ca_file", c.peerCA.CertFile,
			"-tls.client_addr", c.tlsPort[p.id],
			"-tls.client_cert_file", server.CertFile, "-tls.client_key_file", server.KeyFile,
			"-tls.client_ca_file", c.clientCA.CertFile, "-tls.client_auth", "require",
		}
	}
	return c
}

func (c *tlsCluster) tlsClient(p *proc, cert *tls.Certificate) *redis.Client {
	conf := &tls.Config{RootCAs: c.serverCA.Pool(), ServerName: "localhost"}
	if cert != nil {
		// Sent whatever CAs the server names (Go would keep a foreign
		// certificate back), as an attacker's client would.
		conf.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	return redis.NewClient(&redis.Options{
		Addr: c.tlsPort[p.id], TLSConfig: conf, Protocol: 2, DisableIdentity: true,
		MaxRetries: -1, ReadTimeout: 10 * time.Second, DialTimeout: 5 * time.Second,
	})
}

// TestTLS: the cluster forms over peer mutual TLS; go-redis and redis-cli
// --tls work on the TLS port; a plaintext client there gets a prompt
// close; a client with no certificate or a foreign one is refused; the
// plaintext port still serves.
func TestTLS(t *testing.T) {
	c := newTLSCluster(t)
	lead := c.startAll()
	ctx := context.Background()
	p := c.nodes[lead]

	r := c.tlsClient(p, &c.client.TLS)
	defer r.Close()
	if err := r.Set(ctx, "k", "over tls", 0).Err(); err != nil {
		t.Fatalf("SET over TLS: %v", err)
	}
	if v, err := r.Get(ctx, "k").Result(); err != nil || v != "over tls" {
		t.Fatalf("GET over TLS = %q, %v", v, err)
	}
	if v := redisCLI(t, p, "GET", "k"); v != "over tls" {
		t.Fatalf("the plaintext port read %q", v)
	}

	_, port, _ := net.SplitHostPort(c.tlsPort[p.id])
	out, err := exec.Command("redis-cli", "--tls", "--cacert", c.serverCA.CertFile, "--cert", c.client.CertFile, "--key", c.client.KeyFile,
		"-h", "127.0.0.1", "-p", port, "GET", "k").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "over tls" {
		t.Fatalf("redis-cli --tls GET k: %v: %q", err, out)
	}

	// A plaintext client on the TLS port: closed at once, not left hanging.
	conn, err := net.Dial("tcp", c.tlsPort[p.id])
	if err != nil {
		t.Fatal(err)
	}
	_, _ = conn.Write([]byte("*1\r\n$4\r\nPING\r\n"))
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	start := time.Now()
	answer, err := io.ReadAll(conn)
	conn.Close()
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("a plaintext PING on the TLS port was left hanging (read %q)", answer)
	}
	t.Logf("a plaintext PING on the TLS port: closed after %v, having read %q", time.Since(start), answer)
	if strings.Contains(string(answer), "PONG") {
		t.Fatalf("a plaintext client was served on the TLS port: %q", answer)
	}

	// No certificate, and a certificate of a foreign CA: refused.
	foreign := testpki.NewCA(t, "foreign").Issue(t, testpki.Spec{Name: "app", Usage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	for name, cert := range map[string]*tls.Certificate{"no certificate": nil, "a foreign certificate": &foreign.TLS} {
		f := c.tlsClient(p, cert)
		err := f.Get(ctx, "k").Err()
		f.Close()
		if err == nil {
			t.Errorf("a client with %s read k over TLS", name)
		} else {
			t.Logf("a client with %s: %v", name, err)
		}
	}
	out, err = exec.Command("redis-cli", "--tls", "--cacert", c.serverCA.CertFile, "--cert", foreign.CertFile, "--key", foreign.KeyFile,
		"-h", "127.0.0.1", "-p", port, "GET", "k").CombinedOutput()
	if err == nil && strings.Contains(string(out), "over tls") {
		t.Errorf("redis-cli with a foreign certificate read k: %q", out)
	}
}

// TestPlaintextPeerOnMTLSPortIsRefused: against real processes whose
// peers speak mutual TLS, a plaintext peer that holds nothing but the
// protocol is refused without a word, the refusal is logged, and the
// cluster serves on.
func TestPlaintextPeerOnMTLSPortIsRefused(t *testing.T) {
	c := newTLSCluster(t)
	lead := c.startAll()
	target := c.nodes[(lead+1)%3]
	for range 3 {
		conn, err := net.Dial("tcp", target.internal)
		if err != nil {
			t.Fatal(err)
		}
		hello := append([]byte("SSHT"), 0, 4, 0, 0)
		hello = append(hello, make([]byte, 40)...)
		_, _ = conn.Write(hello)
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		answer, err := io.ReadAll(conn)
		conn.Close()
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("a plaintext peer was left hanging")
		}
		if len(answer) != 0 {
			t.Errorf("a plaintext peer was told %q", answer)
		}
	}
	waitFor(t, "the refusal in the log", func() bool {
		b, _ := os.ReadFile(target.logPath)
		return strings.Count(string(b), "first record does not look like a TLS handshake") == 1
	})
	r := c.tlsClient(c.nodes[lead], &c.client.TLS)
	defer r.Close()
	if err := r.Set(context.Background(), "after", "attack", 0).Err(); err != nil {
		t.Fatalf("the cluster stopped serving: %v", err)
	}
}

// TestTLSOnly: node.client_addr "" (Redis's port 0) leaves the TLS port
// alone open to clients.
func TestTLSOnly(t *testing.T) {
	c := newTLSCluster(t)
	c.args = []string{"-node.client_addr", ""}
	start := time.Now()
	lead := c.startAll()
	t.Logf("ready after %v", time.Since(start))
	p := c.nodes[lead]
	if conn, err := net.DialTimeout("tcp", p.client, time.Second); err == nil {
		conn.Close()
		t.Fatal("the plaintext port is open with node.client_addr \"\"")
	}
	r := c.tlsClient(p, &c.client.TLS)
	defer r.Close()
	if err := r.Set(context.Background(), "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET over TLS: %v", err)
	}
}
