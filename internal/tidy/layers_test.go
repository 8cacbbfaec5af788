package tidy

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
)

// layers ranks every package of the module, bottom first. A package may
// import only packages of a lower layer, so the folder list reads as the
// architecture: leaves at the bottom, the binaries and the simulator on
// top. A new package must be given a layer here.
var layers = map[string]int{
	"internal/assert":       0,
	"internal/walfault":     0, // damages WAL files, for tests
	"internal/faultproxy":   0, // a TCP proxy that cuts links, for tests of real processes
	"internal/ports":        0, // free loopback ports below the ephemeral range, for harnesses that start servers
	"internal/testpki":      0, // certificate authorities and certificates made in tests
	"internal/mutant":       0, // planted bugs, switched on only with -tags mutants
	"internal/localcluster": 1, // a local 3-node cluster of seshat-node processes, for the bench and the soak
	"acl":                   0, // ACL users, rules and permissions: pure, below kv (which applies them) and resp (which enforces them)
	"kv":                    1, // the state machine: pure
	"env":                   1, // the seam to the world
	"storage":               2, // Pebble behind env.FS
	"env/envtest":           2, // env's test doubles, for node's tests and the simulator
	"resp":                  2, // RESP codec, commands, connection state machine
	"node":                  3, // one replica: raft + storage + requests
	"realenv":               4, // the production world: clock, TCP, host goroutine
	"server":                4, // real sockets into resp
	"chaos":                 4, // scenarios against an abstract cluster
	"chaos/kvmodel":         4, // the porcupine model and reply outcomes, shared by sim and chaos/realcluster
	"app":                   5, // the binary's assembly: config, metrics, admin HTTP
	"sim":                   5, // the simulated world, which runs the chaos scenarios
	"chaos/realcluster":     5, // the chaos scenarios against real seshat-node processes
	"cmd":                   6, // binaries
	"e2e":                   7, // tests of the binaries
	"internal/tidy":         7, // tests of the tree
}

// layerOf returns the layer of a module package: its own entry, or that of
// the nearest folder above it that has one (cmd/seshat-node is in cmd's).
func layerOf(rel string) (int, bool) {
	for p := rel; p != "."; {
		if l, ok := layers[p]; ok {
			return l, true
		}
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0, false
}

// upward returns each import of pkgs that does not point down, as
// "importer (layer a) imports imported (layer b)".
func upward(pkgs map[string][]string) []string {
	var problems []string
	names := make([]string, 0, len(pkgs))
	for name := range pkgs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		from, ok := layerOf(name)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s has no layer: give it one in layers_test.go", name))
			continue
		}
		for _, imp := range pkgs[name] {
			to, ok := layerOf(imp)
			if ok && to >= from {
				problems = append(problems, fmt.Sprintf("%s (layer %d) imports %s (layer %d): imports must point down", name, from, imp, to))
			}
		}
	}
	return problems
}

func TestImportsPointDown(t *testing.T) {
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedImports, Dir: "../.."}
	loaded, err := packages.Load(cfg, module+"/...")
	if err != nil {
		t.Fatal(err)
	}
	pkgs := map[string][]string{}
	for _, p := range loaded {
		rel, ok := strings.CutPrefix(p.PkgPath, module+"/")
		if !ok || strings.Contains(rel, "/testdata/") {
			continue
		}
		for imp := range p.Imports {
			if r, ok := strings.CutPrefix(imp, module+"/"); ok {
				pkgs[rel] = append(pkgs[rel], r)
			}
		}
		if _, ok := pkgs[rel]; !ok {
			pkgs[rel] = nil
		}
	}
	if len(pkgs) < 10 {
		t.Fatalf("found only %d module packages: the loader is not looking at the module", len(pkgs))
	}
	for _, problem := range upward(pkgs) {
		t.Error(problem)
	}
}

// TestUpwardImportIsReported shows the rule firing.
func TestUpwardImportIsReported(t *testing.T) {
	got := upward(map[string][]string{
		"node":           {"storage", "kv"},
		"storage":        {"node"},
		"kv":             nil,
		"cmd/seshat-foo": {"app"},
		"newpkg":         nil,
	})
	want := []string{
		"newpkg has no layer: give it one in layers_test.go",
		"storage (layer 2) imports node (layer 3): imports must point down",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
