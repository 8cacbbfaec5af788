package node

import (
	"errors"
	"fmt"
	"github.com/seshat-db/seshat/acl"
	"slices"
	"time"

	"github.com/seshat-db/seshat/kv"
	"github.com/seshat-db/seshat/storage"
)

// Config is one node's settings. Times are counted in ticks: the host
// calls Node.Tick once per tick interval of the node's clock.
type Config struct {
	// ID is this node's raft id, never 0.
	ID uint64
	// Peers lists the voters, this node included, of a new cluster. It is
	// read only when the data directory is empty.
	Peers []uint64
	// Join: with an empty data directory, bootstrap nothing; ask the
	// members (Peers, the members it may hear from) whether it was one:
	// if so, rejoin under a new identity, else wait to be added by an
	// operator (ChangeMembership AddLearner on the leader) under identity
	// 0 (joinprobe.go).
	Join bool
	// AdvertisePeerAddr and AdvertiseClientAddr are where peers and
	// clients reach this node; a member records them in the replicated
	// membership (announce.go). Empty: not announced.
	AdvertisePeerAddr, AdvertiseClientAddr string
	// Dir is the data directory inside the env's filesystem.
	Dir string

	ElectionTicks  int // a follower campaigns after this many ticks without a leader (raft randomizes up to twice this)
	HeartbeatTicks int // the leader's heartbeat period

	RequestTimeoutTicks int // a client request not done after this long fails
	ReadRetryTicks      int // a ReadIndex with no answer after this long is asked again, with a new context; a write forwarded by a follower and not applied, proposed again
	RequestsInflightMax int // client requests waiting at once; more get ErrBusy
	// UncommittedBytesMax bounds the bytes of entries a leader holds
	// proposed but not committed; beyond it, writes get ErrUncommittedFull.
	UncommittedBytesMax uint64
	// EntryBytesMax bounds one write's log entry; a larger write gets
	// ErrWriteTooLarge before it is proposed. It must not exceed
	// UncommittedBytesMax (raft takes one entry over that bound when
	// nothing else is uncommitted) nor what the transport carries in one
	// message. Default: UncommittedBytesMax.
	EntryBytesMax       uint64
	MessageBytesMax     uint64
	MessagesInflightMax int
	MemTableBytes       uint64 // Pebble's memtable size; 0 is Pebble's default
	BlockCacheBytes     int64  // Pebble's block cache; 0 is storage.BlockCacheBytesDefault
	// DeterministicFlush: the store rotates its memtable and WAL itself
	// (storage.Options.DeterministicFlush). For the simulator.
	DeterministicFlush bool
	// DataSum: the store keeps its data's hash up to date at each write
	// (storage.Options.DataSum), for RunningDataDigest. For the simulator.
	DataSum bool
	// MemDisk, when set, keeps the store on this in-memory disk instead
	// of in Pebble over env's file system (storage.Options.MemDisk). For
	// the simulator.
	MemDisk *storage.MemDisk
	// SnapshotEntries: a snapshot is taken, and the log before it
	// compacted, once this many entries were applied since the last one.
	SnapshotEntries uint64
	// SnapshotLogBytes: likewise once the log since the last snapshot holds
	// this many bytes.
	SnapshotLogBytes uint64
	// SnapshotCatchUpEntries stay in the log behind a snapshot, so a
	// follower a little behind catches up from the log.
	SnapshotCatchUpEntries uint64
	SnapshotChunkBytes     int // a snapshot travels in chunks of about this size
	// ReadChunkKeys: a multi-key read of more keys than this is served
	// from a snapshot by env.Worker, this many keys per job (reader.go).
	ReadChunkKeys int
	// ReadReplyBytesMax bounds the values one read group gathers (an MGET
	// naming one large key a million times asks for 64 GiB): the op that
	// would pass it answers ErrReplyTooLarge (long reads only, reader.go;
	// a read of at most ReadChunkKeys keys is served inline, unbounded).
	ReadReplyBytesMax int
	// LongReadsBytesMax bounds the values all long reads of the node
	// hold at once (the resp server's bound on client memory sees a
	// reply only once it is built): past it, the op that would pass it
	// answers ErrLongReadsBusy. 0: 256 MiB.
	LongReadsBytesMax  int64
	SnapshotRetryTicks int // a chunk with no ack after this long is sent again

	DisableCheckQuorum bool // TEST ONLY: lets an isolated leader believe it still leads
	UnsafeLocalReads   bool // TEST ONLY: serve reads from local state, without ReadIndex (stale reads)
	UnsafeNoSync       bool // TEST ONLY: commit raft state and data without fsync
	UnsafeLegacyWAL    bool // TEST ONLY: keep Pebble's default WAL format, which cannot tell a flipped synced byte from a torn tail
	UnsafeNoDedup      bool // TEST ONLY: apply a proposal the network delivered twice, twice
	// UnsafeDedupForgetsAtNewTerm keeps each session's dedup window per
	// term, so a copy of a proposal that reaches the log in a later term
	// than the original is applied again. TEST ONLY: it shows that the
	// simulator's held messages outlive a leader change.
	UnsafeDedupForgetsAtNewTerm bool
	UnsafeEarlyReads            bool // TEST ONLY: serve a confirmed read without waiting until its read index is applied
	UnsafeLazyApplied           bool // TEST ONLY: persist the applied index only at every eighth entry
	// UnsafeDivergeAt makes this node apply the first write at or past
	// this index with a different value than its peers do. TEST ONLY: it
	// shows that the simulator compares the replicas' data. 0: never.
	UnsafeDivergeAt uint64
	// UnsafeChunksReadLive makes a long read's chunks read the live data
	// instead of its snapshot. TEST ONLY, and only on one goroutine (the
	// simulator): it shows that the simulator catches MGETs that are not
	// atomic.
	UnsafeChunksReadLive bool
	// UnsafeBlindBootstrap makes a node with an empty disk bootstrap at
	// once, without asking its peers. TEST ONLY: it shows that a wiped
	// node that forgets it was a member breaks the cluster.
	UnsafeBlindBootstrap bool
	// UnsafeNewLearnerVerdict brings back the join verdict of before
	// identity claims (claim.go): an operator's added member is not
	// marked unclaimed, and a leader holding no acknowledgement from a
	// learner of identity 0 calls it new, to run under identity 0.
	// TEST ONLY: it shows that a wiped learner's old self's held
	// acknowledgements count for its empty new self (review2 finding 1).
	UnsafeNewLearnerVerdict bool
	// UnsafeJoinFromRetired makes a leader take a join request of a
	// retired identity as any other. TEST ONLY: it shows that a held copy
	// of an earlier start's join request, delivered while the member's
	// current self is down, removes that self and admits an identity no
	// process holds (review3 finding 5).
	UnsafeJoinFromRetired bool
	// UnsafeRemovedServes makes a node that applied its own removal serve
	// reads from its local state instead of refusing. TEST ONLY: it shows
	// that the simulator catches a removed node that still serves.
	UnsafeRemovedServes bool
	// UnsafeReplaceKeepsOld makes a Replace promote the new node and
	// forget to remove the old one. TEST ONLY: it shows that the replace
	// scenario catches a replace that leaves the old voter in.
	UnsafeReplaceKeepsOld bool
	// UnsafeRemovedRefusesWrites makes a node that applies its own
	// removal answer the writes it has in flight as refused ("removed")
	// rather than UNKNOWN, though a leader that removes itself may have
	// replicated them and its successor commits them. TEST ONLY: it shows
	// that the remove-partitioned scenario sees such a write happen.
	UnsafeRemovedRefusesWrites bool
	// UnsafeConfFromBase makes a restarted node take its membership from
	// its last snapshot, forgetting the changes it applied since
	// (storage.Options.UnsafeConfFromBase). TEST ONLY.
	UnsafeConfFromBase bool
	// UnsafeForgetVote makes a restarted node forget the vote in its hard
	// state. TEST ONLY: it shows that the simulator notices a vote that
	// was persisted and then forgotten (a double vote).
	UnsafeForgetVote bool
	// UnsafeWallClockStamps makes a leader stamp its wall clock as the
	// cluster time (TEST ONLY): a leader whose clock jumps ahead makes
	// keys expire early, which the clock-skew scenario must catch.
	UnsafeWallClockStamps bool
	// UnsafeStampedOnlyAnchor anchors the applied cluster time only at
	// stamped entries (TEST ONLY): a key set by an unstamped entry counts
	// from an older receipt and expires early (swarm seed 12, disk-wiped
	// seed 22).
	UnsafeStampedOnlyAnchor bool
	// ACLBaseline holds the users from the config file (users.go): the
	// replicated users replace those of the same name. nil: only
	// Redis's default user (on, nopass, every command).
	ACLBaseline *acl.Table
	// UnsafeStaleUsers makes a node keep the users it enforced before a
	// snapshot install (TEST ONLY): it then enforces users the log has
	// changed, which the simulator's ACL check must catch.
	UnsafeStaleUsers bool
	// ClockTick is how much time one tick stands for in the cluster time
	// (0: TickInterval): the host must tick at this rate.
	ClockTick time.Duration
	// OnMoment, if set, hears of each moment where a crash tests the
	// most (moment.go); the simulator crashes nodes there. Production
	// leaves it nil.
	OnMoment func(Moment)
	// OnApply, if set, sees every entry this node applies, in order: the
	// simulator checks with it that a committed entry never changes.
	OnApply func(index, term uint64, data []byte)
	// OnApplyState, if set, is called after each entry this node applies
	// with a view of the data as of that index (valid only during the
	// call): the simulator checks invariants of the state machine there,
	// at every applied index (sim/txn.go).
	OnApplyState func(index uint64, view kv.Store)
	// OnSnapshotTransfer, if set, hears of each snapshot transfer that
	// ends, sent or received, for metrics: it must not block.
	OnSnapshotTransfer func(SnapshotTransfer)
}

