package node

import (
	"errors"
	"fmt"

	"github.com/seshat-db/seshat/storage"
)

// ErrLogLost stops a node whose disk lost entries it had acknowledged: a
// leader's commit index past this node's log, or raft asking storage for
// entries it was told are there. Raft would panic; the node refuses
// instead, naming its data directory and the way to rebuild it.
var ErrLogLost = errors.New("node: this node's log lost entries it had acknowledged")

// raftPanic is what raft's Panicf and Fatalf raise (logger.go): raft
// found its log in a state it cannot go on from.
type raftPanic string

func (n *Node) logLost(what string) error {
	return fmt.Errorf("%w: %s: the data in %s was damaged or truncated (a failing disk or filesystem, or files changed by hand); %s",
		ErrLogLost, what, n.cfg.Dir, storage.RebuildAdvice(n.cfg.Dir))
}

// guardRaft runs a call into raft and turns a panic that damaged storage
// causes (raft's own Panicf, or a storage error raft does not handle)
// into the node's stop. Any other panic is a bug and goes on up.
func (n *Node) guardRaft(fn func()) (err error) {
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		switch v := p.(type) {
		case raftPanic:
			err = n.stop(n.logLost("raft: " + string(v)))
		case error:
			if !errors.Is(v, storage.ErrDamaged) && !errors.Is(v, storage.ErrFailed) {
				panic(p)
			}
			err = n.stop(fmt.Errorf("node: raft could not read its log: %w", v))
		default:
			panic(p)
		}
	}()
	fn()
	return nil
}

// refusal is the answer to every request after the node stopped: it says
// why, so a client (and its operator) can tell a full disk from damage.
func (n *Node) refusal() error {
	if errors.Is(n.stopped, storage.ErrNoSpace) {
		return ErrNoSpace
	}
	return ErrStopped
}

// StopReason names why the node stopped, for metrics and health: "" (it
// runs), "nospace", "damaged" or "failed".
func (n *Node) StopReason() string {
	switch {
	case n.stopped == nil:
		return ""
	case errors.Is(n.stopped, storage.ErrNoSpace):
		return "nospace"
	case errors.Is(n.stopped, ErrLogLost), errors.Is(n.stopped, storage.ErrDamaged):
		return "damaged"
	}
	return "failed"
}

// StopErr returns the error the node stopped with, nil while it runs.
func (n *Node) StopErr() error { return n.stopped }
