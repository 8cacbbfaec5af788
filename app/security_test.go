package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestClusterSecretConfig: the secret comes from the file (its trailing
// newline dropped) or the key; both, a short one or an unreadable or
// empty file are refused, naming the field.
func TestClusterSecretConfig(t *testing.T) {
	dir := t.TempDir()
	file := func(content string) string {
		p := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+content[:min(3, len(content))])
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := file("0123456789abcdef-from-file\n")
	if s, err := (SecurityConfig{ClusterSecretFile: good}).PeerSecret(); err != nil || string(s) != "0123456789abcdef-from-file" {
		t.Fatalf("secret file: %q, %v", s, err)
	}
	if err := (SecurityConfig{}).validate(); err != nil {
		t.Fatalf("no secret: %v", err)
	}
	for _, tc := range []struct {
		cfg   SecurityConfig
		field string
	}{
		{SecurityConfig{ClusterSecret: "0123456789abcdef", ClusterSecretFile: good}, "security.cluster_secret"},
		{SecurityConfig{ClusterSecret: "short"}, "security.cluster_secret"},
		{SecurityConfig{ClusterSecretFile: filepath.Join(dir, "missing")}, "security.cluster_secret_file"},
		{SecurityConfig{ClusterSecretFile: file("\n")}, "security.cluster_secret_file"},
	} {
		err := tc.cfg.validate()
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%+v: %v, want an error naming %s", tc.cfg, err, tc.field)
		}
	}
}
