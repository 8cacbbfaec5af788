package sim

import (
	"strings"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// lyingFS is a disk whose write-ahead log claims to sync and does not:
// Sync returns at once and the data stays volatile, so a crash loses
// writes the node already acknowledged. TEST ONLY (Options.LyingDisk): it
// proves that the durability scenarios notice a node that answers before
// its data is on disk.
type lyingFS struct{ vfs.FS }

func (l lyingFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := l.FS.Create(name, c)
	return lie(name, f), err
}

func (l lyingFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := l.FS.OpenReadWrite(name, c, opts...)
	return lie(name, f), err
}

func (l lyingFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := l.FS.ReuseForWrite(oldname, newname, c)
	return lie(newname, f), err
}

func lie(name string, f vfs.File) vfs.File {
	if f == nil || !strings.HasSuffix(name, ".log") {
		return f
	}
	return lyingFile{f}
}

type lyingFile struct{ vfs.File }

func (lyingFile) Sync() error                             { return nil }
func (lyingFile) SyncData() error                         { return nil }
func (lyingFile) SyncTo(int64) (fullSync bool, err error) { return true, nil }

var _ vfs.FS = lyingFS{}
