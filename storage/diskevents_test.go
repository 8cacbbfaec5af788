package storage

import (
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

type levelLog struct{ errors, warns []string }

func (l *levelLog) Debug(string, ...any)       {}
func (l *levelLog) Info(string, ...any)        {}
func (l *levelLog) Warn(msg string, _ ...any)  { l.warns = append(l.warns, msg) }
func (l *levelLog) Error(msg string, _ ...any) { l.errors = append(l.errors, msg) }

// TestWriteStallIsNotAnError: Pebble stalls writes for a moment whenever
// memtables fill faster than they flush, which a burst of large writes
// does on a healthy disk (node's TestUncommittedBoundSaysSo and
// TestWriteTooLargeRefusedUpFront failed on it most runs: their logger
// fails a test on any Error). A stall that does not end is found by the
// host's watchdog; the stall itself is a warning.
func TestWriteStallIsNotAnError(t *testing.T) {
	log := &levelLog{}
	d := newDiskEvents(log)
	l := d.listener()
	l.WriteStallBegin(pebble.WriteStallBeginInfo{Reason: "memtable count limit reached"})
	if len(log.errors) != 0 || len(log.warns) != 1 {
		t.Fatalf("a write stall logged errors %q and warnings %q; want one warning", log.errors, log.warns)
	}
}
