package config_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/stacks/config"
	"github.com/moodle-cluster/moodle-pulumi/stacks/config/stackfile"
)

// pulumiCLI finds the CLI on PATH or the one `make` builds into bin/.
func pulumiCLI(t *testing.T) string {
	t.Helper()
	if path, err := exec.LookPath("pulumi"); err == nil {
		return path
	}
	if path, err := filepath.Abs("../../bin/pulumi"); err == nil {
		if _, err := os.Stat(path); err == nil {
			return path
		}
	}
	t.Skip("no pulumi CLI on PATH or in bin/: the SDK-loader tests above cover the files")
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
