package storage

import "github.com/cockroachdb/pebble/v2"

// SettleWAL waits until Pebble's log writer has handed everything
// committed so far to the WAL file. Records committed without sync sit in
// the writer's buffer until its goroutine runs, so what reached the file
// at a given moment depends on goroutine timing; a synced empty record
// drains them, because a sync waits for all that was queued before it. A
// simulator that crashes the machine calls this first, with a file system
// that does not make the sync durable, so what the crash may keep is the
// same on every replay.
func (s *Store) SettleWAL() error {
	return s.guard(func() error { return s.db.LogData(nil, pebble.Sync) })
}

// ScanAll calls fn for every key and value the store holds, raft state
// and staging included, in key order: what a reopened store recovered.
func (s *Store) ScanAll(fn func(key, value []byte)) error {
	return recoverFatal(func() error { return s.scan(&pebble.IterOptions{}, fn) })
}
