package storage

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tidwall/btree"
)

// MemDisk is a machine's disk for the in-memory twin of Pebble: what
// outlives the process. Like Pebble's write-ahead log, its writes are one
// ordered stream in which a sync makes everything before it durable, and
// of which a crash keeps a prefix.
//
// It holds the state as the page cache has it (state: everything
// committed, synced or not), which the open engine reads and writes in
// place, and each batch committed since the last sync with what it
// replaced, so that a crash image can take those back.
//
// The twin exists for the simulator's speed: Pebble's commit pipeline,
// memtables, levels, background goroutines and open cost took a third
// of a simulated run. Faults that need Pebble's files (flipped bytes,
// lying disks, crashes mid-compaction) keep running on Pebble.
type MemDisk struct {
	state    *btree.BTreeG[memKV]
	unsynced []memRecord
	open     bool
	// SyncHook, when set, runs before a sync makes what was written
	// durable: an error fails the sync, and nothing written since the
	// last sync becomes durable. The simulator's fault injection.
	SyncHook func() error
}

type memKV struct{ key, value []byte }

func memLess(a, b memKV) bool { return bytes.Compare(a.key, b.key) < 0 }

type memOpKind uint8

const (
	memSet memOpKind = iota + 1
	memDelete
	memDeleteRange // key up to value, exclusive
)

type memOp struct {
	kind       memOpKind
	key, value []byte
}

// memRecord is one committed batch, which survives a crash whole or not,
// and what applying it replaced: the undo, in the order it was replaced.
type memRecord struct {
	ops  []memOp
	undo []memUndo
}

// memUndo is one key's state before a write: its record, or absent.
type memUndo struct {
	kv      memKV
	present bool
}

func newMemTree() *btree.BTreeG[memKV] {
	return btree.NewBTreeGOptions(memLess, btree.Options{NoLocks: true})
}

// NewMemDisk returns an empty disk.
func NewMemDisk() *MemDisk { return &MemDisk{state: newMemTree()} }

// Unsynced is how many batches were committed since the last sync.
func (d *MemDisk) Unsynced() int { return len(d.unsynced) }

// Keys is how many keys the disk holds, synced or not.
func (d *MemDisk) Keys() int { return d.state.Len() }

// Image returns the disk a crash leaves that kept the first keep of the
// unsynced batches: a new disk, everything on it synced; d is unchanged.
func (d *MemDisk) Image(keep int) *MemDisk {
	t := d.state.Copy()
	for i := len(d.unsynced) - 1; i >= keep; i-- {
		d.unsynced[i].takeBack(t)
	}
	return &MemDisk{state: t}
}

// takeBack undoes r on t, the newest replaced record first.
func (r memRecord) takeBack(t *btree.BTreeG[memKV]) {
	for i := len(r.undo) - 1; i >= 0; i-- {
		u := r.undo[i]
		if u.present {
			t.Set(u.kv)
		} else {
			t.Delete(u.kv)
		}
	}
}

// applyOps writes ops to t and returns what they replaced.
func applyOps(t *btree.BTreeG[memKV], ops []memOp) []memUndo {
	undo := make([]memUndo, 0, len(ops)) // about one per op: sized once
	for _, op := range ops {
		switch op.kind {
		case memSet:
			prev, ok := t.Set(memKV{op.key, op.value})
			if !ok {
				prev = memKV{key: op.key}
			}
			undo = append(undo, memUndo{prev, ok})
		case memDelete:
			prev, ok := t.Delete(memKV{key: op.key})
			if ok {
				undo = append(undo, memUndo{prev, true})
			}
		case memDeleteRange:
			var doomed []memKV
			t.Ascend(memKV{key: op.key}, func(kv memKV) bool {
				if bytes.Compare(kv.key, op.value) >= 0 {
					return false
				}
				doomed = append(doomed, kv)
				return true
			})
			for _, kv := range doomed {
				t.Delete(kv)
				undo = append(undo, memUndo{kv, true})
			}
		}
	}
	return undo
}

