package storage

import (
	"bytes"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// CheckpointInfo is what a backup records of the state it copied.
type CheckpointInfo struct {
	Applied  uint64 // the data is exactly the state after this raft index
	Voters   []uint64
	Learners []uint64
	Keys     int64
}

// Checkpoint writes a consistent copy of the store to dir (which must
// not exist; on the store's file system, where Pebble hard-links its
// tables): every table and the WAL flushed up to the last commit. Called
// on the goroutine that owns the store, between batches, the copy is the
// state after Applied and nothing later: the applied index is written in
// the same Pebble batch as the entries' effects.
func (s *Store) Checkpoint(dir string) (CheckpointInfo, error) {
	if s.failed != nil {
		return CheckpointInfo{}, fmt.Errorf("storage: store stopped: %w", s.failed)
	}
	if err := s.db.Checkpoint(dir, pebble.WithFlushedWAL()); err != nil {
		return CheckpointInfo{}, fmt.Errorf("storage: checkpoint to %s: %w", dir, err)
	}
	return CheckpointInfo{
		Applied:  s.applied,
		Voters:   append([]uint64{}, s.conf.GetVoters()...),
		Learners: append([]uint64{}, s.conf.GetLearners()...),
		Keys:     s.keyCount,
	}, nil
}

// RestoreInto makes dst, an empty store, the first state of a new
// cluster of the given voters holding src's data (a checkpoint opened as
// a store): what etcdutl snapshot restore does. Only the data is
// carried over, with the ACL's users. Membership records and client sessions belong to the old
// cluster: its sessions, under node ids the new cluster may reuse, would
// make the new nodes take fresh writes for retries of old ones. The new
// log starts after src's applied index, at term 1, so indexes in the new
// cluster's logs follow the backup's.
func RestoreInto(dst, src *Store, voters []uint64) (keys int64, err error) {
	if !dst.IsEmpty() {
		return 0, fmt.Errorf("storage: restore into a store that is not empty")
	}
	if len(voters) == 0 {
		return 0, fmt.Errorf("storage: restore needs the new cluster's voters")
	}
	if err := dst.Bootstrap(voters); err != nil {
		return 0, err
	}
	if err := dst.ResetStaging(); err != nil {
		return 0, err
	}
	r, err := src.OpenSnapshot(src.applied)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	for done := false; !done; {
		var pairs [][2][]byte
		done, err = r.Next(stagingBatchBytes, func(k, v []byte) {
			// The data with its deadlines and the deadline index, and the
			// cluster time they are measured in: the new cluster's clock
			// starts where the old one stood, so no key expires early. And the
			// ACL's users: a restored cluster lets in whom the old one did.
			if bytes.HasPrefix(k, prefixData) || bytes.HasPrefix(k, prefixDeadlines) || bytes.HasPrefix(k, prefixClock) || bytes.HasPrefix(k, prefixVanished) || bytes.HasPrefix(k, prefixUser) {
				pairs = append(pairs, [2][]byte{append([]byte{}, k...), append([]byte{}, v...)})
			}
		})
		if err != nil {
			return 0, err
		}
		if err := dst.Stage(pairs); err != nil {
			return 0, err
		}
	}
	index := max(src.applied, 1)
	meta := &pb.SnapshotMetadata{Index: proto.Uint64(index), Term: proto.Uint64(1), ConfState: &pb.ConfState{Voters: append([]uint64{}, voters...)}}
	hs := &pb.HardState{Term: proto.Uint64(1), Commit: proto.Uint64(index)}
	if err := dst.InstallSnapshot(meta, hs); err != nil {
		return 0, err
	}
	return dst.keyCount, nil
}
