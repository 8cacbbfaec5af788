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

// groupKeys counts the keys a read group touches: a read-only
// transaction's are its watched keys and every key its queued ops read,
// so that MGET inside MULTI meets the bounds a bare MGET meets. An op that
// walks the whole keyspace (SCAN, KEYS, RANDOMKEY) counts as more than any
// chunk: it always runs on the worker.
func groupKeys(ops []kv.Op) int {
	n := 0
	for i := range ops {
		if walksKeyspace(ops[i].Kind) {
			return math.MaxInt
		}
		keys := len(ops[i].Keys)
		if ops[i].Kind == kv.ExecRead {
			inner := groupKeys(ops[i].Ops)
			if inner == math.MaxInt {
				return math.MaxInt
			}
			keys += inner
		}
		n += max(keys, 1)
	}
	return n
}

func walksKeyspace(k kv.Kind) bool { return k == kv.Scan || k == kv.Keys || k == kv.RandomKey }

// resultBytes counts the value bytes of a result, a transaction's
// nested results' included.
func resultBytes(r kv.Result) int {
	n := len(r.Value)
	for _, v := range r.Values {
		n += len(v)
	}
	for i := range r.Results {
		n += resultBytes(r.Results[i])
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
		if op.Kind == kv.ExecRead {
			res, err := c.readTxn(op)
			if err != nil {
				return err
			}
			c.res[c.op] = res
			c.op++
			budget -= groupKeys(c.ops[c.op-1 : c.op])
			continue
		}
		if op.Kind != kv.MGet && op.Kind != kv.Exists {
			res, err := kv.Apply(c.view, op)
			if err != nil {
				return err
			}
			if refuse := c.count(resultBytes(res)); refuse != nil {
				res = kv.Result{Err: refuse}
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

// count counts n more bytes of the group against its bound and the
// node's, or answers the error to reply instead (and counts nothing).
func (c *chunkedRead) count(n int) error {
	switch {
	case c.limit > 0 && c.bytes+n > c.limit:
		return ErrReplyTooLarge
	case !c.take(n):
		return ErrLongReadsBusy
	}
	c.bytes += n
	return nil
}

// readTxn reads a read-only transaction, all from the snapshot (so it
// is one instant, as EXEC is), in one job: its queued ops one at a time,
// an MGET a chunk of keys at a time, each part's values counted against
// the group's bounds before the next is read. A transaction whose values
// pass them answers the error alone, and lets go of what it gathered.
func (c *chunkedRead) readTxn(op kv.Op) (kv.Result, error) {
	watched, err := kv.Apply(c.view, kv.Op{Kind: kv.ExecRead, Keys: op.Keys, Values: op.Values})
	if err != nil || watched.Nil {
		return watched, err
	}
	results := make([]kv.Result, len(op.Ops))
	got := 0
	for i, sub := range op.Ops {
		parts := []kv.Op{sub}
		if sub.Kind == kv.MGet {
			parts = splitKeys(sub, c.chunk)
		}
		for _, part := range parts {
			r, err := kv.Apply(c.view, part)
			if err != nil {
				return kv.Result{}, err
			}
			n := resultBytes(r)
			if refuse := c.count(n); refuse != nil {
				c.shared.Add(-int64(got))
				c.bytes -= got
				return kv.Result{Err: refuse}, nil
			}
			got += n
			if sub.Kind == kv.MGet {
				r.Values = append(results[i].Values, r.Values...)
			}
			results[i] = r
		}
	}
	return kv.Result{Results: results}, nil
}

// splitKeys splits a multi-key op into ops of at most n keys each.
func splitKeys(op kv.Op, n int) []kv.Op {
	var parts []kv.Op
	n = max(n, 1)
	for from := 0; from < len(op.Keys); from += n {
		part := op
		part.Keys = op.Keys[from:min(from+n, len(op.Keys))]
		parts = append(parts, part)
	}
	return parts
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
