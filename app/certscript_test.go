package app

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/seshat-db/seshat/realenv"
)

// TestMakeCertsScript: what scripts/make-certs.sh makes (docs/tls.md) is
// what a node accepts: each node's certificate loads for its own id and
// no other, and the client port's certificate and the app's certificate
// complete a mutual handshake.
func TestMakeCertsScript(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed")
	}
	dir := t.TempDir()
	if out, err := exec.Command("../scripts/make-certs.sh", dir, "1", "2", "3").CombinedOutput(); err != nil {
		t.Fatalf("make-certs.sh: %v\n%s", err, out)
	}
	f := func(name string) string { return filepath.Join(dir, name) }
	for _, id := range []string{"1", "2", "3"} {
		n := uint64(id[0] - '0')
		if _, err := realenv.LoadPeerTLS(n, f("node"+id+".crt"), f("node"+id+".key"), f("peer-ca.crt")); err != nil {
			t.Errorf("node %s: %v", id, err)
		}
		if _, err := realenv.LoadPeerTLS(n%3+1, f("node"+id+".crt"), f("node"+id+".key"), f("peer-ca.crt")); err == nil {
			t.Errorf("node %s's certificate loaded for node %d", id, n%3+1)
		}
	}
	st, err := os.Stat(f("peer-ca.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("peer-ca.key: %v, mode %v; want 0600", err, st.Mode().Perm())
	}
	cfg := TLSConfig{ClientAddr: "127.0.0.1:6380", ClientCertFile: f("server.crt"), ClientKeyFile: f("server.key"), ClientCAFile: f("client-ca.crt")}
	if err := cfg.validate(NodeConfig{ID: 1, ClientAddr: "127.0.0.1:6379"}); err != nil {
		t.Fatal(err)
	}
	serverConf, err := cfg.ClientTLS()
	if err != nil {
		t.Fatal(err)
	}
	app, err := tls.LoadX509KeyPair(f("app.crt"), f("app.key"))
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(f("client-ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	a, b := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- tls.Server(a, serverConf).Handshake() }()
	if err := tls.Client(b, &tls.Config{RootCAs: roots, ServerName: "localhost", Certificates: []tls.Certificate{app}}).Handshake(); err != nil {
		t.Fatalf("the app's handshake: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the client port's handshake: %v", err)
	}
}
