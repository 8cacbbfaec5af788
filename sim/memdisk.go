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
	struck() bool
	torn() bool
	crashImage() *diskImage
	failedImage() *diskImage
}

// memFaults is diskFaults for the in-memory twin: it counts the twin's
// syncs (one per synced commit, as Pebble's WAL syncs are) and, at the
// chosen one, crashes the machine or fails the sync.
type memFaults struct {
	syncFaults // counted in synced commits
	disk       *storage.MemDisk
	image      *storage.MemDisk // the disk as the crash left it, once crashed
	tornImage  bool
	failImage  *storage.MemDisk
}

func newMemFaults(d *storage.MemDisk) *memFaults {
	f := &memFaults{disk: d}
	d.SyncHook = f.beforeSync
	return f
}

func (f *memFaults) beforeSync() error {
	if f.idle() {
		return nil
	}
	switch f.next() {
	case syncBroken:
		return f.injectedErr()
	case syncCrash:
		f.image, f.tornImage = memCrashLeaves(f.disk, f.keep, f.rng())
		return errInjectedSync
	case syncFail:
		f.failImage, _ = memCrashLeaves(f.disk, f.keep, f.rng())
		return f.injectedErr()
	}
	return nil
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
