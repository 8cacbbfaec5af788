package storage

import (
	"bytes"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/seshat-db/seshat/internal/assert"
	"github.com/seshat-db/seshat/internal/mutant"
)

// The state machine lives in Pebble and is durable at the applied index
// after every Ready, so a raft snapshot needs no copy of its own: it is
// the data as of an index. Three operations build on that:
//
//  1. Compact drops the log up to an applied index, recording the index,
//     term and membership there as the log's new base.
//  2. Snapshot (raft.Storage) describes the data at the applied index and
//     pins it with a Pebble snapshot, which a SnapshotReader then streams
//     to a follower in bounded chunks.
//  3. A follower stages the chunks under t/ as they arrive, and
//     InstallSnapshot swaps them in for its data. The swap is crash-safe:
//     a marker written first makes a restart finish it.

// Compact makes index the log's new base and deletes the entries up to it.
// index must be applied.
func (s *Store) Compact(index uint64) error {
	if index <= s.base.GetIndex() {
		return nil
	}
	assert.That(index <= s.applied, "compacting to %d beyond applied %d", index, s.applied)
	term, err := s.Term(index)
	if err != nil {
		return err
	}
	// The base's membership is the applied one, which may be newer than
	// the membership at index. Nothing reads it but the fallback for
	// stores from before m/conf; raft gets membership from m/conf.
	base := &pb.SnapshotMetadata{Index: proto.Uint64(index), Term: proto.Uint64(term), ConfState: proto.Clone(s.conf).(*pb.ConfState)}
	b := s.db.NewBatch()
	defer b.Close()
	data, _ := proto.Marshal(base)
	if !mutant.On(mutant.CompactBaseNotPersisted) {
		_ = b.Set(keySnapshot, data, nil)
	}
	end := index + 1
	if mutant.On(mutant.CompactOneTooFar) {
		end++
	}
	_ = b.DeleteRange(logKey(0), logKey(end), nil)
	if err := s.commitRaw(b); err != nil {
		return err
	}
	if mutant.On(mutant.SnapshotStaleData) {
		s.releasePinned()
		s.pinned = &pinned{index: s.applied, snap: s.db.NewSnapshot()}
	}
	s.terms = append(s.terms[:0], s.terms[index-s.base.GetIndex():]...)
	s.recent.dropThrough(index)
	s.logBytes = 0
	s.base = base
	return nil
}

// commitRaw commits a batch built outside Batch, with the same fail-stop
// rule.
func (s *Store) commitRaw(b engineBatch) error {
	return s.commit(b, pebble.Sync)
}

// LogBytesSinceBase is about how many bytes of entries the log holds past
// its base: the other trigger for a snapshot.
func (s *Store) LogBytesSinceBase() uint64 { return s.logBytes }

// pinned is a Pebble snapshot taken by Snapshot, kept until a transfer
// takes it with OpenSnapshot.
type pinned struct {
	index uint64
	snap  engineSnapshot
}

// Snapshot implements raft.Storage. It describes the data at the applied
// index and pins that data, for the transfer that follows.
func (s *Store) Snapshot() (*pb.Snapshot, error) {
	if s.confChanging {
		return nil, raft.ErrSnapshotTemporarilyUnavailable
	}
	term, err := s.Term(s.applied)
	if err != nil {
		return nil, err
	}
	switch {
	case s.pinned != nil && mutant.On(mutant.SnapshotStaleData):
		s.pinned.index = s.applied // the data pinned at the last compaction, under today's index
	case s.pinned == nil || s.pinned.index != s.applied:
		s.releasePinned()
		s.pinned = &pinned{index: s.applied, snap: s.db.NewSnapshot()}
	}
	return &pb.Snapshot{Metadata: &pb.SnapshotMetadata{
		Index: proto.Uint64(s.applied), Term: proto.Uint64(term),
		ConfState: proto.Clone(s.conf).(*pb.ConfState),
	}}, nil
}

