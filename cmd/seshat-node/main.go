// Command seshat-node runs one Seshat node: a Redis-compatible server
// whose data is replicated with raft to the other members of its cluster.
//
// Configuration comes from, lowest precedence first: built-in defaults, a
// TOML file (-config or SESHAT_CONFIG), SESHAT_* environment variables
// (node.client_addr -> SESHAT_NODE_CLIENT_ADDR) and flags
// (-node.client_addr). Run with -h for every setting.
//
// Exit codes: 0 after a clean shutdown (SIGINT or SIGTERM), 1 when the
// node fails at run time, 2 when the configuration is refused.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/seshat-db/seshat/app"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "backup":
			os.Exit(app.BackupCommand(os.Args[2:], os.Stdout, os.Stderr))
		case "restore":
			os.Exit(app.RestoreCommand(os.Args[2:], os.Stdout, os.Stderr))
		}
	}
	cfg, err := app.Load(os.Args[1:], os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if errors.Is(err, app.ErrVersion) {
		fmt.Println("seshat-node", app.Version, runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH)
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "seshat-node:", err)
		os.Exit(2)
	}
	log := app.NewLogger(cfg.Log, os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, cfg, log, nil); err != nil {
		log.Error("seshat-node failed", "err", err)
		os.Exit(1)
	}
}
