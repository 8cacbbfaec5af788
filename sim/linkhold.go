package sim

import (
	"fmt"
	"time"

	"github.com/seshat-db/seshat/chaos"
)

// A scenario's hold on one link (chaos.LinkHolder). The network's long
// faults (network.go) hold messages by the seed's draws, a few at a time;
// a scenario that needs every acknowledgement of one node's process to
// outlive that process, and to arrive at a moment it picks (once the
// node's next process has its join verdict), holds the link itself.
// Nothing here draws from a random stream, so runs that never hold a
// link replay as before.

// parkedMsg is a message a held link keeps.
type parkedMsg struct {
	from, to int
	msg      []byte
}

// linkHolds is the World's side: which links park what is sent on them,
// and what they parked.
type linkHolds struct {
	on     [][]bool // on[a][b]: messages from a to b are parked; nil until a scenario holds a link
	parked []parkedMsg
}

// parks keeps msg if its link is held, and says whether it did. Past
// heldMax parked messages the link loses what it would park.
func (w *World) parks(from, to int, msg []byte) bool {
	if w.links.on == nil || !w.links.on[from][to] {
		return false
	}
	if len(w.links.parked) >= heldMax {
		w.stats.MessagesLost++
		return true
	}
	w.links.parked = append(w.links.parked, parkedMsg{from: from, to: to, msg: msg})
	return true
}

// releaseParked delivers, in the order sent and each after its link's
// latency, what the link from -> to parked, and says how many.
func (w *World) releaseParked(from, to int) int {
	kept, n := w.links.parked[:0], 0
	for _, p := range w.links.parked {
		if p.from != from || p.to != to {
			kept = append(kept, p)
			continue
		}
		n++
		w.deliverAfter(w.lat[from][to], from, to, p.msg, releasedNow)
	}
	clear(w.links.parked[len(kept):])
	w.links.parked = kept
	return n
}

// dropParked loses what every held link still keeps and lifts every
// hold: the liveness phase starts from a network that delivers.
func (w *World) dropParked() {
	w.stats.MessagesLost += len(w.links.parked)
	clear(w.links.parked)
	w.links.parked = w.links.parked[:0]
	w.links.on = nil
}

// HoldLink implements chaos.LinkHolder.HoldLink.
func (c *simCluster) HoldLink(from, to chaos.ID, on bool) {
	a, b := c.node(from).idx, c.node(to).idx
	w := c.w
	if w.links.on == nil {
		w.links.on = make([][]bool, len(w.nodes))
		for i := range w.links.on {
			w.links.on[i] = make([]bool, len(w.nodes))
		}
		c.linkSince = make([][]time.Duration, len(w.nodes))
		for i := range c.linkSince {
			c.linkSince[i] = make([]time.Duration, len(w.nodes))
		}
	}
	if w.links.on[a][b] == on {
		return
	}
	c.Logf("n%d -> n%d held: %v", from, to, on)
	if on {
		c.linkSince[a][b] = w.now
	} else {
		w.addFault(fmt.Sprintf("n%d -> n%d held", from, to), c.linkSince[a][b], w.now)
	}
	w.links.on[a][b] = on
}

// ReleaseLink implements chaos.LinkHolder.ReleaseLink.
func (c *simCluster) ReleaseLink(from, to chaos.ID) int {
	n := c.w.releaseParked(c.node(from).idx, c.node(to).idx)
	c.Logf("n%d -> n%d: %d held messages set free", from, to, n)
	return n
}

// closeLinks ends the hold windows still open when the timeline returns.
func (c *simCluster) closeLinks() {
	w := c.w
	for a, row := range w.links.on {
		for b, on := range row {
			if on {
				w.addFault(fmt.Sprintf("n%d -> n%d held", a+1, b+1), c.linkSince[a][b], w.now)
			}
		}
	}
	w.dropParked()
}