func (s *Store) releasePinned() {
	if s.pinned != nil {
		_ = s.pinned.snap.Close()
		s.pinned = nil
	}
}

// SnapshotReader streams the data of one snapshot in chunks.
type SnapshotReader struct {
	snap engineSnapshot
	span int    // which of snapshotSpans it is in
	next []byte // the first key not yet read
}

// OpenSnapshot returns a reader of the data at index, which must be the
// index of the last snapshot raft asked for.
func (s *Store) OpenSnapshot(index uint64) (*SnapshotReader, error) {
	var snap engineSnapshot
	switch {
	case s.pinned != nil && s.pinned.index == index:
		snap = s.pinned.snap
		s.pinned = nil // the reader owns it now
	case index == s.applied:
		snap = s.db.NewSnapshot() // nothing applied since: the same data
	default:
		return nil, fmt.Errorf("storage: no snapshot of index %d to read (applied %d)", index, s.applied)
	}
	return &SnapshotReader{snap: snap, next: snapshotSpans[0][0]}, nil
}

// Next appends up to about maxBytes of key-value pairs to fn's calls and
// reports whether the snapshot is exhausted. Keys are whole store keys
// (d/... and s/...).
func (r *SnapshotReader) Next(maxBytes int, fn func(key, value []byte)) (done bool, err error) {
	size := 0
	for r.span < len(snapshotSpans) {
		it, err := r.snap.NewIter(&pebble.IterOptions{LowerBound: r.next, UpperBound: snapshotSpans[r.span][1]})
		if err != nil {
			return false, err
		}
		for valid := it.First(); valid; valid = it.Next() {
			if size > 0 && size+len(it.Key())+len(it.Value()) > maxBytes {
				r.next = append(r.next[:0:0], it.Key()...)
				return false, it.Close()
			}
			fn(it.Key(), it.Value())
			size += len(it.Key()) + len(it.Value())
		}
		if err := it.Close(); err != nil {
			return false, err
		}
		r.span++
		if r.span < len(snapshotSpans) {
			r.next = snapshotSpans[r.span][0]
		}
	}
	return true, nil
}

// Close releases the Pebble snapshot.
func (r *SnapshotReader) Close() error { return r.snap.Close() }

// ResetStaging discards any partly received snapshot.
func (s *Store) ResetStaging() error {
	b := s.db.NewBatch()
	defer b.Close()
	_ = b.DeleteRange(prefixStaging, prefixStagingEnd, nil)
	return s.commitRaw(b)
}

// Stage writes received snapshot pairs under the staging prefix. Keys
// outside the snapshot's spans are refused: a peer must not be able to
// write raft state this way.
func (s *Store) Stage(pairs [][2][]byte) error {
	b := s.db.NewBatch()
	defer b.Close()
	for _, kv := range pairs {
		if !inSnapshotSpans(kv[0]) {
			return fmt.Errorf("storage: snapshot chunk holds key %q outside the data", kv[0])
		}
		_ = b.Set(append(append([]byte{}, prefixStaging...), kv[0]...), kv[1], nil)
	}
	// Not synced: a crash loses the transfer, which then starts over. The
	// install's marker is synced, and syncs these with it.
	return s.commit(b, pebble.NoSync)
}

func inSnapshotSpans(key []byte) bool {
	for _, span := range snapshotSpans {
		if bytes.Compare(key, span[0]) >= 0 && bytes.Compare(key, span[1]) < 0 {
			return true
		}
	}
	return false
}

// InstallSnapshot replaces the data with the staged snapshot whose
// metadata is given, and makes it the log's new base, with hs as the hard
// state. The log is discarded: raft resends what follows the snapshot.
func (s *Store) InstallSnapshot(meta *pb.SnapshotMetadata, hs *pb.HardState) error {
	if mutant.On(mutant.InstallUnsynced) {
		return s.finishInstall(meta, hs)
	}
	b := s.db.NewBatch()
	data, _ := proto.Marshal(meta)
	_ = b.Set(keyInstalling, data, nil)
	err := s.commitRaw(b)
	b.Close()
	if err != nil {
		return err
	}
	return s.finishInstall(meta, hs)
}

