package node

import (
	"errors"
	"fmt"
)

// Errors a client request can end with. Their texts are the replies a
// Redis client sees, so each starts with a Redis error code.
//
// A write that ends with ErrNoQuorum, ErrBusy or ErrStopped before it was
// proposed did not happen. A write that ends with ErrOutcomeUnknown may
// or may not have happened: it was proposed, and no answer came back.
var (
	ErrNoQuorum       = errors.New("NOQUORUM no raft leader is known to this node; the request was not executed")
	ErrReadTimeout    = errors.New("NOQUORUM the read could not be confirmed by a quorum in time; the request was not executed")
	ErrOutcomeUnknown = errors.New("UNKNOWN the write was proposed but its outcome is unknown (leader lost or timeout); it may or may not have been applied")
	// ErrReplyTooLarge answers a read whose values pass ReadReplyBytesMax.
	ErrReplyTooLarge = errors.New("ERR reply too large: the values of this read pass the node's bound on one reply; read fewer keys per command")
	// ErrLongReadsBusy answers a long read that would take the values all
	// long reads hold past LongReadsBytesMax. It did not happen.
	ErrLongReadsBusy = errors.New("TRYAGAIN long reads hold too much memory on this node; retry later or read fewer keys per command")
	ErrBusy          = errors.New("TRYAGAIN too many requests in flight on this node; retry later")
	ErrStopped       = errors.New("ERR node stopped after a storage failure")
	// ErrNoSpace is Seshat's own code, after etcd's NOSPACE alarm: Redis's
	// nearest reply, MISCONF, speaks of RDB snapshots, which Seshat has not.
	ErrNoSpace = errors.New("NOSPACE this node's disk is full: it stopped and serves no command until it is restarted with free space; the request was not executed")
	// ErrUncommittedFull: raft's bound on the bytes of entries proposed
	// but not yet committed (Config.UncommittedBytesMax) is full, which
	// happens when large writes arrive faster than a quorum syncs them.
	ErrUncommittedFull = errors.New("TRYAGAIN the leader's log holds as many uncommitted bytes as it may (large writes arrive faster than a quorum stores them); the request was not executed; retry later")
	// ErrWriteTooLarge: a write whose log entry is over
	// Config.EntryBytesMax could never be replicated; the error returned
	// is a *WriteTooLargeError, which names the sizes.
	ErrWriteTooLarge = errors.New("ERR write too large for one raft log entry")
	// ErrJoining uses Redis's LOADING code, which clients know to retry.
	ErrJoining = errors.New("LOADING this node has no data yet: it is joining the cluster; the request was not executed")
)

// WriteTooLargeError is ErrWriteTooLarge with the sizes.
type WriteTooLargeError struct{ Bytes, Max int }

func (e *WriteTooLargeError) Error() string {
	return fmt.Sprintf("ERR write too large: its raft log entry is %d bytes, over the %d bytes one entry may hold; the request was not executed; split it into smaller commands", e.Bytes, e.Max)
}

func (e *WriteTooLargeError) Is(target error) bool { return target == ErrWriteTooLarge }