// memEngine is the engine over a MemDisk, reading and writing its state
// in place. Iterators and snapshots read the tree as it was when they
// were made: a commit while any is open moves the engine onto an O(1)
// copy-on-write copy first, leaving the old tree to them.
type memEngine struct {
	disk      *MemDisk
	views     int // open iterators and snapshots
	liveViews int // ... of them, those reading the current tree
	closed    bool
}

var errMemDiskOpen = errors.New("the disk is already open")

func openMem(d *MemDisk) (*memEngine, error) {
	if d.open {
		return nil, errMemDiskOpen
	}
	d.open = true
	// What was written but not synced is in the page cache: a process
	// that reopens the disk without a machine crash reads it.
	return &memEngine{disk: d}, nil
}

func (e *memEngine) mustBeOpen() {
	if e.closed {
		panic(pebble.ErrClosed) // as Pebble does
	}
}

// commit writes ops, as Pebble does, to the state first and then, with
// sync, syncs: a failed sync leaves them written but not durable.
func (e *memEngine) commit(ops []memOp, sync bool) error {
	e.mustBeOpen()
	if len(ops) == 0 {
		return nil // as Pebble: an empty batch writes nothing, syncs nothing
	}
	d := e.disk
	if e.liveViews > 0 {
		d.state = d.state.Copy()
		e.liveViews = 0
	}
	d.unsynced = append(d.unsynced, memRecord{ops: ops, undo: applyOps(d.state, ops)})
	if !sync {
		return nil
	}
	if d.SyncHook != nil {
		if err := d.SyncHook(); err != nil {
			return err
		}
	}
	d.unsynced = d.unsynced[:0]
	return nil
}

// view hands tree to a new iterator or snapshot.
func (e *memEngine) view(tree *btree.BTreeG[memKV]) *memView {
	e.mustBeOpen()
	e.views++
	v := &memView{e: e, tree: tree}
	if tree == e.disk.state {
		e.liveViews++
		v.live = true
	}
	return v
}

// memView is what an iterator or snapshot reads.
type memView struct {
	e    *memEngine
	tree *btree.BTreeG[memKV]
	live bool // counted in liveViews
}

func (v *memView) release() {
	v.e.views--
	if v.live && v.tree == v.e.disk.state {
		v.e.liveViews--
	}
}

func (e *memEngine) Get(key []byte) ([]byte, io.Closer, error) {
	e.mustBeOpen()
	return treeGet(e.disk.state, key)
}

func treeGet(t *btree.BTreeG[memKV], key []byte) ([]byte, io.Closer, error) {
	kv, ok := t.Get(memKV{key: key})
	if !ok {
		return nil, nil, pebble.ErrNotFound
	}
	return kv.value, noClose, nil
}

// noClose is the closer of every value read: the twin pins nothing. One
// shared value, as io.NopCloser allocates on each call.
var noClose = io.NopCloser(nil)

func (e *memEngine) NewIter(o *pebble.IterOptions) (iterator, error) {
	return newMemIter(e.view(e.disk.state), o), nil
}

func (e *memEngine) NewBatch() engineBatch { e.mustBeOpen(); return &memBatch{e: e} }

func (e *memEngine) NewIndexedBatch() engineBatch {
	e.mustBeOpen()
	return &memBatch{e: e, indexed: true}
}

func (e *memEngine) NewSnapshot() engineSnapshot {
	return &memSnapshot{view: e.view(e.disk.state)}
}

// LogData has nothing to settle: the twin has no log writer goroutine
// holding records back, and a sync here would make data durable that
// the caller (SettleWAL, before a simulated crash) must leave unsynced.
func (e *memEngine) LogData([]byte, *pebble.WriteOptions) error { e.mustBeOpen(); return nil }

// Flush makes everything written durable: Pebble's flush rotates the
// WAL, syncing the one it leaves. Like that rotation sync, it is not one
// the simulator's faults count or strike (sim/disk.go).
func (e *memEngine) Flush() error {
	e.mustBeOpen()
	e.disk.unsynced = e.disk.unsynced[:0]
	return nil
}

