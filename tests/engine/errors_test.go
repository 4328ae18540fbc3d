//go:build engine

package engine_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/automation"
	"github.com/moodle-cluster/moodle-pulumi/stacks/config"
	"github.com/moodle-cluster/moodle-pulumi/stacks/config/stackfile"
)

// TestErrors_BadStackFileFailsBeforeTheEngineWithTheValidatorsMessage proves a bad
// stack file is reported with the program's own validator message (the one the
// config tests assert), not wrapped by the engine, and before any engine runs: no
// workspace is created.
func TestErrors_BadStackFileFailsBeforeTheEngineWithTheValidatorsMessage(t *testing.T) {
	file := filepath.Join(t.TempDir(), "Pulumi.dev.yaml")
	text := "config:\n  moodle:target: docker\n  moodle:app:\n    replicas: 0\n  moodle:storage:\n    kind: efs\n"
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := stackfile.Read(file)
	if err != nil {
		t.Fatal(err)
	}
	_, want := config.Load(stackfile.Getter(cfg))
	if want == nil {
		t.Fatal("the test's stack file should be invalid")
	}

	state := t.TempDir()
	_, err = automation.New(context.Background(), "dev", automation.WithProjectDir(projectDir),
		automation.WithStateDir(state), automation.WithPassphrase(testPassphrase), automation.WithStackFile(file))
	var stepErr *automation.Error
	if !errors.As(err, &stepErr) {
		t.Fatalf("got %v, want an *automation.Error", err)
	}
	if stepErr.Step != automation.StepCheckConfig || stepErr.Detail != want.Error() {
		t.Errorf("step %q, detail %q; want step %q and the validator's message %q", stepErr.Step, stepErr.Detail, automation.StepCheckConfig, want)
	}
	if got := err.Error(); got != "stack dev: check config: "+want.Error() || strings.Contains(got, "unhandled error") {
		t.Errorf("error text %q", got)
	}
	summary := stepErr.Summary()
	for _, part := range []string{"stack dev", "check config failed", "moodle:app.replicas = 0", "and 1 more", file} {
		if !strings.Contains(summary, part) {
			t.Errorf("summary %q does not name %q", summary, part)
		}
	}
	if entries, _ := os.ReadDir(state); len(entries) > 0 {
		t.Errorf("the state folder has %d entries: the engine's workspace was set up for an invalid config", len(entries))
	}
}

// TestErrors_FailedUpPrintsTheLogOnceAndEndsWithOneLine proves the engine's log of
// a failed up reaches the progress writer once, and that the error itself is one
// line naming the stack, the step and the program's error, not the log again.
func TestErrors_FailedUpPrintsTheLogOnceAndEndsWithOneLine(t *testing.T) {
	const cause = "the database endpoint is not ready on purpose"
	failing := func(ctx *pulumi.Context) error {
		if _, err := random.NewRandomPassword(ctx, "db-password", &random.RandomPasswordArgs{Length: pulumi.Int(16)}); err != nil {
			return err
		}
		return errors.New(cause)
	}
	r := newRig(t)
	var progress bytes.Buffer
	s := r.stack(t, "dev", dockerTarget(), automation.WithProgram(failing), automation.WithProgress(&progress))
	_, err := s.Up(context.Background())
	var stepErr *automation.Error
	if !errors.As(err, &stepErr) {
		t.Fatalf("got %v, want an *automation.Error", err)
	}
	if n := strings.Count(progress.String(), cause); n != 1 {
		t.Errorf("the log shows the cause %d times, want once:\n%s", n, progress.String())
	}
	if text := err.Error(); strings.Contains(text, "\n") || text != "stack dev: up: "+cause {
		t.Errorf("error text %q, want one line: stack dev: up: %s", text, cause)
	}
	if got := stepErr.Summary(); strings.Contains(got, "\n") || !strings.HasPrefix(got, "stack dev: up failed: "+cause+"; ") ||
		!strings.Contains(got, "moodlectl up --stack dev") {
		t.Errorf("summary %q", got)
	}
}

// Where no Docker daemon answers the program's preflight, a preview (a pull request
// check on a runner without Docker) warns and shows the plan, and an `up` refuses
// before anything is created.
func TestErrors_NoDockerDaemonWarnsInPreviewAndRefusesUp(t *testing.T) {
	ctx := context.Background()
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-daemon.sock"))
	r := newRig(t)
	var out bytes.Buffer
	open := func() *automation.Stack {
		return r.stack(t, "dev", nil, automation.WithDockerHost(nil), automation.WithProgress(&out))
	}
	pre, err := open().Preview(ctx)
	if err != nil {
		t.Fatalf("preview without a daemon: %v", err)
	}
	if pre.ChangeSummary["create"] == 0 {
		t.Errorf("preview planned %v, want the stack's creates", pre.ChangeSummary)
	}
	if !strings.Contains(out.String(), "the Docker host does not answer") {
		t.Errorf("preview did not warn that no daemon answered:\n%s", out.String())
	}
	r.fakes.ResetRequests()
	_, err = open().Up(ctx)
	if err == nil || !strings.Contains(err.Error(), "the Docker host does not answer") {
		t.Fatalf("up without a daemon: got %v, want the preflight's refusal", err)
	}
	for _, req := range r.fakes.Requests() {
		if req.Method == "Create" {
			t.Errorf("up created %s before refusing", req.URN)
		}
	}
}
