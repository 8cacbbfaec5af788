// Package app wires one production Seshat node together from its
// configuration: the TCP transport, the Pebble-backed node on its host
// goroutine, the RESP server and the HTTP admin endpoints. cmd/seshat-node
// runs one; cmd/seshat-cluster runs three in one process.
package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/seshat-db/seshat/resp"
	"github.com/seshat-db/seshat/server"
)

// Config is a node's configuration, in the shape of its TOML file.
type Config struct {
	Node    NodeConfig    `toml:"node"`
	Cluster ClusterConfig `toml:"cluster"`
	Raft    RaftConfig    `toml:"raft"`
	Limits  LimitsConfig  `toml:"limits"`
	Log     LogConfig     `toml:"log"`
	Test    TestConfig    `toml:"test"`

	Security SecurityConfig `toml:"security"` // security.go
	Auth     AuthConfig     `toml:"auth"`     // auth.go
	TLS      TLSConfig      `toml:"tls"`      // tlsconfig.go
}

// NodeConfig is the [node] section.
type NodeConfig struct {
	ID uint64 `toml:"id"`
	// IDFromHostname takes the id from the host name's ordinal: a
	// Kubernetes StatefulSet's pod seshat-2 is node 3 (ordinals start at
	// 0, ids at 1), and every pod can share one spec.
	IDFromHostname bool   `toml:"id_from_hostname"`
	ClientAddr     string `toml:"client_addr"`
	InternalAddr   string `toml:"internal_addr"`
	AdminAddr      string `toml:"admin_addr"` // empty: no admin endpoint
	Pprof          bool   `toml:"pprof"`      // serve /debug/pprof/ on admin_addr
	DataDir        string `toml:"data_dir"`
	AdvertiseAddr  string `toml:"advertise_addr"` // where peers reach this node; if set, must equal its initial_members addr (peers dial that), and lets internal_addr's port differ
}

// Member is one entry of [cluster] initial_members.
type Member struct {
	ID   uint64 `toml:"id"`
	Addr string `toml:"addr"` // its internal (raft) address
}

// Members is [cluster] initial_members. In a TOML file it may be written
// as a list of {id, addr} tables or as the flag's "id=host:port,..." text.
type Members []Member

// String writes the members in the flag's form.
func (ms Members) String() string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = strconv.FormatUint(m.ID, 10) + "=" + m.Addr
	}
	return strings.Join(parts, ",")
}

// ClusterConfig is the [cluster] section.
type ClusterConfig struct {
	Bootstrap         bool    `toml:"bootstrap"`
	InitialMembers    Members `toml:"initial_members"`
	ReplicationFactor int     `toml:"replication_factor"`
	ClusterID         string  `toml:"cluster_id"`
	JoinAddr          string  `toml:"join_addr"`
	// JoinReplaces is the voter a joining node takes the place of, in
	// one joint change (CLUSTER REPLACENODE) instead of a promotion.
	JoinReplaces uint64 `toml:"join_replaces"`
}

// RaftConfig is the [raft] section.
type RaftConfig struct {
	HeartbeatIntervalMs     int   `toml:"heartbeat_interval_ms"`
	ElectionTimeoutMinMs    int   `toml:"election_timeout_min_ms"`
	ElectionTimeoutMaxMs    int   `toml:"election_timeout_max_ms"`
	SnapshotIntervalEntries int64 `toml:"snapshot_interval_entries"` // compact the log every this many applied entries
	SnapshotIntervalBytes   int64 `toml:"snapshot_interval_bytes"`   // or once the log holds this many bytes
}

// LimitsConfig is the [limits] section.
type LimitsConfig struct {
	MaxKeySizeBytes                int `toml:"max_key_size_bytes"`
	MaxValueSizeBytes              int `toml:"max_value_size_bytes"`
	MaxConcurrentClientConnections int `toml:"max_concurrent_client_connections"`
	RequestTimeoutSecs             int `toml:"request_timeout_secs"`
	RaftRPCTimeoutSecs             int `toml:"raft_rpc_timeout_secs"`
	MaxKeysPerWrite                int `toml:"max_keys_per_write"` // keys of one DEL or MSET (applied inside raft's loop)
	MaxKeysPerRead                 int `toml:"max_keys_per_read"`  // keys of one MGET or EXISTS (read off it, in chunks)
	BlockCacheBytes                int `toml:"block_cache_bytes"`  // Pebble's cache of uncompressed blocks

	// Client memory (resp/server_limits.go), after Redis's
	// client-output-buffer-limit and maxmemory-clients.
	ClientOutputBufferHardBytes int `toml:"client_output_buffer_hard_bytes"` // unwritten replies of one client; past it, closed
	ClientOutputBufferSoftBytes int `toml:"client_output_buffer_soft_bytes"` // ... past it for soft_seconds, closed
	ClientOutputBufferSoftSecs  int `toml:"client_output_buffer_soft_seconds"`
	ClientQueryBufferBytes      int `toml:"client_query_buffer_bytes"` // unanswered commands of one client; at it, not read
	MaxMemoryClientsBytes       int `toml:"maxmemory_clients_bytes"`   // all clients together; past it, the biggest are closed
	MaxUncommittedBytes         int `toml:"max_uncommitted_bytes"`     // raft's bound on proposed, uncommitted bytes; also the largest write
}

