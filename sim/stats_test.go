package sim

import "testing"

func TestPrintStats(t *testing.T) {
	if *flagSeed == 0 {
		t.Skip("needs -seed")
	}
	res := Run(Options{Seed: *flagSeed})
	t.Logf("%s\n%+v\nfailure=%v", res.Options, res.Stats, res.Failure)
}
