package sim

import (
	"errors"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/seshat-db/seshat/internal/walfault"
)

// diskFaults sits between a node and its in-memory disk (errorfs) and
// breaks the disk at a chosen write-ahead-log sync: it either crashes the
// machine at that instant, keeping only part of what was not yet synced,
// or makes the sync fail, as a dying disk does (fsyncgate).
//
// Only WAL syncs are counted: the node's own commits cause them, one per
// synced batch, so the count is the same on every replay. Pebble's
// background flushes and compactions sync other files at times that vary
// from run to run.
//
// NB: Pebble calls MaybeError from its WAL writer goroutine, while the
// simulator's goroutine waits for the commit; the mutex orders the two.
type diskFaults struct {
	mu        sync.Mutex
	mem       *vfs.MemFS // the disk, for crash images
	inner     vfs.FS     // what the node's writes go through to reach mem
	sched     syncFaults // counted in WAL syncs
	image     *vfs.MemFS // the disk as the crash left it, once crashed
	failImage *vfs.MemFS // the disk as it stood when it failed
	tornAt    int64      // where the crash cut the newest WAL's unsynced tail (-1: no cut)
}

var (
	errInjectedSync = errors.New("injected fsync failure (simulated dying disk)")
	// errInjectedFull reads as the kernel's ENOSPC, as the node sees it.
	errInjectedFull = errors.New("injected: no space left on device")
)

func newDiskFaults(mem *vfs.MemFS, inner vfs.FS) *diskFaults {
	return &diskFaults{mem: mem, inner: inner}
}

func (d *diskFaults) fs() vfs.FS { return faultFS{FS: errorfs.Wrap(d.inner, d), d: d} }

// faultFS mends a gap in errorfs: its ReuseForWrite, which Pebble uses to
// recycle WAL files, returns the file unwrapped, so faults would skip
// every recycled WAL.
type faultFS struct {
	*errorfs.FS
	d *diskFaults
}

func (f faultFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	file, err := f.FS.ReuseForWrite(oldname, newname, category)
	if err != nil {
		return nil, err
	}
	return errorfs.WrapFile(file, pathInjector{d: f.d, path: newname}), nil
}

// pathInjector tells the injector which file an operation is on, which
// errorfs.WrapFile leaves blank.
type pathInjector struct {
	d    *diskFaults
	path string
}

func (p pathInjector) String() string { return "sim disk faults on " + p.path }

func (p pathInjector) MaybeError(op errorfs.Op) error {
	op.Path = p.path
	return p.d.MaybeError(op)
}

func (d *diskFaults) String() string { return "sim disk faults" }

// MaybeError implements errorfs.Injector.
func (d *diskFaults) MaybeError(op errorfs.Op) error {
	if op.Kind != errorfs.OpFileSync && op.Kind != errorfs.OpFileSyncData {
		return nil
	}
	if !strings.HasSuffix(op.Path, ".log") {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sched.idle() {
		return nil // nothing armed: the common case, kept cheap
	}
	if d.sched.due() && rotatingWAL() {
		return nil // strike at the next sync instead
	}
	switch d.sched.next() {
	case syncBroken:
		return d.sched.injectedErr() // the machine is gone, or the disk is broken
	case syncCrash:
		rng := d.sched.rng()
		// The tear has a stream of its own: CrashClone draws once per
		// block of every file, a count that depends on how far Pebble's
		// background flushes got.
		tearRNG := rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))
		if leakWriterTiming {
			tearRNG = rng // TEST ONLY: as before heldFS
		}
		d.image = d.mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: d.sched.keep, RNG: rng})
		d.tearTail(tearRNG)
		return errInjectedSync
	case syncFail:
		// What the disk holds is fixed now. NB: Pebble has already put
		// the failed batch in its memtable, and a background flush may or
		// may not write it out before the node is restarted; taking the
		// image here keeps replays identical.
		d.failImage = d.mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: d.sched.keep, RNG: d.sched.rng()})
		return d.sched.injectedErr()
	}
	return nil
}

func (d *diskFaults) armCrash(n, keep int, seed uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sched.armCrash(n, keep, seed)
}

func (d *diskFaults) armFailure(n, keep int, seed uint64, full bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sched.armFailure(n, keep, seed, full)
}

// struck reports whether an armed crash or failure has hit the disk.
func (d *diskFaults) struck() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sched.struck()
}

// isFull reports whether the disk failed by filling up.
func (d *diskFaults) isFull() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sched.isFull()
}

// tearTail cuts the newest WAL of a crash image that kept the unsynced
// tail at a point drawn from rng, between what was synced and what was
// written: a crash that got part of the last write out. CrashClone keeps
// all or none of it (see keepShare), so the cut is made here.
func (d *diskFaults) tearTail(rng *rand.Rand) {
	d.tornAt = -1
	if d.sched.keep == 0 {
		return
	}
	synced, err := walfault.LogSize(d.mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0}), simDataDir)
	if err != nil {
		return
	}
	written, err := walfault.LogSize(d.image, simDataDir)
	if err != nil || written <= synced {
		return
	}
	cut := synced + rng.Int64N(written-synced+1)
	if walfault.CutTail(d.image, simDataDir, synced, cut) == nil {
		d.tornAt = cut
	}
}

// torn reports whether the crash tore the newest WAL's tail, and clears it.
func (d *diskFaults) torn() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.tornAt >= 0 && d.image != nil
	d.tornAt = -1
	return t
}

// failedImage returns the disk as it stood when it failed, if it did.
func (d *diskFaults) failedImage() *diskImage {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failImage == nil {
		return nil
	}
	return &diskImage{fs: d.failImage}
}

// disarm cancels a crash or failure that has not happened yet.
func (d *diskFaults) disarm() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sched.disarm()
}

// crashImage returns the disk a mid-sync crash left, if one happened.
func (d *diskFaults) crashImage() *diskImage {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.image == nil {
		return nil
	}
	return &diskImage{fs: d.image}
}

// rotatingWAL reports whether Pebble is switching to a new WAL file
// right now. NB: Pebble answers a failed sync or write there with a bare
// panic while its mutex is unlocked: a fatal runtime error that no recover
// catches, which would kill the simulator. The sync that rotation causes
// runs on Pebble's WAL goroutine while the committing goroutine waits in
// rotateWAL, so only a look at every goroutine's stack tells. It runs
// only when a fault is about to strike. The answer replays: the store
// rotates the WAL itself at points set by what it wrote
// (storage.Options.DeterministicFlush), never when Pebble's memtable,
// filled at a rate set by random skiplist heights, runs out of room; and
// only the simulator's goroutine commits, so it is in rotateWAL exactly
// when this sync is a rotation's.
func rotatingWAL() bool {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Contains(string(buf[:n]), "(*DB).rotateWAL")
		}
		buf = make([]byte, 2*len(buf))
	}
}
