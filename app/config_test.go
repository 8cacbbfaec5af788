// Tests that a bad configuration is refused with the name of the field
// that is wrong, and that files, environment variables and flags layer in
// that order.
package app

import (
	"github.com/seshat-db/seshat/resp"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func validConfig() Config {
	c := Default()
	c.Node.ID = 1
	c.Node.DataDir = "/tmp/x"
	c.Node.InternalAddr = "0.0.0.0:7001"
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
		{"cluster.join_addr", func(c *Config) { c.Cluster.JoinAddr = "10.0.0.1:7000" }},
		// Two listeners on one port.
		{"node.internal_addr", func(c *Config) { c.Node.ClientAddr = "0.0.0.0:7001" }},
		{"node.internal_addr", func(c *Config) { c.Node.ClientAddr = "127.0.0.1:7001" }},
		{"node.admin_addr", func(c *Config) { c.Node.AdminAddr = c.Node.ClientAddr }},
		// Ports that are not ports.
		{"node.client_addr", func(c *Config) { c.Node.ClientAddr = "0.0.0.0:99999" }},
		{"node.internal_addr", func(c *Config) { c.Node.InternalAddr = "0.0.0.0:http" }},
		{"node.admin_addr", func(c *Config) { c.Node.AdminAddr = "127.0.0.1:-1" }},
		{"cluster.initial_members[1].addr", func(c *Config) { c.Cluster.InitialMembers[1].Addr = "127.0.0.1:0" }},
		{"cluster.initial_members[2].addr", func(c *Config) { c.Cluster.InitialMembers[2].Addr = "h 3:7003" }},
		// This node's listener and its member entry disagree.
		{"node.internal_addr", func(c *Config) { c.Node.InternalAddr = "0.0.0.0:7002" }},
		{"node.internal_addr", func(c *Config) { c.Node.InternalAddr = "10.0.0.9:7001" }},
		{"node.advertise_addr", func(c *Config) { c.Node.AdvertiseAddr = "127.0.0.1:7009" }},
		// Client memory.
		{"limits.client_output_buffer_hard_bytes", func(c *Config) { c.Limits.ClientOutputBufferHardBytes = 0 }},
		{"limits.client_output_buffer_soft_bytes", func(c *Config) { c.Limits.ClientOutputBufferSoftBytes = c.Limits.ClientOutputBufferHardBytes + 1 }},
		{"limits.client_output_buffer_soft_seconds", func(c *Config) { c.Limits.ClientOutputBufferSoftSecs = -1 }},
		{"limits.client_query_buffer_bytes", func(c *Config) { c.Limits.ClientQueryBufferBytes = 0 }},
		{"limits.maxmemory_clients_bytes", func(c *Config) { c.Limits.MaxMemoryClientsBytes = 1 << 20 }},
		{"limits.max_uncommitted_bytes", func(c *Config) { c.Limits.MaxUncommittedBytes = 1000 }},
	} {
		c := validConfig()
		tc.change(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.field+":") {
			t.Errorf("want an error naming %s, got %v", tc.field, err)
		}
	}
	for name, change := range map[string]func(c *Config){
		"the defaults":                     func(c *Config) {},
		"the member's own address":         func(c *Config) { c.Node.InternalAddr = "127.0.0.1:7001" },
		"a host name (only DNS can tell)":  func(c *Config) { c.Node.InternalAddr = "10.0.0.1:7001"; c.Cluster.InitialMembers[0].Addr = "h1:7001" },
		"a mapped port, advertised":        func(c *Config) { c.Node.InternalAddr = "0.0.0.0:17001"; c.Node.AdvertiseAddr = "127.0.0.1:7001" },
		"any free port to listen on":       func(c *Config) { c.Node.ClientAddr = "127.0.0.1:0"; c.Node.AdminAddr = "127.0.0.1:0" },
		"one port, different specific IPs": func(c *Config) { c.Node.ClientAddr = "127.0.0.2:7001"; c.Node.InternalAddr = "127.0.0.1:7001" },
	} {
		c := validConfig()
		change(&c)
		if err := c.Validate(); err != nil {
			t.Errorf("%s: valid config refused: %v", name, err)
		}
	}
}

