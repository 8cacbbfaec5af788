package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seshat-db/seshat/resp"
)

// The swarm's operator (Options.Operator): during the fault phase, at
// seed-chosen moments, it sends one membership command at a time to the
// node it believes leads, or now and then to another (which must refuse),
// as a person at a terminal would: add a spare machine as a learner,
// promote a learner, remove a member, hand leadership to another voter.
// Partitions, crashes, wipes and held messages go on around it.
//
// Every +OK is checked when it arrives: the node that answered must have
// applied the change. After the heal, the liveness phase holds the
// membership to its promises too (checkMembersSettle): a leader that is
// one of its own voters, every up node the cluster removed reporting
// itself removed, and every member caught up.
//
// One more kind of command is one more adminKind, a case in draw that
// picks its operands, and a case in appliedAt that says what its +OK
// promises.

// adminKind is a kind of operator command.
type adminKind int

const (
	adminAdd adminKind = iota
	adminPromote
	adminRemove
	adminTransfer
	adminReplace
)

var adminKindNames = [...]string{"add", "promote", "remove", "transfer", "replace"}

func (k adminKind) String() string { return adminKindNames[k] }

// adminWeights is how often the operator draws each kind.
var adminWeights = [...]int{adminAdd: 3, adminPromote: 3, adminRemove: 2, adminTransfer: 3, adminReplace: 2}

// adminOp is one command the operator sends.
type adminOp struct {
	kind  adminKind
	id    uint64 // the node it concerns
	old   uint64 // replace: the voter id takes the place of
	force bool
	// impostor: an add sent from another machine's addresses (impostor.go).
	impostor bool
}

func (a adminOp) args() []string {
	id := strconv.FormatUint(a.id, 10)
	var args []string
	switch a.kind {
	case adminAdd:
		args = []string{"CLUSTER", "ADDNODE", id, simPeerAddr(a.id), simClientAddr(a.id)}
		if a.impostor {
			args[3], args[4] = impostorPeerAddr(a.id), impostorClientAddr(a.id)
		}
	case adminPromote:
		args = []string{"CLUSTER", "PROMOTE", id}
	case adminRemove:
		args = []string{"CLUSTER", "REMOVENODE", id}
	case adminTransfer:
		args = []string{"CLUSTER", "TRANSFER-LEADER", id}
	case adminReplace:
		args = []string{"CLUSTER", "REPLACENODE", strconv.FormatUint(a.old, 10), id}
	}
	if a.force {
		args = append(args, "FORCE")
	}
	return args
}

// operator is the swarm's operator, when the seed has one.
type operator struct {
	w   *World
	rng *rand.Rand // its own stream: its choices do not move the world's
	imp *rand.Rand // the impostor's choices (impostor.go), apart from rng's

	settle settleCheck // the liveness phase's membership check
}

func (w *World) startOperator() {
	w.op = &operator{w: w, rng: rand.New(rand.NewPCG(w.opts.Seed, 0x0be7a7)), imp: rand.New(rand.NewPCG(w.opts.Seed, impostorStream))}
	w.op.later()
	w.op.earlyImpostor()
}

// later schedules the operator's next command, a few seconds on.
func (op *operator) later() {
	d := 500*time.Millisecond + time.Duration(op.rng.Int64N(int64(4*time.Second)))
	op.w.schedule(d, evOperator, -1, 0, op.act)
}

// act sends one command, if the fault phase is still on, and the next
// once it is answered. Now and then an impatient operator sends a second
// before the first is answered (a change and a transfer must then
// exclude each other).
func (op *operator) act() { op.sendOne(true) }

func (op *operator) sendOne(chain bool) {
	w := op.w
	if w.now >= w.opts.FaultsEnd || w.failure != nil {
		return
	}
	target := w.leader()
	if target == nil || op.rng.IntN(6) == 0 {
		target = w.nodes[op.rng.IntN(len(w.nodes))]
	}
	if !target.up() {
		if chain {
			op.later()
		}
		return
	}
	a := op.draw(target)
	op.disguise(target, &a)
	op.send(target, a, chain)
	if chain && op.rng.IntN(4) == 0 {
		d := time.Duration(op.rng.Int64N(int64(100*time.Millisecond))) + time.Millisecond
		w.schedule(d, evOperator, -1, 3, func() { op.sendOne(false) })
	}
}

