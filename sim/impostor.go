package sim

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/seshat-db/seshat/resp"
)

// The operator's impostor: now and then, an ADDNODE the operator drew
// for an id that is already a member goes out as a second machine under
// that id would send it (a copied config started with -join): from
// another peer address. Such a machine must never hear +OK or "already a
// member", which it takes as its join done (app/join.go), and then runs
// on under the member's id, taking turns with it on every peer's link.
// Until the member's own address is recorded (a first member announces
// it an election timeout or more after it runs under a leader, and not
// while it is down or cut off), only a refusal to ask again is right.
//
// The choice comes from a stream of its own and changes only the
// command's words, never when it is sent: a refusal changes nothing in
// the node, so every seed's run hashes as before.

// impostorStream seeds the operator's impostor choices.
const impostorStream = 0x1a9057e2

// impostorPeerAddr and impostorClientAddr are the second machine's.
func impostorPeerAddr(id uint64) string   { return fmt.Sprintf("imp%d:7379", id) }
func impostorClientAddr(id uint64) string { return fmt.Sprintf("imp%d:6379", id) }

// disguise makes a, an ADDNODE for a member's id in target's view, an
// impostor's half the time.
func (op *operator) disguise(target *simNode, a *adminOp) {
	if a.kind != adminAdd {
		return
	}
	st := target.n.Status()
	if !slices.Contains(st.Voters, a.id) && !slices.Contains(st.Learners, a.id) {
		return
	}
	a.impostor = op.imp.IntN(2) == 0
}

// earlyImpostor, in half of the operator's seeds, has a second machine
// ask to join under a first member's id as soon as the cluster has a
// leader: before the members have recorded their own addresses (each
// announces its own about a second in), the window the operator's drawn
// commands reach only about once in three hundred seeds
// (unrecorded-member-already-in was killed by swarm seed 74 alone).
func (op *operator) earlyImpostor() {
	if op.imp.IntN(2) != 0 {
		return
	}
	w := op.w
	first := w.opts.Nodes
	if w.opts.InitialVoters > 0 {
		first = w.opts.InitialVoters
	}
	id := uint64(1 + op.imp.IntN(first))
	var ask func()
	ask = func() {
		if w.now >= w.opts.FaultsEnd || w.failure != nil {
			return
		}
		target := w.leader()
		if target == nil || !target.up() {
			w.schedule(20*time.Millisecond, evOperator, -1, 5, ask) // no leader yet: look again soon
			return
		}
		op.send(target, adminOp{kind: adminAdd, id: id, impostor: true}, false)
	}
	w.schedule(200*time.Millisecond+time.Duration(op.imp.Int64N(int64(100*time.Millisecond))), evOperator, -1, 5, ask)
}

// impostorAnswer says why r, the answer to an impostor's ADDNODE, is
// wrong, or "".
func impostorAnswer(r resp.Reply) string {
	switch {
	case r.Kind == resp.KindSimple && r.Str == "OK":
		return "added a second machine under a member's id"
	case r.Kind == resp.KindError && strings.Contains(r.Str, "is already a member"):
		return "told a second machine under a member's id that it is already a member, which it takes as its join done"
	}
	return ""
}
