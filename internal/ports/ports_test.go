package ports

import "testing"

func TestFreeIsBelowTheEphemeralRangeAndNeverRepeats(t *testing.T) {
	lo, hi := Range()
	seen := map[int]bool{}
	for range 20 {
		ps, err := Free(3)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if p < lo || p >= hi {
				t.Fatalf("port %d outside [%d, %d)", p, lo, hi)
			}
			if seen[p] {
				t.Fatalf("port %d handed out twice", p)
			}
			seen[p] = true
		}
	}
}
