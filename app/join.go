package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/seshat-db/seshat/resp"
)

// Joining a running cluster (cluster.join_addr, -join): the new node asks
// any member, over RESP, for CLUSTER NODES, which gives every member's id,
// client address and peer port, and the leader. It starts empty (as with
// bootstrap = false) knowing those peers, asks the leader to add it as a
// learner (CLUSTER ADDNODE), and, once the leader says it has caught up,
// to promote it (CLUSTER PROMOTE): no member list in its config. Its peer
// address is its advertise_addr, or internal_addr; its client address is
// client_addr, each with a concrete host.

// joinMember is one member as CLUSTER NODES tells it.
type joinMember struct {
	id                   uint64
	clientAddr, peerAddr string
	master               bool
}

// joinAttemptTimeout bounds one RESP exchange with a member.
const joinAttemptTimeout = 5 * time.Second

// respCall sends one command to addr and returns its reply.
func respCall(ctx context.Context, addr, password string, args ...string) (resp.Reply, error) {
	ctx, cancel := context.WithTimeout(ctx, joinAttemptTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return resp.Reply{}, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	var out []byte
	if password != "" {
		out = resp.AppendCommand(out, []byte("AUTH"), []byte(password))
	}
	bargs := make([][]byte, len(args))
	for i, a := range args {
		bargs[i] = []byte(a)
	}
	out = resp.AppendCommand(out, bargs...)
	if _, err := conn.Write(out); err != nil {
		return resp.Reply{}, err
	}
	want := 1
	if password != "" {
		want = 2
	}
	var buf []byte
	var replies []resp.Reply
	chunk := make([]byte, 64<<10)
	for len(replies) < want {
		n, err := conn.Read(chunk)
		buf = append(buf, chunk[:n]...)
		for len(replies) < want {
			rep, rest, perr := resp.ParseReply(buf)
			if errors.Is(perr, resp.ErrIncomplete) {
				break
			}
			if perr != nil {
				return resp.Reply{}, perr
			}
			replies = append(replies, rep)
			buf = rest
		}
		if err != nil && len(replies) < want {
			return resp.Reply{}, err
		}
	}
	if password != "" && replies[0].Kind == resp.KindError {
		return replies[0], nil
	}
	return replies[want-1], nil
}

// parseClusterNodes reads CLUSTER NODES: id, ip:port@cport, flags, ...
func parseClusterNodes(text string) ([]joinMember, error) {
	var out []joinMember
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || len(f[0]) != 40 {
			return nil, fmt.Errorf("CLUSTER NODES line %q is not Seshat's", line)
		}
		id, err := strconv.ParseUint(f[0][24:], 16, 64)
		if err != nil {
			return nil, fmt.Errorf("CLUSTER NODES id %q: %w", f[0], err)
		}
		m := joinMember{id: id, master: strings.Contains(f[2], "master")}
		client, cport, _ := strings.Cut(f[1], "@")
		if host, _, err := net.SplitHostPort(client); err == nil && host != "" {
			// Empty for a member whose addresses are not recorded yet.
			m.clientAddr, m.peerAddr = client, net.JoinHostPort(host, cport)
		}
		out = append(out, m)
	}
	return out, nil
}

// fetchMembers asks addr for CLUSTER NODES.
func fetchMembers(ctx context.Context, addr, password string) ([]joinMember, error) {
	r, err := respCall(ctx, addr, password, "CLUSTER", "NODES")
	if err != nil {
		return nil, err
	}
	if r.Kind == resp.KindError {
		return nil, errors.New(r.Str)
	}
	return parseClusterNodes(r.Str)
}

