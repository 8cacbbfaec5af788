package app

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/seshat-db/seshat/env/envtest"
	"github.com/seshat-db/seshat/storage"
)

// Review6 (b): a -join node killed while it probed (its store was
// opened, so the data directory is not empty, but it holds nothing yet)
// is restarted while its join address does not answer. resolveJoin
// calls it a restart ("not fresh"), gives up after 5 s and leaves
// initial_members = this node alone, so node.Open, since a995f41,
// refuses the start: "no member's address was given to ask: set
// cluster.initial_members or -join", to an operator who gave -join, and
// wrapped in openError's "if the data is damaged ... move it away"
// advice. A store that holds nothing is a first start: it should wait
// for the join address as a fresh node does.
func TestReview6JoinRestartBeforeAnyDataWaitsForTheCluster(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, err := storage.Open(vfs.Default, dir, envtest.QuietLog{T: t}, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	c := runConfig(t, dir)
	c.Node.ID = 4
	c.Cluster.InitialMembers = nil
	c.Cluster.Bootstrap = false
	c.Cluster.JoinAddr = freeAddr(t) // nobody answers there
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	err = Run(ctx, c, quiet(), nil)
	if err != nil && strings.Contains(err.Error(), "no member's address was given") {
		t.Fatalf("a -join node whose store holds nothing was refused at restart: %v", err)
	}
}
