// Package realenv is the production world of a Seshat node: the wall
// clock, randomness seeded by the operating system, the real filesystem,
// slog logging, a TCP transport between peers, and the Host, the one
// goroutine that owns a node.Node and feeds it every event in turn.
//
// Expected usage (cmd/seshat-node does this):
//
//  1. Bind the internal port, tr := NewTransport(TransportConfig{Listener:
//     ...}), and later tr.Start().
//  2. e := New(tr, logger, fs) builds the env.Env; node.Open(cfg, e).
//  3. h := NewHost(n, HostConfig{...}); tr delivers inbound frames to
//     h.Deliver; client connections call h.Submit.
//  4. On shutdown: stop accepting clients, h.Close() (which closes the
//     node), then tr.Close().
//
// Everything here may block, spawn and read the clock: it is the one
// place besides resp/server.go and cmd/ that the determinism rules allow
// to.
package realenv
