package app

import (
	"crypto/tls"
	"crypto/x509"
	"os"

	"github.com/seshat-db/seshat/realenv"
)

// TLSConfig is the [tls] section: peer mutual TLS (realenv/peertls.go) and
// TLS for clients, in Redis 7's model (docs/tls.md). Its own section, so
// that it merges apart from [security].
type TLSConfig struct {
	// PeerCertFile and PeerKeyFile are this node's certificate and key;
	// the certificate must carry the URI SAN seshat://node/<node.id>,
	// both serverAuth and clientAuth, and chain to PeerCAFile, the
	// cluster CA. All three or none: with them, every peer connection is
	// mutual TLS and a node without them cannot join.
	PeerCertFile string `toml:"peer_cert_file"`
	PeerKeyFile  string `toml:"peer_key_file"`
	PeerCAFile   string `toml:"peer_ca_file"`

	// ClientAddr is where clients connect with TLS (Redis's tls-port). The
	// plaintext node.client_addr may stay on beside it, or be set to ""
	// for TLS only (Redis's port 0).
	ClientAddr     string `toml:"client_addr"`
	ClientCertFile string `toml:"client_cert_file"` // the server's certificate for clients (tls-cert-file)
	ClientKeyFile  string `toml:"client_key_file"`  // its key (tls-key-file)
	// ClientCAFile holds the CAs that sign client certificates
	// (tls-ca-cert-file); needed for client_auth request or require.
	ClientCAFile string `toml:"client_ca_file"`
	// ClientAuth asks clients for certificates (tls-auth-clients): none
	// (no), request (optional: a certificate sent must verify), require
	// (yes). Empty: require if client_ca_file is set, else none.
	ClientAuth string `toml:"client_auth"`
}

// PeerTLS loads this node's peer certificate; nil without peer TLS.
func (c TLSConfig) PeerTLS(id uint64) (*realenv.PeerTLS, error) {
	if c.PeerCertFile == "" {
		return nil, nil
	}
	p, err := realenv.LoadPeerTLS(id, c.PeerCertFile, c.PeerKeyFile, c.PeerCAFile)
	if err != nil {
		return nil, bad("tls.peer_cert_file", "%v", err)
	}
	return p, nil
}

func (c TLSConfig) clientAuth() string {
	if c.ClientAuth != "" {
		return c.ClientAuth
	}
	if c.ClientCAFile != "" {
		return "require"
	}
	return "none"
}

// ClientTLS is the TLS config of the client port; nil without one.
func (c TLSConfig) ClientTLS() (*tls.Config, error) {
	if c.ClientAddr == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.ClientCertFile, c.ClientKeyFile)
	if err != nil {
		return nil, bad("tls.client_cert_file", "%v", err)
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if c.ClientCAFile != "" {
		pem, err := os.ReadFile(c.ClientCAFile)
		if err != nil {
			return nil, bad("tls.client_ca_file", "%v", err)
		}
		conf.ClientCAs = x509.NewCertPool()
		if !conf.ClientCAs.AppendCertsFromPEM(pem) {
			return nil, bad("tls.client_ca_file", "%s holds no PEM certificate", c.ClientCAFile)
		}
	}
	switch c.clientAuth() {
	case "request":
		conf.ClientAuth = tls.VerifyClientCertIfGiven
	case "require":
		conf.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return conf, nil
}

func (c TLSConfig) validate(n NodeConfig) error {
	peer := []string{c.PeerCertFile, c.PeerKeyFile, c.PeerCAFile}
	set := 0
	for _, f := range peer {
		if f != "" {
			set++
		}
	}
	if set != 0 && set != len(peer) {
		return bad("tls.peer_cert_file", "set peer_cert_file, peer_key_file and peer_ca_file together (%d of 3 are set)", set)
	}
	if set == len(peer) {
		if _, err := c.PeerTLS(n.ID); err != nil {
			return err
		}
	}
	switch c.ClientAuth {
	case "", "none", "request", "require":
	default:
		return bad("tls.client_auth", "%q: use none, request or require (Redis's tls-auth-clients no, optional, yes)", c.ClientAuth)
	}
	if c.ClientAddr == "" {
		if c.ClientCertFile != "" || c.ClientCAFile != "" {
			return bad("tls.client_addr", "must be set for client TLS (client_cert_file is set): the TLS port, as Redis's tls-port")
		}
		return nil
	}
	if err := checkAddr("tls.client_addr", c.ClientAddr, true); err != nil {
		return err
	}
	for _, o := range []struct{ name, addr string }{{"node.client_addr", n.ClientAddr}, {"node.internal_addr", n.InternalAddr}, {"node.admin_addr", n.AdminAddr}} {
		if o.addr != "" && sameSocket(c.ClientAddr, o.addr) {
			return bad("tls.client_addr", "%s takes the same port as %s %s; give each its own port", c.ClientAddr, o.name, o.addr)
		}
	}
	if c.ClientCertFile == "" || c.ClientKeyFile == "" {
		return bad("tls.client_cert_file", "client TLS needs client_cert_file and client_key_file")
	}
	if c.clientAuth() != "none" && c.ClientCAFile == "" {
		return bad("tls.client_ca_file", "client_auth %s needs the CA that signs client certificates", c.clientAuth())
	}
	_, err := c.ClientTLS()
	return err
}