// SnapshotTransfer is one snapshot transfer that ended. Its duration is
// counted in ticks, the node's only clock.
type SnapshotTransfer struct {
	Peer     uint64 // the follower it went to, or the leader it came from
	Received bool   // false: this node sent it
	OK       bool   // sent and acknowledged, or received and installed
	Bytes    int64  // chunk bytes, resends not counted twice
	Ticks    uint64 // from the first chunk to the end
}

// TickInterval is the tick the defaults assume. It is fine-grained so
// that raft's randomized election timeout (a whole number of ticks in
// [ElectionTicks, 2*ElectionTicks)) has fifty values to choose from rather
// than five: with coarse ticks two followers time out together often, and
// split votes repeat.
const TickInterval = 10 * time.Millisecond

func (c *Config) clockTickMillis() int64 {
	if c.ClockTick <= 0 {
		return TickInterval.Milliseconds()
	}
	return c.ClockTick.Milliseconds()
}

// Defaults fills zero fields with the product's defaults: with a 10 ms
// tick, a 100 ms heartbeat, a 500 to 1000 ms election timeout and a 30 s
// request timeout.
func (c Config) Defaults() Config {
	if c.ElectionTicks == 0 {
		c.ElectionTicks = 50
	}
	if c.HeartbeatTicks == 0 {
		c.HeartbeatTicks = 10
	}
	if c.RequestTimeoutTicks == 0 {
		c.RequestTimeoutTicks = 3000
	}
	if c.ReadRetryTicks == 0 {
		c.ReadRetryTicks = 2 * c.ElectionTicks
	}
	if c.RequestsInflightMax == 0 {
		c.RequestsInflightMax = 10000
	}
	if c.UncommittedBytesMax == 0 {
		c.UncommittedBytesMax = 64 << 20
	}
	if c.EntryBytesMax == 0 {
		c.EntryBytesMax = c.UncommittedBytesMax
	}
	if c.MessageBytesMax == 0 {
		c.MessageBytesMax = 1 << 20
	}
	if c.SnapshotEntries == 0 {
		c.SnapshotEntries = 10000
	}
	if c.SnapshotLogBytes == 0 {
		c.SnapshotLogBytes = 100_000_000
	}
	if c.SnapshotCatchUpEntries == 0 {
		c.SnapshotCatchUpEntries = c.SnapshotEntries / 4
	}
	if c.SnapshotChunkBytes == 0 {
		c.SnapshotChunkBytes = 1 << 20
	}
	if c.SnapshotRetryTicks == 0 {
		c.SnapshotRetryTicks = 2 * c.ElectionTicks
	}
	if c.ReadChunkKeys == 0 {
		c.ReadChunkKeys = 1000
	}
	if c.ReadReplyBytesMax == 0 {
		c.ReadReplyBytesMax = 64 << 20
	}
	if c.LongReadsBytesMax == 0 {
		c.LongReadsBytesMax = 256 << 20
	}
	if c.MessagesInflightMax == 0 {
		c.MessagesInflightMax = 256
	}
	return c
}

