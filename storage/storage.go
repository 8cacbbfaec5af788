// Package storage keeps one node's durable state in Pebble, over the
// vfs.FS that env hands it: the raft log, hard state and log base
// (snapshot metadata), the applied index and the key-value data, each under
// its own key prefix (keys.go).
//
// Duties of the caller (package node), per raft Ready:
//
//  1. Open a Batch, write the Ready's entries, hard state and the effects
//     of applying its committed entries into it, then Commit it. Commit
//     syncs: nothing counts as durable before it returns.
//  2. Only after Commit returns, send messages and answer clients.
//  3. After a failed Commit, stop: the store refuses every later write
//     (fail-stop), because what reached the disk is no longer known.
//
// Store implements raft.Storage over what has been committed.
package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/seshat-db/seshat/env"
	"github.com/seshat-db/seshat/internal/assert"
	"github.com/seshat-db/seshat/internal/mutant"
	"github.com/seshat-db/seshat/kv"
)

// ErrFailed is returned by every write after one failed: the disk's state
// is unknown, so the store stops rather than risk acknowledging data that
// is not durable.
var ErrFailed = errors.New("storage: stopped after a failed write")

// Store is one node's Pebble database. It is used from one goroutine.
type Store struct {
	db     engine
	failed error
	events *diskEvents // what Pebble's background work reports (diskevents.go)

	lazyApplied  bool      // TEST ONLY: Options.UnsafeLazyApplied
	confFromBase bool      // TEST ONLY: Options.UnsafeConfFromBase
	room         memBudget // when the store rotates the memtable itself (rotation.go)
	data         dataSum   // Options.DataSum (datasum.go)

	// Cached copies of what was written, so raft's reads do not hit
	// Pebble. All of it is durable but applied and keyCount, which a batch
	// committed lazily moves ahead of durableApplied.
	hardState      *pb.HardState
	base           *pb.SnapshotMetadata // the log starts right after base.Index
	lastIndex      uint64
	applied        uint64
	durableApplied uint64
	keyCount       int64
	expiring       int64 // keys with a deadline: the deadline index's entries (keyspace.go)
	clock          int64 // cluster time as of the applied index (expiry.go)
	// deadlineFloor is at or below every deadline in the index (expiry.go).
	deadlineFloor int64
	// terms[i] is the term of entry base.Index+1+i: raft asks for terms
	// far more often than for entries.
	terms    []uint64
	recent   entryCache // the newest entries, so raft rarely reads Pebble
	logBytes uint64     // about how many bytes the log holds past its base
	pinned   *pinned    // the data of the last snapshot raft asked for
	syncMode *pebble.WriteOptions
	scratch  []byte // for marshal (batch.go)

	conf      *pb.ConfState     // membership as of the applied index
	members   map[uint64]member // node id -> identities, as of the applied index (membership.go)
	identity  uint64            // this store's own identity
	newMember bool              // made empty to be added by an operator (newmember.go)
	// confChanging: an open batch applies a membership change (SetConfState).
	confChanging bool
}

var _ raft.Storage = (*Store)(nil)

