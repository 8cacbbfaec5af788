package storage

import (
	"github.com/cockroachdb/pebble/v2"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/seshat-db/seshat/internal/assert"
	"github.com/seshat-db/seshat/internal/mutant"
	"github.com/seshat-db/seshat/kv"
)

// Batch gathers everything one raft Ready changes, so that it reaches the
// disk atomically with one sync. It is also the kv.Store that committed
// entries are applied to: its reads see its own earlier writes.
type Batch struct {
	s *Store
	// eb holds the batch's writes, made at the first one (engine): many
	// Readies write nothing.
	eb engineBatch

	hardState *pb.HardState
	lastIndex uint64
	applied   uint64
	keyCount  int64
	expiring  int64
	clock     int64
	// minDeadline is the earliest deadline the batch wrote (0: none).
	minDeadline   int64
	appended      []*pb.Entry
	appendedBytes uint64 // the appended entries' encoded size
	sumDelta      uint64 // what the batch adds to the store's data sum (datasum.go)

	conf        *pb.ConfState
	members     map[uint64]member
	memberOrder []uint64

	lazy bool // commit without fsync (CommitLazily)

	usersChanged bool // an ACL op wrote u/ (users.go)

	written written // the user keys written, for Get (batchread.go)
}

var _ kv.Store = (*Batch)(nil)

// NewBatch starts the batch for one Ready.
func (s *Store) NewBatch() *Batch {
	return &Batch{
		s:         s,
		lastIndex: s.lastIndex,
		applied:   s.applied,
		keyCount:  s.keyCount,
		expiring:  s.expiring,
		clock:     s.clock,
	}
}

// engine returns the engine batch, making it at the first use.
func (b *Batch) engine() engineBatch {
	if b.eb == nil {
		b.eb = b.s.db.NewIndexedBatch()
	}
	return b.eb
}

// Append writes entries to the log, replacing any entries at or after the
// first one's index (raft truncates a conflicting suffix this way).
func (b *Batch) Append(entries []*pb.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	first := entries[0].GetIndex()
	assert.That(first > b.s.base.GetIndex(), "append at %d, at or below the log base %d", first, b.s.base.GetIndex())
	assert.That(first <= b.lastIndex+1, "append at %d leaves a gap after %d", first, b.lastIndex)
	var size uint64
	for i, e := range entries {
		assert.That(e.GetIndex() == first+uint64(i), "appended entries are not consecutive")
		data, err := b.s.marshal(e)
		if err != nil {
			return err
		}
		if err := b.engine().Set(logKey(e.GetIndex()), data, nil); err != nil {
			return err
		}
		size += uint64(len(data))
	}
	last := entries[len(entries)-1].GetIndex()
	if last < b.lastIndex {
		if err := b.engine().DeleteRange(logKey(last+1), logKey(b.lastIndex+1), nil); err != nil {
			return err
		}
	}
	b.lastIndex = last
	b.appended, b.appendedBytes = entries, size
	return nil
}

// marshal encodes m into the store's scratch buffer, valid until the
// next call: a batch's Set copies what it is given, so one buffer
// serves every entry and hard state it writes.
//
// A buffer grown past scratchKeptMax by a large entry is not kept: an
// entry may be as large as EntryBytesMax, and the store would otherwise
// hold that much for the rest of its life (as Pebble drops a released
// batch's buffer over 1 MiB).
func (s *Store) marshal(m proto.Message) ([]byte, error) {
	data, err := proto.MarshalOptions{}.MarshalAppend(s.scratch[:0], m)
	if err == nil && cap(data) <= scratchKeptMax {
		s.scratch = data
	}
	return data, err
}

const scratchKeptMax = 1 << 20

// SetHardState records raft's term, vote and commit index.
func (b *Batch) SetHardState(hs *pb.HardState) {
	b.hardState = proto.Clone(hs).(*pb.HardState)
	if mutant.On(mutant.VoteNotPersisted) {
		stale := proto.Clone(hs).(*pb.HardState)
		stale.Vote = proto.Uint64(b.s.hardState.GetVote())
		b.setProto(keyHardState, stale)
		return
	}
	b.setProto(keyHardState, b.hardState)
}

// SetApplied records that every entry up to index has been applied into
// this batch.
func (b *Batch) SetApplied(index uint64) {
	assert.That(index >= b.applied, "applied index going back from %d to %d", b.applied, index)
	b.applied = index
}

func (b *Batch) setProto(key []byte, m proto.Message) {
	if m == nil {
		return
	}
	data, err := b.s.marshal(m)
	assert.That(err == nil, "marshal %q: %v", key, err)
	_ = b.engine().Set(key, data, nil)
}

