package storage

import "github.com/cockroachdb/pebble/v2"

// memBudget makes the store, not Pebble, decide when the memtable (and
// with it the WAL) rotates, for Options.DeterministicFlush. Pebble rotates
// when its memtable's arena is full, and how full it is depends on the
// heights of skiplist nodes, which Pebble draws from the global random
// source: the same writes would start a new WAL at different points from
// one run to the next, and a simulated crash would find different files.
// Counting each batch at the most the arena can take for it, and flushing
// before the count could pass what the smallest memtable holds, makes
// every rotation a function of what was written.
type memBudget struct {
	budget uint64 // 0: Pebble decides
	used   uint64 // the most the current memtable can hold of our writes
}

// pebbleFirstMemTable is the size of Pebble's first memtable (its
// initialMemTableSize): later ones grow from it towards MemTableSize but
// never shrink below it.
const pebbleFirstMemTable = 256 << 10

// pebbleDefaultMemTable is Pebble's MemTableSize when none is set.
const pebbleDefaultMemTable = 4 << 20

// memTableEmptyMax bounds what an empty memtable's arena already holds.
const memTableEmptyMax = 16 << 10

// maxArenaNode bounds what one entry costs a memtable's arena beyond its
// key and value: a skiplist node of full height (184 bytes), the 8-byte
// key trailer and alignment (arenaskl.MaxNodeSize).
const maxArenaNode = 200

func newMemBudget(o Options) memBudget {
	if !o.DeterministicFlush {
		return memBudget{}
	}
	size := o.MemTableBytes
	if size == 0 {
		size = pebbleDefaultMemTable
	}
	// The smallest memtable, less what an empty one uses (under 16 KiB,
	// Pebble's memTableEmptySize). A batch that alone needs more goes into
	// a memtable of its own, or Pebble sets it aside as a large batch,
	// rotating the WAL after it: either way by its size alone.
	return memBudget{budget: min(size, pebbleFirstMemTable) - memTableEmptyMax}
}

// commit commits b with opts, first rotating the memtable if b might not
// fit the room left under the budget. It runs under guard.
func (s *Store) commit(b engineBatch, opts *pebble.WriteOptions) error {
	return s.guard(func() error {
		if err := s.makeRoom(b); err != nil {
			return err
		}
		return b.Commit(opts)
	})
}

func (s *Store) makeRoom(b engineBatch) error {
	m := &s.room
	if m.budget == 0 {
		return nil
	}
	need := uint64(b.Len()) + uint64(b.Count())*maxArenaNode
	if m.used > 0 && m.used+need > m.budget {
		// Rotates at once, under the commit lock; only the flush itself
		// runs in the background.
		if _, err := s.db.AsyncFlush(); err != nil {
			return err
		}
		m.used = 0
	}
	m.used += need
	return nil
}