// Options tune the Pebble database under a store.
type Options struct {
	// MemTableBytes is Pebble's memtable size (0: Pebble's default). The
	// simulator keeps it small: its in-memory disk copies a whole WAL file
	// on every sync, and the WAL rolls over with the memtable.
	MemTableBytes uint64
	// UnsafeNoSync commits without fsync. TEST ONLY: it exists to show
	// that the simulator catches the data loss it causes.
	UnsafeNoSync bool
	// BlockCacheBytes sizes Pebble's cache of uncompressed blocks (0:
	// BlockCacheBytesDefault; negative: Pebble's own default, 8 MiB).
	BlockCacheBytes int64
	// NoBloomFilters leaves sstables without bloom filters, as Pebble
	// does by default. For the read-cost benchmark's baseline.
	NoBloomFilters bool
	// UnsafeLegacyWAL keeps Pebble's default format, whose WAL does not
	// vouch for synced data. TEST ONLY: it shows that the simulator
	// notices a flipped synced byte that rolls a node's state back.
	UnsafeLegacyWAL bool
	// UnsafeLazyApplied persists the applied index only at every eighth
	// entry. TEST ONLY: a restart then reopens behind what it applied,
	// which the simulator must notice.
	UnsafeLazyApplied bool
	// UnsafeConfFromBase makes a reopened store take its membership from
	// its log base (the last compaction or install), forgetting the
	// changes applied since. TEST ONLY: the change-crash-reads scenario
	// must notice a restart that forgets a membership change.
	UnsafeConfFromBase bool
	// DeterministicFlush makes the store rotate the memtable and WAL
	// itself, at points set only by what it wrote, before Pebble would
	// (rotation.go): for the simulator, whose crashes must find the same
	// WAL files on every replay of a seed.
	DeterministicFlush bool
	// MemDisk, when set, keeps the store in memory on this disk instead
	// of in Pebble (memengine.go): for the simulator, where it is many
	// times cheaper and has no goroutines of its own.
	MemDisk *MemDisk
	// DataSum keeps an order-independent hash of the data up to date at
	// every write (DataSum, datasum.go), for the cost of reading each
	// written key's old value: for the simulator's replica comparison.
	DataSum bool
}

// BlockCacheBytesDefault is the block cache when none is configured.
const BlockCacheBytesDefault = 32 << 20

// Open opens (creating if needed) the store in dir on fs, or, when
// o.MemDisk is set, on that in-memory disk (fs and dir unused).
func Open(fs vfs.FS, dir string, log env.Logger, o Options) (*Store, error) {
	events := newDiskEvents(log)
	var db engine
	if o.MemDisk != nil {
		mem, err := openMem(o.MemDisk)
		if err != nil {
			return nil, fmt.Errorf("storage: open in-memory disk: %w", err)
		}
		db = mem
	} else {
		pdb, err := openPebble(fs, dir, log, o, events)
		if err != nil {
			return nil, err
		}
		db = pebbleEngine{pdb}
	}
	s := &Store{db: db, syncMode: pebble.Sync, events: events, room: newMemBudget(o), data: dataSum{on: o.DataSum}}
	if err := s.rotateLegacyWAL(); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("storage: open %s: start a new WAL: %w", dir, err)
	}
	if o.UnsafeNoSync {
		s.syncMode = pebble.NoSync
	}
	s.lazyApplied = o.UnsafeLazyApplied
	s.confFromBase = o.UnsafeConfFromBase
	err := recoverFatal(func() error {
		if err := s.load(); err != nil {
			return err
		}
		if err := s.resumeInstall(); err != nil {
			return err
		}
		if err := s.countExpiring(); err != nil {
			return err
		}
		return s.resetDataSum()
	})
	if err != nil {
		_ = s.Close()
		if errors.Is(err, ErrDamaged) {
			return nil, fmt.Errorf("storage: %s: refusing to start: %w; %s", dir, err, RebuildAdvice(dir))
		}
		return nil, fmt.Errorf("storage: %s: refusing to start: %w", dir, err)
	}
	return s, nil
}

// openPebble opens Pebble in dir on fs.
func openPebble(fs vfs.FS, dir string, log env.Logger, o Options, events *diskEvents) (*pebble.DB, error) {
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("storage: create %s: %w", dir, err)
	}
	opts := &pebble.Options{
		FS:           fs,
		Logger:       pebbleLogger{log: log, lines: &events.lines},
		MemTableSize: o.MemTableBytes,
		// New stores start at, and older ones are ratcheted to, the format
		// whose WAL chunks vouch for what was synced before them: without
		// it, Pebble cannot tell a flipped byte in synced data from a torn
		// tail, and replays the last WAL only up to the damage, silently.
		FormatMajorVersion: walFormat(o),
	}
	tuneReads(opts, o)
	opts.EventListener = events.listener()
	var db *pebble.DB
	err := recoverFatal(func() (err error) {
		db, err = pebble.Open(dir, opts)
		return err
	})
	if err != nil {
		return nil, openError(fs, dir, err)
	}
	return db, nil
}

