package envtest

import "testing"

func TestQueueIsFIFOAndSeesSends(t *testing.T) {
	var q Queue
	var seen int
	q.OnSend = func(Message) { seen++ }
	q.From(1).Send(2, []byte("a"))
	q.From(2).Send(1, []byte("b"))
	for _, want := range []Message{{1, 2, []byte("a")}, {2, 1, []byte("b")}} {
		m, ok := q.Take()
		if !ok || m.From != want.From || m.To != want.To || string(m.Data) != string(want.Data) {
			t.Fatalf("took %+v, want %+v", m, want)
		}
	}
	if _, ok := q.Take(); ok || seen != 2 {
		t.Fatalf("queue not empty or %d sends seen", seen)
	}
}

func TestJobsRunOnlyWhenAsked(t *testing.T) {
	var j Jobs
	var order []int
	j.Run(func() { order = append(order, 1); j.Run(func() { order = append(order, 3) }) })
	j.Run(func() { order = append(order, 2) })
	if len(order) != 0 || j.Pending() != 2 {
		t.Fatal("a job ran before it was asked to")
	}
	if !j.RunOne() || len(order) != 1 {
		t.Fatal("RunOne ran no job")
	}
	if ran := j.RunAll(); ran != 2 || len(order) != 3 || order[2] != 3 {
		t.Fatalf("RunAll ran %d, order %v", ran, order)
	}
}

func TestRandReplaysItsSeed(t *testing.T) {
	a, b := NewRand(1, 2), NewRand(1, 2)
	for range 10 {
		if a.Uint64() != b.Uint64() {
			t.Fatal("two Rands of one seed drew differently")
		}
	}
}

func TestFormatLine(t *testing.T) {
	if got := FormatLine("INFO", "leader changed", []any{"from", 1, "to", 2}); got != "INFO leader changed from=1 to=2" {
		t.Fatal(got)
	}
}
