package app

import (
	"testing"

	"github.com/seshat-db/seshat/resp"
)

// TestReplicaLine: INFO replication's line for each replica, in Redis 7's
// words: a replica in sync is online, one still receiving a snapshot is
// send_bulk (a Redis replica in full sync), not online.
func TestReplicaLine(t *testing.T) {
	for _, tc := range []struct {
		link resp.ReplicaLink
		want string
	}{
		{resp.ReplicaLink{Host: "10.0.0.2", Port: 6379, Offset: 812}, "ip=10.0.0.2,port=6379,state=online,offset=812,lag=0"},
		{resp.ReplicaLink{Host: "10.0.0.3", Port: 6380, Offset: 0, Syncing: true}, "ip=10.0.0.3,port=6380,state=send_bulk,offset=0,lag=0"},
	} {
		if got := replicaLine(tc.link); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.link, got, tc.want)
		}
	}
}