// recoverFatal runs fn and turns Pebble's Fatalf (corruption found by a
// checksum, a failed write) into an error: at open, a damaged file must
// stop the node with a message that names it, not crash the process.
func recoverFatal(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			msg, ok := p.(pebbleFatal)
			if !ok {
				panic(p)
			}
			err = fmt.Errorf("%w: %s", ErrDamaged, string(msg))
		}
	}()
	return fn()
}

// load reads the cached state, checking the schema version first.
func (s *Store) load() error {
	version, found, err := s.getUint64(keySchema)
	if err != nil {
		return err
	}
	if found && version > SchemaVersion {
		return fmt.Errorf("data has schema version %d, newer than this binary's %d; refusing to open it", version, SchemaVersion)
	}
	s.hardState = &pb.HardState{}
	if err := s.getProto(keyHardState, s.hardState); err != nil {
		return err
	}
	if mutant.On(mutant.VoteForgottenOnRestart) {
		s.hardState.Vote = nil
	}
	s.base = &pb.SnapshotMetadata{ConfState: &pb.ConfState{}}
	if err := s.getProto(keySnapshot, s.base); err != nil {
		return err
	}
	if s.base.ConfState == nil {
		s.base.ConfState = &pb.ConfState{}
	}
	if err := s.loadMembership(); err != nil {
		return err
	}
	if s.applied, _, err = s.getUint64(keyApplied); err != nil {
		return err
	}
	s.durableApplied = s.applied
	count, _, err := s.getUint64(keyKeyCount)
	if err != nil {
		return err
	}
	s.keyCount = int64(count)
	if found && version < recordsSchema {
		if err := s.migrateRecords(); err != nil {
			return err
		}
	}
	if found && version < SchemaVersion {
		if err := s.buildScanIndex(); err != nil {
			return err
		}
	}
	if err := s.loadClock(); err != nil {
		return err
	}
	s.lastIndex = s.base.GetIndex()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: logKey(0), UpperBound: logKey(1<<64 - 1)})
	if err != nil {
		return err
	}
	for valid := it.First(); valid; valid = it.Next() {
		e := &pb.Entry{}
		if err := proto.Unmarshal(it.Value(), e); err != nil {
			_ = it.Close()
			return fmt.Errorf("log entry %x: %w", it.Key(), err)
		}
		if e.GetIndex() != s.lastIndex+1 {
			_ = it.Close()
			return fmt.Errorf("log entry %d follows entry %d: the log has a gap", e.GetIndex(), s.lastIndex)
		}
		s.lastIndex = e.GetIndex()
		s.terms = append(s.terms, e.GetTerm())
		s.logBytes += uint64(len(it.Value()))
	}
	if err := it.Close(); err != nil {
		return err
	}
	// Synced state that is gone means a damaged or truncated file: Pebble
	// reads a WAL only up to its first bad record. Refuse to start rather
	// than let raft run on a log that forgot what it acknowledged.
	if s.hardState.GetCommit() > s.lastIndex {
		return fmt.Errorf("%w: the log ends at index %d but entries up to %d were committed: a data file was damaged or truncated", ErrDamaged, s.lastIndex, s.hardState.GetCommit())
	}
	if s.applied > s.lastIndex {
		return fmt.Errorf("%w: entries up to %d were applied but the log ends at %d: a data file was damaged or truncated", ErrDamaged, s.applied, s.lastIndex)
	}
	return nil
}

// Close closes the database. Unsynced writes are lost; there are none,
// since every batch commits with Sync.
func (s *Store) Close() (err error) {
	s.releasePinned()
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(pebbleFatal); !ok {
				panic(p)
			}
			err = fmt.Errorf("storage: close after a failure: %v", p)
		}
	}()
	return s.db.Close()
}

