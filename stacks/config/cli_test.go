package config_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/stacks/config"
	"github.com/moodle-cluster/moodle-pulumi/stacks/config/stackfile"
)

// pulumiCLI returns the Pulumi CLI the project pins: bin/pulumi, which `make
// bin/pulumi` builds from tools/pulumi/go.mod. An unpinned CLI on PATH would test
// another engine's config handling. Under CI (CI set) or make (MOODLE_TEST_PULUMI
// names the CLI) a missing or different CLI fails the test; elsewhere a missing one
// skips it.
func pulumiCLI(t *testing.T) string {
	t.Helper()
	cli, required := os.Getenv("MOODLE_TEST_PULUMI"), os.Getenv("CI") != ""
	if cli != "" {
		required = true
	} else {
		cli = filepath.Join("..", "..", "bin", "pulumi")
	}
	cli, err := filepath.Abs(cli) // the runs below work in another directory
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cli); err != nil {
		if required {
			t.Fatalf("the pinned Pulumi CLI is missing (make bin/pulumi): %v", err)
		}
		t.Skip("no bin/pulumi (make bin/pulumi builds it): the SDK-loader tests above cover the files")
	}
	out, err := exec.Command(cli, "version").Output()
	if err != nil {
		t.Fatalf("%s version: %v", cli, err)
	}
	if got, want := strings.TrimSpace(string(out)), pinnedPulumiVersion(t); got != want {
		t.Fatalf("%s is Pulumi %s, want the pinned %s (make bin/pulumi)", cli, got, want)
	}
	return cli
}

// pinnedPulumiVersion is the version of github.com/pulumi/pulumi/pkg/v3 that
// tools/pulumi/go.mod requires, from which bin/pulumi is built.
func pinnedPulumiVersion(t *testing.T) string {
	t.Helper()
	const module = "github.com/pulumi/pulumi/pkg/v3 "
	mod, err := os.ReadFile(filepath.Join("..", "..", "tools", "pulumi", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mod), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "require"))
		if version, ok := strings.CutPrefix(line, module); ok {
			return strings.Fields(version)[0]
		}
	}
	t.Fatalf("tools/pulumi/go.mod requires no %s", module)
	return ""
}

// The real CLI reads Pulumi.yaml and both stack files, applies the project's
// defaults, and the values it hands the program load into the same Spec as the
// stack file alone.
func TestPulumiCLIHandsTheProgramTheStackFileConfig(t *testing.T) {
	cli := pulumiCLI(t)
	dir := t.TempDir()
	project := filepath.Join(dir, "project")
	for _, d := range []string{project, filepath.Join(dir, "state")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{projectFile, devFile, prodFile} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(project, filepath.Base(f)), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(cli, append(args, "--non-interactive")...)
		cmd.Dir = project
		cmd.Env = append(os.Environ(),
			"PULUMI_HOME="+filepath.Join(dir, "home"),
			"PULUMI_BACKEND_URL=file://"+filepath.Join(dir, "state"),
			"PULUMI_CONFIG_PASSPHRASE=not-a-secret",
			"PULUMI_SKIP_UPDATE_CHECK=true",
		)
		out, err := cmd.Output()
		if err != nil {
			stderr := ""
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("pulumi %v: %v\n%s%s", args, err, out, stderr)
		}
		return out
	}
	for _, stack := range []string{"dev", "prod"} {
		run("stack", "init", stack)
		var listed map[string]struct {
			Value string `json:"value"`
		}
		if err := json.Unmarshal(run("config", "--json", "--stack", stack), &listed); err != nil {
			t.Fatal(err)
		}
		engine := map[string]string{}
		for key, v := range listed {
			engine[key] = v.Value
		}
		for _, key := range config.Keys() {
			if _, ok := engine[config.Namespace+":"+key]; !ok && key != "target" {
				t.Errorf("%s: the CLI does not pass moodle:%s (no default in Pulumi.yaml?)", stack, key)
			}
		}
		fromCLI, err := config.Load(stackfile.Getter(engine))
		if err != nil {
			t.Fatalf("%s: %v", stack, err)
		}
		if fromFile := loadStackFile(t, filepath.Join(project, "Pulumi."+stack+".yaml")); !reflect.DeepEqual(fromCLI, fromFile) {
			t.Errorf("%s: Spec from the CLI's config differs from the stack file's:\n%+v\n%+v", stack, fromCLI, fromFile)
		}
	}
}
