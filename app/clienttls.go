package app

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"
)

// clientHandshakeTimeout bounds a TLS client's handshake. A plaintext
// client that sends a command gets a close at once (its bytes are no TLS
// record); one that sends nothing gets it after this, not never.
var clientHandshakeTimeout = 5 * time.Second

// clientListener is what the RESP server accepts on: the plaintext port,
// the TLS port, or both, as Redis serves port and tls-port side by side.
func clientListener(lns *listeners, c TLSConfig) (net.Listener, error) {
	if lns.clientTLS == nil {
		return lns.client, nil
	}
	conf, err := c.ClientTLS()
	if err != nil {
		return nil, err
	}
	tl := &tlsListener{Listener: lns.clientTLS, conf: conf, timeout: clientHandshakeTimeout}
	if lns.client == nil {
		return tl, nil
	}
	return mergeListeners(lns.client, tl), nil
}

// tlsListener hands out TLS connections whose handshake runs on their
// first read or write, in the connection's own goroutine (never in the
// accept loop, which one slow client would stall), within a timeout.
type tlsListener struct {
	net.Listener
	conf    *tls.Config
	timeout time.Duration
}

func (l *tlsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &handshakeConn{Conn: tls.Server(c, l.conf), timeout: l.timeout}, nil
}

type handshakeConn struct {
	*tls.Conn
	timeout time.Duration
	once    sync.Once
	err     error
}

func (c *handshakeConn) handshake() error {
	c.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		defer cancel()
		// On the timeout, HandshakeContext closes the connection.
		c.err = c.Conn.HandshakeContext(ctx)
	})
	return c.err
}

func (c *handshakeConn) Read(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *handshakeConn) Write(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

// Close closes the TCP connection without a TLS close_notify: a client
// stuck not reading would hold the alert's write for seconds.
func (c *handshakeConn) Close() error { return c.Conn.NetConn().Close() }

// mergedListener accepts from several listeners as one.
type mergedListener struct {
	lns    []net.Listener
	conns  chan acceptResult
	closed chan struct{}
	once   sync.Once
}

type acceptResult struct {
	c   net.Conn
	err error
}

func mergeListeners(lns ...net.Listener) net.Listener {
	m := &mergedListener{lns: lns, conns: make(chan acceptResult), closed: make(chan struct{})}
	for _, ln := range lns {
		go m.feed(ln)
	}
	return m
}

func (m *mergedListener) feed(ln net.Listener) {
	for {
		c, err := ln.Accept()
		select {
		case m.conns <- acceptResult{c, err}:
		case <-m.closed:
			if c != nil {
				_ = c.Close()
			}
			return
		}
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			// The server sleeps after a failed accept (too many open
			// files, say); so does this feed, not to spin.
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func (m *mergedListener) Accept() (net.Conn, error) {
	select {
	case r := <-m.conns:
		return r.c, r.err
	case <-m.closed:
		return nil, net.ErrClosed
	}
}

func (m *mergedListener) Close() error {
	var err error
	m.once.Do(func() {
		close(m.closed)
		for _, ln := range m.lns {
			err = errors.Join(err, ln.Close())
		}
	})
	return err
}

// Addr is the first listener's (the plaintext port's).
func (m *mergedListener) Addr() net.Addr { return m.lns[0].Addr() }

// addrOf is ln's address, or "off".
func addrOf(ln net.Listener) string {
	if ln == nil {
		return "off"
	}
	return ln.Addr().String()
}