// LogConfig is the [log] section.
type LogConfig struct {
	Level  string `toml:"level"`  // debug, info, warn, error
	Format string `toml:"format"` // text or json
}

// TestConfig is the [test] section: settings for tests only, which no
// production node should set. The chaos runner of real processes
// (chaos/realcluster) uses them to skew and drift a node's clock.
type TestConfig struct {
	// ClockOffsetMs sets the node's clock this far ahead of the machine's
	// (behind, if negative) at start; ClockDriftPPM has it run this many
	// parts per million fast (slow). See realenv.Clock for what reads it:
	// the tick rate and the log's time stamps.
	ClockOffsetMs int64 `toml:"clock_offset_ms"`
	ClockDriftPPM int   `toml:"clock_drift_ppm"`
	// ClockControl turns on the admin endpoint /test/clock: GET answers
	// the clock's offset and drift, POST offset_ms=N&drift_ppm=N sets them.
	ClockControl bool `toml:"clock_control"`
}

// Default returns the product's defaults.
func Default() Config {
	return Config{
		Node: NodeConfig{
			ClientAddr:   "0.0.0.0:6379",
			InternalAddr: "0.0.0.0:7379",
			AdminAddr:    "127.0.0.1:8379",
		},
		Auth:    AuthConfig{ProtectedMode: true},
		Cluster: ClusterConfig{Bootstrap: true, ReplicationFactor: 3, ClusterID: "seshat"},
		Raft: RaftConfig{
			HeartbeatIntervalMs:     100,
			ElectionTimeoutMinMs:    500,
			ElectionTimeoutMaxMs:    1000,
			SnapshotIntervalEntries: 10000,
			SnapshotIntervalBytes:   100000000,
		},
		Limits: LimitsConfig{
			MaxKeySizeBytes:                256,
			MaxValueSizeBytes:              64 << 10,
			MaxConcurrentClientConnections: 10000,
			RequestTimeoutSecs:             30,
			RaftRPCTimeoutSecs:             5,
			MaxKeysPerWrite:                500,
			MaxKeysPerRead:                 1_000_000,
			BlockCacheBytes:                32 << 20,
			ClientOutputBufferHardBytes:    server.OutputBytesHardDefault,
			ClientOutputBufferSoftBytes:    server.OutputBytesSoftDefault,
			ClientOutputBufferSoftSecs:     int(server.OutputSoftDurationDefault / time.Second),
			ClientQueryBufferBytes:         server.InputBytesMaxDefault,
			MaxMemoryClientsBytes:          server.TotalBytesMaxDefault,
			MaxUncommittedBytes:            64 << 20,
		},
		Log: LogConfig{Level: "info", Format: "text"},
	}
}

// ConfigError is a configuration that must be refused; it names the field.
type ConfigError struct {
	Field string
	Why   string
}

func (e *ConfigError) Error() string { return "config: " + e.Field + ": " + e.Why }

func bad(field, format string, args ...any) error {
	return &ConfigError{Field: field, Why: fmt.Sprintf(format, args...)}
}

// override is one setting that an environment variable or a flag can
// set: its name is "section.key" as in the TOML file.
type override struct {
	name  string
	usage string
	set   func(c *Config, v string) error
}