// Put implements kv.Store.Put, keeping the deadline index in step.
func (b *Batch) Put(key []byte, item kv.Item, old *kv.Item) error {
	item.Version = b.applied + 1 // the entry being applied
	record := encodeRecord(item)
	b.sumChange(key, old, record)
	b.expiring += expiringChange(old, item.Deadline)
	if old == nil {
		b.keyCount++
		if err := b.engine().Set(indexKey(key), nil, nil); err != nil {
			return err
		}
	} else if old.Deadline != 0 && old.Deadline != item.Deadline {
		if err := b.engine().Delete(deadlineKey(old.Deadline, key), nil); err != nil {
			return err
		}
	}
	if item.Deadline != 0 && (old == nil || old.Deadline != item.Deadline) {
		if b.minDeadline == 0 || item.Deadline < b.minDeadline {
			b.minDeadline = item.Deadline
		}
		if err := b.engine().Set(deadlineKey(item.Deadline, key), nil, nil); err != nil {
			return err
		}
	}
	b.written.note(key)
	return b.engine().Set(dataKey(key), record, nil)
}

// Delete implements kv.Store.Delete.
func (b *Batch) Delete(key []byte, old kv.Item) error {
	b.sumChange(key, &old, nil)
	b.keyCount--
	assert.That(b.keyCount >= 0, "key count below zero")
	b.expiring += expiringChange(&old, 0)
	if err := b.noteVanished(key, old); err != nil {
		return err
	}
	if old.Deadline != 0 {
		if err := b.engine().Delete(deadlineKey(old.Deadline, key), nil); err != nil {
			return err
		}
	}
	if err := b.engine().Delete(indexKey(key), nil); err != nil {
		return err
	}
	b.written.note(key)
	return b.engine().Delete(dataKey(key), nil)
}

// Len implements kv.Store.Len.
func (b *Batch) Len() (int64, error) { return b.keyCount, nil }

// Commit writes the batch with Sync and, once that returned, updates what
// raft's reads see. After a failed commit the store is stopped for good.
func (b *Batch) Commit() error {
	defer func() {
		if b.eb != nil {
			b.eb.Close()
		}
	}()
	defer func() { b.s.confChanging = false }()
	if b.s.failed != nil {
		return b.s.failed
	}
	if (b.eb == nil || b.eb.Empty()) && b.applied == b.s.applied {
		return nil // nothing to make durable: spare the sync
	}
	if b.applied != b.s.applied && (!b.s.lazyApplied || b.applied%8 == 0) {
		_ = b.engine().Set(keyApplied, uint64Value(b.applied), nil)
	}
	if b.keyCount != b.s.keyCount {
		_ = b.engine().Set(keyKeyCount, uint64Value(uint64(b.keyCount)), nil)
	}
	if b.clock != b.s.clock {
		_ = b.engine().Set(keyClock, uint64Value(uint64(b.clock)), nil)
	}
	mode := b.s.syncMode
	if b.lazy || mutant.On(mutant.EntriesUnsynced) && len(b.appended) > 0 {
		mode = pebble.NoSync
	}
	if err := b.s.commit(b.engine(), mode); err != nil {
		return err
	}
	if b.hardState != nil {
		b.s.hardState = b.hardState
	}
	if len(b.appended) > 0 {
		b.s.recent.append(b.appended)
		first := b.appended[0].GetIndex()
		b.s.terms = b.s.terms[:first-b.s.base.GetIndex()-1]
		for _, e := range b.appended {
			b.s.terms = append(b.s.terms, e.GetTerm())
		}
		b.s.logBytes += b.appendedBytes
	}
	b.s.lastIndex = b.lastIndex
	assert.That(uint64(len(b.s.terms)) == b.s.lastIndex-b.s.base.GetIndex(), "term cache out of step with the log")
	b.s.applied = b.applied
	if mode.GetSync() {
		b.s.durableApplied = b.applied
	}
	b.s.keyCount = b.keyCount
	b.s.expiring = b.expiring
	b.s.clock = b.clock
	b.s.lowerDeadlineFloor(b.minDeadline)
	b.s.data.sum += b.sumDelta
	b.commitMembership()
	return nil
}

// Session returns the stored state of a client session, as last Put.
func (b *Batch) Session(id []byte) ([]byte, bool, error) {
	return get(b.engine(), append(append([]byte{}, prefixSession...), id...))
}

// CommitLazily makes Commit skip its fsync, leaving durability to the
// next synced write (Pebble's WAL is one ordered stream, so a later sync
// makes this batch durable too). It is for a batch whose loss a restart
// repairs: applies of entries the log already holds durably.
func (b *Batch) CommitLazily() { b.lazy = true }

// ForgetSessions drops every session's dedup window. Only the
// dedup-forgets-at-new-term mutant calls it: forgetting is the bug.
func (b *Batch) ForgetSessions() error {
	return b.engine().DeleteRange(prefixSession, prefixSessionEnd, nil)
}

// PutSession stores the state of a client session.
func (b *Batch) PutSession(id, state []byte) error {
	return b.engine().Set(append(append([]byte{}, prefixSession...), id...), state, nil)
}

// Applied returns the index of the last entry applied into the batch.
func (b *Batch) Applied() uint64 { return b.applied }