func TestWarnings(t *testing.T) {
	c := validConfig()
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("warnings for a plain config: %v", w)
	}
	c.Node.InternalAddr = "10.0.0.1:7001"
	c.Cluster.InitialMembers[0].Addr = "h1:7001"
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], "h1:7001") || !strings.Contains(w[0], "10.0.0.1:7001") {
		t.Errorf("want one warning naming both addresses, got %v", w)
	}
}

func TestLimitsFromEnvAndFlags(t *testing.T) {
	env := map[string]string{"SESHAT_LIMITS_MAXMEMORY_CLIENTS_BYTES": "268435456", "SESHAT_NODE_INTERNAL_ADDR": "0.0.0.0:7001"}
	cfg, err := Load([]string{"-node.id", "1", "-node.data_dir", "/d", "-cluster.initial_members", "1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003",
		"-limits.client_output_buffer_hard_bytes", "1048576", "-limits.client_output_buffer_soft_bytes", "524288"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if l := cfg.Limits; l.MaxMemoryClientsBytes != 256<<20 || l.ClientOutputBufferHardBytes != 1<<20 || l.ClientOutputBufferSoftBytes != 512<<10 || l.ClientOutputBufferSoftSecs != 10 {
		t.Errorf("limits %+v", l)
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

// TestLimitsWithinTheProtocol: a key or value limit past what the RESP
// server parses (resp.ServerCommandLimits: 1 MiB a bulk string, 1 Mi
// arguments) looks accepted but is not: a value between the two closes the
// client's connection with a protocol error instead of storing it, and an
// MGET of more keys than the server parses does the same.
func TestLimitsWithinTheProtocol(t *testing.T) {
	bulk, args := resp.ServerCommandLimits.BulkBytesMax, resp.ServerCommandLimits.ArrayLenMax
	for _, tc := range []struct {
		field  string
		change func(c *Config)
	}{
		{"limits.max_value_size_bytes", func(c *Config) { c.Limits.MaxValueSizeBytes = bulk + 1 }},
		{"limits.max_key_size_bytes", func(c *Config) { c.Limits.MaxKeySizeBytes = bulk + 1 }},
		{"limits.max_keys_per_read", func(c *Config) { c.Limits.MaxKeysPerRead = args }},
		{"limits.max_keys_per_write", func(c *Config) { c.Limits.MaxKeysPerWrite = args / 2 }},
	} {
		c := validConfig()
		tc.change(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.field+":") {
			t.Errorf("want an error naming %s, got %v", tc.field, err)
		}
	}
	c := validConfig()
	c.Limits.MaxValueSizeBytes, c.Limits.MaxKeysPerRead = bulk, args-1
	if err := c.Validate(); err != nil {
		t.Errorf("limits at the protocol's bounds refused: %v", err)
	}
}

func TestTestClockSettings(t *testing.T) {
	base := []string{"-node.id", "1", "-node.data_dir", "/d", "-cluster.initial_members", "1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003", "-node.internal_addr", "127.0.0.1:7001"}
	none := func(string) string { return "" }
	cfg, err := Load(append(base, "-test.clock_offset_ms", "-30000", "-test.clock_drift_ppm", "5000", "-test.clock_control", "true"), none)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Test != (TestConfig{ClockOffsetMs: -30000, ClockDriftPPM: 5000, ClockControl: true}) {
		t.Fatalf("test settings %+v", cfg.Test)
	}
	if w := strings.Join(cfg.Warnings(), "\n"); !strings.Contains(w, "for tests only") {
		t.Fatalf("no warning about the test settings: %q", w)
	}
	if _, err := Load(append(base, "-test.clock_drift_ppm", "600000"), none); err == nil || !strings.Contains(err.Error(), "test.clock_drift_ppm") {
		t.Fatalf("a drift of 60%% was not refused by name: %v", err)
	}
}
