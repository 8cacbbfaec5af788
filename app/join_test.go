package app

import (
	"strings"
	"testing"
)

func TestParseClusterNodes(t *testing.T) {
	text := "0000000000000000000000000000000000000001 10.0.0.1:6379@7379 master - 0 0 7 connected 0-16383\n" +
		"0000000000000000000000000000000000000002 10.0.0.2:6380@7380 myself,slave 0000000000000000000000000000000000000001 0 0 7 connected\n" +
		"000000000000000000000000000000000000000a :0@0 slave 0000000000000000000000000000000000000001 0 0 7 connected\n"
	got, err := parseClusterNodes(text)
	if err != nil {
		t.Fatal(err)
	}
	want := []joinMember{
		{id: 1, clientAddr: "10.0.0.1:6379", peerAddr: "10.0.0.1:7379", master: true},
		{id: 2, clientAddr: "10.0.0.2:6380", peerAddr: "10.0.0.2:7380"},
		{id: 10},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("member %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if _, err := parseClusterNodes("07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004 slave\nnot a line"); err == nil {
		t.Fatal("a line that is not Seshat's parsed")
	}
}

func TestJoinConfig(t *testing.T) {
	load := func(args ...string) error {
		_, err := LoadTo(append([]string{"-node.id=4", "-node.data_dir=" + t.TempDir(), "-node.internal_addr=127.0.0.1:7004", "-node.client_addr=127.0.0.1:6384"}, args...), func(string) string { return "" }, &strings.Builder{})
		return err
	}
	if err := load("-join", "127.0.0.1:6379"); err != nil {
		t.Fatalf("-join alone: %v", err)
	}
	if err := load("-cluster.join_addr", "127.0.0.1:6379", "-cluster.bootstrap=false"); err != nil {
		t.Fatalf("join_addr with bootstrap = false: %v", err)
	}
	if err := load("-join", "127.0.0.1:6379", "-replace", "3"); err != nil {
		t.Fatalf("-join with -replace: %v", err)
	}
	for _, c := range []struct {
		args  []string
		field string
	}{
		{[]string{"-cluster.join_addr", "127.0.0.1:6379"}, "cluster.join_addr"}, // bootstrap still true
		{[]string{"-join", "nonsense"}, "cluster.join_addr"},
		{[]string{"-join", "127.0.0.1:6379", "-node.internal_addr=0.0.0.0:7004"}, "node.advertise_addr"},
		{nil, "cluster.initial_members"},
		{[]string{"-join", "127.0.0.1:6379", "-replace", "4"}, "cluster.join_replaces"}, // itself
		{[]string{"-replace", "3", "-cluster.initial_members=1=127.0.0.1:7001,2=127.0.0.1:7002,4=127.0.0.1:7004"}, "cluster.join_replaces"},
	} {
		if err := load(c.args...); err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%v: %v, want an error naming %s", c.args, err, c.field)
		}
	}
}
