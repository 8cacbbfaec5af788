package node

import "errors"

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
	ErrBusy           = errors.New("TRYAGAIN too many requests in flight on this node; retry later")
	ErrStopped        = errors.New("ERR node stopped after a storage failure")
	// ErrNoSpace is Seshat's own code, after etcd's NOSPACE alarm: Redis's
	// nearest reply, MISCONF, speaks of RDB snapshots, which Seshat has not.
	ErrNoSpace = errors.New("NOSPACE this node's disk is full: it stopped and serves no command until it is restarted with free space; the request was not executed")
	// ErrJoining uses Redis's LOADING code, which clients know to retry.
	ErrJoining = errors.New("LOADING this node has no data yet: it is joining the cluster; the request was not executed")
)
