package realenv

import (
	"testing"
	"time"
)

func TestClockOffsetAndDrift(t *testing.T) {
	var real *Clock
	if real.Offset() != 0 || real.Period(10*time.Millisecond) != 10*time.Millisecond {
		t.Fatal("a nil clock is not the real one")
	}
	c := NewClock(30*time.Second, 0)
	if off := c.Offset(); off != 30*time.Second {
		t.Fatalf("offset %s, want 30s", off)
	}
	if d := time.Until(c.Now()); d < 29*time.Second || d > 31*time.Second {
		t.Fatalf("Now is %s from the real clock, want about 30s", d)
	}
	// 100,000 ppm fast: ticks come 10% more often, and the offset grows.
	c.Set(0, 100_000)
	if p := c.Period(11 * time.Millisecond); p != 10*time.Millisecond {
		t.Fatalf("period %s, want 10ms", p)
	}
	time.Sleep(50 * time.Millisecond)
	if off := c.Offset(); off < 5*time.Millisecond {
		t.Fatalf("after 50 ms at 10%% fast the offset is only %s", off)
	}
	c.Set(-time.Second, -100_000)
	if off := c.Offset(); off > -time.Second {
		t.Fatalf("a slow clock set 1 s behind is %s off", off)
	}
}
