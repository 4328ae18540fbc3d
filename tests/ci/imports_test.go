package ci

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// module is this repository's module path.
const module = "github.com/moodle-cluster/moodle-pulumi"

// layers are the parts of the tree, from the top (what an operator runs) to the
// bottom (the model), as docs/architecture.md draws them. A package's layer is
// the first holding its path (relative to the module) or a folder above it.
var layers = []struct {
	name     string
	prefixes []string
}{
	{"tests and examples", []string{"tests", "examples"}},
	{"tools", []string{"cmd", "tools"}},
	{"automation", []string{"automation"}},
	{"program", []string{".", "stacks"}},
	{"components", []string{"components"}},
}

// A package imports its own layer or the layers below it, never one above: the
// program imports no tool and no test harness, the components no stack wiring,
// and only tests import the fakes and harnesses. Test files are not part of what
// they test and may import any layer (the renderers' golden tests read the
// committed stack files through stacks/config). Every build tag the suites use is
// read, so a tagged file cannot hide an import.
func TestNoImportClimbsUpTheLayers(t *testing.T) {
	for _, p := range listPackages(t) {
		from := layerOf(p.ImportPath)
		if from < 0 {
			t.Errorf("%s belongs to no layer of docs/architecture.md: add it to the table", p.ImportPath)
			continue
		}
		for _, imp := range p.Imports {
			if to := layerOf(imp); to >= 0 && to < from {
				t.Errorf("%s (%s) imports %s (%s), a layer above it", rel(p.ImportPath), layers[from].name, rel(imp), layers[to].name)
			}
		}
	}
}

// The components are pure descriptions of resources and the model beneath them is
// plain Go: the model and the renderers import no Pulumi SDK and no engine client.
func TestModelAndRenderersImportNoSDK(t *testing.T) {
	pure := []string{"components/topology", "components/render", "components/appimage"}
	for _, p := range listPackages(t) {
		if !slices.Contains(pure, rel(p.ImportPath)) {
			continue
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, "github.com/pulumi/") || strings.HasPrefix(imp, "github.com/docker/") {
				t.Errorf("%s imports %s", rel(p.ImportPath), imp)
			}
		}
	}
}

type listedPackage struct {
	ImportPath string
	Imports    []string
}

// listPackages asks the go command for every package of the module with every
// build tag the suites use.
func listPackages(t *testing.T) []listedPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports",
		"-tags", "integration docker realdocker engine", module+"/...")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(out)
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages; the module has more", len(pkgs))
	}
	return pkgs
}

// layerOf is the index in layers of the module's package importPath, -1 for a
// package of another module.
func layerOf(importPath string) int {
	if importPath != module && !strings.HasPrefix(importPath, module+"/") {
		return -1
	}
	r := rel(importPath)
	for i, l := range layers {
		for _, prefix := range l.prefixes {
			if r == prefix || strings.HasPrefix(r, prefix+"/") {
				return i
			}
		}
	}
	return -1
}

// rel is importPath relative to the module, "." for the module's root package.
func rel(importPath string) string {
	if importPath == module {
		return "."
	}
	return strings.TrimPrefix(importPath, module+"/")
}
