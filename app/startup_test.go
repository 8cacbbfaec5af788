// Tests what Run does before it touches the disk: a port in use fails
// the start and leaves no data directory behind, and a data directory
// that cannot be used is refused with advice for its case, never the
// "move it away" advice that would make a healthy node rejoin under a new
// identity.
package app

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runConfig(t *testing.T, dataDir string) Config {
	t.Helper()
	c := validConfig()
	c.Node.DataDir = dataDir
	c.Node.ClientAddr = "127.0.0.1:0"
	c.Node.AdminAddr = "127.0.0.1:0"
	c.Node.InternalAddr = freeAddr(t)
	c.Cluster.InitialMembers[0].Addr = c.Node.InternalAddr
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestPortInUseLeavesNoDataDir(t *testing.T) {
	for _, which := range []string{"internal", "client", "admin"} {
		dir := filepath.Join(t.TempDir(), "data")
		c := runConfig(t, dir)
		busy, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		switch which {
		case "internal":
			c.Node.InternalAddr = busy.Addr().String()
			c.Cluster.InitialMembers[0].Addr = c.Node.InternalAddr
		case "client":
			c.Node.ClientAddr = busy.Addr().String()
		case "admin":
			c.Node.AdminAddr = busy.Addr().String()
		}
		err = Run(context.Background(), c, quiet(), nil)
		busy.Close()
		if err == nil || !strings.Contains(err.Error(), busy.Addr().String()) {
			t.Errorf("%s port in use: Run returned %v", which, err)
		}
		if _, serr := os.Stat(dir); !os.IsNotExist(serr) {
			t.Errorf("%s port in use: the data directory was created (%v)", which, serr)
		}
	}
}

func TestDataDirRefusalsAdvise(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Run(context.Background(), runConfig(t, file), quiet(), nil)
	if err == nil || !strings.Contains(err.Error(), "is a file") || !strings.Contains(err.Error(), "point node.data_dir") || strings.Contains(err.Error(), "move it away") {
		t.Errorf("a file as data_dir: %v", err)
	}
	if os.Getuid() == 0 {
		t.Log("running as root: the permission case is not testable here (root reads any directory); checked through openError instead")
	} else {
		locked := filepath.Join(base, "locked")
		if err := os.Mkdir(locked, 0o000); err != nil {
			t.Fatal(err)
		}
		err := Run(context.Background(), runConfig(t, locked), quiet(), nil)
		if err == nil || !strings.Contains(err.Error(), "ownership") || strings.Contains(err.Error(), "rejoin") {
			t.Errorf("an unreadable data_dir: %v", err)
		}
	}
	if err := openError(os.ErrPermission, "/d"); !strings.Contains(err.Error(), "ownership") || strings.Contains(err.Error(), "rejoin") {
		t.Errorf("a permission error from the store: %v", err)
	}
	if err := openError(io.ErrUnexpectedEOF, "/d"); !strings.Contains(err.Error(), "damaged") || !strings.Contains(err.Error(), "new identity") {
		t.Errorf("damaged data: %v", err)
	}
}
