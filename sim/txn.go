package sim

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/seshat-db/seshat/chaos/kvmodel"
	"github.com/seshat-db/seshat/kv"
	"github.com/seshat-db/seshat/resp"
)

// The transaction workload: a share of client bursts (Options.TxnPercent)
// end with a transaction, sent pipelined as go-redis's TxPipeline sends
// it (MULTI, the commands, EXEC), on keys of its own:
//
//   - a transfer: MULTI, DECRBY a x, INCRBY b x, EXEC between the four
//     accounts of one group (acct<g>.0..3), so a group always sums to 0. Every replica's
//     state is checked to hold that sum after EVERY entry it applies
//     (node.Config.OnApplyState): a transaction applied as more than one
//     entry shows as a replica at an index between its halves.
//   - an audit: MULTI, GET of every account of a group, EXEC, a
//     read-only transaction (served by ReadIndex): its values must sum
//     to 0.
//   - a compare-and-set: WATCH c, GET c in one burst, then in the next
//     burst on the same connection MULTI, SET c old+1, EXEC. No two
//     committed compare-and-sets may have read the same old value: the
//     second would have overwritten the first's write unseen (a lost
//     update), which WATCH exists to prevent.
//
// Its choices come from a random stream of its own, drawn after the
// commands the seed would have sent anyway.
//
// Porcupine judges transfers and audits too (chaos/kvmodel: one register
// per group holds its balances). A transfer whose outcome is unknown may
// or may not have happened, anywhere after its call: an audit that must
// be explained makes porcupine try every subset of them, 2^u states for u
// of them in one register. Under held messages u grew past 20 and the
// check timed out (held seed 10). So a group takes new transfers only
// until txnUnknownPerGroup of them went unknown; then transfers move on to
// a fresh group. A register's unknown transfers are at most that many
// plus those in flight when it closed (one per client).
type txnWorld struct {
	rng *rand.Rand
	// group is the account group new transfers and audits go to;
	// unknown counts its transfers of unknown outcome.
	group, unknown int
	// casWins maps each compare-and-set key's old values that a committed
	// EXEC replaced to the client that did it.
	casWins map[string]map[int64]int
	// pending is each client's compare-and-set between its WATCH and its
	// EXEC.
	pending map[int]*casPending
}

const (
	txnAccounts        = kvmodel.AccountsN
	txnCASKeys         = 2
	txnUnknownPerGroup = 2
)

type casPending struct {
	conn *simConn
	key  string
	old  int64
	read bool // the GET under WATCH answered
}

// txnPart is one command of a transaction in a client's burst.
type txnPart struct {
	kind string // "multi", "queued", "exec", "watch", "get" (the CAS's read)
	txn  string // "transfer", "audit", "cas"
	key  string
	// group is a transfer's or an audit's account group.
	group int
	// model is what the EXEC (or the CAS's GET) is in porcupine's history
	// (chaos/kvmodel: transfer, audit, cas, get); nil for the others.
	model *opInput
}

func (t *txnWorld) init(seed uint64) {
	t.rng = rand.New(rand.NewPCG(seed, 0x7458))
	t.casWins = map[string]map[int64]int{}
	t.pending = map[int]*casPending{}
}

