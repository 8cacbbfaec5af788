package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/seshat-db/seshat/app"
)

// What could not be tested here: building the image and running compose
// or the StatefulSet (no docker, no Kubernetes). What is: the files
// parse, their settings load in the real config loader exactly as
// written, and three seshat-node processes started with each file's
// flags and environment form a cluster that passes the probes the files
// name. Only where a process listens and its peers' addresses are moved
// to loopback, as flags (which take precedence over the environment):
// the files' host names (n1, seshat-0.seshat-peers) resolve only inside
// docker or Kubernetes.

type deployedNode struct {
	hostname string
	args     []string
	env      map[string]string
}

func TestComposeFileRuns(t *testing.T) {
	var compose struct {
		Services map[string]struct {
			Hostname    string            `yaml:"hostname"`
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	readYAML(t, "../deploy/docker-compose.yml", &compose)
	var nodes []deployedNode
	for _, name := range []string{"n1", "n2", "n3"} {
		s, ok := compose.Services[name]
		if !ok {
			t.Fatalf("compose file has no service %s", name)
		}
		nodes = append(nodes, deployedNode{hostname: s.Hostname, env: s.Environment})
	}
	runDeployed(t, nodes, "/readyz", "/livez")
}

func TestStatefulSetRuns(t *testing.T) {
	type probe struct {
		HTTPGet struct {
			Path string `yaml:"path"`
		} `yaml:"httpGet"`
	}
	type manifest struct {
		Kind     string `yaml:"kind"`
		Metadata struct {
			Name string `yaml:"name"`
		} `yaml:"metadata"`
		Spec struct {
			ClusterIP      string `yaml:"clusterIP"`
			ServiceName    string `yaml:"serviceName"`
			Replicas       int    `yaml:"replicas"`
			MaxUnavailable int    `yaml:"maxUnavailable"`
			Template       struct {
				Spec struct {
					Containers []struct {
						Args []string `yaml:"args"`
						Env  []struct {
							Name  string `yaml:"name"`
							Value string `yaml:"value"`
						} `yaml:"env"`
						ReadinessProbe probe `yaml:"readinessProbe"`
						LivenessProbe  probe `yaml:"livenessProbe"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	f, err := os.Open("../deploy/kubernetes/seshat.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	byKind := map[string]manifest{}
	headless := map[string]bool{}
	dec := yaml.NewDecoder(f)
	for {
		var m manifest
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("manifest: %v", err)
		}
		byKind[m.Kind] = m
		if m.Kind == "Service" && m.Spec.ClusterIP == "None" {
			headless[m.Metadata.Name] = true
		}
	}
	sts, pdb := byKind["StatefulSet"], byKind["PodDisruptionBudget"]
	if !headless[sts.Spec.ServiceName] {
		t.Errorf("the StatefulSet's serviceName %q is not a headless Service", sts.Spec.ServiceName)
	}
	if pdb.Spec.MaxUnavailable != 1 {
		t.Errorf("PodDisruptionBudget maxUnavailable %d, want 1 (two of three keep a quorum)", pdb.Spec.MaxUnavailable)
	}
	if len(sts.Spec.Template.Spec.Containers) != 1 || sts.Spec.Replicas != 3 {
		t.Fatalf("StatefulSet: %d containers, %d replicas; want 1 and 3", len(sts.Spec.Template.Spec.Containers), sts.Spec.Replicas)
	}
	c := sts.Spec.Template.Spec.Containers[0]
	var nodes []deployedNode
	for i := range sts.Spec.Replicas {
		env := map[string]string{}
		for _, e := range c.Env {
			env[e.Name] = e.Value
		}
		nodes = append(nodes, deployedNode{hostname: fmt.Sprintf("%s-%d", sts.Metadata.Name, i), args: c.Args, env: env})
	}
	runDeployed(t, nodes, c.ReadinessProbe.HTTPGet.Path, c.LivenessProbe.HTTPGet.Path)
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// runDeployed loads each node's settings as the file writes them, then
// starts the three and waits for both probes to pass on each.
func runDeployed(t *testing.T, nodes []deployedNode, readiness, liveness string) {
	if readiness == "" || liveness == "" {
		t.Fatalf("probes: readiness %q, liveness %q", readiness, liveness)
	}
	if len(nodes) != 3 {
		t.Fatalf("%d nodes, want 3", len(nodes))
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	type placed struct {
		cfg                     app.Config
		client, internal, admin string
	}
	var ps []placed
	loopback := map[string]string{} // the file's peer address -> a loopback one
	for i, n := range nodes {
		env := func(k string) string {
			if k == "HOSTNAME" {
				return n.hostname
			}
			return n.env[k]
		}
		cfg, err := app.LoadTo(n.args, env, io.Discard)
		if err != nil {
			t.Fatalf("%s: the file's settings do not load: %v", n.hostname, err)
		}
		if cfg.Node.ID != uint64(i+1) {
			t.Fatalf("%s: node id %d, want %d", n.hostname, cfg.Node.ID, i+1)
		}
		p := placed{cfg: cfg, client: freePort(t), internal: freePort(t), admin: freePort(t)}
		loopback[cfg.Cluster.InitialMembers[i].Addr] = p.internal
		ps = append(ps, p)
	}
	var members []string
	for _, m := range ps[0].cfg.Cluster.InitialMembers {
		members = append(members, fmt.Sprintf("%d=%s", m.ID, loopback[m.Addr]))
	}
	var procs []*proc
	for i, n := range nodes {
		p := &proc{id: i + 1, client: ps[i].client, internal: ps[i].internal, admin: ps[i].admin}
		logf, err := os.Create(filepath.Join(dir, n.hostname+".log"))
		if err != nil {
			t.Fatal(err)
		}
		args := append(slices.Clone(n.args),
			"-node.client_addr", p.client, "-node.internal_addr", p.internal, "-node.admin_addr", p.admin,
			"-node.data_dir", filepath.Join(dir, n.hostname), "-cluster.initial_members", strings.Join(members, ","))
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"HOSTNAME=" + n.hostname}
		for k, v := range n.env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		p.cmd = cmd
		procs = append(procs, p)
		t.Cleanup(func() {
			p.kill()
			_ = logf.Close()
			if t.Failed() {
				b, _ := os.ReadFile(logf.Name())
				t.Logf("--- %s ---\n%s", n.hostname, lastLines(b, 20))
			}
		})
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, p := range procs {
		for _, path := range []string{readiness, liveness} {
			for {
				code, body := p.get(path)
				if code == 200 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("node %d %s = %d %s", p.id, path, code, body)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
}

func lastLines(b []byte, n int) string {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	return string(bytes.Join(lines[max(0, len(lines)-n):], []byte("\n")))
}
