package sim

import "time"

// downtime is the time the nodes together have spent down: a node
// counts no cluster time while down, so a key may outlive its late bound
// by that much (kvmodel.Input.Down).
type downtime struct {
	w     *World
	total time.Duration   // of the down spells that ended
	since []time.Duration // per node, when its current spell began; -1 while up
}

func (d *downtime) init(w *World) {
	d.w, d.since = w, make([]time.Duration, len(w.nodes))
	for i := range d.since {
		d.since[i] = -1
	}
}

func (d *downtime) died(s *simNode) {
	if d.since != nil && d.since[s.idx] < 0 {
		d.since[s.idx] = d.w.now
	}
}

func (d *downtime) started(s *simNode) {
	if d.since != nil && d.since[s.idx] >= 0 {
		d.total += d.w.now - d.since[s.idx]
		d.since[s.idx] = -1
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
	return t
}
