package node

import (
	"errors"
	"sync"

	"github.com/seshat-db/seshat/kv"
	"github.com/seshat-db/seshat/storage"
)

// ErrReadFailed answers a long read whose snapshot could not be read: the
// disk returned an error or a damaged block. The read did not happen.
var ErrReadFailed = errors.New("ERR read failed on a storage error; the request was not executed")

// Long reads (reader.go). A multi-key read of more than ReadChunkKeys keys
// would hold the event goroutine for as long as its keys take to read
// (tens of seconds for 300,000 keys), and raft's ticks with it: the leader
// loses its lease. So once such a read is confirmed (applied >= its read
// index), the node pins a Pebble snapshot of the data as of now and hands
// the read to env.Worker, which reads one chunk per job and queues the
// next. The snapshot makes the answer the state at one instant inside the
// read's interval, as if it had run inline.
//
// A chunked read touches nothing of the node but what it was handed: the
// snapshot and the request's done callback, which may run on another
// goroutine (resp's reply slots are channels). The node keeps the list of
// outstanding ones only to release their snapshots at Close.

// chunkedRead is one long read group in progress: its ops are read in
// order, at most chunk keys per job, all from the one snapshot.
type chunkedRead struct {
	mu    sync.Mutex // Close against a chunk being read
	view  kv.Store   // the pinned snapshot; nil once the read ended or the node closed
	snap  *storage.ReadSnapshot
	ops   []kv.Op
	op    int // the op being read
	next  int // its first key not yet read
	chunk int
	res   []kv.Result
	done  func([]kv.Result)
	run   func(job func())
}

// groupKeys counts the keys a read group touches.
func groupKeys(ops []kv.Op) int {
	n := 0
	for i := range ops {
		n += max(len(ops[i].Keys), 1)
	}
	return n
}

// serveLongRead hands req to the worker if its read group touches more
// keys than one chunk, too many to serve inline, and reports whether it
// did. req is finished as far as the node is concerned: its answer comes
// from the worker.
func (n *Node) serveLongRead(req *request) bool {
	if n.env.Work == nil || groupKeys(req.ops) <= n.cfg.ReadChunkKeys {
		return false
	}
	c := &chunkedRead{ops: req.ops, chunk: n.cfg.ReadChunkKeys, done: req.done, run: n.env.Work.Run}
	c.res = make([]kv.Result, len(req.ops))
	c.snap = n.store.NewReadSnapshot()
	c.view = c.snap
	if n.cfg.UnsafeChunksReadLive {
		c.view = n.store.DataView()
	}
	n.clients.handOff(req)
	n.longReads = append(pruneLongReads(n.longReads), c)
	n.env.Work.Run(c.step)
	return true
}

// step reads one chunk, then queues the next or answers.
func (c *chunkedRead) step() {
	c.mu.Lock()
	if c.view == nil {
		// The node closed: like every request inside it, this one is
		// dropped without an answer (the host is going away with it).
		c.mu.Unlock()
		return
	}
	err := c.readChunk()
	finished := err != nil || c.op == len(c.ops)
	if finished {
		c.releaseLocked()
	}
	c.mu.Unlock()
	switch {
	case err != nil:
		c.done(errResults(len(c.ops), ErrReadFailed))
	case finished:
		c.done(c.res)
	default:
		c.run(c.step)
	}
}

// readChunk reads the next chunk keys of the group, in order.
func (c *chunkedRead) readChunk() error {
	for budget := c.chunk; budget > 0 && c.op < len(c.ops); {
		op := c.ops[c.op]
		if op.Kind != kv.MGet && op.Kind != kv.Exists {
			res, err := kv.Apply(c.view, op)
			if err != nil {
				return err
			}
			c.res[c.op] = res
			c.op++
			budget--
			continue
		}
		end := min(c.next+budget, len(op.Keys))
		part := op
		part.Keys = op.Keys[c.next:end]
		res, err := kv.Apply(c.view, part)
		if err != nil {
			return err
		}
		acc := &c.res[c.op]
		acc.Int += res.Int
		if op.Kind == kv.MGet {
			if acc.Values == nil {
				acc.Values = make([][]byte, 0, len(op.Keys))
			}
			acc.Values = append(acc.Values, res.Values...)
		}
		budget -= end - c.next
		c.next = end
		if c.next == len(op.Keys) {
			c.op, c.next = c.op+1, 0
		}
	}
	return nil
}

func (c *chunkedRead) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.releaseLocked()
}

func (c *chunkedRead) releaseLocked() {
	if c.snap != nil {
		_ = c.snap.Close()
		c.snap, c.view = nil, nil
	}
}

func (c *chunkedRead) ended() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.view == nil
}

// pruneLongReads drops the reads that ended.
func pruneLongReads(reads []*chunkedRead) []*chunkedRead {
	live := reads[:0]
	for _, c := range reads {
		if !c.ended() {
			live = append(live, c)
		}
	}
	clear(reads[len(live):])
	return live
}

// closeLongReads releases every outstanding snapshot, waiting for a chunk
// being read; their reads are dropped.
func (n *Node) closeLongReads() {
	for _, c := range n.longReads {
		c.release()
	}
	n.longReads = nil
}
