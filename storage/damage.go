package storage

import (
	"errors"
	"fmt"

	crdberrors "github.com/cockroachdb/errors"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/seshat-db/seshat/internal/walfault"
)

// ErrDamaged marks a refusal to open because synced data is damaged or
// gone: the node would have forgotten what it acknowledged.
var ErrDamaged = errors.New("storage: damaged data")

// RebuildAdvice tells the operator how to bring back a node whose data is
// damaged: its peers still hold everything it acknowledged.
func RebuildAdvice(dir string) string {
	return fmt.Sprintf("to rebuild this node from its peers, move %s away and restart it: it rejoins the cluster under a new identity and receives the data from them (CHASSIS.md, Membership)", dir)
}

// walFormat is the format a store is opened at (see Open).
func walFormat(o Options) pebble.FormatMajorVersion {
	if o.UnsafeLegacyWAL {
		return pebble.FormatDefault
	}
	return pebble.FormatWALSyncChunks
}

// openError explains why Pebble refused to open dir. Corruption in a WAL
// names the newest log too: Pebble's replay error names none.
func openError(fs vfs.FS, dir string, err error) error {
	// NB: cockroachdb/errors' Is: Pebble marks the replay error as
	// corruption with a mark the standard library does not see.
	if !crdberrors.Is(err, pebble.ErrCorruption) {
		return fmt.Errorf("storage: open %s: %w", dir, err)
	}
	where := ""
	if name, _, ok, lerr := walfault.NewestLog(fs, dir); lerr == nil && ok {
		where = fmt.Sprintf(" (the newest write-ahead log is %s)", fs.PathJoin(dir, name))
	}
	return fmt.Errorf("%w: %s: refusing to start: data that was synced is damaged%s: %v; %s",
		ErrDamaged, dir, where, err, RebuildAdvice(dir))
}

// rotateLegacyWAL starts a new WAL when Open ratcheted the format: Pebble
// creates the WAL it writes next before it ratchets, so until that WAL
// rolls over its chunks would not vouch for what was synced.
func (s *Store) rotateLegacyWAL() error {
	if !s.events.upgraded.Load() {
		return nil
	}
	return recoverFatal(s.db.Flush)
}
