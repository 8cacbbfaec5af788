package node

import "testing"

// A wiped follower caught up by snapshot: the leader reports the transfer
// sent and the follower the same bytes received, each with a duration in
// ticks; and every node counted the leader it saw take over.
func TestSnapshotTransferAndLeaderChangesReported(t *testing.T) {
	var got []SnapshotTransfer
	cfg := testConfig()
	cfg.OnSnapshotTransfer = func(st SnapshotTransfer) { got = append(got, st) }
	c := newCluster(t, 5, cfg)
	lead := c.leader()
	f := c.follower(lead)
	for i := range 20 {
		if res := c.do(lead, set(string(rune('a'+i)), "0123456789")); res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	c.converged()
	for id := uint64(1); id <= 3; id++ {
		if n := c.node(id).Status().LeaderChanges; n < 1 {
			t.Errorf("node %d saw %d leader changes, want at least 1", id, n)
		}
	}
	c.wipe(f)
	c.waitRole(f, "voter")
	var sent, received *SnapshotTransfer
	for i := range got {
		switch {
		case got[i].OK && got[i].Received:
			received = &got[i]
		case got[i].OK:
			sent = &got[i]
		}
	}
	if sent == nil || received == nil {
		t.Fatalf("transfers reported: %+v, want one sent and one received", got)
	}
	if sent.Peer != f || sent.Bytes < 20*10 {
		t.Errorf("sent %+v, want to %d, at least 200 bytes", *sent, f)
	}
	if received.Bytes != sent.Bytes || received.Peer == f {
		t.Errorf("received %+v, sent %+v: want the same bytes, from the leader", *received, *sent)
	}
}