// draw picks a command from what target reports (as CLUSTER NODES
// would tell the operator): mostly one that makes sense, sometimes one
// the node must refuse.
func (op *operator) draw(target *simNode) adminOp {
	st := target.n.Status()
	total := 0
	for _, wt := range adminWeights {
		total += wt
	}
	r := op.rng.IntN(total)
	kind := adminAdd
	for k, wt := range adminWeights {
		if r < wt {
			kind = adminKind(k)
			break
		}
		r -= wt
	}
	var ids []uint64
	members := append(slices.Clone(st.Voters), st.Learners...)
	switch kind {
	case adminAdd:
		for _, s := range op.w.nodes {
			if !slices.Contains(members, s.id) && !slices.Contains(st.Removed, s.id) {
				ids = append(ids, s.id)
			}
		}
	case adminPromote:
		ids = st.Learners
	case adminRemove:
		ids = members
		if slices.Contains(members, target.id) && op.rng.IntN(3) == 0 {
			ids = []uint64{target.id} // the leader removing itself
		}
	case adminTransfer:
		ids = slices.DeleteFunc(slices.Clone(st.Voters), func(id uint64) bool { return id == target.id })
	case adminReplace:
		ids = st.Learners
	}
	a := adminOp{kind: kind}
	if kind == adminReplace {
		// The old one: a voter other than the leader asked, mostly; now
		// and then the leader itself, which hands leadership off first
		// (the operator then asks the new leader again, see answered).
		olds := slices.DeleteFunc(slices.Clone(st.Voters), func(id uint64) bool { return id == target.id })
		switch {
		case len(olds) == 0 || op.rng.IntN(10) == 0:
			a.old = uint64(1 + op.rng.IntN(len(op.w.nodes)))
		case op.rng.IntN(4) == 0 && slices.Contains(st.Voters, target.id):
			a.old = target.id
		default:
			a.old = olds[op.rng.IntN(len(olds))]
		}
	}
	if len(ids) == 0 || op.rng.IntN(10) == 0 {
		// A command the node must refuse (or finds already done).
		a.id = uint64(1 + op.rng.IntN(len(op.w.nodes)))
	} else {
		a.id = ids[op.rng.IntN(len(ids))]
	}
	if kind == adminRemove && slices.Contains(st.Voters, a.id) && len(st.Voters) <= 3 {
		// Below three voters only with FORCE, drawn rarely, never below
		// two, and as an operator would use it: with every voter left up
		// and holding its data. Two voters of which one is rejoining after
		// a wipe can never elect a leader again (swarm seed 944).
		a.force = len(st.Voters) == 3 && op.rng.IntN(10) == 0 && op.votersHealthyWithout(st.Voters, a.id)
	}
	return a
}

// votersHealthyWithout reports whether every voter but gone is up and a
// voter in its own view (not rejoining, not stopped).
func (op *operator) votersHealthyWithout(voters []uint64, gone uint64) bool {
	for _, s := range op.w.nodes {
		if s.id == gone || !slices.Contains(voters, s.id) {
			continue
		}
		if !s.up() {
			return false
		}
		if st := s.n.Status(); st.Stopped || st.Role != "voter" {
			return false
		}
	}
	return true
}

// send sends a on a fresh connection to s; the answer is checked when it
// comes, and a command that gets none in time has an unknown outcome.
func (op *operator) send(s *simNode, a adminOp, chain bool) {
	w := op.w
	args := a.args()
	what := strings.Join(args, " ")
	bargs := make([][]byte, len(args))
	for i, x := range args {
		bargs[i] = []byte(x)
	}
	waiting := true
	n := s.n
	w.stats.OperatorCommands++
	w.tracef("%s operator asks n%d: %s", w.now, s.id, what)
	executeOne(s, bargs, func(reply []byte) {
		if !waiting {
			return
		}
		waiting = false
		w.tracef("%s operator: n%d answered %s: %q", w.now, s.id, what, reply)
		if s.n != n {
			w.fail(classSafety, "operator: n%d answered %s after its process died", s.id, what)
			return
		}
		op.answered(s, a, what, reply)
		if chain {
			op.later()
		}
	})
	w.schedule(w.opts.RequestTimeout+time.Second, evOperator, -1, 1, func() {
		if waiting {
			waiting = false
			w.stats.OperatorUnknown++
			w.tracef("%s operator: no answer from n%d to %s", w.now, s.id, what)
			if chain {
				op.later()
			}
		}
	})
}

// answered judges one reply: +OK must mean the change is applied at the
// node that sent it.
func (op *operator) answered(s *simNode, a adminOp, what string, reply []byte) {
	w := op.w
	r, _, err := resp.ParseReply(reply)
	switch {
	case err != nil:
		w.fail(classSafety, "operator: n%d answered %s with a malformed reply %q: %v", s.id, what, reply, err)
	case a.impostor && impostorAnswer(r) != "":
		w.fail(classSafety, "operator: n%d answered %s with %q: it %s", s.id, what, reply, impostorAnswer(r))
	case r.Kind == resp.KindSimple && r.Str == "OK":
		w.stats.OperatorApplied++
		if why := op.appliedAt(s, a); why != "" {
			w.fail(classSafety, "operator: n%d answered +OK to %s, but %s", s.id, what, why)
		}
	case r.Kind == resp.KindError && strings.HasPrefix(r.Str, "UNKNOWN"):
		w.stats.OperatorUnknown++
	case r.Kind == resp.KindError:
		w.stats.OperatorRefused++
		if a.kind == adminReplace && strings.Contains(r.Str, "handing leadership to node") {
			// The leader named as the one to replace hands off: ask the
			// new leader again, as a person (or app/join.go) would.
			w.stats.OperatorHandoffs++
			w.schedule(time.Second+time.Duration(op.rng.Int64N(int64(time.Second))), evOperator, -1, 4, func() {
				if w.now >= w.opts.FaultsEnd || w.failure != nil {
					return
				}
				if s := w.leader(); s != nil {
					op.send(s, a, false)
				}
			})
		}
	default:
		w.fail(classSafety, "operator: n%d answered %s with %q", s.id, what, reply)
	}
}

