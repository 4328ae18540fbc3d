//go:build engine

// Package engine_test drives the real Pulumi engine (the pulumi CLI from bin/ or
// PATH) over the program through the automation package, with in-process fake
// providers standing in for the aws, docker and random plugins.
package engine_test

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/moodle-cluster/moodle-pulumi/automation"
	"github.com/moodle-cluster/moodle-pulumi/stacks/preflight"
	"github.com/moodle-cluster/moodle-pulumi/tests/fakes/fakeprovider"
)

// testPassphrase encrypts the secrets of the throw-away test stacks.
const testPassphrase = "engine-tests-only"

const projectDir = "../.."

// daemon is the Docker daemon behind the docker fake: configured as many hosts are,
// with log options and default ulimits in its daemon.json, on a kernel that cannot
// limit swap. Each adds to what the provider reads back of every container.
var daemon = fakeprovider.Daemon{
	LogDriver:   "json-file",
	LogOpts:     map[string]string{"compress": "true", "max-size": "50m", "labels": "com.example.team"},
	Ulimits:     map[string][2]int{"nofile": {65536, 65536}},
	NoSwapLimit: true,
}

// rig is one isolated deployment target: its own fakes and state folder.
type rig struct {
	fakes *fakeprovider.Fakes
	state string
	steps *stepLog
}

// newRig starts the fakes, with opts beside the standard daemon.
func newRig(t testing.TB, opts ...fakeprovider.Option) *rig {
	t.Helper()
	fakes, err := fakeprovider.Start(append([]fakeprovider.Option{fakeprovider.WithDaemon(daemon)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A type served by its package's default guesses its replacement rules and
		// outputs: what the test then proves about it is the guess.
		if u := fakes.Untabled(); len(u) > 0 {
			t.Errorf("resource types the fakes served without a table of their own (add them to tests/fakes/fakeprovider): %s",
				strings.Join(u, ", "))
		}
		fakes.Close()
	})
	return &rig{fakes: fakes, state: t.TempDir(), steps: &stepLog{}}
}

// stack opens the named stack on this rig with cfg (nil: the committed stack file).
func (r *rig) stack(t testing.TB, name string, cfg automation.Config, extra ...automation.Option) *automation.Stack {
	t.Helper()
	opts := []automation.Option{
		automation.WithProjectDir(projectDir),
		automation.WithStateDir(r.state),
		automation.WithPassphrase(testPassphrase),
		automation.WithEnv(map[string]string{"PULUMI_DEBUG_PROVIDERS": r.fakes.DebugProviders()}),
		// The docker fake has no engine behind it: the preflight asks a host that
		// fits every committed stack and holds every image, and that cannot limit
		// swap, as the daemon behind the fake.
		automation.WithDockerHost(preflight.StaticHost{Capacity: preflight.Capacity{CPUs: 64, MemoryBytes: 256 << 30, SwapLimit: !daemon.NoSwapLimit}}),
		automation.WithProgress(progressTo(t)),
		automation.WithEvents(r.steps.record),
	}
	if cfg != nil {
		opts = append(opts, automation.WithConfig(cfg))
	}
	s, err := automation.New(context.Background(), name, append(opts, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// pulumi runs the pulumi CLI as an operator would on the rig's state, in the
// workspace the automation package keeps beside it.
func (r *rig) pulumi(t *testing.T, args ...string) {
	t.Helper()
	cli, err := filepath.Abs(filepath.Join(projectDir, "bin", "pulumi"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cli); err != nil {
		if cli, err = exec.LookPath("pulumi"); err != nil {
			t.Fatal("no pulumi CLI in bin/ nor on PATH")
		}
	}
	cmd := exec.Command(cli, append(args, "--non-interactive")...)
	cmd.Dir = filepath.Join(r.state, "workspace")
	cmd.Env = append(os.Environ(), "PULUMI_CONFIG_PASSPHRASE="+testPassphrase, "PULUMI_SKIP_UPDATE_CHECK=true")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pulumi %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// statePath is the raw checkpoint the file backend writes for a stack.
func (r *rig) statePath(stack string) string {
	return filepath.Join(r.state, ".pulumi", "stacks", "moodle", stack+".json")
}

// checkpoint reads the raw state file: Stack.Export would decrypt the secrets.
func (r *rig) checkpoint(t *testing.T, stack string) (raw []byte, resources []apitype.ResourceV3) {
	t.Helper()
	raw, err := os.ReadFile(r.statePath(stack))
	if err != nil {
		t.Fatalf("read state: %v", err)
	}
	var cp apitype.VersionedCheckpoint
	if err := json.Unmarshal(raw, &cp); err != nil {
		t.Fatalf("parse state: %v", err)
	}
	var v3 apitype.CheckpointV3
	if err := json.Unmarshal(cp.Checkpoint, &v3); err != nil {
		t.Fatalf("parse checkpoint: %v", err)
	}
	if v3.Latest != nil {
		resources = v3.Latest.Resources
	}
	return raw, resources
}

// step is one resource step the engine announced.
type step struct {
	Op   apitype.OpType
	URN  string
	Type string
	Keys []string // the properties whose change caused a replacement
}

// Name is the resource's logical name (the URN's last part).
func (s step) Name() string { return s.URN[strings.LastIndex(s.URN, "::")+2:] }

// stepLog keeps the resource steps of the current operation.
type stepLog struct {
	mu    sync.Mutex
	steps []step
}

func (l *stepLog) record(e events.EngineEvent) {
	if e.ResourcePreEvent == nil {
		return
	}
	m := e.ResourcePreEvent.Metadata
	l.mu.Lock()
	defer l.mu.Unlock()
	l.steps = append(l.steps, step{Op: m.Op, URN: m.URN, Type: m.Type, Keys: m.Keys})
}

// take returns the steps recorded since the last take.
func (l *stepLog) take() []step {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.steps
	l.steps = nil
	return s
}

// committedConfig reads Pulumi.<stack>.yaml as the automation package does.
func committedConfig(t testing.TB, stack string) automation.Config {
	t.Helper()
	cfg, err := automation.LoadConfig(filepath.Join(projectDir, "Pulumi."+stack+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// committedConfigWith is committedConfig with edits ("moodle:mail.ses" -> true;
// nil deletes the value).
func committedConfigWith(t testing.TB, stack string, edits map[string]any) automation.Config {
	t.Helper()
	cfg := committedConfig(t, stack)
	for key, value := range edits {
		if err := cfg.Set(key, value); err != nil {
			t.Fatal(err)
		}
	}
	return cfg
}

// copiedBuildContext is a copy of the project's docker/ folder, for a test to edit.
func copiedBuildContext(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(projectDir, "docker"))); err != nil {
		t.Fatal(err)
	}
	return dir
}

// editBuildContext appends a comment to the context's entrypoint.sh, a file the
// Dockerfile copies: the image's content changes.
func editBuildContext(t testing.TB, dir string) {
	t.Helper()
	entrypoint := filepath.Join(dir, "entrypoint.sh")
	raw, err := os.ReadFile(entrypoint)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(entrypoint, append(raw, "# edited\n"...), 0o755); err != nil {
		t.Fatal(err)
	}
}

// progressTo sends engine progress to a test's log, shown on failure or with -v;
// benchmarks print their logs, so they get none.
func progressTo(t testing.TB) io.Writer {
	if _, bench := t.(*testing.B); bench {
		return io.Discard
	}
	return logWriter{t}
}

type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
