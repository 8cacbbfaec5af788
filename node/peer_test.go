package node

import (
	"bytes"
	"testing"

	"pgregory.net/rapid"
)

// TestEnvelopeRoundTrip: whatever the header and body, decoding gives
// back both; the body bytes follow the envelope untouched.
func TestEnvelopeRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		e := envelope{
			kind:         rapid.Byte().Draw(t, "kind"),
			from:         rapid.Uint64().Draw(t, "from"),
			fromIdentity: rapid.Uint64().Draw(t, "fromIdentity"),
			toIdentity:   rapid.Uint64().Draw(t, "toIdentity"),
		}
		body := rapid.SliceOf(rapid.Byte()).Draw(t, "body")
		got, rest, err := decodeEnvelope(e.encode(body))
		if err != nil || got != e || !bytes.Equal(rest, body) {
			t.Fatalf("round trip of %+v, %x: %+v, %x, %v", e, body, got, rest, err)
		}
	})
}

// TestStepSurvivesGarbage: a node steps any bytes a peer may send without
// panicking: it returns an error or drops them.
func TestStepSurvivesGarbage(t *testing.T) {
	c := newCluster(t, 14, testConfig())
	c.leader()
	n := c.node(1)
	rapid.Check(t, func(t *rapid.T) {
		kind := rapid.ByteRange(0, peerJoin+1).Draw(t, "kind")
		hdr := envelope{kind: kind, from: rapid.Uint64Range(0, 4).Draw(t, "from")}
		_ = n.Step(hdr.encode(rapid.SliceOfN(rapid.Byte(), 0, 64).Draw(t, "body")))
	})
}