func overrides() []override {
	str := func(get func(c *Config) *string) func(*Config, string) error {
		return func(c *Config, v string) error { *get(c) = v; return nil }
	}
	num := func(get func(c *Config) *int) func(*Config, string) error {
		return func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil {
				return err
			}
			*get(c) = n
			return nil
		}
	}
	return []override{
		{"node.id", "this node's id (non-zero)", func(c *Config, v string) error {
			n, err := strconv.ParseUint(v, 10, 64)
			c.Node.ID = n
			return err
		}},
		{"node.id_from_hostname", "take node.id from the host name's ordinal suffix, plus one (a StatefulSet's seshat-2 is node 3)", func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			c.Node.IDFromHostname = b
			return err
		}},
		{"node.client_addr", "address for Redis clients", str(func(c *Config) *string { return &c.Node.ClientAddr })},
		{"node.internal_addr", "address for raft peers", str(func(c *Config) *string { return &c.Node.InternalAddr })},
		{"node.admin_addr", "address for /health, /ready, /metrics (empty: off)", str(func(c *Config) *string { return &c.Node.AdminAddr })},
		{"node.pprof", "serve Go's profiler at /debug/pprof/ on the admin address", func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			c.Node.Pprof = b
			return err
		}},
		{"node.data_dir", "data directory", str(func(c *Config) *string { return &c.Node.DataDir })},
		{"node.advertise_addr", "address peers reach this node at", str(func(c *Config) *string { return &c.Node.AdvertiseAddr })},
		{"cluster.bootstrap", "true: bootstrap a new cluster from initial_members when data_dir is empty; false: wait empty to be added (CLUSTER ADDNODE)", func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			c.Cluster.Bootstrap = b
			return err
		}},
		{"cluster.initial_members", "members as id=host:port,id=host:port,...", func(c *Config, v string) error {
			ms, err := ParseMembers(v)
			c.Cluster.InitialMembers = ms
			return err
		}},
		{"cluster.join_addr", "a member's client address (host:port): start empty and ask the cluster to add this node, without initial_members (needs bootstrap = false; -join sets both)", str(func(c *Config) *string { return &c.Cluster.JoinAddr })},
		{"cluster.join_replaces", "with join_addr: the id of the voter (a dead machine, say) this node takes the place of, in one joint change (CLUSTER REPLACENODE) once it has caught up as a learner; 0: promoted beside the others (-replace sets it)", func(c *Config, v string) error {
			id, err := strconv.ParseUint(v, 10, 64)
			c.Cluster.JoinReplaces = id
			return err
		}},
		{"cluster.replication_factor", "replicas of the data (odd)", num(func(c *Config) *int { return &c.Cluster.ReplicationFactor })},
		{"cluster.cluster_id", "cluster name; nodes of other clusters are refused", str(func(c *Config) *string { return &c.Cluster.ClusterID })},
		{"security.cluster_secret_file", "file holding the secret peers prove they hold", str(func(c *Config) *string { return &c.Security.ClusterSecretFile })},
		{"security.cluster_secret", "the secret peers prove they hold (prefer cluster_secret_file)", str(func(c *Config) *string { return &c.Security.ClusterSecret })},
		{"auth.requirepass", "the default user's password, as Redis's requirepass (prefer requirepass_file)", str(func(c *Config) *string { return &c.Auth.RequirePass })},
		{"auth.requirepass_file", "file holding the default user's password", str(func(c *Config) *string { return &c.Auth.RequirePassFile })},
		{"auth.users", "ACL users, separated by ';': \"alice on >secret ~cache:* +@read; bob on >pw +@all ~*\"", func(c *Config, v string) error {
			c.Auth.Users = nil
			for _, u := range strings.Split(v, ";") {
				if strings.TrimSpace(u) != "" {
					c.Auth.Users = append(c.Auth.Users, strings.TrimSpace(u))
				}
			}
			return nil
		}},
		{"auth.protected_mode", "refuse clients from other hosts while the default user has no password (Redis's protected mode)", func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			c.Auth.ProtectedMode = b
			return err
		}},
		{"auth.admin_token", "bearer token every admin endpoint but the probes requires (prefer admin_token_file)", str(func(c *Config) *string { return &c.Auth.AdminToken })},
		{"auth.admin_token_file", "file holding the admin bearer token", str(func(c *Config) *string { return &c.Auth.AdminTokenFile })},
		{"tls.peer_cert_file", "this node's peer certificate (PEM), naming seshat://node/<id>", str(func(c *Config) *string { return &c.TLS.PeerCertFile })},
		{"tls.peer_key_file", "its key (PEM)", str(func(c *Config) *string { return &c.TLS.PeerKeyFile })},
		{"tls.peer_ca_file", "the cluster CA that signs every node's peer certificate (PEM)", str(func(c *Config) *string { return &c.TLS.PeerCAFile })},
		{"tls.client_addr", "address for Redis clients over TLS (Redis's tls-port)", str(func(c *Config) *string { return &c.TLS.ClientAddr })},
		{"tls.client_cert_file", "the certificate the TLS client port presents (PEM)", str(func(c *Config) *string { return &c.TLS.ClientCertFile })},
		{"tls.client_key_file", "its key (PEM)", str(func(c *Config) *string { return &c.TLS.ClientKeyFile })},
		{"tls.client_ca_file", "CAs that sign client certificates (PEM)", str(func(c *Config) *string { return &c.TLS.ClientCAFile })},
		{"tls.client_auth", "client certificates: none, request or require (empty: require if client_ca_file is set)", str(func(c *Config) *string { return &c.TLS.ClientAuth })},
		{"raft.heartbeat_interval_ms", "raft heartbeat and tick interval", num(func(c *Config) *int { return &c.Raft.HeartbeatIntervalMs })},
		{"raft.election_timeout_min_ms", "raft election timeout, lower bound", num(func(c *Config) *int { return &c.Raft.ElectionTimeoutMinMs })},
		{"raft.election_timeout_max_ms", "raft election timeout, upper bound", num(func(c *Config) *int { return &c.Raft.ElectionTimeoutMaxMs })},
		{"raft.snapshot_interval_entries", "compact the log every this many applied entries", func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			c.Raft.SnapshotIntervalEntries = n
			return err
		}},
		{"raft.snapshot_interval_bytes", "or once the log holds this many bytes", func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			c.Raft.SnapshotIntervalBytes = n
			return err
		}},
		{"limits.max_key_size_bytes", "longest key", num(func(c *Config) *int { return &c.Limits.MaxKeySizeBytes })},
		{"limits.max_value_size_bytes", "longest value", num(func(c *Config) *int { return &c.Limits.MaxValueSizeBytes })},
		{"limits.max_concurrent_client_connections", "client connections at once", num(func(c *Config) *int { return &c.Limits.MaxConcurrentClientConnections })},
		{"limits.request_timeout_secs", "client request timeout", num(func(c *Config) *int { return &c.Limits.RequestTimeoutSecs })},
		{"limits.raft_rpc_timeout_secs", "peer write timeout", num(func(c *Config) *int { return &c.Limits.RaftRPCTimeoutSecs })},
		{"limits.max_keys_per_write", "keys of one DEL or MSET", num(func(c *Config) *int { return &c.Limits.MaxKeysPerWrite })},
		{"limits.max_keys_per_read", "keys of one MGET or EXISTS", num(func(c *Config) *int { return &c.Limits.MaxKeysPerRead })},
		{"limits.block_cache_bytes", "Pebble's block cache", num(func(c *Config) *int { return &c.Limits.BlockCacheBytes })},
		{"limits.client_output_buffer_hard_bytes", "unwritten replies one client may have; past it the client is closed", num(func(c *Config) *int { return &c.Limits.ClientOutputBufferHardBytes })},
		{"limits.client_output_buffer_soft_bytes", "unwritten replies one client may have for soft_seconds", num(func(c *Config) *int { return &c.Limits.ClientOutputBufferSoftBytes })},
		{"limits.client_output_buffer_soft_seconds", "how long a client may stay over the soft limit", num(func(c *Config) *int { return &c.Limits.ClientOutputBufferSoftSecs })},
		{"limits.client_query_buffer_bytes", "unanswered commands one client may have; at it, it is not read", num(func(c *Config) *int { return &c.Limits.ClientQueryBufferBytes })},
		{"limits.maxmemory_clients_bytes", "buffers of all clients together; past it, the biggest clients are closed", num(func(c *Config) *int { return &c.Limits.MaxMemoryClientsBytes })},
		{"limits.max_uncommitted_bytes", "raft's bound on proposed, uncommitted bytes; also the largest write", num(func(c *Config) *int { return &c.Limits.MaxUncommittedBytes })},
		{"log.level", "debug, info, warn or error", str(func(c *Config) *string { return &c.Log.Level })},
		{"log.format", "text or json", str(func(c *Config) *string { return &c.Log.Format })},
		{"test.clock_offset_ms", "TEST ONLY: start with the clock this far ahead (ms; negative: behind)", func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			c.Test.ClockOffsetMs = n
			return err
		}},
		{"test.clock_drift_ppm", "TEST ONLY: the clock runs this many parts per million fast (negative: slow)", num(func(c *Config) *int { return &c.Test.ClockDriftPPM })},
		{"test.clock_control", "TEST ONLY: serve /test/clock on the admin port to read and set the clock's offset and drift", func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			c.Test.ClockControl = b
			return err
		}},
	}
}