func (e *memEngine) AsyncFlush() (<-chan struct{}, error) {
	if err := e.Flush(); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	close(done)
	return done, nil
}

func (e *memEngine) Checkpoint(string, ...pebble.CheckpointOption) error {
	return errors.New("the in-memory engine makes no checkpoints")
}

func (e *memEngine) Metrics() *pebble.Metrics { return &pebble.Metrics{} }

// Close releases the disk for the next process, everything written made
// durable as Pebble's Close syncs its WAL. Like Pebble, it refuses while
// iterators or snapshots are open: those are leaks.
func (e *memEngine) Close() error {
	e.mustBeOpen()
	e.closed = true
	e.disk.open = false
	e.disk.unsynced = e.disk.unsynced[:0]
	if e.views != 0 {
		return fmt.Errorf("storage: %d iterators or snapshots leaked", e.views)
	}
	return nil
}

type memSnapshot struct {
	view   *memView
	closed bool
}

func (s *memSnapshot) Get(key []byte) ([]byte, io.Closer, error) {
	s.mustBeOpen()
	return treeGet(s.view.tree, key)
}

// mustBeOpen panics, as Pebble does, on a read of a closed snapshot or
// through a closed engine.
func (s *memSnapshot) mustBeOpen() {
	if s.closed {
		panic(pebble.ErrClosed)
	}
	s.view.e.mustBeOpen()
}

// NewIter reads the snapshot's tree, which no commit changes.
func (s *memSnapshot) NewIter(o *pebble.IterOptions) (iterator, error) {
	s.mustBeOpen()
	return newMemIter(s.view.e.view(s.view.tree), o), nil
}

func (s *memSnapshot) Close() error {
	if s.closed {
		panic(pebble.ErrClosed) // as Pebble does
	}
	s.closed = true
	s.view.release()
	return nil
}

// memBatch gathers writes for one commit. An indexed one answers Get
// from its own writes, else from the live state; its iterators walk a
// copy of the live state with its writes applied.
type memBatch struct {
	e       *memEngine
	ops     []memOp
	size    int
	indexed bool
	// arena holds the ops' keys and values: one allocation per chunk
	// instead of one per op. A chunk is never reused or grown in place,
	// because the ops (and, once committed, the tree) keep slices of it.
	arena []byte
	// committed: a batch commits once; Pebble panics on a second commit
	// or a write after the commit, and so does the twin, so a store bug
	// of that kind shows on every seed.
	committed bool
}

// memBatchHeader and memOpOverhead make Len count about what Pebble's
// batch representation would: the store sizes its staging batches by it.
const (
	memBatchHeader = 12
	memOpOverhead  = 3
)

// Arena chunks start small, since most batches write a few hundred
// bytes, and double up to a cap for the rare large batch.
const (
	memArenaMin = 512
	memArenaMax = 64 << 10
)

// alloc returns n bytes of the arena, capped at n so that an append to
// them cannot reach the next op's.
func (b *memBatch) alloc(n int) []byte {
	if b.arena == nil || cap(b.arena)-len(b.arena) < n {
		size := min(max(2*cap(b.arena), memArenaMin), memArenaMax)
		if n > size {
			return make([]byte, n)
		}
		b.arena = make([]byte, 0, size)
	}
	start := len(b.arena)
	b.arena = b.arena[:start+n]
	return b.arena[start : start+n : start+n]
}

func (b *memBatch) add(kind memOpKind, key, value []byte) error {
	b.e.mustBeOpen()
	b.mustNotBeCommitted()
	buf := b.alloc(len(key) + len(value))
	copy(buf, key)
	copy(buf[len(key):], value)
	op := memOp{kind: kind, key: buf[:len(key):len(key)], value: buf[len(key):]}
	if kind == memDelete {
		op.value = nil
	}
	if b.ops == nil {
		b.ops = make([]memOp, 0, 8) // one Ready's batch: mostly fewer ops
	}
	b.ops = append(b.ops, op)
	b.size += len(key) + len(value) + memOpOverhead
	return nil
}

func (b *memBatch) Set(key, value []byte, _ *pebble.WriteOptions) error {
	return b.add(memSet, key, value)
}

