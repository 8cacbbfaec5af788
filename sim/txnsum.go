package sim

import "bytes"

// txnSumCheck picks which account groups checkSum reads after an entry.
// Reading every group after every entry cost a tenth of a swarm seed's
// time (each read is a Pebble seek, and groups accumulate over a run),
// yet a group's sum can only change when an entry writes one of its
// accounts, and every op names its keys in the entry's bytes. So the
// groups an entry names are checked after that entry, which is where a
// transaction applied in part shows (its halves both name the group);
// and every group is checked after every sweepEvery-th entry and the first
// entry after a start, so a break that no entry names (a bug writing a
// key it was not given) still shows, a few entries late: a group's
// sum, once broken, stays broken, since correct transfers keep it.
type txnSumCheck struct {
	groups []int // the groups the entry being applied names
	count  int   // entries applied since the last full sweep
	sweep  bool  // this entry checks every group
}

const txnSumSweepEvery = 64

var accountPrefix = []byte("acct")

// noteEntry is called with each entry's data just before its state is
// checked.
func (t *txnSumCheck) noteEntry(data []byte) {
	t.groups = t.groups[:0]
	t.count++
	t.sweep = t.count == 1 || t.count > txnSumSweepEvery
	if t.sweep {
		t.count = 1
		return
	}
	for rest := data; ; {
		i := bytes.Index(rest, accountPrefix)
		if i < 0 {
			return
		}
		rest = rest[i+len(accountPrefix):]
		g, n := 0, 0
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' && n < 9 {
			g = g*10 + int(rest[n]-'0')
			n++
		}
		if n > 0 && n < len(rest) && rest[n] == '.' && !containsInt(t.groups, g) {
			t.groups = append(t.groups, g)
		}
	}
}

// restarted makes the next entry check every group.
func (t *txnSumCheck) restarted() { t.count = 0 }

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