// finishInstall does the swap that InstallSnapshot's marker promises. It
// is idempotent, so a restart can run it again.
func (s *Store) finishInstall(meta *pb.SnapshotMetadata, hs *pb.HardState) error {
	b := s.db.NewBatch()
	for _, span := range snapshotSpans {
		if !mutant.On(mutant.InstallKeepsOldData) {
			_ = b.DeleteRange(span[0], span[1], nil)
		}
	}
	_ = b.DeleteRange(prefixHashes, prefixHashesEnd, nil)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefixStaging, UpperBound: prefixStagingEnd})
	if err != nil {
		b.Close()
		return err
	}
	var keys int64
	for valid := it.First(); valid; valid = it.Next() {
		key := it.Key()[len(prefixStaging):]
		if bytes.HasPrefix(key, prefixData) {
			keys++
			if !mutant.On(mutant.InstallSkipsScanIndex) {
				_ = b.Set(indexKey(key[len(prefixData):]), nil, nil)
			}
		}
		_ = b.Set(key, it.Value(), nil)
		if b.Len() >= stagingBatchBytes {
			// Bounded memory: commit the copy so far, unsynced; the final
			// synced batch makes it all durable, and until then the marker
			// says the copy must be redone.
			if err := s.commit(b, pebble.NoSync); err != nil {
				_ = it.Close()
				b.Close()
				return err
			}
			b.Close()
			b = s.db.NewBatch()
		}
	}
	if err := it.Close(); err != nil {
		b.Close()
		return err
	}
	if hs == nil {
		hs = proto.Clone(s.hardState).(*pb.HardState)
	}
	if hs.GetCommit() < meta.GetIndex() {
		hs.Commit = proto.Uint64(meta.GetIndex())
	}
	data, _ := proto.Marshal(meta)
	_ = b.Set(keySnapshot, data, nil)
	conf := proto.Clone(meta.GetConfState()).(*pb.ConfState)
	confData, _ := proto.Marshal(conf)
	_ = b.Set(keyConfState, confData, nil)
	hsData, _ := proto.Marshal(hs)
	_ = b.Set(keyHardState, hsData, nil)
	_ = b.DeleteRange(logKey(0), prefixLogEnd, nil)
	_ = b.Set(keyApplied, uint64Value(meta.GetIndex()), nil)
	_ = b.Set(keyKeyCount, uint64Value(uint64(keys)), nil)
	_ = b.DeleteRange(prefixStaging, prefixStagingEnd, nil)
	_ = b.Delete(keyInstalling, nil)
	if mutant.On(mutant.InstallUnsynced) {
		err = s.commit(b, pebble.NoSync)
	} else {
		err = s.commitRaw(b)
	}
	b.Close()
	if err != nil {
		return err
	}
	s.releasePinned()
	s.base = proto.Clone(meta).(*pb.SnapshotMetadata)
	s.hardState = hs
	s.lastIndex = meta.GetIndex()
	s.terms = s.terms[:0]
	s.recent = entryCache{}
	s.logBytes = 0
	s.applied = meta.GetIndex()
	s.durableApplied = s.applied
	s.keyCount = keys
	s.conf = conf
	s.deadlineFloor = 0
	if err := s.countExpiring(); err != nil {
		return err
	}
	if err := s.resetDataSum(); err != nil {
		return err
	}
	if err := s.loadClock(); err != nil {
		return err
	}
	return s.loadMembers()
}

// resumeInstall finishes an install that a crash interrupted.
func (s *Store) resumeInstall() error {
	meta := &pb.SnapshotMetadata{}
	v, found, err := get(s.db, keyInstalling)
	if err != nil || !found {
		return err
	}
	if err := proto.Unmarshal(v, meta); err != nil {
		return fmt.Errorf("install marker: %w", err)
	}
	return s.finishInstall(meta, nil)
}
