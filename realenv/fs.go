package realenv

import (
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// TimedFS wraps a vfs.FS and reports how long every file sync takes. It
// exists so that the fsync latency metric needs no hook inside package
// storage: whatever Pebble syncs (WAL, manifest, tables) passes through
// here.
type TimedFS struct {
	vfs.FS
	OnSync func(time.Duration)
}

// NewTimedFS wraps fs; onSync is called after every Sync, SyncData and
// SyncTo, from whichever goroutine synced.
func NewTimedFS(fs vfs.FS, onSync func(time.Duration)) *TimedFS {
	return &TimedFS{FS: fs, OnSync: onSync}
}

func (t *TimedFS) wrap(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return f, err
	}
	return &timedFile{File: f, onSync: t.OnSync}, nil
}

// Create implements vfs.FS.Create.
func (t *TimedFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	return t.wrap(t.FS.Create(name, c))
}

// OpenReadWrite implements vfs.FS.OpenReadWrite.
func (t *TimedFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	return t.wrap(t.FS.OpenReadWrite(name, c, opts...))
}

// ReuseForWrite implements vfs.FS.ReuseForWrite.
func (t *TimedFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	return t.wrap(t.FS.ReuseForWrite(oldname, newname, c))
}

// OpenDir implements vfs.FS.OpenDir: directory syncs count too.
func (t *TimedFS) OpenDir(name string) (vfs.File, error) {
	return t.wrap(t.FS.OpenDir(name))
}

// Unwrap implements vfs.FS.Unwrap.
func (t *TimedFS) Unwrap() vfs.FS { return t.FS }

type timedFile struct {
	vfs.File
	onSync func(time.Duration)
}

func (f *timedFile) Sync() error {
	start := time.Now()
	err := f.File.Sync()
	f.onSync(time.Since(start))
	return err
}

func (f *timedFile) SyncData() error {
	start := time.Now()
	err := f.File.SyncData()
	f.onSync(time.Since(start))
	return err
}

func (f *timedFile) SyncTo(length int64) (bool, error) {
	start := time.Now()
	full, err := f.File.SyncTo(length)
	f.onSync(time.Since(start))
	return full, err
}
