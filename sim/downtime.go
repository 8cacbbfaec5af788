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
type downtime struct {
	w        *World
	total    time.Duration   // of the spells that ended
	since    []time.Duration // per node, when its current down spell began; -1 while up
	leads    []bool          // per node, whether it says it leads
	leadless time.Duration   // when the current spell with no leader began; -1 while one leads
}

func (d *downtime) init(w *World) {
	d.w, d.since, d.leads, d.leadless = w, make([]time.Duration, len(w.nodes)), make([]bool, len(w.nodes)), w.now
	for i := range d.since {
		d.since[i] = -1
	}
}

func (d *downtime) died(s *simNode) {
	if d.since != nil && d.since[s.idx] < 0 {
		d.since[s.idx] = d.w.now
		d.leading(s, false)
	}
}

func (d *downtime) started(s *simNode) {
	if d.since != nil && d.since[s.idx] >= 0 {
		d.total += d.w.now - d.since[s.idx]
		d.since[s.idx] = -1
	}
}

// leading notes whether s says it leads (and has not fail-stopped).
func (d *downtime) leading(s *simNode, leads bool) {
	if d.leads == nil || d.leads[s.idx] == leads {
		return
	}
	d.leads[s.idx] = leads
	any := false
	for _, l := range d.leads {
		any = any || l
	}
	switch {
	case any && d.leadless >= 0:
		d.total += d.w.now - d.leadless
		d.leadless = -1
	case !any && d.leadless < 0:
		d.leadless = d.w.now
	}
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