// extend appends a transaction's commands to a burst on conn, in
// TxnPercent of the bursts, and always a compare-and-set's second half
// when its first half was answered on this connection.
func (t *txnWorld) extend(c *client, conn *simConn, burst []*pendingOp, args [][][]byte) ([]*pendingOp, [][][]byte) {
	w := c.w
	add := func(part txnPart, a ...string) {
		conn.sent++
		if part.model != nil {
			part.model.Conn, part.model.Seq = conn.id, conn.sent
		}
		b := make([][]byte, len(a))
		for i := range a {
			b[i] = []byte(a[i])
		}
		burst = append(burst, &pendingOp{in: opInput{Cmd: "txn-" + part.kind, Key: part.key, Conn: conn.id, Seq: conn.sent}, call: w.now, node: conn.node, txn: &part})
		args = append(args, b)
	}
	if p := t.pending[c.id]; p != nil {
		delete(t.pending, c.id)
		if p.conn == conn && p.read {
			add(txnPart{kind: "multi", txn: "cas"}, "MULTI")
			add(txnPart{kind: "queued", txn: "cas"}, "SET", p.key, strconv.FormatInt(p.old+1, 10))
			add(txnPart{kind: "exec", txn: "cas", key: p.key, model: &opInput{Cmd: "cas", Key: p.key,
				Value: strconv.FormatInt(p.old, 10) + " " + strconv.FormatInt(p.old+1, 10)}}, "EXEC")
			t.pending[c.id] = p // until EXEC answers
			return burst, args
		}
		// A new connection forgot the WATCH: give it up unsent.
	}
	if w.opts.TxnPercent <= 0 || t.rng.IntN(100) >= w.opts.TxnPercent {
		return burst, args
	}
	switch r := t.rng.IntN(10); {
	case r < 5:
		a, b := t.rng.IntN(txnAccounts), t.rng.IntN(txnAccounts-1)
		if b >= a {
			b++
		}
		x := strconv.Itoa(1 + t.rng.IntN(100))
		g := t.group
		add(txnPart{kind: "multi", txn: "transfer"}, "MULTI")
		add(txnPart{kind: "queued", txn: "transfer"}, "DECRBY", account(g, a), x)
		add(txnPart{kind: "queued", txn: "transfer"}, "INCRBY", account(g, b), x)
		add(txnPart{kind: "exec", txn: "transfer", group: g, model: &opInput{Cmd: "transfer", Key: accounts(g),
			Value: fmt.Sprintf("%d %d %s", a, b, x)}}, "EXEC")
	case r < 7:
		g := t.group
		add(txnPart{kind: "multi", txn: "audit"}, "MULTI")
		for i := range txnAccounts {
			add(txnPart{kind: "queued", txn: "audit"}, "GET", account(g, i))
		}
		add(txnPart{kind: "exec", txn: "audit", group: g, model: &opInput{Cmd: "audit", Key: accounts(g)}}, "EXEC")
	default:
		key := fmt.Sprintf("cas%d", t.rng.IntN(txnCASKeys))
		t.pending[c.id] = &casPending{conn: conn, key: key}
		add(txnPart{kind: "watch", txn: "cas", key: key}, "WATCH", key)
		add(txnPart{kind: "get", txn: "cas", key: key, model: &opInput{Cmd: "get", Key: key}}, "GET", key)
	}
	return burst, args
}

// account is account i of group g; accounts(g) is the group's register
// in porcupine's history.
func account(g, i int) string { return fmt.Sprintf("acct%d.%d", g, i) }

func accounts(g int) string { return fmt.Sprintf("accounts%d", g) }

// transferUnknown notes that a transfer to group g has an unknown outcome,
// and closes the group to new transfers once it has enough of them.
func (t *txnWorld) transferUnknown(g int) {
	if g != t.group {
		return
	}
	if t.unknown++; t.unknown >= txnUnknownPerGroup {
		t.group, t.unknown = t.group+1, 0
	}
}