func (b *memBatch) Delete(key []byte, _ *pebble.WriteOptions) error {
	return b.add(memDelete, key, nil)
}

func (b *memBatch) DeleteRange(start, end []byte, _ *pebble.WriteOptions) error {
	return b.add(memDeleteRange, start, end)
}

func (b *memBatch) Empty() bool   { return len(b.ops) == 0 }
func (b *memBatch) Len() int      { return memBatchHeader + b.size }
func (b *memBatch) Count() uint32 { return uint32(len(b.ops)) }

func (b *memBatch) mustNotBeCommitted() {
	if b.committed {
		panic("pebble: batch already committing")
	}
}

func (b *memBatch) Commit(opts *pebble.WriteOptions) error {
	b.mustNotBeCommitted()
	b.committed = true
	ops := b.ops
	b.ops, b.size, b.arena = nil, 0, nil
	return b.e.commit(ops, opts.GetSync())
}

func (b *memBatch) Close() error {
	b.ops, b.arena = nil, nil
	return nil
}

func (b *memBatch) mustBeIndexed() {
	if !b.indexed {
		panic("storage: read through a batch that is not indexed")
	}
	b.e.mustBeOpen()
}

// Get reads key as the batch would leave it: the batch's last op that
// writes key or deletes a range covering it decides, else the live state
// does. A scan back through the ops, with no index, because the batches
// that are read hold a few dozen ops at most (one raft Ready's).
func (b *memBatch) Get(key []byte) ([]byte, io.Closer, error) {
	b.mustBeIndexed()
	for i := len(b.ops) - 1; i >= 0; i-- {
		op := &b.ops[i]
		switch op.kind {
		case memSet:
			if bytes.Equal(op.key, key) {
				return op.value, noClose, nil
			}
		case memDelete:
			if bytes.Equal(op.key, key) {
				return nil, nil, pebble.ErrNotFound
			}
		case memDeleteRange:
			if bytes.Compare(key, op.key) >= 0 && bytes.Compare(key, op.value) < 0 {
				return nil, nil, pebble.ErrNotFound
			}
		}
	}
	return treeGet(b.e.disk.state, key)
}

func (b *memBatch) NewIter(o *pebble.IterOptions) (iterator, error) {
	b.mustBeIndexed()
	t := b.e.disk.state.Copy()
	applyOps(t, b.ops)
	return newMemIter(b.e.view(t), o), nil
}

// memIter walks a view's tree within [lower, upper).
type memIter struct {
	view         *memView
	it           btree.IterG[memKV]
	lower, upper []byte
	valid        bool
	closed       bool
}

func newMemIter(v *memView, o *pebble.IterOptions) *memIter {
	it := &memIter{view: v, it: v.tree.Iter()}
	if o != nil {
		it.lower, it.upper = o.LowerBound, o.UpperBound
	}
	return it
}

func (m *memIter) within(ok bool) bool {
	if ok {
		k := m.it.Item().key
		ok = (m.upper == nil || bytes.Compare(k, m.upper) < 0) && (m.lower == nil || bytes.Compare(k, m.lower) >= 0)
	}
	m.valid = ok
	return ok
}

func (m *memIter) First() bool {
	if m.lower != nil {
		return m.within(m.it.Seek(memKV{key: m.lower}))
	}
	return m.within(m.it.First())
}

func (m *memIter) Last() bool {
	if m.upper == nil {
		return m.within(m.it.Last())
	}
	if m.it.Seek(memKV{key: m.upper}) {
		return m.within(m.it.Prev())
	}
	return m.within(m.it.Last())
}

func (m *memIter) Next() bool {
	if !m.valid {
		return false
	}
	return m.within(m.it.Next())
}

func (m *memIter) Key() []byte   { return m.it.Item().key }
func (m *memIter) Value() []byte { return m.it.Item().value }
func (m *memIter) Error() error  { return nil }

func (m *memIter) Close() error {
	if m.closed {
		return nil
	}
	m.closed = true
	m.it.Release()
	m.view.release()
	return nil
}
