package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

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
	if op.imp == nil {
		op.imp = rand.New(rand.NewPCG(op.w.opts.Seed, impostorStream))
	}
	a.impostor = op.imp.IntN(2) == 0
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
