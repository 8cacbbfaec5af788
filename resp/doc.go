// Package resp is Seshat's Redis command layer: a RESP2 codec and an
// Executor that turns client commands into key-value operations and
// Redis 7.0's replies, byte for byte. It does no I/O, reads no clock,
// draws no randomness and starts no goroutines, so the same code serves
// redis-cli in production and the simulated clients of package sim.
//
// Each client connection is a Conn (connstate.go): bytes a read returned
// go in, replies come out as bytes in command order. Package server moves
// bytes between sockets and Conns; the simulator's clients hand a Conn
// the bytes of their bursts. Below a Conn, the Executor's caller's duties,
// which Conn fulfils:
//
//  1. Call Execute for one connection from one goroutine (or simulator
//     event) at a time; the Executor holds the connection's state.
//  2. Send replies in the order the commands arrived. reply may be called
//     later than Execute returns (after a raft commit), so a reply that is
//     still pending holds back the ones behind it.
//  3. Keep args' bytes unchanged until Execute returns; Execute copies
//     what it keeps.
//  4. Bound what is buffered: ParseCommand bounds one command (with
//     CommandBytesMax, a partial one too), the caller bounds the
//     pipeline depth (ConnConfig.PipelineMax); package server bounds the
//     bytes of pending replies.
package resp
