// Tests that a bad configuration is refused with the name of the field
// that is wrong, and that files, environment variables and flags layer in
// that order.
package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func validConfig() Config {
	c := Default()
	c.Node.ID = 1
	c.Node.DataDir = "/tmp/x"
	c.Cluster.InitialMembers = []Member{{1, "127.0.0.1:7001"}, {2, "127.0.0.1:7002"}, {3, "127.0.0.1:7003"}}
	return c
}

func TestValidateNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		field  string
		change func(c *Config)
	}{
		{"node.id", func(c *Config) { c.Node.ID = 0 }},
		{"node.data_dir", func(c *Config) { c.Node.DataDir = "" }},
		{"node.client_addr", func(c *Config) { c.Node.ClientAddr = "nonsense" }},
		{"cluster.initial_members", func(c *Config) { c.Cluster.InitialMembers = c.Cluster.InitialMembers[:2] }},
		{"cluster.initial_members", func(c *Config) { c.Node.ID = 9 }},
		{"cluster.initial_members[2].id", func(c *Config) { c.Cluster.InitialMembers[2].ID = 2 }},
		{"cluster.initial_members[2].addr", func(c *Config) { c.Cluster.InitialMembers[2].Addr = "127.0.0.1:7002" }},
		{"cluster.replication_factor", func(c *Config) { c.Cluster.ReplicationFactor = 4 }},
		{"raft.election_timeout_min_ms", func(c *Config) { c.Raft.ElectionTimeoutMinMs = 550 }},
		{"raft.election_timeout_max_ms", func(c *Config) { c.Raft.ElectionTimeoutMaxMs = 400 }},
		{"limits.max_key_size_bytes", func(c *Config) { c.Limits.MaxKeySizeBytes = 0 }},
		{"cluster.join_addr", func(c *Config) { c.Cluster.Bootstrap = false }},
	} {
		c := validConfig()
		tc.change(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.field+":") {
			t.Errorf("want an error naming %s, got %v", tc.field, err)
		}
	}
	c := validConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
}

func TestLoadLayers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seshat.toml")
	err := os.WriteFile(path, []byte(`
[node]
id = 2
data_dir = "/data"
client_addr = "127.0.0.1:6000"
[cluster]
cluster_id = "prod"
initial_members = [{id = 1, addr = "h1:7379"}, {id = 2, addr = "h2:7379"}, {id = 3, addr = "h3:7379"}]
[raft]
heartbeat_interval_ms = 50
election_timeout_min_ms = 250
election_timeout_max_ms = 500
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SESHAT_NODE_CLIENT_ADDR": "127.0.0.1:6001", "SESHAT_NODE_DATA_DIR": "/env"}
	cfg, err := Load([]string{"-config", path, "-node.data_dir", "/flag"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Node.ID != 2 || cfg.Cluster.ClusterID != "prod" || cfg.Raft.HeartbeatIntervalMs != 50 {
		t.Errorf("file not applied: %+v", cfg)
	}
	if cfg.Node.ClientAddr != "127.0.0.1:6001" {
		t.Errorf("env not applied over file: %s", cfg.Node.ClientAddr)
	}
	if cfg.Node.DataDir != "/flag" {
		t.Errorf("flag not applied over env: %s", cfg.Node.DataDir)
	}
	if _, err := Load([]string{"-config", path, "-cluster.replication_factor", "2"}, func(string) string { return "" }); err == nil ||
		!strings.Contains(err.Error(), "cluster.replication_factor") {
		t.Errorf("want a replication_factor error, got %v", err)
	}
	os.WriteFile(path, []byte("[node]\nidd = 3\n"), 0o644)
	if _, err := Load([]string{"-config", path}, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "node.idd") {
		t.Errorf("want an unknown-setting error naming node.idd, got %v", err)
	}
}
