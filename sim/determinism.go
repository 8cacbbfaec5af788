package sim

import (
	crand "crypto/rand"
	"math/rand/v2"
	"sync"
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
