package node

import "testing"

// TestReplicaOffsetsNotPastMaster: ROLE and INFO tell a master's offset
// (its applied index) and each replica's (the leader's match of it); a
// Redis replica is never ahead of its master, and a client measuring lag
// as the difference saw a negative one: a follower acknowledges entries
// before the leader applies them.
func TestReplicaOffsetsNotPastMaster(t *testing.T) {
	c := newCluster(t, 7, testConfig())
	lead, _ := written(c, 1)
	c.submit(lead, set("k", "v"))
	if err := c.node(lead).Process(); err != nil {
		t.Fatal(err)
	}
	// Deliver everything but what reaches the leader: the followers
	// store and acknowledge; the leader hears the acks, applies nothing.
	for range 1000 {
		m, ok := c.net.Take()
		if !ok {
			break
		}
		if err := c.node(m.To).Step(m.Data); err != nil {
			t.Fatal(err)
		}
		if m.To != lead {
			if err := c.node(m.To).Process(); err != nil {
				t.Fatal(err)
			}
		}
	}
	st := c.node(lead).Status()
	if len(st.Replicas) == 0 {
		t.Fatal("the leader lists no replicas")
	}
	for _, r := range st.Replicas {
		if r.Match > st.Applied {
			t.Fatalf("replica %d at offset %d, past its master's %d", r.ID, r.Match, st.Applied)
		}
	}
}
