package sim

import (
	"errors"
	"fmt"

	"github.com/seshat-db/seshat/internal/walfault"
	"github.com/seshat-db/seshat/kv"
	"github.com/seshat-db/seshat/node"
	"github.com/seshat-db/seshat/storage"
)

// flipSyncedByte crashes s and flips one byte of its newest WAL inside
// data that later synced chunks vouch for, as a disk that rots does. It
// reports false, the node crashed but nothing flipped, when the log has
// no such byte yet or the run keeps its data in the in-memory twin, which
// has no files: the caller then wipes the disk instead.
func (w *World) flipSyncedByte(s *simNode) bool {
	s.crash()
	if s.mem != nil {
		return false
	}
	name, off, ok, err := walfault.FlipSynced(s.fs, simDataDir, func(n int64) int64 { return w.rng.Int64N(n) })
	if err != nil {
		w.fail(classCrash, "n%d: flip a WAL byte: %v", s.id, err)
		return false
	}
	if !ok {
		return false
	}
	s.flipped = fmt.Sprintf("%s at offset %d", name, off)
	w.stats.FlipsInjected++
	w.tracef("%s n%d: flipped a synced byte of %s", w.now, s.id, s.flipped)
	return true
}

// openDamaged judges the open of a disk the world damaged: the node must
// refuse it as damaged; then the operator moves the data away and the
// node rejoins from its peers. It reports whether it handled the open.
func (s *simNode) openDamaged(n *node.Node, err error) bool {
	if s.flipped == "" {
		return false
	}
	flipped := s.flipped
	s.flipped = ""
	if err == nil {
		_ = n.Close()
		s.w.fail(classSafety, "n%d opened a WAL with a flipped synced byte (%s) without complaint: it may have forgotten what it acknowledged", s.id, flipped)
		return true
	}
	if !errors.Is(err, storage.ErrDamaged) {
		s.w.fail(classSafety, "n%d refused its damaged WAL (%s), but not as damage: %v", s.id, flipped, err)
		return true
	}
	s.w.stats.FlipsRefused++
	s.w.tracef("%s n%d refused to start: %v", s.w.now, s.id, err)
	s.wipe()
	s.w.scheduleRestart(s, "WAL damaged; the operator moved the data away")
	return true
}

// checkNoSpace: a node whose disk filled must stop and say so.
func (s *simNode) checkNoSpace() {
	if !s.disk.isFull() {
		return
	}
	s.w.stats.DiskFull++
	if reason := s.n.Status().StopReason; reason != "nospace" {
		s.w.fail(classSafety, "n%d's disk is full but it stopped for %q, not nospace: %v", s.id, reason, s.n.StopErr())
	}
	if res := s.refusal(); !errors.Is(res, node.ErrNoSpace) {
		s.w.fail(classSafety, "n%d's disk is full but it refuses with %v", s.id, res)
	}
}

// refusal asks a stopped node for a write and returns its answer.
func (s *simNode) refusal() error {
	var got error
	s.n.Submit([]kv.Op{{Kind: kv.Set, Keys: [][]byte{[]byte("nospace-probe")}, Values: [][]byte{[]byte("x")}}}, func(r []kv.Result) { got = r[0].Err })
	return got
}
