package storage

import "time"

// Stats is what an operator watches of the store: its size, its keys,
// and Pebble's background work. Read it on the goroutine that owns the
// store (the node's), like everything else of a Store.
type Stats struct {
	DiskBytes           uint64        // Pebble's files: tables, WAL, manifest, compactions in flight
	Keys                int64         // user keys in the applied state
	Expiring            int64         // ... of them, those with a deadline
	Compactions         int64         // finished since open
	CompactionDuration  time.Duration // summed over those, as Pebble measured them
	CompactionDebtBytes uint64        // bytes Pebble estimates it must still compact
	CompactionsRunning  int64
	FlushCount          int64
	WriteStalls         int64 // write stalls begun since open
	InWriteStall        bool
	L0Files             int64 // L0 sublevels' files: their growth leads to stalls
}

// Stats returns the store's current figures.
func (s *Store) Stats() Stats {
	m := s.db.Metrics()
	return Stats{
		DiskBytes:           m.DiskSpaceUsage(),
		Keys:                s.keyCount,
		Expiring:            s.expiring,
		Compactions:         m.Compact.Count,
		CompactionDuration:  m.Compact.Duration,
		CompactionDebtBytes: m.Compact.EstimatedDebt,
		CompactionsRunning:  m.Compact.NumInProgress,
		FlushCount:          m.Flush.Count,
		WriteStalls:         s.events.stalls.Load(),
		InWriteStall:        s.events.stalled.Load(),
		L0Files:             m.Levels[0].TablesCount,
	}
}
