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
		Needs           yaml.Node `yaml:"needs"`
		ContinueOnError yaml.Node `yaml:"continue-on-error"`
		Steps           []struct {
			Run             string    `yaml:"run"`
			ContinueOnError yaml.Node `yaml:"continue-on-error"`
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
	if forgiving(string(script)) || !regexp.MustCompile(`(?m)^set -[a-z]*e`).Match(script) {
		t.Errorf(".ci/run must stop at the first failure (set -e) and never forgive make test:\n%s", script)
	}
}

// forgiving reports a script whose `make test` cannot fail it: `||` after it, a
// command after it on the line (`; true`), make's -i/-k (--ignore-errors,
// --keep-going), or `set +e` before it.
func forgiving(script string) bool {
	ignored := false
	for _, line := range strings.Split(script, "\n") {
		fields := strings.Fields(strings.ReplaceAll(line, ";", " ; "))
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if len(fields) >= 2 && fields[0] == "set" && strings.HasPrefix(fields[1], "+") && strings.Contains(fields[1], "e") {
			ignored = true
		}
		for i, f := range fields {
			if f != "make" {
				continue
			}
			flags, test, rest := []string{}, false, fields[i+1:]
			for j, a := range rest {
				if a == "||" || a == "&&" || a == "|" || a == ";" {
					// The line's status is then another command's.
					if test && (a == "||" || a == "|" || a == ";" && j+1 < len(rest)) {
						return true
					}
					break
				}
				switch {
				case a == "test":
					test = true
				case strings.HasPrefix(a, "-"):
					flags = append(flags, a)
				}
			}
			if !test {
				continue
			}
			if ignored {
				return true
			}
			for _, f := range flags {
				if f == "--keep-going" || f == "--ignore-errors" || !strings.HasPrefix(f, "--") && strings.ContainsAny(f, "ik") {
					return true
				}
			}
		}
	}
	return false
}

// testTiers are the Makefile targets that run a test suite: their recipe calls
// $(GO_TEST) or actionlint.
func testTiers(makefile string) []string {
	var tiers []string
	target := ""
	for _, line := range strings.Split(makefile, "\n") {
		if m := regexp.MustCompile(`^([a-z][a-z0-9-]*):`).FindStringSubmatch(line); m != nil {
			target = m[1]
			continue
		}
		if strings.HasPrefix(line, "\t") && (strings.Contains(line, "$(GO_TEST)") || strings.Contains(line, "actionlint .github") || strings.Contains(line, "staticcheck ./...")) {
			if !slices.Contains(tiers, target) {
				tiers = append(tiers, target)
			}
		}
	}
	return tiers
}

// `make test` is every tier: a target that runs tests and is not among test's
// prerequisites is a tier CI silently stopped running.
func TestMakeTestRunsEveryTier(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^test:([^#\n]*)`).FindStringSubmatch(string(raw))
	if m == nil {
		t.Fatal("the Makefile has no test target")
	}
	prereqs := strings.Fields(m[1])
	tiers := testTiers(string(raw))
	for _, want := range []string{"lint", "unit", "integration", "engine", "dockerapi", "realdocker", "workflows"} {
		if !slices.Contains(tiers, want) {
			t.Errorf("the scan found no tier %s in the Makefile (found %v)", want, tiers)
		}
	}
	for _, tier := range tiers {
		if tier != "bench" && !slices.Contains(prereqs, tier) {
			t.Errorf("make test does not run the %s tier (test: %s)", tier, strings.Join(prereqs, " "))
		}
	}
}

func TestForgivingScriptsAreRecognised(t *testing.T) {
	for script, want := range map[string]bool{
		"set -e\nmake test\n":              false,
		"make test || true\n":              true,
		"make test || echo failed\n":       true,
		"make -k test\n":                   true,
		"make test -i\n":                   true,
		"set +e\nmake test\n":              true,
		"make test; true\n":                true,
		"# make test || true\nmake test\n": false,
	} {
		if got := forgiving(script); got != want {
			t.Errorf("forgiving(%q) = %v, want %v", script, got, want)
		}
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
			// A failure of the tests fails the workflow: nothing lets it pass.
			job := w.Jobs[testJobs[0]]
			if !job.ContinueOnError.IsZero() {
				t.Errorf("job %s sets continue-on-error: %s", testJobs[0], job.ContinueOnError.Value)
			}
			for _, step := range job.Steps {
				if !step.ContinueOnError.IsZero() {
					t.Errorf("a step of job %s sets continue-on-error: %q", testJobs[0], step.Run)
				}
				if forgiving(step.Run) {
					t.Errorf("job %s forgives a failed make test: %q", testJobs[0], step.Run)
				}
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

// The workflows' tests run in a privileged Debian container with a Docker engine of
// its own, started by scripts/start-dockerd.sh: on GitHub's cgroup v2 runners that
// engine sets CPU and memory limits only after the cgroup nesting step of Docker's
// docker-in-docker entry point (moby hack/dind), which the script must keep.
func TestWorkflowsStartTheirDockerEngineTheWayDockerInDockerDoes(t *testing.T) {
	script, err := os.ReadFile(filepath.Join(root, "scripts", "start-dockerd.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{"/.dockerenv", "/sys/fs/cgroup/init/cgroup.procs", "> /sys/fs/cgroup/cgroup.subtree_control", "<" + "/sys/fs/cgroup/cgroup.controllers"} {
		if !strings.Contains(strings.ReplaceAll(string(script), ">/", "> /"), step) {
			t.Errorf("scripts/start-dockerd.sh lacks the nesting step's %q", step)
		}
	}
	files, _ := filepath.Glob(filepath.Join(root, ".github", "workflows", "*.yml"))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var w struct {
			Jobs map[string]struct {
				Container struct {
					Options string `yaml:"options"`
				} `yaml:"container"`
				Steps []struct {
					Run string `yaml:"run"`
				} `yaml:"steps"`
			} `yaml:"jobs"`
		}
		if err := yaml.Unmarshal(raw, &w); err != nil {
			t.Fatal(err)
		}
		for name, job := range w.Jobs {
			if slices.ContainsFunc(job.Steps, func(s struct {
				Run string `yaml:"run"`
			}) bool {
				return runsMakeTest(s.Run)
			}) && !strings.Contains(job.Container.Options, "--privileged") {
				t.Errorf("%s: job %s runs make test outside a privileged container (options %q)", filepath.Base(f), name, job.Container.Options)
			}
		}
	}
}