// finishTxn checks the reply to one command of a transaction.
func (c *client) finishTxn(p *pendingOp, reply []byte) {
	w, part := c.w, p.txn
	t := &w.txns
	r, rest, err := resp.ParseReply(reply)
	if err == nil && len(rest) != 0 {
		err = fmt.Errorf("%d bytes after the reply", len(rest))
	}
	if err != nil {
		w.fail(classSafety, "client %d: transaction %s: malformed reply %q: %v", c.id, part.txn, reply, err)
		return
	}
	if w.keepTrace {
		w.tracef("%s client %d conn %d #%d via n%d: %s %s %s -> %q", w.now, c.id, p.in.Conn, p.in.Seq, p.node+1, part.txn, part.kind, part.key, reply)
	}
	if r.Kind == resp.KindError && (part.kind == "exec" || part.kind == "watch" || part.kind == "get") {
		// The node refused it, or its outcome is unknown: a transfer keeps
		// the sum either way; a compare-and-set that may have happened
		// claims nothing.
		if part.txn == "cas" {
			delete(t.pending, c.id)
		}
		if strings.HasPrefix(r.Str, "UNKNOWN") {
			c.recordUnknown(p)
		}
		w.stats.OpsFailed++
		c.moveOn = true
		return
	}
	want := map[string]string{"multi": "+OK\r\n", "queued": "+QUEUED\r\n", "watch": "+OK\r\n"}[part.kind]
	if want != "" {
		if string(reply) != want {
			w.fail(classSafety, "client %d: transaction %s: %s answered %q, want %q", c.id, part.txn, part.kind, reply, want)
		}
		return
	}
	switch {
	case part.kind == "get":
		n, ok := int64(0), true
		if !r.Null {
			n, ok = kv.ParseInt([]byte(r.Str))
		}
		if ok {
			w.hist.add(c.id, *part.model, opOutput{Nil: r.Null, Value: r.Str}, p.call, w.now)
		}
		if p := t.pending[c.id]; ok && p != nil {
			p.old, p.read = n, true
		} else if !ok {
			w.fail(classSafety, "client %d: compare-and-set key %s holds %q, not a counter", c.id, part.key, r.Str)
		}
	case part.txn == "transfer":
		if r.Kind != resp.KindArray || r.Null || len(r.Array) != 2 {
			w.fail(classSafety, "client %d: a transfer's EXEC answered %q, want two results", c.id, reply)
		}
		w.stats.OpsOK++
		w.stats.TxnsCommitted++
		w.hist.add(c.id, *part.model, opOutput{}, p.call, w.now)
	case part.txn == "audit":
		c.checkAudit(p, r, reply)
	case part.txn == "cas":
		pc := t.pending[c.id]
		delete(t.pending, c.id)
		if r.Null || pc == nil {
			w.stats.TxnsAborted++ // another write came first
			return
		}
		wins := t.casWins[pc.key]
		if wins == nil {
			wins = map[int64]int{}
			t.casWins[pc.key] = wins
		}
		if other, ok := wins[pc.old]; ok && !w.opts.noTxnChecks {
			w.fail(classSafety, "lost update: clients %d and %d both committed a compare-and-set of %s from %d under WATCH", other, c.id, pc.key, pc.old)
			return
		}
		wins[pc.old] = c.id
		w.hist.add(c.id, *part.model, opOutput{}, p.call, w.now)
		w.stats.OpsOK++
		w.stats.TxnsCommitted++
	}
}

// checkAudit checks that a read-only transaction saw the accounts sum to 0.
func (c *client) checkAudit(p *pendingOp, r resp.Reply, reply []byte) {
	w := c.w
	if r.Kind != resp.KindArray || r.Null || len(r.Array) != txnAccounts {
		w.fail(classSafety, "client %d: an audit's EXEC answered %q, want %d values", c.id, reply, txnAccounts)
		return
	}
	var sum int64
	seen := make([]string, len(r.Array))
	for i, e := range r.Array {
		seen[i] = "0"
		if e.Null {
			continue
		}
		seen[i] = e.Str
		n, ok := kv.ParseInt([]byte(e.Str))
		if !ok {
			w.fail(classSafety, "client %d: an audit read %q, not an integer", c.id, e.Str)
			return
		}
		sum += n
	}
	if sum != 0 && !w.opts.noTxnChecks {
		w.fail(classSafety, "client %d: a read-only transaction saw the accounts sum to %d, not 0: %q", c.id, sum, reply)
	}
	w.stats.OpsOK++
	w.stats.TxnsCommitted++
	w.hist.add(c.id, *p.txn.model, opOutput{Value: strings.Join(seen, ",")}, p.call, w.now)
}

// checkSum is the invariant at every applied index of every replica:
// each group's accounts sum to 0.
func (s *simNode) checkSum(index uint64, view kv.Store) {
	if s.w.opts.noTxnChecks {
		return
	}
	groups := s.sums.groups
	if s.sums.sweep {
		groups = nil
		for g := range s.w.txns.group + 1 {
			groups = append(groups, g)
		}
	}
	for _, g := range groups {
		if g > s.w.txns.group {
			continue // not an account of this workload's
		}
		var sum int64
		for i := range txnAccounts {
			item, found, err := view.Get([]byte(account(g, i)))
			if err != nil || !found {
				continue
			}
			n, ok := kv.ParseInt(item.Value)
			if !ok {
				s.w.fail(classSafety, "n%d: %s holds %q at applied index %d, not an integer", s.id, account(g, i), item.Value, index)
				return
			}
			sum += n
		}
		if sum != 0 {
			s.w.fail(classSafety, "n%d: the accounts of group %d sum to %d at applied index %d, not 0: a transfer applied in part", s.id, g, sum, index)
			return
		}
	}
}