// EnvName is the environment variable that overrides a setting:
// node.client_addr -> SESHAT_NODE_CLIENT_ADDR.
func EnvName(name string) string {
	return "SESHAT_" + strings.ToUpper(strings.ReplaceAll(name, ".", "_"))
}

// ErrVersion is what Load answers for -version: print Version and stop.
var ErrVersion = errors.New("version requested")

// settingFlag is one setting as a flag. It keeps the text as given, for
// the override's own parser, and knows its type for -h. A bool setting
// takes its value as the next argument (-test.clock_control true), as it
// always has, so it is not a flag.Value boolean.
type settingFlag struct {
	value, typ string
}

func (f *settingFlag) String() string     { return f.value }
func (f *settingFlag) Set(v string) error { f.value = v; return nil }

// Load builds a node's configuration from, lowest precedence first: the
// defaults, the TOML file named by -config (or SESHAT_CONFIG), SESHAT_*
// environment variables, and flags. It validates the result, and makes
// node.data_dir absolute so that the log says where the data is.
func Load(args []string, getenv func(string) string) (Config, error) {
	return LoadTo(args, getenv, os.Stderr)
}

// LoadTo is Load writing -h and flag errors to out.
func LoadTo(args []string, getenv func(string) string, out io.Writer) (Config, error) {
	fs := flag.NewFlagSet("seshat-node", flag.ContinueOnError)
	fs.SetOutput(out)
	configPath := fs.String("config", getenv("SESHAT_CONFIG"), "TOML configuration file (env SESHAT_CONFIG); seshat.example.toml lists every setting")
	version := fs.Bool("version", false, "print the version and exit")
	join := fs.String("join", "", "a member's client address (host:port): join that running cluster; the same as -cluster.join_addr=ADDR -cluster.bootstrap=false")
	replace := fs.Uint64("replace", 0, "with -join: the id of the voter this node replaces once it has caught up (CLUSTER REPLACENODE); the same as -cluster.join_replaces=ID")
	ovs := overrides()
	flagValues := map[string]*settingFlag{}
	defaults := Default()
	for _, o := range ovs {
		f := &settingFlag{typ: "string"}
		def := ""
		if v, ok := settingField(&defaults, o.name); ok {
			f.typ, def = flagType(o.name, v), display(v)
		}
		flagValues[o.name] = f
		fs.Var(f, o.name, o.usage+" (env "+EnvName(o.name)+")")
		fs.Lookup(o.name).DefValue = def
	}
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: seshat-node [flags]\n       seshat-node backup|restore ... (-h for each)\n\nSettings come from, lowest precedence first: defaults, the -config file,\nSESHAT_* environment variables, flags. Flags:\n")
		printFlags(out, fs, flagValues)
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if *version {
		return Config{}, ErrVersion
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %v (settings are flags: -node.id=1)", fs.Args())
	}
	cfg := Default()
	if *configPath != "" {
		if err := loadFile(&cfg, *configPath); err != nil {
			return Config{}, err
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	for _, o := range ovs {
		if v := getenv(EnvName(o.name)); v != "" {
			if err := o.set(&cfg, v); err != nil {
				errs = append(errs, bad(o.name, "environment variable %s=%q: expected %s", EnvName(o.name), v, formFor(o.name, err)))
			}
		}
	}
	for _, o := range ovs {
		if set[o.name] {
			if err := o.set(&cfg, flagValues[o.name].value); err != nil {
				errs = append(errs, bad(o.name, "flag -%s=%q: expected %s", o.name, flagValues[o.name].value, formFor(o.name, err)))
			}
		}
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	if *join != "" {
		cfg.Cluster.JoinAddr, cfg.Cluster.Bootstrap = *join, false
	}
	if *replace != 0 {
		cfg.Cluster.JoinReplaces = *replace
	}
	if cfg.Node.IDFromHostname {
		if err := idFromHostname(&cfg, getenv); err != nil {
			return Config{}, err
		}
	}
	if cfg.Node.DataDir != "" {
		abs, err := filepath.Abs(cfg.Node.DataDir)
		if err != nil {
			return Config{}, bad("node.data_dir", "%q cannot be made absolute: %v", cfg.Node.DataDir, err)
		}
		cfg.Node.DataDir = abs
	}
	return cfg, cfg.Validate()
}

// printFlags writes -h: each flag with its type and its default, and
// the settings without a default marked as required.
func printFlags(out io.Writer, fs *flag.FlagSet, settings map[string]*settingFlag) {
	required := map[string]bool{"node.id": true, "node.data_dir": true, "cluster.initial_members": true}
	fs.VisitAll(func(f *flag.Flag) {
		typ := ""
		if s, ok := settings[f.Name]; ok {
			typ = " " + s.typ
		} else if f.Name == "config" {
			typ = " file"
		}
		fmt.Fprintf(out, "  -%s%s\n    \t%s", f.Name, typ, f.Usage)
		switch {
		case required[f.Name]:
			fmt.Fprint(out, " (required)")
		case f.DefValue != "":
			fmt.Fprintf(out, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(out)
	})
}

// idFromHostname sets node.id from the host name (HOSTNAME, which
// Kubernetes sets to the pod's name, else the system's): the number after
// its last dash, plus one.
func idFromHostname(cfg *Config, getenv func(string) string) error {
	host := getenv("HOSTNAME")
	if host == "" {
		host, _ = os.Hostname()
	}
	i := strings.LastIndexByte(host, '-')
	ordinal, err := strconv.ParseUint(host[i+1:], 10, 32)
	if i < 0 || err != nil {
		return bad("node.id_from_hostname", "host name %q does not end in -N (a StatefulSet pod's ordinal)", host)
	}
	if cfg.Node.ID != 0 && cfg.Node.ID != ordinal+1 {
		return bad("node.id_from_hostname", "host name %q makes node.id %d, but node.id is set to %d; set one of them", host, ordinal+1, cfg.Node.ID)
	}
	cfg.Node.ID = ordinal + 1
	return nil
}

// formFor names the form a setting expects; for initial_members, whose
// parser says which entry is wrong, it adds that.
func formFor(name string, err error) string {
	var probe Config
	v, ok := settingField(&probe, name)
	if !ok {
		return err.Error()
	}
	if v.Type() == membersType {
		return formOf(name, v) + " (" + err.Error() + ")"
	}
	return formOf(name, v)
}

// loadFile reads a TOML file into cfg, answering every wrong key at once.
func loadFile(cfg *Config, path string) error {
	var doc map[string]any
	if _, err := toml.DecodeFile(path, &doc); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	if errs := decodeTOMLTable(cfg, doc); len(errs) > 0 {
		return fmt.Errorf("config file %s:\n%w", path, errors.Join(errs...))
	}
	return nil
}

// ParseMembers parses "1=host:port,2=host:port".
func ParseMembers(s string) ([]Member, error) {
	var out []Member
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		idStr, addr, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not id=host:port", part)
		}
		id, err := strconv.ParseUint(idStr, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q: bad id: %v", part, err)
		}
		out = append(out, Member{ID: id, Addr: addr})
	}
	return out, nil
}

// checkAddr checks a host:port form. A port of 0 (any free port) is
// allowed only where this node listens, not where peers dial.
func checkAddr(field, addr string, listen bool) error {
	if addr == "" {
		return bad(field, "must be set (host:port)")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return bad(field, "%q is not host:port", addr)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return bad(field, "%q: port %q is not a number from 0 to 65535", addr, port)
	}
	if p == 0 && !listen {
		return bad(field, "%q: port 0 cannot be dialed", addr)
	}
	if strings.ContainsAny(host, " /\\") {
		return bad(field, "%q: %q is not a host name or IP address", addr, host)
	}
	return nil
}

func isWildcard(host string) bool {
	ip := net.ParseIP(host)
	return host == "" || (ip != nil && ip.IsUnspecified())
}

// sameSocket reports whether two listen addresses (already checked)
// would take the same port: the same port, and the same host or a
// wildcard on either side.
func sameSocket(a, b string) bool {
	ha, pa, _ := net.SplitHostPort(a)
	hb, pb, _ := net.SplitHostPort(b)
	if pa != pb || pa == "0" {
		return false
	}
	return ha == hb || isWildcard(ha) || isWildcard(hb)
}

// checkOwnMember refuses an internal_addr that cannot be the address the
// peers dial for this node (its initial_members entry). A wildcard bind
// on the member's port is what an operator means by "listen everywhere,
// be reached at that name". A specific host that differs is refused when
// both are IP addresses; with a host name, only DNS knows, so it passes
// and Warnings mentions it.
//
// With advertise_addr set (to the member's address: peers reach this node
// there, through a port mapping say), the ports may differ.
func checkOwnMember(internal, advertise string, own Member, index int) error {
	hi, pi, _ := net.SplitHostPort(internal)
	hm, pm, _ := net.SplitHostPort(own.Addr)
	field := fmt.Sprintf("cluster.initial_members[%d].addr", index)
	switch {
	case advertise != "" && advertise != own.Addr:
		return bad("node.advertise_addr", "%s is not this node's entry %s = %s, which is where peers dial it; make them agree", advertise, field, own.Addr)
	case advertise != "":
		return nil
	case pi != pm:
		return bad("node.internal_addr", "%s listens on port %s, but this node's entry %s = %s says peers reach it on port %s; make them agree (or, if a port mapping sends that port here, set node.advertise_addr = %q)", internal, pi, field, own.Addr, pm, own.Addr)
	case hi == hm || isWildcard(hi):
		return nil
	case net.ParseIP(hi) != nil && net.ParseIP(hm) != nil:
		return bad("node.internal_addr", "%s is not this node's entry %s = %s: peers would dial an address this node does not listen on; make them agree (or listen on 0.0.0.0:%s)", internal, field, own.Addr, pi)
	}
	return nil
}

// Warnings lists what Validate accepts but an operator should look at.
func (c *Config) Warnings() []string {
	var out []string
	for i, m := range c.Cluster.InitialMembers {
		hi, _, _ := net.SplitHostPort(c.Node.InternalAddr)
		hm, _, _ := net.SplitHostPort(m.Addr)
		if m.ID == c.Node.ID && c.Node.AdvertiseAddr == "" && hi != hm && !isWildcard(hi) {
			out = append(out, fmt.Sprintf("node.internal_addr %s and this node's entry cluster.initial_members[%d].addr %s name different hosts; peers dial the latter, so it must reach this listener", c.Node.InternalAddr, i, m.Addr))
		}
	}
	if c.Test != (TestConfig{}) {
		out = append(out, "[test] settings are set: they are for tests only (clock offset, drift and control)")
	}
	return out
}

// missing answers every setting that has no default and is not set, all
// at once, each with the three ways to set it.
func (c *Config) missing() error {
	var errs []error
	need := func(name, form string) {
		errs = append(errs, bad(name, "must be set (%s): -%s=... or %s=... or %s in the config file", form, name, EnvName(name), name))
	}
	if c.Node.ID == 0 {
		need("node.id", "a non-zero id")
	}
	if c.Node.DataDir == "" {
		need("node.data_dir", "a directory")
	}
	if len(c.Cluster.InitialMembers) == 0 && c.Cluster.JoinAddr == "" {
		need("cluster.initial_members", "id=host:port,... with this node among them, or cluster.join_addr to join a running cluster")
	}
	return errors.Join(errs...)
}

// Validate refuses a configuration that cannot work, naming the field.
func (c *Config) Validate() error {
	n, cl := &c.Node, &c.Cluster
	if err := c.missing(); err != nil {
		return err
	}
	if err := c.Security.validate(); err != nil {
		return err
	}
	if err := c.Auth.validate(); err != nil {
		return err
	}
	if err := c.TLS.validate(c.Node); err != nil {
		return err
	}
	// With a TLS client port, node.client_addr "" turns plaintext off
	// (Redis's port 0).
	if n.ClientAddr != "" || c.TLS.ClientAddr == "" {
		if err := checkAddr("node.client_addr", n.ClientAddr, true); err != nil {
			return err
		}
	}
	if err := checkAddr("node.internal_addr", n.InternalAddr, true); err != nil {
		return err
	}
	if sameSocket(n.ClientAddr, n.InternalAddr) {
		return bad("node.internal_addr", "%s takes the same port as node.client_addr %s; give each its own port", n.InternalAddr, n.ClientAddr)
	}
	if n.AdminAddr != "" {
		if err := checkAddr("node.admin_addr", n.AdminAddr, true); err != nil {
			return err
		}
		for _, o := range []struct{ name, addr string }{{"node.client_addr", n.ClientAddr}, {"node.internal_addr", n.InternalAddr}} {
			if sameSocket(n.AdminAddr, o.addr) {
				return bad("node.admin_addr", "%s takes the same port as %s %s; give each its own port", n.AdminAddr, o.name, o.addr)
			}
		}
	}
	if cl.ClusterID == "" {
		return bad("cluster.cluster_id", "must not be empty")
	}
	if cl.JoinAddr == "" && cl.JoinReplaces != 0 {
		return bad("cluster.join_replaces", "is set without cluster.join_addr: only a node that joins replaces a member (-join ADDR -replace ID)")
	}
	if cl.JoinAddr != "" {
		if err := c.validateJoin(); err != nil {
			return err
		}
		if len(cl.InitialMembers) == 0 {
			return c.validateRest()
		}
	}
	if len(cl.InitialMembers) < 3 && cl.Bootstrap {
		return bad("cluster.initial_members", "needs at least 3 members, has %d", len(cl.InitialMembers))
	}
	ids := map[uint64]bool{}
	addrs := map[string]bool{}
	for i, m := range cl.InitialMembers {
		field := fmt.Sprintf("cluster.initial_members[%d]", i)
		if m.ID == 0 {
			return bad(field+".id", "must be non-zero")
		}
		if ids[m.ID] {
			return bad(field+".id", "duplicate id %d", m.ID)
		}
		ids[m.ID] = true
		if err := checkAddr(field+".addr", m.Addr, false); err != nil {
			return err
		}
		if addrs[m.Addr] {
			return bad(field+".addr", "duplicate address %s", m.Addr)
		}
		addrs[m.Addr] = true
	}
	if !ids[n.ID] {
		return bad("cluster.initial_members", "does not include this node (node.id = %d)", n.ID)
	}
	for i, m := range cl.InitialMembers {
		if m.ID == n.ID {
			if err := checkOwnMember(n.InternalAddr, n.AdvertiseAddr, m, i); err != nil {
				return err
			}
		}
	}
	if cl.ReplicationFactor < 1 || cl.ReplicationFactor%2 == 0 {
		return bad("cluster.replication_factor", "must be odd (a majority of an even count tolerates no more failures), is %d", cl.ReplicationFactor)
	}
	if cl.ReplicationFactor != len(cl.InitialMembers) && cl.Bootstrap {
		return bad("cluster.replication_factor", "is %d but there are %d members; with one raft group every member holds a replica", cl.ReplicationFactor, len(cl.InitialMembers))
	}
	return c.validateRest()
}

// validateJoin checks what joining a running cluster needs: a member to
// ask, and addresses of this node others can dial.
func (c *Config) validateJoin() error {
	n, cl := &c.Node, &c.Cluster
	if err := checkAddr("cluster.join_addr", cl.JoinAddr, false); err != nil {
		return err
	}
	if cl.JoinReplaces == n.ID {
		return bad("cluster.join_replaces", "is this node's own id %d: a node replaces another member", n.ID)
	}
	if cl.Bootstrap {
		return bad("cluster.join_addr", "is set but cluster.bootstrap is true: a node that joins a running cluster bootstraps nothing (set bootstrap = false, or use -join)")
	}
	peer := n.AdvertiseAddr
	if peer == "" {
		peer = n.InternalAddr
	}
	if host, _, err := net.SplitHostPort(peer); err != nil || host == "" || net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified() {
		return bad("node.advertise_addr", "must name a host the members can dial (node.internal_addr %q binds every interface): a joining node tells the cluster its peer address", n.InternalAddr)
	}
	return nil
}

// validateRest checks the raft and limits settings.
func (c *Config) validateRest() error {
	r, l := &c.Raft, &c.Limits
	if r.HeartbeatIntervalMs <= 0 || r.HeartbeatIntervalMs%10 != 0 {
		return bad("raft.heartbeat_interval_ms", "%d must be a positive multiple of 10: raft counts time in 10 ms ticks", r.HeartbeatIntervalMs)
	}
	if r.ElectionTimeoutMinMs%r.HeartbeatIntervalMs != 0 {
		return bad("raft.election_timeout_min_ms", "%d is not a multiple of heartbeat_interval_ms (%d): raft counts time in heartbeat ticks", r.ElectionTimeoutMinMs, r.HeartbeatIntervalMs)
	}
	if r.ElectionTimeoutMinMs < 2*r.HeartbeatIntervalMs {
		return bad("raft.election_timeout_min_ms", "%d must be at least two heartbeats (%d)", r.ElectionTimeoutMinMs, 2*r.HeartbeatIntervalMs)
	}
	if r.ElectionTimeoutMaxMs < r.ElectionTimeoutMinMs {
		return bad("raft.election_timeout_max_ms", "%d is below election_timeout_min_ms (%d)", r.ElectionTimeoutMaxMs, r.ElectionTimeoutMinMs)
	}
	if r.SnapshotIntervalEntries < 1 {
		return bad("raft.snapshot_interval_entries", "%d must be at least 1", r.SnapshotIntervalEntries)
	}
	if r.SnapshotIntervalBytes < 1<<20 {
		return bad("raft.snapshot_interval_bytes", "%d must be at least 1 MiB", r.SnapshotIntervalBytes)
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"limits.max_key_size_bytes", l.MaxKeySizeBytes},
		{"limits.max_value_size_bytes", l.MaxValueSizeBytes},
		{"limits.max_concurrent_client_connections", l.MaxConcurrentClientConnections},
		{"limits.request_timeout_secs", l.RequestTimeoutSecs},
		{"limits.raft_rpc_timeout_secs", l.RaftRPCTimeoutSecs},
		{"limits.max_keys_per_write", l.MaxKeysPerWrite},
		{"limits.max_keys_per_read", l.MaxKeysPerRead},
		{"limits.block_cache_bytes", l.BlockCacheBytes},
		{"limits.client_output_buffer_hard_bytes", l.ClientOutputBufferHardBytes},
		{"limits.client_output_buffer_soft_bytes", l.ClientOutputBufferSoftBytes},
		{"limits.client_output_buffer_soft_seconds", l.ClientOutputBufferSoftSecs},
		{"limits.client_query_buffer_bytes", l.ClientQueryBufferBytes},
		{"limits.maxmemory_clients_bytes", l.MaxMemoryClientsBytes},
		{"limits.max_uncommitted_bytes", l.MaxUncommittedBytes},
	} {
		if f.v <= 0 {
			return bad(f.name, "must be positive, is %d", f.v)
		}
	}
	// The server parses no bulk string over BulkBytesMax and no command of
	// more than ArrayLenMax arguments: a limit past them would answer a
	// protocol error and a closed connection, not the limit's own error.
	proto := resp.ServerCommandLimits
	for _, f := range []struct {
		name     string
		v, max   int
		whatsMax string
	}{
		{"limits.max_key_size_bytes", l.MaxKeySizeBytes, proto.BulkBytesMax, "bytes, the largest bulk string the server parses"},
		{"limits.max_value_size_bytes", l.MaxValueSizeBytes, proto.BulkBytesMax, "bytes, the largest bulk string the server parses"},
		{"limits.max_keys_per_read", l.MaxKeysPerRead, proto.ArrayLenMax - 1, "keys, the most one MGET of the largest command the server parses can name"},
		{"limits.max_keys_per_write", l.MaxKeysPerWrite, (proto.ArrayLenMax - 1) / 2, "keys, the most one MSET of the largest command the server parses can name"},
	} {
		if f.v > f.max {
			return bad(f.name, "%d is over %d %s", f.v, f.max, f.whatsMax)
		}
	}
	if l.ClientOutputBufferSoftBytes > l.ClientOutputBufferHardBytes {
		return bad("limits.client_output_buffer_soft_bytes", "%d is over client_output_buffer_hard_bytes (%d)", l.ClientOutputBufferSoftBytes, l.ClientOutputBufferHardBytes)
	}
	if l.MaxMemoryClientsBytes < l.ClientOutputBufferHardBytes {
		return bad("limits.maxmemory_clients_bytes", "%d is below client_output_buffer_hard_bytes (%d): one client could not reach its own limit", l.MaxMemoryClientsBytes, l.ClientOutputBufferHardBytes)
	}
	if l.MaxUncommittedBytes < 1<<20 {
		return bad("limits.max_uncommitted_bytes", "%d must be at least 1 MiB", l.MaxUncommittedBytes)
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		return bad("log.level", "%q is not debug, info, warn or error", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		return bad("log.format", "%q is not text or json", c.Log.Format)
	}
	if d := c.Test.ClockDriftPPM; d <= -500_000 || d >= 500_000 {
		return bad("test.clock_drift_ppm", "%d is not within (-500000, 500000)", d)
	}
	return nil
}
