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

// TestJoinRestartBeforeAnyDataWaitsForTheCluster (review6): a -join node
// killed while it probed (its store was opened, so the data directory is
// not empty, but it holds nothing) is restarted while its join address
// does not answer. resolveJoin called it a restart, gave up after 5 s and
// left initial_members = this node alone, and node.New refused the start
// with advice to set -join, which the operator had. A store that holds
// nothing now waits for the join address as a first start does
// (holdsNoData).
func TestJoinRestartBeforeAnyDataWaitsForTheCluster(t *testing.T) {
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
	ctx, cancel := context.WithTimeout(context.Background(), 7*time.Second)
	defer cancel()
	err = Run(ctx, c, quiet(), nil)
	if err != nil && strings.Contains(err.Error(), "no member's address was given") {
		t.Fatalf("a -join node whose store holds nothing was refused at restart: %v", err)
	}
}
