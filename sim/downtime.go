package sim

import "time"

// downtime is the time the nodes together have spent down, plus the
// time the cluster spent with no leader (kvmodel.Input.Down). A node
// counts no cluster time while down, and with no leader nobody stamps
// the time the others counted: the applied clock, which reads judge keys
// at, stands still until a new leader's first stamp commits (a leader
// crash whose pre-votes were refused for 2.5 s kept a key read 2.4 s
// past its TTL: swarm seed 7). A key may outlive its late bound by as
// much.
//
// A leader counts only while the network lets it send to a quorum of
// its voters: one cut off from sending still says it leads (long-delayed
// heartbeats from before the cut kept its followers quiet and its quorum
// check passing) but commits nothing, so the applied clock stands still
// as with no leader at all (swarm seed 646: a key read 2.08 s past its
// TTL after the leader could not send for 2.1 s).
type downtime struct {
	w        *World
	total    time.Duration   // of the spells that ended
	since    []time.Duration // per node, when its current down spell began; -1 while up
	says     []bool          // per node, whether it says it leads
	voters   [][]uint64      // per node, the voters it last reported
	leadless time.Duration   // when the current spell with no leader began; -1 while one leads
}

func (d *downtime) init(w *World) {
	d.w, d.since, d.says, d.leadless = w, make([]time.Duration, len(w.nodes)), make([]bool, len(w.nodes)), w.now
	d.voters = make([][]uint64, len(w.nodes))
	for i := range d.since {
		d.since[i] = -1
	}
}

func (d *downtime) died(s *simNode) {
	if d.since != nil && d.since[s.idx] < 0 {
		d.since[s.idx] = d.w.now
		d.leading(s, false, nil)
	}
}

func (d *downtime) started(s *simNode) {
	if d.since != nil && d.since[s.idx] >= 0 {
		d.total += d.w.now - d.since[s.idx]
		d.since[s.idx] = -1
	}
}

// leading notes whether s says it leads (and has not fail-stopped), and
// the voters it knows.
func (d *downtime) leading(s *simNode, says bool, voters []uint64) {
	if d.says == nil {
		return
	}
	d.says[s.idx] = says
	if says {
		d.voters[s.idx] = voters
	}
	d.recount()
}

// recount starts or ends a spell with no leader that can commit; the
// network calls it whenever a cut is made or lifted.
func (d *downtime) recount() {
	if d.says == nil {
		return
	}
	any := false
	for i, says := range d.says {
		any = any || says && d.reachesQuorum(i)
	}
	switch {
	case any && d.leadless >= 0:
		d.total += d.w.now - d.leadless
		d.leadless = -1
	case !any && d.leadless < 0:
		d.leadless = d.w.now
	}
}

// reachesQuorum: no cut stops node idx sending to a majority of the
// voters it knows (itself included).
func (d *downtime) reachesQuorum(idx int) bool {
	voters := d.voters[idx]
	reach := 0
	for _, id := range voters {
		to := int(id) - 1
		if to == idx || to >= 0 && to < len(d.w.cut[idx]) && !d.w.cut[idx][to] {
			reach++
		}
	}
	return reach > len(voters)/2
}

// now is the downtime so far, the current spells included.
func (d *downtime) now() time.Duration {
	t := d.total
	for _, at := range d.since {
		if at >= 0 {
			t += d.w.now - at
		}
	}
	if d.leadless >= 0 {
		t += d.w.now - d.leadless
	}
	return t
}
