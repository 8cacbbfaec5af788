package sim

import (
	crand "crypto/rand"
	"math/rand/v2"
	"sync"

	"github.com/seshat-db/seshat/internal/walfault"
)

// etcd raft draws its randomized election timeouts from crypto/rand.Reader
// through a package global that no Config field reaches. For a seed to
// replay, that stream must be seeded too. The swap is process-wide, so only
// one simulation runs at a time in a process: runMu serializes them, and
// parallel sweeps use separate processes.
var runMu sync.Mutex

type seededReader struct {
	mu sync.Mutex
	r  *rand.ChaCha8
}

func (s *seededReader) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r.Read(p)
}

// unseededCryptoRand leaves crypto/rand alone: TEST ONLY, to show that the
// determinism test notices the leak.
var unseededCryptoRand bool

// withSeededCryptoRand runs fn with crypto/rand.Reader replaced by a
// stream drawn from seed.
func withSeededCryptoRand(seed uint64, fn func()) {
	runMu.Lock()
	defer runMu.Unlock()
	var key [32]byte
	src := rand.NewPCG(seed, 0xc0ffee)
	for i := range 4 {
		v := src.Uint64()
		for j := range 8 {
			key[i*8+j] = byte(v >> (8 * j))
		}
	}
	if unseededCryptoRand {
		fn()
		return
	}
	saved := crand.Reader
	crand.Reader = &seededReader{r: rand.NewChaCha8(key)}
	defer func() { crand.Reader = saved }()
	fn()
}

// fnv-1a over 64-bit words: the run's rolling hash of every event.
func mixHash(h uint64, words ...uint64) uint64 {
	for _, w := range words {
		for range 8 {
			h ^= w & 0xff
			h *= 1099511628211
			w >>= 8
		}
	}
	return h
}

const hashSeed = 14695981039346656037

func digestBytes(b []byte) uint64 {
	h := uint64(hashSeed)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// noteRecovery mixes what a node recovered from its disk into the run's
// hash as the node opens: its raft state, log bounds, applied index and a
// digest of every key in its store. A crash image that depended on
// anything but the seed would show here, at the restart, rather than
// only once it changed what the node did.
func (w *World) noteRecovery(s *simNode) {
	digest, err := s.n.StoreDigest()
	if err != nil {
		w.fail(classSafety, "n%d: digest of the recovered store: %v", s.id, err)
		return
	}
	st := s.n.Status()
	w.hash = mixHash(w.hash, recoveryMark, s.id, st.Term, st.Commit, st.Applied, st.SnapshotIndex, st.SnapshotIndex+st.LogEntries, digest)
	w.tracef("%s n%d recovered term %d, commit %d, applied %d, log (%d, %d], store digest %016x", w.now, s.id, st.Term, st.Commit, st.Applied, st.SnapshotIndex, st.SnapshotIndex+st.LogEntries, digest)
	if w.eventLog != nil {
		w.eventLog = append(w.eventLog, EventRecord{At: w.now, Kind: "recovered", Node: s.idx, Extra: digest, Hash: w.hash})
	}
}

// recoveryMark sets a recovery's words apart from an event's in the hash.
const recoveryMark = 0x7265636f76657279

// noteCrashImage mixes the size of the newest WAL a crash left into the
// run's hash: which WAL the node was writing when it died, and how much of
// it the crash kept, must follow from the seed alone (the store rotates
// its WAL at points set by what it wrote, storage.Options.
// DeterministicFlush; heldFS and the seed decide what unsynced bytes
// survive). Names are left out: Pebble numbers WALs and sstables from one
// counter, and how many sstables its background flushes made so far
// depends on timing.
//
// On the in-memory twin, the count of durable keys stands in for it.
func (w *World) noteCrashImage(s *simNode, image *diskImage) {
	var size int64
	if image.mem != nil {
		size = int64(image.mem.Keys())
	} else if n, err := walfault.LogSize(image.fs, simDataDir); err == nil {
		size = n
	} else {
		size = -1
	}
	w.hash = mixHash(w.hash, crashImageMark, s.id, uint64(size))
	w.tracef("%s n%d crash left a newest WAL of %d bytes", w.now, s.id, size)
	if w.eventLog != nil {
		w.eventLog = append(w.eventLog, EventRecord{At: w.now, Kind: "crash image", Node: s.idx, Extra: uint64(size), Hash: w.hash})
	}
}

// crashImageMark sets a crash image's words apart in the hash.
const crashImageMark = 0x6372617368696d67
