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
// outlives the process. It holds the durable state, and the batches
// committed without sync since the last sync, in commit order: like
// Pebble's write-ahead log, one ordered stream in which a sync makes
// everything before it durable, and of which a crash keeps a prefix.
//
// The twin exists for the simulator's speed: Pebble's commit pipeline,
// memtables, levels, background goroutines and open cost took a third
// of a simulated run. Faults that need Pebble's files (flipped bytes,
// lying disks, crashes mid-compaction) keep running on Pebble.
type MemDisk struct {
	durable  *btree.BTreeG[memKV]
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

// memRecord is one committed batch: it survives a crash whole or not.
type memRecord []memOp

func newMemTree() *btree.BTreeG[memKV] {
	return btree.NewBTreeGOptions(memLess, btree.Options{NoLocks: true})
}

// NewMemDisk returns an empty disk.
func NewMemDisk() *MemDisk { return &MemDisk{durable: newMemTree()} }

// Unsynced is how many batches were committed since the last sync.
func (d *MemDisk) Unsynced() int { return len(d.unsynced) }

// DurableKeys is how many keys the durable state holds.
func (d *MemDisk) DurableKeys() int { return d.durable.Len() }

// Image returns the disk a crash leaves that kept the first keep of the
// unsynced batches: a new disk; d is unchanged.
func (d *MemDisk) Image(keep int) *MemDisk {
	img := &MemDisk{durable: d.durable.Copy()}
	for _, r := range d.unsynced[:keep] {
		r.applyTo(img.durable)
	}
	return img
}

func (r memRecord) applyTo(t *btree.BTreeG[memKV]) {
	for _, op := range r {
		switch op.kind {
		case memSet:
			t.Set(memKV{op.key, op.value})
		case memDelete:
			t.Delete(memKV{key: op.key})
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
			}
		}
	}
}

// memEngine is the engine over a MemDisk: the live state in a B-tree
// whose O(1) copy-on-write copies serve snapshots, iterators and the
// views of indexed batches.
type memEngine struct {
	disk   *MemDisk
	live   *btree.BTreeG[memKV]
	views  int // open iterators and snapshots
	closed bool
}

var errMemDiskOpen = errors.New("the disk is already open")

func openMem(d *MemDisk) (*memEngine, error) {
	if d.open {
		return nil, errMemDiskOpen
	}
	d.open = true
	e := &memEngine{disk: d, live: d.durable.Copy()}
	// What was written but not synced is in the page cache: a process
	// that reopens the disk without a machine crash reads it.
	for _, r := range d.unsynced {
		r.applyTo(e.live)
	}
	return e, nil
}

func (e *memEngine) mustBeOpen() {
	if e.closed {
		panic(pebble.ErrClosed) // as Pebble does
	}
}

func (e *memEngine) commit(ops []memOp, sync bool) error {
	e.mustBeOpen()
	if len(ops) == 0 {
		return nil // as Pebble: an empty batch writes nothing, syncs nothing
	}
	e.disk.unsynced = append(e.disk.unsynced, ops)
	if sync {
		if h := e.disk.SyncHook; h != nil {
			if err := h(); err != nil {
				return err
			}
		}
		for _, r := range e.disk.unsynced {
			r.applyTo(e.disk.durable)
		}
		e.disk.unsynced = nil
	}
	memRecord(ops).applyTo(e.live)
	return nil
}

func (e *memEngine) Get(key []byte) ([]byte, io.Closer, error) {
	e.mustBeOpen()
	return treeGet(e.live, key)
}

func treeGet(t *btree.BTreeG[memKV], key []byte) ([]byte, io.Closer, error) {
	kv, ok := t.Get(memKV{key: key})
	if !ok {
		return nil, nil, pebble.ErrNotFound
	}
	return kv.value, io.NopCloser(nil), nil
}

func (e *memEngine) NewIter(o *pebble.IterOptions) (iterator, error) {
	e.mustBeOpen()
	return e.newIter(e.live.Copy(), o), nil
}

func (e *memEngine) newIter(t *btree.BTreeG[memKV], o *pebble.IterOptions) *memIter {
	e.views++
	it := &memIter{e: e, it: t.Iter()}
	if o != nil {
		it.lower, it.upper = o.LowerBound, o.UpperBound
	}
	return it
}

func (e *memEngine) NewBatch() engineBatch { e.mustBeOpen(); return &memBatch{e: e} }
func (e *memEngine) NewIndexedBatch() engineBatch {
	e.mustBeOpen()
	return &memBatch{e: e, indexed: true}
}

