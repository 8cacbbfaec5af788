package kv

import (
	"errors"
	"fmt"
)

// The outcomes a backend (node.Node, realenv.Host) can end an operation
// with, besides a Result. They say what happened in Seshat's terms and
// nothing of any protocol: resp/errors.go words each one as a Redis
// client expects it (its code decides whether a client retries).
//
// An operation refused with any of them but ErrOutcomeUnknown did not
// happen. ErrOutcomeUnknown may or may not have: the write was proposed
// and no answer came back.
var (
	ErrNoQuorum        = errors.New("no raft leader is known to this node")
	ErrReadTimeout     = errors.New("the read could not be confirmed by a quorum in time")
	ErrOutcomeUnknown  = errors.New("the write was proposed but its outcome is unknown")
	ErrBusy            = errors.New("too many requests in flight on this node")
	ErrUncommittedFull = errors.New("the leader's log holds as many uncommitted bytes as it may")
	ErrTransferring    = errors.New("the leader is handing leadership to another member")
	ErrWriteTooLarge   = errors.New("the write is too large for one raft log entry")
	ErrJoining         = errors.New("this node has no data yet: it is joining the cluster")
	ErrStopped         = errors.New("the node stopped after a storage failure")
	ErrNoSpace         = errors.New("the node's disk is full")
	ErrReadFailed      = errors.New("a long read failed on a storage error")
	ErrReplyTooLarge   = errors.New("the values of this read pass the node's bound on one reply")
	ErrLongReadsBusy   = errors.New("long reads hold as much memory as the node allows them")
	ErrShuttingDown    = errors.New("the server is shutting down")
	ErrRemoved         = errors.New("this node was removed from the cluster")
)

// WriteTooLargeError is ErrWriteTooLarge with the sizes.
type WriteTooLargeError struct{ Bytes, Max int }

func (e *WriteTooLargeError) Error() string {
	return fmt.Sprintf("the write's raft log entry is %d bytes, over the %d bytes one entry may hold", e.Bytes, e.Max)
}

func (e *WriteTooLargeError) Is(target error) bool { return target == ErrWriteTooLarge }