// IsEmpty reports whether the store has never been bootstrapped.
func (s *Store) IsEmpty() bool {
	return s.base.GetIndex() == 0 && s.lastIndex == 0 && len(s.conf.GetVoters()) == 0
}

// Bootstrap makes an empty store the first state of a new cluster whose
// voters are given: a log base at index 1, term 1. Every member of a new
// cluster bootstraps the same way, so they agree from the start.
func (s *Store) Bootstrap(voters []uint64) error {
	assert.That(s.IsEmpty(), "bootstrap of a store that is not empty")
	base := &pb.SnapshotMetadata{
		Index:     proto.Uint64(1),
		Term:      proto.Uint64(1),
		ConfState: &pb.ConfState{Voters: append([]uint64{}, voters...)},
	}
	hs := &pb.HardState{Term: proto.Uint64(1), Commit: proto.Uint64(1)}
	b := s.NewBatch()
	b.engine().Set(keySchema, uint64Value(SchemaVersion), nil)
	b.setProto(keySnapshot, base)
	b.SetConfState(base.GetConfState())
	b.SetHardState(hs)
	b.SetApplied(1)
	if err := b.Commit(); err != nil {
		return err
	}
	s.base = base
	s.lastIndex = 1
	return nil
}

// Failed reports whether a write failed, which stops the store for good.
func (s *Store) Failed() bool { return s.failed != nil }

// SnapshotIndex returns the index the log starts after.
func (s *Store) SnapshotIndex() uint64 { return s.base.GetIndex() }

// LastIndexCached returns the index of the log's last entry.
func (s *Store) LastIndexCached() uint64 { return s.lastIndex }

// Applied returns the index of the last entry whose effects are durable.
func (s *Store) Applied() uint64 { return s.applied }

// DurableApplied returns the applied index as of the last synced write:
// what a crash cannot take back. Applied runs ahead of it by the batches
// committed without a sync (Batch.CommitLazily), which a restart
// re-applies from the log.
func (s *Store) DurableApplied() uint64 { return s.durableApplied }

// StoredCommit is the commit index of the hard state in the store: the
// one that goes with the log the store holds, which raft's own commit
// may run ahead of while its newer entries wait to be written.
func (s *Store) StoredCommit() uint64 { return s.hardState.GetCommit() }

// InitialState implements raft.Storage. The ConfState is the one as of
// the applied index: raft is restarted with Applied set to it, and
// re-applies (ApplyConfChange) only the entries after it.
func (s *Store) InitialState() (*pb.HardState, *pb.ConfState, error) {
	return proto.Clone(s.hardState).(*pb.HardState), proto.Clone(s.conf).(*pb.ConfState), nil
}

// FirstIndex implements raft.Storage.
func (s *Store) FirstIndex() (uint64, error) { return s.base.GetIndex() + 1, nil }

// LastIndex implements raft.Storage.
func (s *Store) LastIndex() (uint64, error) { return s.lastIndex, nil }

// Term implements raft.Storage.
func (s *Store) Term(i uint64) (uint64, error) {
	switch {
	case i == s.base.GetIndex():
		return s.base.GetTerm(), nil
	case i < s.base.GetIndex():
		return 0, raft.ErrCompacted
	case i > s.lastIndex:
		return 0, raft.ErrUnavailable
	}
	return s.terms[i-s.base.GetIndex()-1], nil
}

// Entries implements raft.Storage. NB: raft panics on any error but
// ErrCompacted and ErrUnavailable, so a damaged log still stops the
// process; the panic's message names the file.
func (s *Store) Entries(lo, hi, maxSize uint64) (entries []*pb.Entry, err error) {
	err = recoverFatal(func() error {
		entries, err = s.entries(lo, hi, maxSize)
		return err
	})
	return entries, err
}

