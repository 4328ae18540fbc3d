package stack_test

import (
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var updateIdentities = flag.Bool("update-identities", false,
	"rewrite testdata/identities/*.txt with what the program registers now")

// A resource's identity in a stack's state is its URN: the type tokens of its
// component parents, its own type and its name. Renaming a component's token, a
// resource or moving it to another parent makes the next `up` delete what the
// state holds and create it anew: for a database or a file system, its data. The
// committed stacks' identities are listed under testdata/identities; a change to
// them fails here until the resource that moved carries pulumi.Aliases naming its
// old identity (the engine then updates it in place) and the list is rewritten
// with -update-identities.
func TestResourceIdentitiesAreKept(t *testing.T) {
	cases := []struct {
		file, stack string
		edits       map[string]any
	}{
		{"dev", "dev", nil},
		{"dev-pgbouncer", "dev", pgbouncerEdits},
		{"prod", "prod", nil},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			got := identities(mustRun(t, c.stack, c.edits), c.stack)
			path := filepath.Join("testdata", "identities", c.file+".txt")
			if *updateIdentities {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test ./tests/stack -run Identities -update-identities writes it)", err)
			}
			want := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
			gone, added := difference(want, got), difference(got, want)
			if len(gone) > 0 {
				t.Errorf("the next up on a %s stack deletes (or replaces) what these URNs hold in its state:\n  %s\n"+
					"if one moved, give it pulumi.Aliases with its old name, type or parent; then rewrite %s with -update-identities",
					c.stack, strings.Join(gone, "\n  "), path)
			}
			if len(added) > 0 {
				t.Errorf("new URNs, not yet in %s (rewrite it with -update-identities):\n  %s", path, strings.Join(added, "\n  "))
			}
		})
	}
}

// identities are the URNs of the resources r registered, sorted, as the engine
// forms them (pulumi/sdk go/common/resource/urn.go NewURN: the parent's qualified
// type, "$", the resource's type, "::", its name).
func identities(r *recorder, stack string) []string {
	var urns []string
	for _, res := range r.resources {
		qualified := res.Type
		if res.Parent != "" {
			// The parent URN's type part is everything between the project and the
			// name: urn:pulumi:<stack>::<project>::<qualified type>::<name>.
			parts := strings.Split(res.Parent, "::")
			if len(parts) >= 4 && parts[2] != "pulumi:pulumi:Stack" {
				qualified = parts[2] + "$" + res.Type
			}
		}
		urns = append(urns, "urn:pulumi:"+stack+"::moodle::"+qualified+"::"+res.Name)
	}
	sort.Strings(urns)
	return urns
}

// difference lists what a holds and b does not.
func difference(a, b []string) []string {
	in := make(map[string]bool, len(b))
	for _, s := range b {
		in[s] = true
	}
	var out []string
	for _, s := range a {
		if !in[s] {
			out = append(out, s)
		}
	}
	return out
}
