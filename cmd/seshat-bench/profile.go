package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/seshat-db/seshat/internal/localcluster"
)

// profileFlags turns Go's profiler on in every node (node.pprof) when
// -profile asks for CPU profiles.
func profileFlags(o options) []string {
	if o.profile == "" {
		return nil
	}
	return []string{"-node.pprof", "true"}
}

// profiling takes a CPU profile of every running Seshat node for the
// length of one workload's runs, written to o.profile as
// <workload>-n<id>.pb.gz (go tool pprof -top bin/seshat-node FILE). The
// profiles of all three nodes, not the leader's alone: a write costs
// CPU on each, and on a shared machine the sum is what bounds throughput.
// It returns a function that waits for the profiles and reports where
// they went.
func (r *runner) profiling(w workload) func() {
	if r.o.profile == "" {
		return func() {}
	}
	secs := int((r.o.warm + r.o.duration).Seconds()) * r.o.runs
	name := strings.NewReplacer(" ", "-", ",", "", "(", "", ")", "").Replace(w.name)
	client := &http.Client{Timeout: time.Duration(secs+30) * time.Second}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var saved []string
	for _, n := range r.seshat.Nodes() {
		if !r.seshat.Up(n) {
			continue
		}
		wg.Add(1)
		go func(n *localcluster.Node) {
			defer wg.Done()
			path := filepath.Join(r.o.profile, fmt.Sprintf("%s-n%d.pb.gz", name, n.ID))
			if err := fetchProfile(client, n.Admin, secs, path); err != nil {
				fmt.Fprintf(r.w, "profile of n%d: %v\n", n.ID, err)
				return
			}
			mu.Lock()
			saved = append(saved, path)
			mu.Unlock()
		}(n)
	}
	return func() {
		wg.Wait()
		if len(saved) > 0 {
			fmt.Fprintf(r.w, "cpu profiles: %s\n", strings.Join(saved, " "))
		}
	}
}

func fetchProfile(client *http.Client, admin string, secs int, path string) error {
	resp, err := client.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", admin, secs))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", admin, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
