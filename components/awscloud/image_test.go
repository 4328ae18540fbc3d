package awscloud

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// The tag names the content: what the build reads changes it, what
// .dockerignore keeps out of the context does not (so editing a README pushes
// nothing), nor does the folder the tree sits in.
func TestImageTagChangesWithWhatTheBuildReadsOnly(t *testing.T) {
	tree := func(t *testing.T, edit func(dir string)) topology.Spec {
		dir := t.TempDir()
		for name, text := range map[string]string{
			"Dockerfile":    "FROM php\nCOPY entrypoint.sh /\n",
			"entrypoint.sh": "#!/bin/sh\n",
			"README.md":     "notes\n",
			".dockerignore": "*\n!Dockerfile\n!entrypoint.sh\n!moodle\n",
			"moodle/a.php":  "<?php\n",
		} {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if edit != nil {
			edit(dir)
		}
		s := topology.Spec{Moodle: topology.Moodle{Version: "5.3", Build: topology.Build{Context: dir, Dockerfile: "Dockerfile"}}}
		s.App.CPUArchitecture = topology.ArchX86
		return s
	}
	write := func(name, text string) func(string) {
		return func(dir string) {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	tagOf := func(t *testing.T, s topology.Spec) string {
		tag, err := ImageTag(s)
		if err != nil {
			t.Fatal(err)
		}
		return tag
	}
	base := tagOf(t, tree(t, nil))
	for _, tc := range []struct {
		name    string
		spec    func(t *testing.T) topology.Spec
		changes bool
	}{
		{"the same tree elsewhere", func(t *testing.T) topology.Spec { return tree(t, nil) }, false},
		{"an ignored file edited", func(t *testing.T) topology.Spec { return tree(t, write("README.md", "other notes\n")) }, false},
		{"a copied script edited", func(t *testing.T) topology.Spec { return tree(t, write("entrypoint.sh", "#!/bin/sh\nexit 1\n")) }, true},
		{"the Dockerfile edited", func(t *testing.T) topology.Spec { return tree(t, write("Dockerfile", "FROM php:8.3\n")) }, true},
		{"a file of the code tree edited", func(t *testing.T) topology.Spec { return tree(t, write("moodle/a.php", "<?php echo 1;\n")) }, true},
		{"another architecture", func(t *testing.T) topology.Spec {
			s := tree(t, nil)
			s.App.CPUArchitecture = topology.ArchARM64
			return s
		}, true},
		{"another build argument", func(t *testing.T) topology.Spec {
			s := tree(t, nil)
			s.Moodle.Build.Args = map[string]string{"DATABASE_CA_SHA256": "ab"}
			return s
		}, true},
		{"a plugin more", func(t *testing.T) topology.Spec {
			s := tree(t, nil)
			s.Moodle.Plugins = []topology.Plugin{{Component: "tool_x", Version: "1", Source: "https://example.org/x.zip", SHA256: "ab"}}
			return s
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tagOf(t, tc.spec(t)); (got != base) != tc.changes {
				t.Errorf("tag %s against %s: changed %v, want %v", got, base, got != base, tc.changes)
			}
		})
	}
}
