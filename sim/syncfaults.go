package sim

import "math/rand/v2"

// syncFaults is the fault schedule both kinds of disk share (diskFaults
// for Pebble's WAL, memFaults for the in-memory twin): a crash or a
// failure armed at the n-th sync from now, and, once one struck, a disk
// that fails every later sync.
type syncFaults struct {
	crashIn   int // crash at this many syncs from now (0: not armed)
	failIn    int // fail this many syncs from now (0: not armed)
	keep      int // share of unsynced data the crash keeps, in percent
	crashSeed uint64
	crashed   bool
	failed    bool
	full      bool // the armed failure is a full disk (ENOSPC)
}

// syncStrike is what a sync meets.
type syncStrike int

const (
	syncOK     syncStrike = iota
	syncCrash             // the power fails just before this sync completes
	syncFail              // this sync fails, and every one after
	syncBroken            // the machine is gone or the disk is broken already
)

// idle reports that nothing is armed or struck: the common case, kept
// cheap.
func (f *syncFaults) idle() bool {
	return f.crashIn == 0 && f.failIn == 0 && !f.crashed && !f.failed
}

// due reports whether the next sync would strike.
func (f *syncFaults) due() bool { return f.crashIn == 1 || f.failIn == 1 }

// next counts one sync and says what it meets.
func (f *syncFaults) next() syncStrike {
	if f.crashed || f.failed {
		return syncBroken
	}
	if f.crashIn > 0 {
		f.crashIn--
		if f.crashIn == 0 {
			f.crashed = true
			return syncCrash
		}
	}
	if f.failIn > 0 {
		f.failIn--
		if f.failIn == 0 {
			f.failed = true
			return syncFail
		}
	}
	return syncOK
}

// armCrash makes the machine crash at the n-th sync from now, keeping keep
// percent of its unsynced data, as seed decides.
func (f *syncFaults) armCrash(n, keep int, seed uint64) {
	f.crashIn, f.keep, f.crashSeed = n, keep, seed
}

// armFailure makes the n-th sync from now fail, and every one after. The
// restart that follows finds the disk as it stood at the failure, with
// keep percent of its unsynced data.
func (f *syncFaults) armFailure(n, keep int, seed uint64, full bool) {
	f.failIn, f.keep, f.crashSeed, f.full = n, keep, seed, full
}

// disarm cancels a crash or failure that has not happened yet.
func (f *syncFaults) disarm() { f.crashIn, f.failIn = 0, 0 }

// isFull reports whether the disk failed by filling up.
func (f *syncFaults) isFull() bool { return f.failed && f.full }

// struck reports whether an armed crash or failure has hit the disk.
func (f *syncFaults) struck() bool { return f.crashed || f.failed }

func (f *syncFaults) injectedErr() error {
	if f.full {
		return errInjectedFull
	}
	return errInjectedSync
}

// rng is the stream the struck crash or failure draws its image from.
func (f *syncFaults) rng() *rand.Rand {
	return rand.New(rand.NewPCG(f.crashSeed, f.crashSeed^0x9e3779b97f4a7c15))
}
