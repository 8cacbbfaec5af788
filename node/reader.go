package node

import (
	"math"
	"sync"
	"sync/atomic"

	"github.com/seshat-db/seshat/kv"
	"github.com/seshat-db/seshat/storage"
)

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
	mu      sync.Mutex // Close against a chunk being read
	view    kv.Store   // the pinned snapshot; nil once the read ended or the node closed
	snap    *storage.ReadSnapshot
	ops     []kv.Op
	op      int // the op being read
	next    int // its first key not yet read
	chunk   int
	bytes   int // value bytes gathered so far, bounded by limit
	opBytes int // ... of them, the op being read
	limit   int
	// shared counts the bytes all the node's long reads hold, bounded by
	// sharedMax; this read's bytes are in it until it answers.
	shared    *atomic.Int64
	sharedMax int64
	res       []kv.Result
	done      func([]kv.Result)
	run       func(job func())
}

// groupKeys counts the keys a read group touches. An op that walks the
// whole keyspace (SCAN, KEYS, RANDOMKEY) counts as more than any chunk:
// it always runs on the worker.
func groupKeys(ops []kv.Op) int {
	n := 0
	for i := range ops {
		if walksKeyspace(ops[i].Kind) {
			return math.MaxInt
		}
		n += max(len(ops[i].Keys), 1)
	}
	return n
}

func walksKeyspace(k kv.Kind) bool { return k == kv.Scan || k == kv.Keys || k == kv.RandomKey }

// resultBytes is what a result holds in values and keys.
func resultBytes(res kv.Result) int {
	n := len(res.Value)
	for _, v := range res.Values {
		n += len(v)
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
	c := &chunkedRead{ops: req.ops, chunk: n.cfg.ReadChunkKeys, limit: n.cfg.ReadReplyBytesMax,
		shared: &n.longReadBytes, sharedMax: n.cfg.LongReadsBytesMax, done: req.done, run: n.env.Work.Run}
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
		c.releaseLocked() // and its bytes leave the node's count: the client's reply holds them now
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

// readChunk reads the next chunk keys of the group, in order. An op whose
// values would take the group's past ReadReplyBytesMax is refused (and
// what it gathered let go); the ops after it are read as usual.
func (c *chunkedRead) readChunk() error {
	for budget := c.chunk; budget > 0 && c.op < len(c.ops); {
		op := c.ops[c.op]
		if op.Kind != kv.MGet && op.Kind != kv.Exists {
			res, err := kv.Apply(c.view, op)
			if err != nil {
				return err
			}
			size := resultBytes(res)
			switch {
			case c.limit > 0 && c.bytes+size > c.limit:
				res = kv.Result{Err: ErrReplyTooLarge}
			case !c.take(size):
				res = kv.Result{Err: ErrLongReadsBusy}
			default:
				c.bytes += size
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
			got := 0
			for _, v := range res.Values {
				got += len(v)
			}
			c.bytes += got
			c.opBytes += got
			var refuse error
			switch {
			case c.limit > 0 && c.bytes > c.limit:
				refuse = ErrReplyTooLarge
			case !c.take(got):
				refuse = ErrLongReadsBusy
			}
			if refuse != nil {
				// Let go of what the op gathered (its last part was
				// not taken from shared).
				c.shared.Add(-int64(c.opBytes - got))
				c.bytes -= c.opBytes
				*acc = kv.Result{Err: refuse}
				end = len(op.Keys)
			}
		}
		budget -= end - c.next
		c.next = end
		if c.next == len(op.Keys) {
			c.op, c.next, c.opBytes = c.op+1, 0, 0
		}
	}
	return nil
}

// take counts n more bytes against the node's bound for all long reads;
// false (and nothing counted) if they would pass it.
func (c *chunkedRead) take(n int) bool {
	if c.shared.Add(int64(n)) > c.sharedMax && c.sharedMax > 0 {
		c.shared.Add(-int64(n))
		return false
	}
	return true
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
	// Dropped unanswered (the node closed), or answered: either way its
	// bytes leave the node's count.
	c.shared.Add(-int64(c.bytes))
	c.bytes = 0
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