func (e *memEngine) NewSnapshot() engineSnapshot {
	e.mustBeOpen()
	e.views++
	return &memSnapshot{e: e, tree: e.live.Copy()}
}

// LogData has nothing to settle: the twin has no log writer goroutine
// holding records back, and a sync here would make data durable that
// the caller (SettleWAL, before a simulated crash) must leave unsynced.
func (e *memEngine) LogData([]byte, *pebble.WriteOptions) error { e.mustBeOpen(); return nil }

func (e *memEngine) Flush() error { e.mustBeOpen(); return nil }

func (e *memEngine) AsyncFlush() (<-chan struct{}, error) {
	e.mustBeOpen()
	done := make(chan struct{})
	close(done)
	return done, nil
}

func (e *memEngine) Checkpoint(string, ...pebble.CheckpointOption) error {
	return errors.New("the in-memory engine makes no checkpoints")
}

func (e *memEngine) Metrics() *pebble.Metrics { return &pebble.Metrics{} }

// Close releases the disk for the next process. Like Pebble, it refuses
// while iterators or snapshots are open: those are leaks.
func (e *memEngine) Close() error {
	e.mustBeOpen()
	e.closed = true
	e.disk.open = false
	if e.views != 0 {
		return fmt.Errorf("storage: %d iterators or snapshots leaked", e.views)
	}
	return nil
}

type memSnapshot struct {
	e      *memEngine
	tree   *btree.BTreeG[memKV]
	closed bool
}

func (s *memSnapshot) Get(key []byte) ([]byte, io.Closer, error) { return treeGet(s.tree, key) }

func (s *memSnapshot) NewIter(o *pebble.IterOptions) (iterator, error) {
	return s.e.newIter(s.tree.Copy(), o), nil
}

func (s *memSnapshot) Close() error {
	if s.closed {
		return pebble.ErrClosed
	}
	s.closed = true
	s.e.views--
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
	// latest is each key's last Set or Delete in ops (an index into ops),
	// for an indexed batch's Get; ranges are the DeleteRanges' indexes.
	latest map[string]int
	ranges []int
}

// memBatchHeader and memOpOverhead make Len count about what Pebble's
// batch representation would: the store sizes its staging batches by it.
const (
	memBatchHeader = 12
	memOpOverhead  = 3
)

func (b *memBatch) add(kind memOpKind, key, value []byte) error {
	b.e.mustBeOpen()
	buf := make([]byte, len(key)+len(value))
	copy(buf, key)
	copy(buf[len(key):], value)
	op := memOp{kind: kind, key: buf[:len(key):len(key)], value: buf[len(key):]}
	if kind == memDelete {
		op.value = nil
	}
	if b.indexed {
		if kind == memDeleteRange {
			b.ranges = append(b.ranges, len(b.ops))
		} else {
			if b.latest == nil {
				b.latest = make(map[string]int)
			}
			b.latest[string(op.key)] = len(b.ops)
		}
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

func (b *memBatch) Commit(opts *pebble.WriteOptions) error {
	ops := b.ops
	b.ops, b.size, b.latest, b.ranges = nil, 0, nil, nil
	return b.e.commit(ops, opts.GetSync())
}

func (b *memBatch) Close() error {
	b.ops, b.latest, b.ranges = nil, nil, nil
	return nil
}

func (b *memBatch) mustBeIndexed() {
	if !b.indexed {
		panic("storage: read through a batch that is not indexed")
	}
	b.e.mustBeOpen()
}

// Get reads key as the batch would leave it: the later of its last write
// of key and the last range deletion covering key decides, else the live
// state does.
func (b *memBatch) Get(key []byte) ([]byte, io.Closer, error) {
	b.mustBeIndexed()
	last, written := b.latest[string(key)]
	for _, r := range b.ranges {
		op := b.ops[r]
		if (!written || r > last) && bytes.Compare(key, op.key) >= 0 && bytes.Compare(key, op.value) < 0 {
			return nil, nil, pebble.ErrNotFound
		}
	}
	if written {
		if op := b.ops[last]; op.kind == memSet {
			return op.value, io.NopCloser(nil), nil
		}
		return nil, nil, pebble.ErrNotFound
	}
	return treeGet(b.e.live, key)
}

func (b *memBatch) NewIter(o *pebble.IterOptions) (iterator, error) {
	b.mustBeIndexed()
	view := b.e.live.Copy()
	memRecord(b.ops).applyTo(view)
	return b.e.newIter(view, o), nil
}

// memIter walks a private copy of a tree within [lower, upper).
type memIter struct {
	e            *memEngine
	it           btree.IterG[memKV]
	lower, upper []byte
	valid        bool
	closed       bool
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
	m.e.views--
	return nil
}
