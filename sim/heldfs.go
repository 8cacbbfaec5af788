package sim

import (
	"math/rand/v2"

	"github.com/seshat-db/seshat/internal/walfault"
	"slices"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// heldFS is the machine's page cache for write-ahead logs: what Pebble
// writes to a WAL is held here, and reaches the disk below only when the
// file is synced. A crash then decides, from the seed alone, how much of
// the held bytes survive (heldFS.keepOnCrash).
//
// Why: Pebble's log writer writes records committed without sync to the
// file whenever its goroutine runs, so a crash image taken of the disk
// would keep more or less of them from one replay to the next ("replayed
// 660 vs 643 keys"). Before a crash the simulator first settles the
// writer (node.SettleWAL: a synced empty record, whose sync this layer
// does not make durable), so the held bytes are exactly what the node
// committed, whatever the timing; the seed then cuts them.
type heldFS struct {
	vfs.FS
	mu       sync.Mutex
	files    map[string]*heldFile // the WALs this process writes, by path
	settling bool                 // syncs hand nothing down: the machine is about to crash
	leak     bool                 // TEST ONLY: writes go straight down, as Pebble's goroutine issues them
}

// leakWriterTiming brings back what made crash images differ between
// replays of a seed (see TestDeterminismCatchesDiskTimingLeak): WAL writes
// reach the disk when Pebble's writer goroutine issues them, a crash does
// not settle the writer first, keeps half of the unsynced data through
// CrashClone's per-block draws, and draws its tear from the stream
// CrashClone drew from. TEST ONLY.
var leakWriterTiming bool

func newHeldFS(inner vfs.FS) *heldFS {
	return &heldFS{FS: inner, files: map[string]*heldFile{}, leak: leakWriterTiming}
}

func (h *heldFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := h.FS.Create(name, c)
	return h.hold(name, f), err
}

func (h *heldFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := h.FS.OpenReadWrite(name, c, opts...)
	return h.hold(name, f), err
}

// ReuseForWrite gives a fresh file instead of the recycled one: Pebble
// recycles a WAL only if the flush that made it obsolete finished in
// time, and a recycled file's old bytes past the new tail would change
// what a crash leaves (its length, so where a tear can fall).
func (h *heldFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	if err := h.Remove(oldname); err != nil {
		return nil, err
	}
	return h.Create(newname, c)
}

func (h *heldFS) Remove(name string) error {
	h.forget(name)
	return h.FS.Remove(name)
}

func (h *heldFS) forget(name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.files, name)
}

func (h *heldFS) hold(name string, f vfs.File) vfs.File {
	if f == nil || !strings.HasSuffix(name, ".log") {
		return f
	}
	hf := &heldFile{File: f, fs: h, name: name}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.files[name] = hf
	return hf
}

// settle makes syncs stop reaching the disk, for node.SettleWAL: from now
// on the process only hands its writer's last records over, then dies.
func (h *heldFS) settle() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.settling = true
}

// keepOnCrash writes into image, a crash image of the disk below, what the
// crash keeps of the held bytes of each WAL: none unless keep is 100;
// then all of them half the time, else a prefix cut anywhere, drawn from
// rng (a torn tail). It reports how many files it cut inside their tail.
func (h *heldFS) keepOnCrash(image *vfs.MemFS, keep int, rng *rand.Rand) (torn int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	names := make([]string, 0, len(h.files))
	for name := range h.files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		f := h.files[name]
		if len(f.pending) == 0 || keep != 100 {
			continue
		}
		n := len(f.pending)
		if rng.IntN(2) == 0 {
			n = rng.IntN(n + 1)
			torn++
		}
		if n > 0 && writeAtSynced(image, name, f.base, f.pending[:n]) != nil {
			continue // the file's creation did not survive the crash
		}
	}
	return torn
}

// writeAtSynced puts data at off in path on image, durably.
func writeAtSynced(image *vfs.MemFS, path string, off int64, data []byte) error {
	f, err := image.OpenReadWrite(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(data, off); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// heldFile is one WAL: base bytes handed to the disk, pending held.
type heldFile struct {
	vfs.File
	fs      *heldFS
	name    string
	base    int64
	pending []byte
}

func (f *heldFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	if f.fs.leak {
		f.fs.mu.Unlock()
		n, err := f.File.Write(p)
		f.fs.mu.Lock()
		f.base += int64(n)
		f.fs.mu.Unlock()
		return n, err
	}
	defer f.fs.mu.Unlock()
	f.pending = append(f.pending, p...)
	return len(p), nil
}

// handDown writes the held bytes to the disk below, unsynced. It reports
// false while the machine is settling before a crash.
func (f *heldFile) handDown() (bool, error) {
	f.fs.mu.Lock()
	if f.fs.settling {
		f.fs.mu.Unlock()
		return false, nil
	}
	data := f.pending
	f.pending = nil
	f.fs.mu.Unlock()
	if len(data) == 0 {
		return true, nil
	}
	n, err := f.File.Write(data)
	f.fs.mu.Lock()
	f.base += int64(n)
	f.fs.mu.Unlock()
	return true, err
}

func (f *heldFile) Sync() error {
	if down, err := f.handDown(); !down || err != nil {
		return err
	}
	return f.File.Sync()
}

func (f *heldFile) SyncData() error {
	if down, err := f.handDown(); !down || err != nil {
		return err
	}
	return f.File.SyncData()
}

func (f *heldFile) SyncTo(length int64) (bool, error) {
	if down, err := f.handDown(); !down || err != nil {
		return true, err
	}
	return f.File.SyncTo(length)
}

func (f *heldFile) Close() error {
	_, err := f.handDown() // unsynced: a closed file's pages are still volatile
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	return err
}

var _ vfs.FS = (*heldFS)(nil)

// leakyCrashImage is the crash image as the simulator took it before
// heldFS, for leakWriterTiming (TEST ONLY): the WAL's unsynced tail is
// whatever Pebble's writer goroutine had written by now, and the tear in
// it is drawn from the stream CrashClone already drew from once per block
// of every file, a count set by how far the background flushes got.
func leakyCrashImage(disk *vfs.MemFS, keep int, rng *rand.Rand) *vfs.MemFS {
	image := disk.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: keep, RNG: rng})
	if keep == 0 {
		return image
	}
	synced, err := walfault.LogSize(disk.CrashClone(vfs.CrashCloneCfg{}), simDataDir)
	if err != nil {
		return image
	}
	written, err := walfault.LogSize(image, simDataDir)
	if err == nil && written > synced {
		_ = walfault.CutTail(image, simDataDir, synced, synced+rng.Int64N(written-synced+1))
	}
	return image
}