func (s *Store) entries(lo, hi, maxSize uint64) ([]*pb.Entry, error) {
	if lo <= s.base.GetIndex() {
		return nil, raft.ErrCompacted
	}
	if hi > s.lastIndex+1 {
		return nil, raft.ErrUnavailable
	}
	if out, ok := s.recent.slice(lo, hi, maxSize); ok {
		return out, nil
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: logKey(lo), UpperBound: logKey(hi)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []*pb.Entry
	var size uint64
	next := lo
	for valid := it.First(); valid; valid = it.Next() {
		e := &pb.Entry{}
		if err := proto.Unmarshal(it.Value(), e); err != nil {
			return nil, fmt.Errorf("storage: log entry %d: %w", next, err)
		}
		assert.That(e.GetIndex() == next, "log entry at index %d has index %d", next, e.GetIndex())
		size += uint64(proto.Size(e))
		if len(out) > 0 && size > maxSize {
			break
		}
		out = append(out, e)
		next++
	}
	if err := it.Error(); err != nil {
		return nil, err
	}
	if len(out) == 0 || (next < hi && size <= maxSize) {
		return nil, raft.ErrUnavailable
	}
	return out, nil
}

// Get reads one user key's value from what is committed, expired or
// not. The value is a copy.
func (s *Store) Get(key []byte) ([]byte, bool, error) {
	item, found, err := getItem(s.db, key)
	return item.Value, found, err
}

// DataView returns a read-only kv.Store over the committed data, for
// serving reads.
func (s *Store) DataView() ReadView { return ReadView{s} }

// Len returns how many user keys are stored.
func (s *Store) Len() int64 { return s.keyCount }

// ScanData calls fn for every user key and value in key order, expired
// or not.
func (s *Store) ScanData(fn func(key, value []byte)) error {
	var bad error
	err := s.ScanRecords(func(k, rec []byte) {
		item, err := decodeRecord(rec)
		if err != nil && bad == nil {
			bad = fmt.Errorf("key %q: %w", k, err)
		}
		fn(k, item.Value)
	})
	if err == nil {
		err = bad
	}
	return err
}

// ScanRecords calls fn for every user key and its whole record (value and
// deadline, record.go) in key order: what replicas must agree on.
func (s *Store) ScanRecords(fn func(key, record []byte)) error {
	return recoverFatal(func() error {
		return s.scan(&pebble.IterOptions{LowerBound: prefixData, UpperBound: prefixDataEnd}, func(k, v []byte) {
			fn(k[len(prefixData):], v)
		})
	})
}

// scan calls fn for every key and value within opts' bounds, in order.
func (s *Store) scan(opts *pebble.IterOptions, fn func(key, value []byte)) (err error) {
	it, err := s.db.NewIter(opts)
	if err != nil {
		return err
	}
	// Deferred, so the iterator is released even when Pebble's Fatalf
	// unwinds through here: a leaked iterator would make Close panic.
	defer func() {
		if cerr := it.Close(); err == nil {
			err = cerr
		}
	}()
	for valid := it.First(); valid; valid = it.Next() {
		fn(it.Key(), it.Value())
	}
	return it.Error()
}

type getter interface {
	Get(key []byte) ([]byte, io.Closer, error)
}

func get(g getter, key []byte) (value []byte, found bool, err error) {
	err = recoverFatal(func() error {
		value, found, err = getUnguarded(g, key)
		return err
	})
	return value, found, err
}

func getUnguarded(g getter, key []byte) ([]byte, bool, error) {
	v, closer, err := g.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := append([]byte{}, v...)
	return out, true, closer.Close()
}

func (s *Store) getUint64(key []byte) (uint64, bool, error) {
	v, found, err := get(s.db, key)
	if err != nil || !found {
		return 0, found, err
	}
	if len(v) != 8 {
		return 0, false, fmt.Errorf("storage: %q holds %d bytes, want 8", key, len(v))
	}
	return binary.BigEndian.Uint64(v), true, nil
}

func (s *Store) getProto(key []byte, m proto.Message) error {
	_, err := s.getProtoFound(key, m)
	return err
}

func (s *Store) getProtoFound(key []byte, m proto.Message) (bool, error) {
	v, found, err := get(s.db, key)
	if err != nil || !found {
		return false, err
	}
	if err := proto.Unmarshal(v, m); err != nil {
		return false, fmt.Errorf("storage: %q: %w", key, err)
	}
	return true, nil
}

// ReadView is a read-only kv.Store over committed data.
type ReadView struct{ s *Store }

// Get implements kv.Store.Get.
func (r ReadView) Get(key []byte) (kv.Item, bool, error) { return getItem(r.s.db, key) }

// Put implements kv.Store.Put; a read never writes.
func (r ReadView) Put([]byte, kv.Item, *kv.Item) error {
	panic("storage: write through a read view")
}

// Delete implements kv.Store.Delete; a read never writes.
func (r ReadView) Delete([]byte, kv.Item) error { panic("storage: write through a read view") }

// Len implements kv.Store.Len.
func (r ReadView) Len() (int64, error) { return r.s.keyCount, nil }

type pebbleLogger struct {
	log   env.Logger
	lines *lineLimiter // nil: every line
}

func (l pebbleLogger) Infof(format string, args ...any) {
	l.log.Debug("pebble: " + fmt.Sprintf(format, args...))
}
func (l pebbleLogger) Errorf(format string, args ...any) {
	if l.lines == nil {
		l.log.Error("pebble: " + fmt.Sprintf(format, args...))
		return
	}
	l.lines.log(l.log, "pebble: "+format, fmt.Errorf(format, args...))
}

// Fatalf is how Pebble reports a failed WAL write or sync: the database
// can no longer be trusted. It panics with a pebbleFatal, which the
// store's commit turns into ErrFailed: the node stops, the process lives
// on to say why.
func (l pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.log.Error("pebble: fatal: " + msg)
	panic(pebbleFatal(msg))
}

type pebbleFatal string

// guard runs a Pebble call that may hit Pebble's Fatalf, and turns that
// into the store's fail-stop error.
func (s *Store) guard(fn func() error) (err error) {
	if s.failed != nil {
		return s.failed
	}
	if err := s.events.noSpaceErr(); err != nil {
		// Before the commit: with flushes failing, it could block in a
		// write stall that never ends.
		s.failed = fmt.Errorf("%w: %w", ErrFailed, err)
		return s.failed
	}
	defer func() {
		if p := recover(); p != nil {
			msg, ok := p.(pebbleFatal)
			if !ok {
				panic(p)
			}
			s.failed = failure(errors.New(string(msg)))
			err = s.failed
		}
	}()
	if err := fn(); err != nil {
		s.failed = failure(err)
		return s.failed
	}
	return nil
}

// failure is the store's fail-stop error for a failed write: a full disk
// says so (ErrNoSpace), so the node can tell clients and operators why.
func failure(err error) error {
	if isNoSpace(err) {
		return fmt.Errorf("%w: %w: %v", ErrFailed, ErrNoSpace, err)
	}
	return fmt.Errorf("%w: %v", ErrFailed, err)
}

// NextIncarnation durably counts one more opening of the store by
// proposer origin and returns the new count. The count also passes every
// session of origin that the state machine remembers: those may be from a
// wiped former self of this node, whose numbers this store never counted.
func (s *Store) NextIncarnation(origin uint64) (uint64, error) {
	n, _, err := s.getUint64(keyIncarnation)
	if err != nil {
		return 0, err
	}
	last, err := s.LastSessionIncarnation(origin)
	if err != nil {
		return 0, err
	}
	n = max(n, last) + 1
	b := s.db.NewBatch()
	defer b.Close()
	_ = b.Set(keyIncarnation, uint64Value(n), nil)
	if err := s.commit(b, pebble.Sync); err != nil {
		return 0, err
	}
	return n, nil
}
