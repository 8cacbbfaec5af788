package node

import (
	"testing"

	"github.com/seshat-db/seshat/kv"
)

// TestDriverBatchesThenProcessesOnce: the events of a batch reach the node
// in the order posted, and the whole batch costs one Process, so its
// writes share one storage batch; events past the bound wait for the next.
func TestDriverBatchesThenProcessesOnce(t *testing.T) {
	c := newCluster(t, 1, testConfig())
	lead := c.leader()
	d := NewDriver(c.node(lead), 3)
	processes := 0
	d.AroundProcess = func(process func() error) error {
		processes++
		return process()
	}
	var answered []string
	for _, v := range []string{"1", "2", "3", "4"} {
		d.Post(Event{Kind: EventOps, Ops: []kv.Op{set("k", v)}, Done: func(r []kv.Result) {
			if r[0].Err != nil {
				t.Errorf("set k %s: %v", v, r[0].Err)
			}
			answered = append(answered, v)
		}})
	}
	d.Post(Event{Kind: EventTick})
	if !d.Full() {
		t.Fatal("an inbox over its bound says it is not full")
	}
	if n, err := d.RunBatch(); n != 3 || err != nil || processes != 1 {
		t.Fatalf("first batch handled %d events (%v) with %d Process calls; want 3 with 1", n, err, processes)
	}
	if n, err := d.RunBatch(); n != 2 || err != nil || processes != 2 {
		t.Fatalf("second batch handled %d events (%v) with %d Process calls; want 2 with 2", n, err, processes)
	}
	if d.Pending() != 0 {
		t.Fatalf("%d events left after both batches", d.Pending())
	}
	c.settle()
	if len(answered) != 4 || answered[0] != "1" || answered[3] != "4" {
		t.Fatalf("answered %v, want 1 2 3 4 in order", answered)
	}
	c.mustGet(lead, "k", "4")
}

// TestDriverInboxReused: events posted while a batch runs, and across
// many batches that leave some waiting, are handled once each, in the
// order posted, though the inbox reuses its array.
func TestDriverInboxReused(t *testing.T) {
	c := newCluster(t, 1, testConfig())
	d := NewDriver(c.node(c.leader()), 3)
	var got []int
	next := 0
	post := func() {
		i := next
		next++
		d.Post(Event{Kind: EventCall, Call: func(*Node) {
			got = append(got, i)
			if i%4 == 0 {
				d.Post(Event{Kind: EventTick}) // a handler that posts
			}
		}})
	}
	for range 200 {
		post()
		post()
		if _, err := d.RunBatch(); err != nil {
			t.Fatal(err)
		}
	}
	for d.Pending() > 0 {
		if _, err := d.RunBatch(); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != next {
		t.Fatalf("handled %d calls of %d", len(got), next)
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("call %d handled as the %dth", v, i)
		}
	}
}
