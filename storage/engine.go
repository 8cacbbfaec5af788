package storage

import (
	"io"

	"github.com/cockroachdb/pebble/v2"
)

// engine is the ordered key-value store a Store keeps everything in:
// Pebble over env's file system (pebbleEngine) in production, or for the
// simulator its in-memory twin over a MemDisk (memengine.go), which keeps
// Pebble's contract (atomic batches, one ordered write-ahead stream, a
// sync making all before it durable) at a small fraction of the cost.
// The method set is Pebble's own, so the Pebble side is a thin adapter.
type engine interface {
	reader
	NewBatch() engineBatch
	// NewIndexedBatch returns a batch whose reads see its own writes.
	NewIndexedBatch() engineBatch
	NewSnapshot() engineSnapshot
	LogData(data []byte, opts *pebble.WriteOptions) error
	Flush() error
	AsyncFlush() (<-chan struct{}, error)
	Checkpoint(dir string, opts ...pebble.CheckpointOption) error
	Metrics() *pebble.Metrics
	Close() error
}

// reader is what can be read: the engine, a batch, a snapshot.
type reader interface {
	Get(key []byte) ([]byte, io.Closer, error)
	NewIter(opts *pebble.IterOptions) (iterator, error)
}

type engineBatch interface {
	reader
	Set(key, value []byte, opts *pebble.WriteOptions) error
	Delete(key []byte, opts *pebble.WriteOptions) error
	DeleteRange(start, end []byte, opts *pebble.WriteOptions) error
	Empty() bool
	Len() int
	Count() uint32
	Commit(opts *pebble.WriteOptions) error
	Close() error
}

type engineSnapshot interface {
	reader
	Close() error
}

// iterator walks keys within its bounds; Key and Value are valid until
// the next move.
type iterator interface {
	First() bool
	Last() bool
	Next() bool
	Key() []byte
	Value() []byte
	Error() error
	Close() error
}

// pebbleEngine adapts *pebble.DB: only the methods that return Pebble's
// own batch, snapshot and iterator types need a word.
type pebbleEngine struct{ *pebble.DB }

func (e pebbleEngine) NewIter(o *pebble.IterOptions) (iterator, error) { return e.DB.NewIter(o) }
func (e pebbleEngine) NewBatch() engineBatch                           { return pebbleBatch{e.DB.NewBatch()} }
func (e pebbleEngine) NewIndexedBatch() engineBatch                    { return pebbleBatch{e.DB.NewIndexedBatch()} }
func (e pebbleEngine) NewSnapshot() engineSnapshot                     { return pebbleSnapshot{e.DB.NewSnapshot()} }

type pebbleBatch struct{ *pebble.Batch }

func (b pebbleBatch) NewIter(o *pebble.IterOptions) (iterator, error) { return b.Batch.NewIter(o) }

type pebbleSnapshot struct{ *pebble.Snapshot }

func (s pebbleSnapshot) NewIter(o *pebble.IterOptions) (iterator, error) {
	return s.Snapshot.NewIter(o)
}
