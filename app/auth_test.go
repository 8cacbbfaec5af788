package app

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestAdminTokenGuardsAllButProbes(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	failed := prometheus.NewCounter(prometheus.CounterOpts{Name: "x"})
	h := requireToken(ok, "s3cret", failed)
	for _, c := range []struct {
		path, auth string
		want       int
	}{
		{"/metrics", "", http.StatusUnauthorized},
		{"/backup", "Bearer wrong", http.StatusUnauthorized},
		{"/status", "Bearer s3cret", http.StatusOK},
		{"/readyz", "", http.StatusOK},
		{"/livez", "", http.StatusOK},
		{"/health", "", http.StatusOK},
		{"/ready", "", http.StatusOK},
	} {
		r := httptest.NewRequest("GET", c.path, nil)
		if c.auth != "" {
			r.Header.Set("Authorization", c.auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.want {
			t.Errorf("%s with %q: %d, want %d", c.path, c.auth, w.Code, c.want)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(failed)
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 || mfs[0].GetMetric()[0].GetCounter().GetValue() != 2 {
		t.Errorf("refusals counted: %v %v, want 2", mfs, err)
	}
	if requireToken(ok, "", failed) == nil {
		t.Fatal("no handler without a token")
	}
}

func TestAuthBaseline(t *testing.T) {
	a := AuthConfig{RequirePass: "pw", Users: []string{"ro on >r ~* +@read", "user w on >x ~w:* +@all"}}
	tbl, err := a.Baseline()
	if err != nil {
		t.Fatal(err)
	}
	if d := tbl.User("default"); d.NoPass || !d.Authenticate([]byte("pw")) {
		t.Error("requirepass did not set the default user's password")
	}
	if tbl.User("ro") == nil || tbl.User("w") == nil || !tbl.User("w").Authenticate([]byte("x")) {
		t.Error("config users missing")
	}
	if _, err := (AuthConfig{Users: []string{"bad +nosuch"}}).Baseline(); err == nil {
		t.Error("a bad rule was accepted")
	}
}
