package app

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
)

// The transport's frame bound, and what a raft message adds around one
// entry (envelope, message fields, the entry's own): the largest write
// stays under the frame with room to spare.
const (
	frameBytesMax      = 64 << 20
	frameOverheadBytes = 1 << 20
)

// listeners are a node's bound ports.
type listeners struct {
	client, internal, admin net.Listener // admin is nil when off
	clientTLS               net.Listener // [tls] client_addr; client is nil with TLS only
}

func (l *listeners) close() {
	for _, ln := range []net.Listener{l.client, l.internal, l.admin, l.clientTLS} {
		if ln != nil {
			_ = ln.Close()
		}
	}
}

// listenAll binds the client, internal and admin ports, or none of them.
// The transport takes the internal listener and closes it; closing it
// twice is harmless.
func listenAll(n NodeConfig, tlsClientAddr string) (*listeners, error) {
	l := &listeners{}
	for _, p := range []struct {
		what, addr string
		ln         *net.Listener
	}{
		{"clients", n.ClientAddr, &l.client},
		{"peers (internal_addr)", n.InternalAddr, &l.internal},
		{"admin", n.AdminAddr, &l.admin},
		{"TLS clients (tls.client_addr)", tlsClientAddr, &l.clientTLS},
	} {
		if p.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", p.addr)
		if err != nil {
			l.close()
			return nil, fmt.Errorf("listen for %s on %s: %w (nothing was written to the data directory)", p.what, p.addr, err)
		}
		*p.ln = ln
	}
	return l, nil
}

// checkDataDir refuses a data directory that is not one, or that this
// process may not use, with advice for that case. Moving a healthy data
// directory away would make the node rejoin under a new identity, so
// that advice is kept for damaged data (openError).
func checkDataDir(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil // a new node: Pebble creates it
	case errors.Is(err, fs.ErrPermission):
		return permissionError(dir, err)
	case err != nil:
		return fmt.Errorf("data directory %s: %w", dir, err)
	case !st.IsDir():
		return fmt.Errorf("data directory %s is a file, not a directory: point node.data_dir at this node's data directory (or, for a new node, at a path that does not exist yet)", dir)
	}
	if _, err := os.ReadDir(dir); err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return permissionError(dir, err)
		}
		return fmt.Errorf("data directory %s cannot be read: %w", dir, err)
	}
	return nil
}

func permissionError(dir string, err error) error {
	return fmt.Errorf("data directory %s: %w: give the user this node runs as (uid %d) ownership of it and of everything in it (chown -R); the data is not damaged, so do not move it away", dir, err, os.Getuid())
}

// openError gives the advice that fits why the node could not open.
func openError(err error, dir string) error {
	if errors.Is(err, fs.ErrPermission) {
		return permissionError(dir, err)
	}
	return fmt.Errorf("open node: %w (if the data in %s is damaged and the other members are up: move it away and start the node again; it rejoins from its peers by snapshot, under a new identity)", err, dir)
}