// resolveJoin fills initial_members from the cluster join_addr names,
// with this node added, retrying until ctx ends. A node that has data
// already (a restart) tries for a few seconds only, then goes on with
// itself alone: its replicated member records name every peer.
func resolveJoin(ctx context.Context, cfg *Config, log *slog.Logger, fresh bool) error {
	give := time.Now().Add(5 * time.Second)
	password, err := readSecret("auth.requirepass", cfg.Auth.RequirePass, cfg.Auth.RequirePassFile)
	if err != nil {
		return err
	}
	self := cfg.Node.AdvertiseAddr
	if self == "" {
		self = cfg.Node.InternalAddr
	}
	for {
		members, err := fetchMembers(ctx, cfg.Cluster.JoinAddr, password)
		for _, m := range members {
			if m.peerAddr == "" && m.id != cfg.Node.ID && err == nil {
				// Every member must be known to take its messages; the
				// members record their addresses within a few election
				// timeouts of the cluster's start.
				err = fmt.Errorf("node %d's address is not recorded yet", m.id)
			}
		}
		if err == nil && len(members) > 0 {
			ms := []Member{{ID: cfg.Node.ID, Addr: self}}
			for _, m := range members {
				if m.id == cfg.Node.ID {
					continue // this node, added before a restart
				}
				ms = append(ms, Member{ID: m.id, Addr: m.peerAddr})
			}
			cfg.Cluster.InitialMembers = ms
			log.Info("joining: the cluster's members, from "+cfg.Cluster.JoinAddr, "members", len(members))
			return nil
		}
		if !fresh && time.Now().After(give) {
			cfg.Cluster.InitialMembers = []Member{{ID: cfg.Node.ID, Addr: self}}
			log.Warn("joining: cannot read the cluster's members; starting from this node's own records", "join_addr", cfg.Cluster.JoinAddr, "err", err)
			return nil
		}
		log.Warn("joining: cannot read the cluster's members yet; retrying", "join_addr", cfg.Cluster.JoinAddr, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// askToBeAdded asks the leader to add this node as a learner, then to
// promote it once it has caught up, or with join_replaces to swap it for
// that voter in one joint change; it returns nil when the node is a voter
// (or must stay a learner) or ctx ends, and an error when the cluster
// refuses the id for good.
func askToBeAdded(ctx context.Context, cfg Config, selfClient string, log *slog.Logger) error {
	password, _ := readSecret("auth.requirepass", cfg.Auth.RequirePass, cfg.Auth.RequirePassFile)
	id := strconv.FormatUint(cfg.Node.ID, 10)
	peer := cfg.Node.AdvertiseAddr
	if peer == "" {
		peer = cfg.Node.InternalAddr
	}
	steps := [][]string{{"CLUSTER", "ADDNODE", id, peer, selfClient}, {"CLUSTER", "PROMOTE", id}}
	// done: the step's change already holds (an earlier try, or a start
	// before a restart, made it).
	done := []string{"is already a member", "is not a learner"}
	if old := cfg.Cluster.JoinReplaces; old != 0 {
		steps[1] = []string{"CLUSTER", "REPLACENODE", strconv.FormatUint(old, 10), id}
		done[1] = "is a voter already"
	}
	for step := 0; step < len(steps); {
		err := askLeader(ctx, cfg.Cluster.JoinAddr, password, steps[step])
		switch {
		case err == nil || strings.Contains(err.Error(), done[step]):
			log.Info("joining: "+strings.ToLower(strings.Join(steps[step][:2], " "))+" done", "node", cfg.Node.ID)
			step++
			continue
		case ctx.Err() != nil:
			return nil
		case strings.Contains(err.Error(), "was a member before"):
			return fmt.Errorf("joining: the cluster refuses this node's id, which a removed member had: start it with a new node.id and an empty data_dir (%w)", err)
		case strings.Contains(err.Error(), "cannot take its id"):
			return fmt.Errorf("joining: another machine is a member under this node's id: start it with a new node.id and an empty data_dir (%w)", err)
		case steps[step][1] == "REPLACENODE" && (strings.Contains(err.Error(), "is not a voter") || strings.Contains(err.Error(), "is the only voter")):
			// Asking again cannot help; the node serves on as a learner,
			// which an operator can still promote or swap in by hand.
			log.Error("joining: the member to replace cannot be replaced this way (not a voter, or the only one: err says what to do): this node stays a learner (check -replace, then CLUSTER REPLACENODE or PROMOTE by hand)", "replace", cfg.Cluster.JoinReplaces, "err", err)
			return nil
		}
		log.Info("joining: not yet", "step", strings.Join(steps[step][:2], " "), "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
	return nil
}

// askLeader sends args to the leader named by the member at via.
func askLeader(ctx context.Context, via, password string, args []string) error {
	members, err := fetchMembers(ctx, via, password)
	if err != nil {
		return err
	}
	for _, m := range members {
		if !m.master || m.clientAddr == "" {
			continue
		}
		r, err := respCall(ctx, m.clientAddr, password, args...)
		if err != nil {
			return err
		}
		if r.Kind == resp.KindError {
			return errors.New(r.Str)
		}
		return nil
	}
	return errors.New("no leader known")
}
