package realenv

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
)

// Peer mutual TLS, etcd's model: every node holds a certificate signed by
// the cluster's CA, and the certificate names the node it belongs to in a
// URI SAN, seshat://node/<id>. A dialer checks that the acceptor's
// certificate names the node it meant to reach; an acceptor checks that
// the dialer's certificate names the node its hello claims. So a peer
// with a certificate of another CA, a certificate for another node id, or
// no TLS at all is refused (closed, logged once per source) before it
// writes a frame, and the sender of every message is the node the
// certificate names.
//
// The HMAC handshake of peerauth.go runs inside the TLS connection
// unchanged: with a cluster secret as well, a peer must hold both (a
// stolen certificate alone is not enough); without one it proves only the
// cluster id, and TLS carries the authentication. Either way the whole
// cluster speaks TLS or none of it does: a TLS node refuses plaintext and
// a plaintext dialer cannot reach it.
//
// What an unauthenticated caller learns is the acceptor's certificate
// (its node id and CA), as from any TLS server: the server speaks first.

// PeerTLS is a node's certificate and the cluster CA.
type PeerTLS struct {
	Cert tls.Certificate
	CA   *x509.CertPool
}

// NodeURI is the URI SAN that binds a certificate to node id.
func NodeURI(id uint64) string { return "seshat://node/" + strconv.FormatUint(id, 10) }

// LoadPeerTLS reads a node's certificate and key and the CA's certificate
// (PEM), and checks that the certificate names node id and is signed by
// that CA, so a misconfigured node fails at start rather than at every
// dial.
func LoadPeerTLS(id uint64, certFile, keyFile, caFile string) (*PeerTLS, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("peer certificate %s and key %s: %w", certFile, keyFile, err)
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("peer CA: %w", err)
	}
	ca := x509.NewCertPool()
	if !ca.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("peer CA %s holds no PEM certificate", caFile)
	}
	p := &PeerTLS{Cert: cert, CA: ca}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("peer certificate %s: %w", certFile, err)
	}
	if err := p.verify(leaf, cert.Certificate[1:], id, x509.ExtKeyUsageServerAuth); err != nil {
		return nil, fmt.Errorf("peer certificate %s: %w", certFile, err)
	}
	if err := p.verify(leaf, cert.Certificate[1:], id, x509.ExtKeyUsageClientAuth); err != nil {
		return nil, fmt.Errorf("peer certificate %s: %w (a node both dials and accepts: give it both serverAuth and clientAuth)", certFile, err)
	}
	return p, nil
}

// certNodeID is the node a certificate names: its one seshat://node URI.
func certNodeID(cert *x509.Certificate) (uint64, error) {
	var ids []uint64
	for _, u := range cert.URIs {
		if id, ok := nodeIDOf(u); ok {
			ids = append(ids, id)
		}
	}
	switch len(ids) {
	case 0:
		return 0, errors.New("the certificate names no node (no seshat://node/<id> URI SAN)")
	case 1:
		return ids[0], nil
	}
	return 0, fmt.Errorf("the certificate names %d nodes; it must name one", len(ids))
}

func nodeIDOf(u *url.URL) (uint64, bool) {
	if u.Scheme != "seshat" || u.Host != "node" || len(u.Path) < 2 {
		return 0, false
	}
	id, err := strconv.ParseUint(u.Path[1:], 10, 64)
	return id, err == nil && id != 0
}

// verify checks leaf's chain to the cluster CA for usage and that it
// names node want.
func (p *PeerTLS) verify(leaf *x509.Certificate, intermediates [][]byte, want uint64, usage x509.ExtKeyUsage) error {
	pool := x509.NewCertPool()
	for _, der := range intermediates {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return err
		}
		pool.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: p.CA, Intermediates: pool, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		return fmt.Errorf("not signed by the cluster CA: %w", err)
	}
	got, err := certNodeID(leaf)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("the certificate names node %d, not node %d", got, want)
	}
	return nil
}

// dialConfig is the dialer's TLS config for a connection to node to: the
// acceptor's certificate must chain to the cluster CA and name to (host
// names play no part; the node id is the identity).
func (p *PeerTLS) dialConfig(to uint64) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		// Always this one: Go would otherwise send none when the acceptor
		// names CAs the certificate does not chain to by name (a chain
		// through an intermediate), and the acceptor decides anyway.
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &p.Cert, nil },
		InsecureSkipVerify:   true, // verified below, by node id rather than host name
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the peer sent no certificate")
			}
			return p.verifyRaw(cs.PeerCertificates, to, x509.ExtKeyUsageServerAuth)
		},
	}
}

func (p *PeerTLS) verifyRaw(chain []*x509.Certificate, want uint64, usage x509.ExtKeyUsage) error {
	var rest [][]byte
	for _, c := range chain[1:] {
		rest = append(rest, c.Raw)
	}
	return p.verify(chain[0], rest, want, usage)
}

// acceptConfig is the acceptor's: a client certificate signed by the
// cluster CA is required; which node it must name is known only after
// the hello, so the transport checks that after the handshake.
func (p *PeerTLS) acceptConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{p.Cert},
		ClientCAs:    p.CA,
		ClientAuth:   tls.RequireAndVerifyClientCert,
	}
}

// acceptTLS runs the acceptor's TLS handshake, if peers speak TLS, and
// returns the connection to read and the node the dialer's certificate
// names (0 without TLS), or why it is refused.
func (t *Transport) acceptTLS(raw net.Conn) (net.Conn, uint64, string) {
	if t.cfg.TLS == nil {
		return raw, 0, ""
	}
	tc := tls.Server(raw, t.acceptConf)
	if err := tc.Handshake(); err != nil {
		return nil, 0, "TLS handshake failed: " + err.Error()
	}
	id, err := certNodeID(tc.ConnectionState().PeerCertificates[0])
	if err != nil {
		return nil, 0, err.Error()
	}
	return tc, id, ""
}

// dialTLS runs the dialer's TLS handshake, if peers speak TLS.
func (t *Transport) dialTLS(raw net.Conn, to uint64) (net.Conn, error) {
	if t.cfg.TLS == nil {
		return raw, nil
	}
	tc := tls.Client(raw, t.cfg.TLS.dialConfig(to))
	if err := tc.Handshake(); err != nil {
		return nil, fmt.Errorf("TLS handshake: %w", refusedOr(err))
	}
	return tc, nil
}
