package sim

import (
	"time"

	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/seshat-db/seshat/node"
)

// Replies that outlive their process: a ReadIndex confirmation meant for
// a node's previous process reaches its next one just as that one asks
// for a confirmation of its own. A process numbers its requests from 1,
// as its predecessor did, so the late reply may carry the very number of
// a read now waiting: a node that trusted it would serve that read at an
// index from before the restart (the bug node.readConfirmed guards
// against, planted as mutant stale-read-confirmation). Held messages
// alone almost never line this up: a held reply is released at a random
// moment, when the new process's numbers have long moved past its own.
//
// So the network keeps copies of the first confirmations each process
// receives (the ones with the low numbers a new process reuses first);
// once the node restarts, each of the new process's first requests for a
// confirmation brings the whole set back, faster than the true answer can
// come. Its draws come from a stream of their own, so the faults a seed
// had before are unchanged.

// A process's first confirmations come back only to a next process in
// the same term (raft ignores a reply from an older one), and a process
// that lives long sees terms change. So after a restart the seed may
// crash the node again soon, while it follows (a crash loop): the short
// process's first confirmations, the term unchanged, meet the next
// process's first reads.

// echoKeep is how many of a process's first confirmations are kept.
const echoKeep = 32

// echoAsks is how many of the next process's first requests bring them
// back.
const echoAsks = 8

// echoState is one node's kept confirmations.
type echoState struct {
	kept   []pastMsg // received by the current process
	echoes []pastMsg // received by the process before: delivered again on asks
	asks   int       // requests of the current process that brought them
}

// echoing says whether the replies of an earlier process may come back now.
func (w *World) echoing() bool {
	return w.opts.EchoPercent > 0 && w.holding()
}

// keepConfirmation keeps a copy of a ReadIndex confirmation delivered to
// node to's current process, among its first echoKeep.
func (w *World) keepConfirmation(from, to int, msg []byte) {
	if !w.echoing() {
		return
	}
	e := w.echoOf(to)
	if len(e.kept) >= echoKeep {
		return
	}
	if typ, ok := node.RaftMessageType(msg); ok && typ == pb.MessageType_MsgReadIndexResp {
		e.kept = append(e.kept, pastMsg{from: from, to: to, msg: msg})
	}
}

// echoRestarted makes node idx's kept confirmations its new process's
// echoes (a process that received none leaves its predecessor's), and
// may crash the new process again soon.
func (w *World) echoRestarted(idx int) {
	e := w.echoOf(idx)
	if len(e.kept) > 0 {
		e.echoes, e.kept = e.kept, nil
	}
	e.asks = 0
	if !w.echoing() {
		return
	}
	r := w.net.echoRng
	// Clients come to the node that is back, as a load balancer would
	// send new connections: its first reads are the ones echoes meet.
	// (A client moves only when its node fails it otherwise, so a
	// restarted node could go long without a read.)
	come := make([]bool, len(w.clients))
	for i := range come {
		come[i] = r.IntN(2) == 0
	}
	if w.allowFault(faultReconnect) {
		for i, c := range w.clients {
			if come[i] {
				c.node = idx
			}
		}
	}
	loop := r.IntN(2) == 0
	life := 300*time.Millisecond + time.Duration(r.Int64N(int64(2*time.Second)))
	down := 50*time.Millisecond + time.Duration(r.Int64N(int64(time.Second)))
	if !loop || !w.allowFault(faultCrashLoop) {
		return
	}
	s := w.nodes[idx]
	epoch := s.epoch
	w.schedule(life, evCrash, idx, 0, func() {
		// Only the process it was drawn for, only while it follows, and
		// only with every other node up: a quorum stays.
		if s.epoch != epoch || !s.up() || !w.echoing() || w.upCount() < len(w.nodes) || s.n.Status().IsLeader {
			return
		}
		w.stats.CrashLoops++
		w.stats.Crashes++
		s.crash()
		w.scheduleRestartIn(s, "crashed again soon after its restart (a crash loop)", down)
	})
}

// echoOnAsk runs as node from sends msg: if it asks for a ReadIndex
// confirmation, one of its process's first, the confirmations its
// previous process received may come back now, ahead of the answer.
func (w *World) echoOnAsk(from int, msg []byte) {
	e := w.echoOf(from)
	if len(e.echoes) == 0 || e.asks >= echoAsks || !w.echoing() {
		return
	}
	if typ, ok := node.RaftMessageType(msg); !ok || typ != pb.MessageType_MsgReadIndex {
		return
	}
	e.asks++
	// Every draw first, then the decision: a run that skips this fault
	// keeps the rest of its draws.
	hit := w.net.echoRng.Float64()*100 < w.opts.EchoPercent
	delays := make([]time.Duration, len(e.echoes))
	for i, p := range e.echoes {
		delays[i] = 1 + time.Duration(w.net.echoRng.Int64N(int64(max(w.lat[p.from][from], 1))))
	}
	if !hit || !w.allowFault(faultEcho) {
		return
	}
	for i, p := range e.echoes {
		w.stats.Echoed++
		w.deliverAfter(delays[i], p.from, from, p.msg, sentAgain)
	}
}

func (w *World) echoOf(idx int) *echoState {
	if w.net.echo == nil {
		w.net.echo = make([]echoState, len(w.nodes))
	}
	return &w.net.echo[idx]
}
