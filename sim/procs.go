package sim

import "runtime"

// A run is one goroutine's work, but Pebble hands every synced commit to
// its WAL writer goroutine and waits for it. With more than one P that
// handoff wakes another OS thread (a futex wake and a sleep each way,
// about twelve thousand context switches a seed), and sweeps already
// run one process per core. On one P the handoff is a goroutine switch
// on the same thread: a run costs about a fifth less CPU, and the time
// a busy machine takes to wake a thread is no longer spent at every
// commit. What a seed does is unchanged: nothing in it depends on the
// scheduler.
//
// fullProcs is GOMAXPROCS outside runs; porcupine's final check, which
// runs its partitions in parallel, gets them back (withAllProcs).
var fullProcs = runtime.GOMAXPROCS(0)

// onOneProc sets GOMAXPROCS to 1 until the returned func restores it.
// The caller holds runMu: the setting is process-wide.
func onOneProc() (restore func()) {
	fullProcs = runtime.GOMAXPROCS(1)
	return func() { runtime.GOMAXPROCS(fullProcs) }
}

// withAllProcs runs fn, within a run, with GOMAXPROCS as it was outside.
func withAllProcs(fn func()) {
	runtime.GOMAXPROCS(fullProcs)
	defer runtime.GOMAXPROCS(1)
	fn()
}