// Validate names the first field that is wrong.
func (c Config) Validate() error {
	switch {
	case c.ID == 0:
		return errors.New("node: id must not be 0")
	case c.Dir == "":
		return errors.New("node: dir must be set")
	case c.ElectionTicks <= c.HeartbeatTicks || c.HeartbeatTicks <= 0:
		return fmt.Errorf("node: election ticks (%d) must exceed heartbeat ticks (%d), which must be positive", c.ElectionTicks, c.HeartbeatTicks)
	case c.RequestTimeoutTicks <= 0 || c.ReadRetryTicks <= 0 || c.RequestsInflightMax <= 0:
		return errors.New("node: request timeout, read retry and inflight limits must be positive")
	case c.EntryBytesMax > c.UncommittedBytesMax:
		return fmt.Errorf("node: the largest entry (%d bytes) must not exceed the uncommitted bound (%d bytes)", c.EntryBytesMax, c.UncommittedBytesMax)
	}
	if len(c.Peers) > 0 {
		if !slices.Contains(c.Peers, c.ID) {
			return fmt.Errorf("node: peers %v do not include this node's id %d", c.Peers, c.ID)
		}
		sorted := slices.Sorted(slices.Values(c.Peers))
		if len(slices.Compact(sorted)) != len(c.Peers) {
			return fmt.Errorf("node: peers %v hold a duplicate id", c.Peers)
		}
		if slices.Contains(c.Peers, 0) {
			return errors.New("node: peer id 0 is not allowed")
		}
	}
	return nil
}
