package kvmodel

import (
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// TestR6PTTLBoundedByTTL (review r6-clock): pttlFits says "a time left no
// longer than the TTL it was given" but accepts any PTTL >= 0, so a
// cluster time that went back (or a deadline computed from a wrong clock)
// shows in PTTL replies the model never checks: a key set with PX 1000
// answering PTTL 3600000 is accepted.
func TestR6PTTLBoundedByTTL(t *testing.T) {
	ms := func(n int) int64 { return int64(time.Duration(n) * time.Millisecond) }
	ops := []porcupine.Operation{
		{ClientId: 1, Call: 0, Return: ms(10),
			Input: Input{Cmd: "setpx", Key: "k", Value: "v", TTL: ms(1000), SureFor: ms(1000), GoneAfter: ms(3000), Call: 0, Return: ms(10)}, Output: Output{}},
		{ClientId: 2, Call: ms(500), Return: ms(510),
			Input: Input{Cmd: "pttl", Key: "k", Call: ms(500), Return: ms(510)}, Output: Output{Int: 3_600_000}},
	}
	if porcupine.CheckOperations(Model, ops) {
		t.Errorf("PTTL 3600000 ms for a key set with PX 1000 half a second earlier is accepted")
	}
}

// TestR6LateBoundAfterRestart (review r6-clock): after any node restart
// (Epoch moves) a key's late bound is never enforced: a key set with PX
// 1000 still read an hour later is accepted. The swarm restarts nodes
// in most runs, so "expired late by at most the bound" is checked only in
// runs or stretches without a restart, although CHASSIS's bound says only
// time a node spends down does not count *for it* (the cluster, with a
// quorum up, keeps counting).
func TestR6LateBoundAfterRestart(t *testing.T) {
	ms := func(n int) int64 { return int64(time.Duration(n) * time.Millisecond) }
	ops := []porcupine.Operation{
		{ClientId: 1, Call: 0, Return: ms(10),
			Input: Input{Cmd: "setpx", Key: "k", Value: "v", TTL: ms(1000), SureFor: ms(1000), GoneAfter: ms(3000), Call: 0, Return: ms(10)}, Output: Output{}},
		{ClientId: 2, Call: ms(3_600_000), Return: ms(3_600_010),
			Input: Input{Cmd: "get", Key: "k", Call: ms(3_600_000), Return: ms(3_600_010), Epoch: 1}, Output: Output{Value: "v"}},
	}
	if porcupine.CheckOperations(Model, ops) {
		t.Errorf("a key set with PX 1000 read an hour later, after one node restart, is accepted")
	}
}