// appliedAt says why s's state does not show a applied, or "".
func (op *operator) appliedAt(s *simNode, a adminOp) string {
	st := s.n.Status()
	voter, learner := slices.Contains(st.Voters, a.id), slices.Contains(st.Learners, a.id)
	ok := true
	switch a.kind {
	case adminAdd:
		ok = voter || learner
	case adminPromote:
		ok = voter
	case adminRemove:
		ok = !voter && !learner
	case adminTransfer:
		ok = st.Lead == a.id
	case adminReplace:
		// The joint change applied: committed, and raft leaves it by
		// itself. A leader answers once it has left, but one that lost
		// its lead (or its deadline) meanwhile answers OK at once
		// (swarm seeds 376, 658); the settle check holds raft to the
		// leave.
		ok = voter && !slices.Contains(st.Voters, a.old)
	}
	if ok {
		return ""
	}
	return fmt.Sprintf("its applied membership is voters %v learners %v (applied %d, lead n%d)", st.Voters, st.Learners, st.Applied, st.Lead)
}

// settleCheck is the liveness phase's check of the membership.
type settleCheck struct {
	target uint64 // the leader's commit when first seen: members must apply it
	done   bool
	why    string // what the last look found missing
}

// checkMembersSettle starts the membership's liveness check: within the
// liveness bound there is a leader among its own voters, every up node it
// records as removed says it is removed, and every up member has applied
// what the leader had committed when the phase began.
func (op *operator) checkMembersSettle() {
	w := op.w
	deadline := w.now + w.opts.LivenessBound
	var look func()
	look = func() {
		if w.failure != nil || op.settle.done {
			return
		}
		if op.settle.why = op.settled(); op.settle.why == "" {
			op.settle.done = true
			return
		}
		if w.now >= deadline {
			w.fail(classLiveness, "membership did not settle within %s after faults ended: %s", w.opts.LivenessBound, op.settle.why)
			return
		}
		w.schedule(100*time.Millisecond, evOperator, -1, 2, look)
	}
	look()
}

// settled says what the membership still lacks, or "".
func (op *operator) settled() string {
	w := op.w
	lead := w.leader()
	if lead == nil {
		return "no leader"
	}
	ls := lead.n.Status()
	if !slices.Contains(ls.Voters, lead.id) {
		return fmt.Sprintf("leader n%d is not among its voters %v", lead.id, ls.Voters)
	}
	if len(ls.VotersOutgoing) > 0 {
		return fmt.Sprintf("leader n%d is still in a joint configuration (outgoing voters %v)", lead.id, ls.VotersOutgoing)
	}
	if op.settle.target == 0 {
		op.settle.target = ls.Commit
	}
	for _, s := range w.nodes {
		if !s.up() {
			return fmt.Sprintf("n%d is down", s.id)
		}
		st := s.n.Status()
		switch {
		case slices.Contains(ls.Removed, s.id):
			if st.Role != "removed" {
				return fmt.Sprintf("n%d was removed (leader n%d's view) and reports role %q", s.id, lead.id, st.Role)
			}
		case slices.Contains(ls.Voters, s.id) || slices.Contains(ls.Learners, s.id):
			if st.Applied < op.settle.target {
				return fmt.Sprintf("member n%d (role %q) applied %d, behind the leader n%d's commit %d", s.id, st.Role, st.Applied, lead.id, op.settle.target)
			}
		}
	}
	return ""
}

// wipeSafeWithOperator is wipeSafe where membership changes: the
// leader's voters are at least three, all up and voters with its view and
// no learners, so the wiped node, if a voter, is the only member
// rejoining; a node outside that view (a spare, or one removed) may be
// wiped too, and so may a member the operator added: started with Join,
// it asks the members whether it was one and rejoins under a new
// identity (node/joinprobe.go; swarm seed 191 wiped one before).
func (w *World) wipeSafeWithOperator() bool {
	lead := w.leader()
	if lead == nil {
		return false
	}
	ls := lead.n.Status()
	if len(ls.Voters) < 3 || len(ls.Learners) > 0 {
		return false
	}
	for _, s := range w.nodes {
		if !s.up() {
			return false
		}
		st := s.n.Status()
		if st.Stopped {
			return false
		}
		if slices.Contains(ls.Voters, s.id) {
			if st.Role != "voter" || !slices.Equal(st.Voters, ls.Voters) || len(st.Learners) > 0 {
				return false
			}
		} else if st.Role == "voter" || st.Role == "learner" {
			return false
		}
	}
	return true
}
