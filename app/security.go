package app

import (
	"bytes"
	"os"
)

// SecurityConfig is the [security] section: what peers must prove
// (issue 16). Its own section, so that it merges apart from the rest.
type SecurityConfig struct {
	// ClusterSecret is the secret every peer proves it holds before its
	// messages are read (realenv/peerauth.go). Prefer ClusterSecretFile:
	// a config file is often readable by more people than a secret should.
	ClusterSecret string `toml:"cluster_secret"`
	// ClusterSecretFile holds the secret (a trailing newline is dropped).
	ClusterSecretFile string `toml:"cluster_secret_file"`
}

// minSecretBytes: a shorter secret can be guessed offline from one
// recorded handshake.
const minSecretBytes = 16

// PeerSecret returns the cluster secret; nil if none is configured (peers
// then prove only that they know the cluster id, and the transport warns).
func (s SecurityConfig) PeerSecret() ([]byte, error) {
	secret := []byte(s.ClusterSecret)
	if s.ClusterSecretFile != "" {
		b, err := os.ReadFile(s.ClusterSecretFile)
		if err != nil {
			return nil, bad("security.cluster_secret_file", "cannot read it: %v", err)
		}
		secret = bytes.TrimRight(b, "\r\n")
	}
	if len(secret) == 0 {
		return nil, nil
	}
	return secret, nil
}

func (s SecurityConfig) validate() error {
	if s.ClusterSecret != "" && s.ClusterSecretFile != "" {
		return bad("security.cluster_secret", "set either cluster_secret or cluster_secret_file, not both")
	}
	secret, err := s.PeerSecret()
	if err != nil {
		return err
	}
	if s.ClusterSecretFile != "" && len(secret) == 0 {
		return bad("security.cluster_secret_file", "%s is empty", s.ClusterSecretFile)
	}
	if len(secret) > 0 && len(secret) < minSecretBytes {
		field := "security.cluster_secret"
		if s.ClusterSecretFile != "" {
			field = "security.cluster_secret_file"
		}
		return bad(field, "the secret has %d bytes; use at least %d (e.g. openssl rand -hex 32)", len(secret), minSecretBytes)
	}
	return nil
}
