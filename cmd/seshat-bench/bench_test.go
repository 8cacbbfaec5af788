package main

import (
	"strings"
	"testing"
	"time"
)

func TestQuantile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 51}, {0.99, 100}, {0, 1}, {1, 100}} {
		if got := quantile(d, tc.q); got != tc.want {
			t.Errorf("quantile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if quantile(nil, 0.5) != 0 {
		t.Error("quantile of nothing is not 0")
	}
}

func TestTargetVerdicts(t *testing.T) {
	res := func(ops int, p99 time.Duration) *result {
		return &result{ops: ops, wall: time.Second, p99: p99}
	}
	for _, tc := range []struct {
		name string
		rw   row
		want string
	}{
		{"set 1 met", row{w: workloads[0], seshat: res(3000, time.Millisecond), etcd: res(1000, 0), redis: res(5000, 0)},
			"3x etcd: met; 0.6x Redis: met"},
		{"set 1 missed", row{w: workloads[0], seshat: res(2999, time.Millisecond), etcd: res(1000, 0), redis: res(5001, 0)},
			"3x etcd: **missed**; 0.6x Redis: **missed**"},
		{"pipeline without redis", row{w: workloads[2], seshat: res(100_000, time.Millisecond)},
			"100,000/s: met; 0.3x Redis: no reference"},
		{"get p99", row{w: workloads[4], seshat: res(2500, 5*time.Millisecond), etcd: res(1000, 0)},
			"2.5x etcd: met; p99 under 5 ms: **missed**"},
		{"seshat failed", row{w: workloads[4], seshat: res(0, 0), etcd: res(1000, 0)}, "-"},
	} {
		if got := target(tc.rw); got != tc.want {
			t.Errorf("%s: target = %q, want %q", tc.name, got, tc.want)
		}
	}
	if !strings.Contains(workloads[2].name, "pipeline 16") || workloads[2].pipeline != 16 {
		t.Fatal("the table's rows moved: the cases above name them by position")
	}
}
