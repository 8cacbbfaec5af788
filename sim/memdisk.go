package sim

import (
	"math/rand/v2"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/seshat-db/seshat/storage"
)

// diskImage is a machine's disk as a crash or a failure left it: Pebble's
// files, or the in-memory twin's state (storage.MemDisk). One is set.
type diskImage struct {
	fs  *vfs.MemFS
	mem *storage.MemDisk
}

// machineFaults breaks a machine's disk at a chosen sync: diskFaults for
// Pebble's files, memFaults for the in-memory twin.
type machineFaults interface {
	armCrash(n, keep int, seed uint64)
	armFailure(n, keep int, seed uint64, full bool)
	disarm()
	isFull() bool
	torn() bool
	crashImage() *diskImage
	failedImage() *diskImage
}

// memFaults is diskFaults for the in-memory twin: it counts the twin's
// syncs (one per synced commit, as Pebble's WAL syncs are) and, at the
// chosen one, crashes the machine or fails the sync.
type memFaults struct {
	disk      *storage.MemDisk
	crashIn   int
	failIn    int
	keep      int
	crashSeed uint64
	image     *storage.MemDisk // the disk as the crash left it, once crashed
	tornImage bool
	failed    bool
	failImage *storage.MemDisk
	full      bool
}

func newMemFaults(d *storage.MemDisk) *memFaults {
	f := &memFaults{disk: d}
	d.SyncHook = f.beforeSync
	return f
}

func (f *memFaults) beforeSync() error {
	if f.crashIn == 0 && f.failIn == 0 && f.image == nil && !f.failed {
		return nil
	}
	if f.image != nil || f.failed {
		return f.injectedErr()
	}
	if f.crashIn > 0 {
		f.crashIn--
		if f.crashIn == 0 {
			// The power fails just before this sync completes.
			f.image, f.tornImage = memCrashLeaves(f.disk, f.keep, crashRNG(f.crashSeed))
			return errInjectedSync
		}
	}
	if f.failIn > 0 {
		f.failIn--
		if f.failIn == 0 {
			f.failed = true
			f.failImage, _ = memCrashLeaves(f.disk, f.keep, crashRNG(f.crashSeed))
			return f.injectedErr()
		}
	}
	return nil
}

func crashRNG(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// memCrashLeaves is the disk a crash leaves: what was synced, and of the
// batches committed since, none (keep 0) or, as heldFS does with the
// bytes it holds, all of them or, half the time, a prefix cut at a point
// rng draws (a torn tail: the batch it cut is lost whole, as Pebble's
// replay drops a torn record).
func memCrashLeaves(d *storage.MemDisk, keep int, rng *rand.Rand) (image *storage.MemDisk, torn bool) {
	n, kept := d.Unsynced(), 0
	if keep > 0 && n > 0 && (keep >= 100 || rng.IntN(100) < keep) {
		kept = n
		if rng.IntN(2) == 0 {
			kept, torn = rng.IntN(n+1), true
		}
	}
	return d.Image(kept), torn
}

func (f *memFaults) armCrash(n, keep int, seed uint64) {
	f.crashIn, f.keep, f.crashSeed = n, keep, seed
}

func (f *memFaults) armFailure(n, keep int, seed uint64, full bool) {
	f.failIn, f.keep, f.crashSeed, f.full = n, keep, seed, full
}

func (f *memFaults) injectedErr() error {
	if f.full {
		return errInjectedFull
	}
	return errInjectedSync
}

func (f *memFaults) disarm()      { f.crashIn, f.failIn = 0, 0 }
func (f *memFaults) isFull() bool { return f.failed && f.full }

func (f *memFaults) torn() bool {
	t := f.tornImage && f.image != nil
	f.tornImage = false
	return t
}

func (f *memFaults) crashImage() *diskImage {
	if f.image == nil {
		return nil
	}
	return &diskImage{mem: f.image}
}

func (f *memFaults) failedImage() *diskImage {
	if f.failImage == nil {
		return nil
	}
	return &diskImage{mem: f.failImage}
}
