package storage

import "encoding/binary"

// The key layout. Each prefix plays the part of one of the original
// design's column families; one Pebble batch can write across all of them
// atomically.
var (
	keySchema     = []byte("m/schema")  // uint32: the layout version
	keyApplied    = []byte("m/applied") // uint64: last entry applied to d/
	keyKeyCount   = []byte("m/keys")    // uint64: how many keys d/ holds
	keyHardState  = []byte("r/hs")      // raftpb.HardState
	keySnapshot   = []byte("r/snap")    // raftpb.SnapshotMetadata of the log's base
	prefixLog     = []byte("r/log/")    // + 8-byte big-endian index: raftpb.Entry
	prefixData    = []byte("d/")        // + user key: the key's record (record.go)
	prefixDataEnd = []byte("d0")        // the first key after every d/ key
)

// SchemaVersion is the layout this binary writes. A store written by a
// newer binary is refused; version 1 (bare values under d/) is migrated
// at open (migrateRecords), and version 2 (no SCAN index) gets its index
// (buildScanIndex).
const SchemaVersion = 3

// recordsSchema is the version whose d/ keys hold records (record.go).
const recordsSchema = 2

func logKey(index uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte{}, prefixLog...), index)
}

func dataKey(userKey []byte) []byte {
	return append(append(make([]byte, 0, len(prefixData)+len(userKey)), prefixData...), userKey...)
}

func uint64Value(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// keyIncarnation counts the times the store was opened: request ids carry
// it, so ids never repeat across restarts.
var keyIncarnation = []byte("m/incarnation")

// prefixSession + 16 bytes of session id: the session's dedup window.
var prefixSession = []byte("s/")

// Snapshot transfer and install.
var (
	keyInstalling     = []byte("m/installing") // raftpb.SnapshotMetadata of an install under way
	prefixStaging     = []byte("t/")           // + a d/ or s/ key: a snapshot being received
	prefixStagingEnd  = []byte("t0")
	prefixSessionEnd  = []byte("s0")
	prefixLogEnd      = []byte("r/log0")
	snapshotSpans     = [][2][]byte{{prefixClock, prefixClockEnd}, {prefixMember, prefixMemberEnd}, {prefixData, prefixDataEnd}, {prefixSession, prefixSessionEnd}, {prefixDeadlines, prefixDeadlinesEnd}, {prefixVanished, prefixVanishedEnd}, {prefixUser, prefixUserEnd}, {prefixMemberInfo, prefixMemberInfoEnd}}
	stagingBatchBytes = 4 << 20 // an install copies in batches of about this size
)
