// Package tidy holds the test that keeps the simulated code deterministic.
//
// The code that runs inside the simulator (node, kv, storage, env and
// resp) must get time, randomness, the network and the disk
// only through env, must start no goroutine, and must never let Go's
// randomized map order decide what it does. This test type-checks those
// packages and fails on any use of a banned function, package or statement,
// naming the file and line.
package tidy

import (
	"go/ast"
	"go/token"
	"go/types"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
)

const module = "github.com/seshat-db/seshat"

// simulated lists the packages that run inside the simulator.
var simulated = []string{module + "/env", module + "/node", module + "/kv", module + "/storage", module + "/resp", module + "/internal/mutant", module + "/acl"}

var bannedImports = map[string]string{
	"os":               "use env.FS",
	"net":              "use env.Transport",
	"net/http":         "use env.Transport",
	"math/rand":        "use env.Rand",
	"math/rand/v2":     "use env.Rand",
	"crypto/rand":      "use env.Rand",
	"os/exec":          "no processes in simulated code",
	"syscall":          "use env",
	"runtime":          "no scheduler tricks in simulated code",
	"time/tzdata":      "count ticks",
	"testing/synctest": "not in production code",
}

var bannedTimeFuncs = map[string]bool{
	"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true, "AfterFunc": true,
	"Tick": true, "NewTimer": true, "NewTicker": true,
}

// TestSimulatedCodeIsDeterministic checks the simulated packages as built
// normally and with -tags mutants, whose planted bugs run in the simulator
// too.
func TestSimulatedCodeIsDeterministic(t *testing.T) {
	for _, tags := range [][]string{nil, {"-tags=mutants"}} {
		cfg := &packages.Config{Mode: packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo, Dir: "../..", BuildFlags: tags}
		pkgs, err := packages.Load(cfg, simulated...)
		if err != nil {
			t.Fatal(err)
		}
		if len(pkgs) != len(simulated) {
			t.Fatalf("loaded %d packages, want %d", len(pkgs), len(simulated))
		}
		for _, pkg := range pkgs {
			for _, e := range pkg.Errors {
				t.Errorf("%s %v: %v", pkg.PkgPath, tags, e)
			}
			for _, file := range pkg.Syntax {
				for _, problem := range check(pkg.Fset, pkg.TypesInfo, file) {
					t.Errorf("%s", problem)
				}
			}
		}
	}
}

// TestCheckFindsBannedCode shows each rule firing on a small example.
func TestCheckFindsBannedCode(t *testing.T) {
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo, Dir: "testdata/banned"}
	pkgs, err := packages.Load(cfg, ".")
	if err != nil {
		t.Fatal(err)
	}
	var problems []string
	for _, pkg := range pkgs {
		for _, file := range pkg.Syntax {
			problems = append(problems, check(pkg.Fset, pkg.TypesInfo, file)...)
		}
	}
	for _, want := range []string{"imports os", "calls time.Now", "calls time.Sleep", "starts a goroutine", "ranges over a map"} {
		found := false
		for _, p := range problems {
			found = found || strings.Contains(p, want)
		}
		if !found {
			t.Errorf("the check missed %q; it reported %q", want, problems)
		}
	}
}

func check(fset *token.FileSet, info *types.Info, file *ast.File) []string {
	var problems []string
	report := func(pos token.Pos, format string) {
		problems = append(problems, fset.Position(pos).String()+": "+format)
	}
	for _, imp := range file.Imports {
		path := strings.Trim(imp.Path.Value, `"`)
		if why, ok := bannedImports[path]; ok {
			report(imp.Pos(), "imports "+path+": "+why)
		}
	}
	ast.Inspect(file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			report(n.Pos(), "starts a goroutine: the host owns all concurrency")
		case *ast.SelectorExpr:
			if obj, ok := info.Uses[n.Sel]; ok && obj.Pkg() != nil && obj.Pkg().Path() == "time" {
				if _, isFunc := obj.(*types.Func); isFunc && bannedTimeFuncs[obj.Name()] {
					report(n.Pos(), "calls time."+obj.Name()+": count ticks")
				}
			}
		case *ast.RangeStmt:
			if tv, ok := info.Types[n.X]; ok {
				if _, isMap := tv.Type.Underlying().(*types.Map); isMap {
					report(n.Pos(), "ranges over a map: its order is random; range over sorted keys")
				}
			}
		}
		return true
	})
	return problems
}
