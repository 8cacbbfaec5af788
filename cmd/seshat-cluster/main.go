// Command seshat-cluster runs a local three-node Seshat cluster on
// loopback, in one process, in the foreground: the quickest way to try
// Seshat.
//
//	go run ./cmd/seshat-cluster
//	redis-cli -p 6379 set a 1
//	redis-cli -p 6381 get a
//
// Data lives under ./data/n1 .. ./data/n3 and survives a restart.
// Ctrl-C stops all three nodes.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/seshat-db/seshat/app"
)

func main() {
	clientPort := flag.Int("port", 6379, "client port of node 1; nodes 2 and 3 use the next ones")
	internalPort := flag.Int("internal-port", 7379, "raft port of node 1; nodes 2 and 3 use the next ones")
	adminPort := flag.Int("admin-port", 8379, "admin (HTTP) port of node 1; 0 turns admin off")
	dataDir := flag.String("data", "data", "directory holding n1, n2, n3")
	logLevel := flag.String("log-level", "info", "debug, info, warn or error")
	flag.Parse()

	const nodes = 3
	// The default data folder is relative: started from another folder it
	// is another, empty folder, so say which one and what was found there.
	abs, err := filepath.Abs(*dataDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "seshat-cluster: -data:", err)
		os.Exit(2)
	}
	*dataDir = abs
	fmt.Println(dataChoice(abs, nodes))
	var members []app.Member
	for i := range nodes {
		members = append(members, app.Member{ID: uint64(i + 1), Addr: fmt.Sprintf("127.0.0.1:%d", *internalPort+i)})
	}
	var cfgs []app.Config
	for i := range nodes {
		cfg := app.Default()
		cfg.Node.ID = uint64(i + 1)
		cfg.Node.ClientAddr = fmt.Sprintf("127.0.0.1:%d", *clientPort+i)
		cfg.Node.InternalAddr = members[i].Addr
		cfg.Node.AdminAddr = ""
		if *adminPort != 0 {
			cfg.Node.AdminAddr = fmt.Sprintf("127.0.0.1:%d", *adminPort+i)
		}
		cfg.Node.DataDir = filepath.Join(*dataDir, fmt.Sprintf("n%d", i+1))
		cfg.Cluster.InitialMembers = members
		cfg.Cluster.ClusterID = "seshat-local"
		cfg.Log.Level = *logLevel
		if err := cfg.Validate(); err != nil {
			fmt.Fprintln(os.Stderr, "seshat-cluster:", err)
			os.Exit(2)
		}
		cfgs = append(cfgs, cfg)
	}

	log := app.NewLogger(app.LogConfig{Level: *logLevel, Format: "text"}, os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var wg sync.WaitGroup
	var readyWG sync.WaitGroup
	errs := make([]error, nodes)
	for i, cfg := range cfgs {
		wg.Add(1)
		readyWG.Add(1)
		var once sync.Once
		go func() {
			defer wg.Done()
			errs[i] = app.Run(ctx, cfg, log, func() { once.Do(readyWG.Done) })
			once.Do(readyWG.Done)
			if errs[i] != nil {
				// One node failing to start stops the whole demo.
				cancel()
			}
		}()
	}
	readyWG.Wait()
	if ctx.Err() == nil {
		fmt.Println("Seshat: a 3-node cluster is running on loopback. Connect to any node:")
		for _, cfg := range cfgs {
			fmt.Printf("  redis-cli -p %s    (node %d, data in %s)\n", port(cfg.Node.ClientAddr), cfg.Node.ID, cfg.Node.DataDir)
		}
		if *adminPort != 0 {
			fmt.Printf("Health and metrics: curl http://127.0.0.1:%d/status  (and /ready, /metrics)\n", *adminPort)
		}
		fmt.Println("Press Ctrl-C to stop all three.")
	}
	wg.Wait()
	code := 0
	for i, err := range errs {
		if err != nil {
			fmt.Fprintf(os.Stderr, "seshat-cluster: node %d: %v\n", i+1, err)
			code = 1
		}
	}
	os.Exit(code)
}

// dataChoice says whether the cluster resumes from data under dir or
// starts new there.
func dataChoice(dir string, nodes int) string {
	var found []string
	for i := range nodes {
		entries, err := os.ReadDir(filepath.Join(dir, fmt.Sprintf("n%d", i+1)))
		if err == nil && len(entries) > 0 {
			found = append(found, fmt.Sprintf("n%d", i+1))
		}
	}
	if len(found) == 0 {
		return fmt.Sprintf("seshat-cluster: no data under %s: starting a NEW, empty cluster there (to resume another, pass -data=ITS_FOLDER)", dir)
	}
	return fmt.Sprintf("seshat-cluster: resuming the cluster whose data is under %s (found %v)", dir, found)
}

func port(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[i+1:]
		}
	}
	return addr
}
