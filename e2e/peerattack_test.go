package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// TestForgedPeerPacketsAreRefused repeats issue 16's one-packet kill
// against real processes that share a cluster secret: an attacker on the
// same host who knows the cluster id and the node ids (not the secret)
// sends each node a heartbeat in the leader's name with commit 999999999,
// once over the old handshake and once over the new one with a guessed
// proof. Every node refuses the connection, logs why, and the cluster
// serves on.
func TestForgedPeerPacketsAreRefused(t *testing.T) {
	bin := buildBinary(t)
	c := newCluster(t, bin)
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.args = []string{"-security.cluster_secret_file", secret}
	lead := c.startAll()
	beat := &pb.Message{Type: pb.MessageType_MsgHeartbeat.Enum(), From: proto.Uint64(uint64(lead + 1)), Term: proto.Uint64(2), Commit: proto.Uint64(999999999)}
	for _, p := range c.nodes {
		if p.id == lead+1 {
			continue
		}
		beat.To = proto.Uint64(uint64(p.id))
		body, _ := proto.Marshal(beat)
		msg := append(binary.AppendUvarint(binary.AppendUvarint(binary.AppendUvarint([]byte{1}, uint64(lead+1)), 0), 0), body...)
		for _, version := range []uint16{3, 4} {
			conn, err := net.Dial("tcp", p.internal)
			if err != nil {
				t.Fatal(err)
			}
			hash := sha256.Sum256([]byte("e2e"))
			hello := append([]byte("SSHT"), binary.BigEndian.AppendUint16(nil, version)...)
			hello = append(hello, 0, 0)
			hello = append(hello, hash[:8]...)
			hello = binary.BigEndian.AppendUint64(hello, uint64(lead+1))
			hello = binary.BigEndian.AppendUint64(hello, uint64(p.id))
			if version == 3 {
				hello = append(hello, 0, 0, 0, 0)
			} else {
				hello = append(hello, make([]byte, 16)...) // nonce
			}
			_, _ = conn.Write(hello)
			if version == 4 {
				_, _ = conn.Write(make([]byte, 32)) // a guessed proof
			}
			frame := binary.BigEndian.AppendUint32(nil, uint32(len(msg)))
			_, _ = conn.Write(append(frame, msg...))
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			answer, _ := io.ReadAll(conn)
			conn.Close()
			if version == 3 && len(answer) != 0 {
				t.Errorf("node %d answered an old-protocol hello with %q", p.id, answer)
			}
			if version == 4 && len(answer) != 16 {
				t.Errorf("node %d answered a hello and a wrong proof with %d bytes, want its 16-byte challenge only", p.id, len(answer))
			}
		}
	}
	time.Sleep(500 * time.Millisecond)
	for _, p := range c.nodes {
		st, err := p.status()
		if err != nil || !st.Ready {
			t.Fatalf("node %d after the forged packets: %+v %v", p.id, st, err)
		}
		b, _ := os.ReadFile(p.logPath)
		if p.id != lead+1 && !strings.Contains(string(b), "refused an inbound peer connection") {
			t.Errorf("node %d did not log the refusal", p.id)
		}
	}
	if !setRetry(context.Background(), []*redis.Client{client(c.nodes[0])}, "after", "attack") {
		t.Fatal("no write after the forged packets")
	}
}
