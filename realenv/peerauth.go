package realenv

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
)

// Peers prove that they hold the cluster secret, and every frame proves
// that it comes from the peer that proved it.
//
//	hello (dialer -> acceptor), 48 bytes:
//	  magic "SSHT" | version uint16 | reserved uint16 |
//	  cluster hash uint64 | sender id uint64 | receiver id uint64 |
//	  dialer nonce [16]byte
//	challenge (acceptor -> dialer): acceptor nonce [16]byte
//	proof (dialer -> acceptor): HMAC-SHA256(secret, "dialer" | hello | acceptor nonce)
//	accept (acceptor -> dialer): HMAC-SHA256(secret, "acceptor" | hello | acceptor nonce)
//
// A hello the acceptor refuses (not seshat's, another version, cluster or
// receiver, an unknown sender) and a wrong proof get the connection
// closed and nothing else: the caller learns neither the cluster nor the
// node it reached. The reason is logged on the acceptor, once per source
// address. Each side's nonce makes the other's proof fresh: a recorded
// handshake does not replay, and neither side can be used to compute a
// proof for the other (the two MACs have different labels).
//
// Every frame then carries a tag: the first 16 bytes of
// HMAC-SHA256(session key, sequence number | length | body), the session
// key being HMAC-SHA256(secret, "frames" | hello | acceptor nonce) and
// the sequence counting frames (pings too) from 0. A frame injected into
// the connection, replayed or reordered fails its tag, and the connection
// is closed.
//
// Without a configured secret the key is derived from the cluster id
// alone: the protocol is the same, but anyone who knows the cluster id
// passes, as before secrets existed (Start logs a warning).
const (
	helloBytes = 48
	nonceBytes = 16
	proofBytes = sha256.Size
	tagBytes   = 16
)

var errBadTag = errors.New("frame failed its authentication tag")

// peerKey is the key both sides prove they hold.
func peerKey(secret []byte, clusterID string) []byte {
	if len(secret) > 0 {
		return secret
	}
	sum := sha256.Sum256(append([]byte("seshat cluster without a secret: "), clusterID...))
	return sum[:]
}

func newNonce() [nonceBytes]byte {
	var n [nonceBytes]byte
	if _, err := rand.Read(n[:]); err != nil {
		panic("transport: crypto/rand failed: " + err.Error())
	}
	return n
}

func mac(key []byte, label string, hello, nonce []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(label))
	h.Write(hello)
	h.Write(nonce)
	return h.Sum(nil)
}

// frameMAC tags the frames of one connection, in order.
type frameMAC struct {
	h   hash.Hash
	seq uint64
	sum []byte
}

func newFrameMAC(key, hello, nonce []byte) *frameMAC {
	return &frameMAC{h: hmac.New(sha256.New, mac(key, "frames", hello, nonce))}
}

// tag returns the next frame's tag; parts are its length and its body.
func (f *frameMAC) tag(parts ...[]byte) []byte {
	f.h.Reset()
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], f.seq)
	f.seq++
	f.h.Write(seq[:])
	for _, p := range parts {
		f.h.Write(p)
	}
	f.sum = f.h.Sum(f.sum[:0])
	return f.sum[:tagBytes]
}

// check reports whether got is the next frame's tag.
func (f *frameMAC) check(got []byte, parts ...[]byte) bool {
	return hmac.Equal(got, f.tag(parts...))
}
