package storage

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/seshat-db/seshat/kv"
)

// A data record is what a d/ key holds: a flags byte, then the optional
// fields its flags name, in flag order, then the user's value.
//
//	flags (1 byte)
//	  bit 0 recordDeadline: 8 bytes, big-endian uint64, the key's
//	        deadline in cluster-time milliseconds since the Unix epoch
//	  bit 1 recordVersion: 8 bytes, big-endian uint64, the raft index
//	        of the write that stored the record (versions.go)
//	  bits 2-7 reserved: zero in this version; a new field takes the
//	        next bit and goes after the fields before it
//	value (the rest)
//
// A record with a reserved bit set was written by a newer binary and is
// refused rather than misread. Schema version 1 stored the bare value;
// open rewrites such a store (migrateRecords).
const (
	recordDeadline byte = 1 << 0
	recordVersion  byte = 1 << 1
	recordKnown         = recordDeadline | recordVersion
)

var errRecordCorrupt = errors.New("storage: corrupt data record")

// encodeRecord returns the record of item.
func encodeRecord(item kv.Item) []byte {
	size := 1 + len(item.Value)
	var flags byte
	if item.Deadline != 0 {
		flags |= recordDeadline
		size += 8
	}
	if item.Version != 0 {
		flags |= recordVersion
		size += 8
	}
	b := make([]byte, 0, size)
	b = append(b, flags)
	if flags&recordDeadline != 0 {
		b = binary.BigEndian.AppendUint64(b, uint64(item.Deadline))
	}
	if flags&recordVersion != 0 {
		b = binary.BigEndian.AppendUint64(b, item.Version)
	}
	return append(b, item.Value...)
}

// decodeRecord parses a record; the item's value aliases b.
func decodeRecord(b []byte) (kv.Item, error) {
	var item kv.Item
	if len(b) == 0 {
		return item, errRecordCorrupt
	}
	flags := b[0]
	if flags&^recordKnown != 0 {
		return item, fmt.Errorf("storage: data record flags %#x name a field this binary does not know", flags)
	}
	b = b[1:]
	if flags&recordDeadline != 0 {
		if len(b) < 8 {
			return item, errRecordCorrupt
		}
		item.Deadline = int64(binary.BigEndian.Uint64(b))
		if item.Deadline <= 0 {
			return item, errRecordCorrupt
		}
		b = b[8:]
	}
	if flags&recordVersion != 0 {
		if len(b) < 8 {
			return item, errRecordCorrupt
		}
		item.Version = binary.BigEndian.Uint64(b)
		if item.Version == 0 {
			return item, errRecordCorrupt
		}
		b = b[8:]
	}
	item.Value = b
	return item, nil
}

// getItem reads key's record through g.
func getItem(g getter, key []byte) (kv.Item, bool, error) {
	v, found, err := get(g, dataKey(key))
	if err != nil || !found {
		return kv.Item{}, found, err
	}
	item, err := decodeRecord(v)
	return item, err == nil, err
}

// migrateRecords rewrites a schema-1 store, whose d/ keys hold bare
// values, into records with no deadline, in bounded batches, then
// records the new schema version. Each batch also notes how far it got,
// so a crash part way resumes there instead of wrapping a record twice.
func (s *Store) migrateRecords() error {
	from := prefixData
	if v, found, err := get(s.db, keyMigrated); err != nil {
		return err
	} else if found {
		from = v
	}
	for {
		b := s.db.NewBatch()
		var last []byte
		err := s.scan(&pebble.IterOptions{LowerBound: from, UpperBound: prefixDataEnd}, func(k, v []byte) {
			if b.Len() >= stagingBatchBytes {
				return
			}
			_ = b.Set(k, encodeRecord(kv.Item{Value: v}), nil)
			last = append(last[:0], k...)
		})
		if err != nil {
			b.Close()
			return err
		}
		if last == nil {
			_ = b.Set(keySchema, uint64Value(recordsSchema), nil)
			_ = b.Delete(keyMigrated, nil)
			err = s.commitRaw(b)
			b.Close()
			return err
		}
		from = append(last, 0)
		_ = b.Set(keyMigrated, from, nil)
		err = s.commitRaw(b)
		b.Close()
		if err != nil {
			return err
		}
	}
}

// keyMigrated: the first d/ key migrateRecords has not rewritten yet.
var keyMigrated = []byte("m/migrated")
