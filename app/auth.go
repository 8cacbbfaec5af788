package app

import (
	"bytes"
	"crypto/subtle"
	"net/http"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seshat-db/seshat/acl"
)

// AuthConfig is the [auth] section: who may use the client and admin
// ports (issue 16). Its own section, so that it merges apart from the
// rest.
//
// The users it names are a baseline that every node applies from its own
// config: the users set through ACL SETUSER are replicated through the
// log and replace a baseline user of the same name on every node (an ACL
// DELUSER of a baseline user brings the baseline back). Give every node
// the same [auth].
type AuthConfig struct {
	// RequirePass is the default user's password, as Redis's requirepass.
	// Prefer RequirePassFile.
	RequirePass     string `toml:"requirepass"`
	RequirePassFile string `toml:"requirepass_file"`
	// Users are ACL users, one per string, in Redis's ACL file form
	// without the word "user": "alice on >secret ~cache:* +@read".
	Users []string `toml:"users"`
	// ProtectedMode refuses clients from other hosts while the default
	// user has no password (Redis's protected mode). On by default.
	ProtectedMode bool `toml:"protected_mode"`
	// AdminToken, if set, is required as "Authorization: Bearer <token>"
	// on every admin endpoint but the probes (/health, /ready, /livez,
	// /readyz). Prefer AdminTokenFile.
	AdminToken     string `toml:"admin_token"`
	AdminTokenFile string `toml:"admin_token_file"`
}

// readSecret returns value, or the content of file without its trailing
// newline.
func readSecret(field, value, file string) (string, error) {
	if value != "" && file != "" {
		return "", bad(field, "set either %s or %s_file, not both", field, field)
	}
	if file == "" {
		return value, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", bad(field+"_file", "cannot read it: %v", err)
	}
	s := string(bytes.TrimRight(b, "\r\n"))
	if s == "" {
		return "", bad(field+"_file", "%s is empty", file)
	}
	return s, nil
}

// Baseline returns the ACL the config defines: requirepass on the default
// user, then the users.
func (a AuthConfig) Baseline() (*acl.Table, error) {
	pass, err := readSecret("auth.requirepass", a.RequirePass, a.RequirePassFile)
	if err != nil {
		return nil, err
	}
	def := acl.NewDefault()
	if pass != "" {
		def, _ = def.SetRules([]string{"resetpass", ">" + pass})
	}
	t := acl.NewTable(def)
	for _, line := range a.Users {
		words := strings.Fields(line)
		if len(words) > 0 && words[0] == "user" {
			words = words[1:]
		}
		if len(words) == 0 {
			return nil, bad("auth.users", "an empty user line")
		}
		start := t.User(words[0])
		if start == nil {
			start = &acl.User{Name: words[0]}
		}
		u, err := start.SetRules(words[1:])
		if err != nil {
			return nil, bad("auth.users", "user %s: %s", words[0], strings.TrimPrefix(err.Error(), "ERR "))
		}
		t = t.With(u)
	}
	return t, nil
}

// Token returns the admin token, or "" for none.
func (a AuthConfig) Token() (string, error) {
	return readSecret("auth.admin_token", a.AdminToken, a.AdminTokenFile)
}

func (a AuthConfig) validate() error {
	if _, err := a.Baseline(); err != nil {
		return err
	}
	_, err := a.Token()
	return err
}

// probes are the admin paths a load balancer or kubelet calls without a
// token.
var probes = map[string]bool{"/health": true, "/ready": true, "/livez": true, "/readyz": true, "/healthz": true}

// requireToken wraps the admin handler: without a token configured it is
// h; with one, every path but the probes needs it, compared in constant
// time.
func requireToken(h http.Handler, token string, failed prometheus.Counter) http.Handler {
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !probes[r.URL.Path] && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			failed.Inc()
			w.Header().Set("WWW-Authenticate", "Bearer")
			http.Error(w, "unauthorized: this admin endpoint needs Authorization: Bearer <auth.admin_token>", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// refuseBrowsers wraps the admin handler: a request a web browser sent
// (it names its Origin, or its fetch mode) is refused. Browsers send a
// cross-site form POST with no preflight, so without this any page the
// operator opens could add a node of its own and receive a snapshot of
// every key (review r8: POST /cluster/members/add with no token set).
// Operators' tools (curl, Prometheus, seshat-backup) send neither header.
func refuseBrowsers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") != "" || r.Header.Get("Sec-Fetch-Mode") != "" || r.Header.Get("Sec-Fetch-Site") != "" {
			http.Error(w, "forbidden: the admin port refuses requests sent by a web browser (Origin or Sec-Fetch-* header)", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// authMetrics count refused credentials.
type authMetrics struct {
	clientFailures prometheus.Counter
	adminFailures  prometheus.Counter
	denied         prometheus.Counter
}

func newAuthMetrics(reg *prometheus.Registry) *authMetrics {
	m := &authMetrics{
		clientFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "seshat_client_auth_failures_total",
			Help: "AUTH and HELLO AUTH attempts refused (wrong password, unknown or disabled user); the log says so at most once in 10 s.",
		}),
		adminFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "seshat_admin_auth_failures_total",
			Help: "Admin requests refused for a missing or wrong bearer token.",
		}),
		denied: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "seshat_client_protected_mode_refusals_total",
			Help: "Clients from other hosts refused with -DENIED by protected mode (the log says so at most once in 10 s).",
		}),
	}
	reg.MustRegister(m.clientFailures, m.adminFailures, m.denied)
	return m
}
