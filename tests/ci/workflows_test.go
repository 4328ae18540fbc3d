// Package ci_test checks that every place the project is tested runs the same tiers:
// .ci/run, and the GitHub workflows that gate pull requests and prod deploys, all run
// `make test`, and nothing is previewed or deployed before it passed.
package ci_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const root = "../.."

// makeTest matches a shell line that runs the Makefile's test target.
var makeTest = regexp.MustCompile(`(^|\s|;|&&)make\s+test(\s|$)`)

type workflow struct {
	Jobs map[string]struct {
		Needs yaml.Node `yaml:"needs"`
		Steps []struct {
			Run string `yaml:"run"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

func TestCIRunsMakeTest(t *testing.T) {
	script, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	if !runsMakeTest(string(script)) {
		t.Errorf(".ci/run does not run make test:\n%s", script)
	}
}

// Every workflow gates on a job that runs `make test`, and every other job of it
// waits for that job: the tiers CI runs gate pull requests and prod deploys alike.
func TestWorkflowsRunMakeTestBeforeAnythingElse(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(root, ".github", "workflows", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no workflows: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var w workflow
			if err := yaml.Unmarshal(raw, &w); err != nil {
				t.Fatal(err)
			}
			var testJobs []string
			for name, job := range w.Jobs {
				for _, step := range job.Steps {
					if runsMakeTest(step.Run) {
						testJobs = append(testJobs, name)
					}
				}
			}
			if len(testJobs) != 1 {
				t.Fatalf("jobs running make test: %v, want exactly one", testJobs)
			}
			for name, job := range w.Jobs {
				if name == testJobs[0] {
					continue
				}
				if needs := needsOf(job.Needs); !slices.Contains(needs, testJobs[0]) {
					t.Errorf("job %s does not wait for %s (needs %v)", name, testJobs[0], needs)
				}
			}
		})
	}
}

func runsMakeTest(script string) bool {
	for _, line := range strings.Split(script, "\n") {
		if line = strings.TrimSpace(line); !strings.HasPrefix(line, "#") && makeTest.MatchString(line) {
			return true
		}
	}
	return false
}

// needsOf reads a job's needs, a name or a list of names.
func needsOf(n yaml.Node) []string {
	switch n.Kind {
	case yaml.ScalarNode:
		return []string{n.Value}
	case yaml.SequenceNode:
		var out []string
		for _, c := range n.Content {
			out = append(out, c.Value)
		}
		return out
	}
	return nil
}
