//go:build realdocker

// Package realdocker_test deploys the dev stack the way `make up` does (the
// automation package, a file backend, a passphrase) with the real docker and random
// provider plugins onto a real Docker engine, and proves on the running containers
// what mocks and fake providers cannot show: names resolve, a second up changes
// nothing, scaling drops no request, data outlives its containers, destroy leaves
// nothing behind.
//
// The images are stand-ins built from Debian packages (tests/realdocker/images):
// no registry is reachable here. `make realdocker-setup` prepares the engine, the
// plugins and the images; TestMain refuses to run without them.
package realdocker_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/moodle-cluster/moodle-pulumi/automation"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/stacks/config"
	"github.com/moodle-cluster/moodle-pulumi/stacks/config/stackfile"
	"github.com/moodle-cluster/moodle-pulumi/stacks/preflight"
	"github.com/moodle-cluster/moodle-pulumi/tests/harness/ports"
	"github.com/moodle-cluster/moodle-pulumi/tests/harness/probetree"
)

const (
	projectDir = "../.."
	// stackName keeps the tier's containers, volumes and networks (moodle-tier-*)
	// apart from a developer's own dev stack on the same engine.
	stackName  = "tier"
	prefix     = "moodle-" + stackName + "-"
	passphrase = "real-docker-tier-only"
)

// The stand-in images tests/realdocker/images/build.sh makes.
const (
	phpBase   = "moodle-test/php:8.2-fpm-bookworm"
	postgres  = "moodle-test/postgres:15-bookworm"
	redis     = "moodle-test/redis:7.0-bookworm"
	pgbouncer = "moodle-test/pgbouncer:1.18-bookworm"
	mailpit   = "moodle-test/mailpit:1-bookworm"
	// Debian 13's PHP 8.4 and PostgreSQL 17, which Moodle 5.2 and 5.3 need.
	phpBase84  = "moodle-test/php:8.4-fpm-trixie"
	postgres17 = "moodle-test/postgres:17-trixie"
	// appImage is the tag the stack builds its app image under.
	appImage = "moodle-test/app:5.1"
)

// Plugins the engine must find installed, at the versions of the pinned SDKs.
var plugins = []string{"resource-docker-v4.10.0", "resource-random-v4.21.1"}

func TestMain(m *testing.M) {
	if err := prerequisites(); err != nil {
		fmt.Fprintf(os.Stderr, "real Docker tier: %v\nrun `make realdocker-setup` (as root) first\n", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// prerequisites checks what `make realdocker-setup` provides.
func prerequisites() error {
	// The engine the stacks deploy to, asked as the program's preflight asks it.
	engine, err := preflight.NewEngine(preflight.ProviderConfig{})
	if err != nil {
		return err
	}
	defer engine.Close()
	ctx := context.Background()
	if _, err := engine.Info(ctx); err != nil {
		return fmt.Errorf("no Docker engine: %w", err)
	}
	for _, img := range []string{phpBase, postgres, redis, pgbouncer, mailpit, phpBase84, postgres17} {
		ok, err := engine.HasImage(ctx, img)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("no image %s", img)
		}
	}
	home := os.Getenv("PULUMI_HOME")
	if home == "" {
		userHome, err := os.UserHomeDir()
		if err != nil {
			return err
		}
		home = filepath.Join(userHome, ".pulumi")
	}
	for _, p := range plugins {
		if _, err := os.Stat(filepath.Join(home, "plugins", p)); err != nil {
			return fmt.Errorf("provider plugin %s is not installed in %s", p, home)
		}
	}
	if _, err := exec.LookPath("docker"); err != nil {
		return errors.New("no docker CLI on PATH")
	}
	return nil
}

// deployment is the tier's stack: its config, state folder and the events of its
// last operation.
type deployment struct {
	t testing.TB
	// name is the stack's: its containers, volumes and networks are moodle-<name>-*.
	name  string
	cfg   automation.Config
	state string
	port  int
	// mailPort is where the mail catcher's web page is published on 127.0.0.1.
	mailPort int
	stack    *automation.Stack

	mu sync.Mutex
	// onEvent, when set, sees every engine event of the running operation.
	onEvent func(events.EngineEvent)
}

// newDeployment prepares the committed dev stack for this engine: the stand-in
// images, a free port, and a build context holding the project's docker/ folder
// with the probe code tree as the site's moodle/ (moodle.build with MOODLE_CODE
// context), built on the stand-in PHP base.
func newDeployment(t *testing.T) *deployment { return newDeploymentOf(t, "5.1") }

// newDeploymentOf is newDeployment with the probe tree laid out as release lays
// out its code, and the stack deploying that release on stand-ins it accepts:
// Debian 12's PostgreSQL 15 and PHP 8.2 for 4.5 and 5.1, Debian 13's PostgreSQL 17
// and PHP 8.4 for 5.2 and 5.3.
func newDeploymentOf(t testing.TB, release string) *deployment {
	return newNamedDeployment(t, stackName, release)
}

// newNamedDeployment is newDeploymentOf for the stack called name, so a benchmark
// on the same engine keeps apart from the tier's own stack.
func newNamedDeployment(t testing.TB, name, release string) *deployment {
	t.Helper()
	cfg, err := automation.LoadConfig(filepath.Join(projectDir, "Pulumi.dev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	removeTierObjects(t, "moodle-"+name+"-")
	d := &deployment{t: t, name: name, cfg: cfg, state: t.TempDir(), port: freePort(t), mailPort: freePort(t)}
	buildContext := siteContext(t, release)
	database, databaseVersion, php := postgres, "15", phpBase
	if r, _ := topology.ReleaseOf(release); r.PostgresMin > 15 {
		database, databaseVersion, php = postgres17, "17", phpBase84
	}
	d.set(map[string]any{
		"moodle:siteUrl":              d.url(),
		"moodle:docker.httpPort":      d.port,
		"moodle:moodle.version":       release,
		"moodle:database.version":     databaseVersion,
		"moodle:cache.version":        "7.0",
		"moodle:images.app":           appImage,
		"moodle:images.database":      database,
		"moodle:images.cache":         redis,
		"moodle:images.pgbouncer":     pgbouncer,
		"moodle:images.mailCatcher":   mailpit,
		"moodle:mail.catcher.webPort": d.mailPort,
		"moodle:moodle.build.context": buildContext,
		"moodle:moodle.build.args":    map[string]any{"PHP_IMAGE": php, "MOODLE_CODE": "context"},
	})
	t.Cleanup(func() { d.destroyLeftovers() })
	return d
}

// siteContext is a build context as a site keeps one: the project's docker/ files
// and its code tree under moodle/, here the probe laid out as release's code.
func siteContext(t testing.TB, release string) string {
	t.Helper()
	dir := t.TempDir()
	run(t, "cp", "-a", filepath.Join(projectDir, "docker")+"/.", dir)
	if err := probetree.Copy(filepath.Join(dir, "moodle"), release); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// set changes the stack's config ("moodle:app.replicas" -> 5) and opens the stack
// with it, as `pulumi config set --path` and the next operation would.
func (d *deployment) set(values map[string]any) {
	d.t.Helper()
	for path, v := range values {
		if err := d.cfg.Set(path, v); err != nil {
			d.t.Fatal(err)
		}
	}
	s, err := automation.New(context.Background(), d.name,
		automation.WithProjectDir(projectDir),
		automation.WithStateDir(d.state),
		automation.WithPassphrase(passphrase),
		automation.WithConfig(d.cfg),
		automation.WithProgress(progressTo(d.t)),
		automation.WithEvents(d.event),
	)
	if err != nil {
		d.t.Fatal(err)
	}
	d.stack = s
}

func (d *deployment) event(e events.EngineEvent) {
	d.mu.Lock()
	fn := d.onEvent
	d.mu.Unlock()
	if fn != nil {
		fn(e)
	}
}

// watch makes fn see the events of the operations that follow, until unwatch.
func (d *deployment) watch(fn func(events.EngineEvent)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.onEvent = fn
}

func (d *deployment) url() string { return "http://127.0.0.1:" + strconv.Itoa(d.port) }

// spec is the topology the program builds from the deployment's config.
func (d *deployment) spec() topology.Spec {
	d.t.Helper()
	values, err := d.cfg.Values("moodle")
	if err != nil {
		d.t.Fatal(err)
	}
	s, err := config.Load(stackfile.Getter(values))
	if err != nil {
		d.t.Fatal(err)
	}
	return s
}

// up runs an update and fails the test when it fails.
func (d *deployment) up(ctx context.Context) auto.UpResult {
	d.t.Helper()
	res, err := d.stack.Up(ctx)
	if err != nil {
		d.t.Fatalf("up: %v", err)
	}
	return res
}

// changes previews an update and returns every planned step but "same", by kind.
func (d *deployment) changes() map[apitype.OpType]int {
	d.t.Helper()
	res, err := d.stack.Preview(context.Background())
	if err != nil {
		d.t.Fatalf("preview: %v", err)
	}
	out := map[apitype.OpType]int{}
	for op, n := range res.ChangeSummary {
		if op != apitype.OpSame && n > 0 {
			out[op] = n
		}
	}
	return out
}

// destroyLeftovers removes what a failed test left on the engine, so the next run
// starts clean; a passing run has destroyed everything already.
func (d *deployment) destroyLeftovers() {
	if len(dockerList(d.t, "ps", "-aq", "--filter", "name=moodle-"+d.name+"-")) == 0 {
		return
	}
	d.t.Log("destroying what the test left behind")
	if _, err := d.stack.Destroy(context.Background()); err != nil {
		d.t.Logf("destroy: %v", err)
	}
}

// removeTierObjects removes what an earlier run left on the engine without the
// state to destroy it with (a run killed by its timeout): every name under prefix
// belongs to the stack.
func removeTierObjects(t testing.TB, prefix string) {
	t.Helper()
	for _, kind := range []struct{ list, rm []string }{
		{[]string{"ps", "-aq"}, []string{"rm", "-f"}},
		{[]string{"volume", "ls", "-q"}, []string{"volume", "rm"}},
		{[]string{"network", "ls", "-q"}, []string{"network", "rm"}},
	} {
		if left := dockerList(t, append(kind.list, "--filter", "name="+prefix)...); len(left) > 0 {
			t.Logf("removing %d objects an earlier run left: %v", len(left), left)
			run(t, "docker", append(kind.rm, left...)...)
		}
	}
}

// freePort is a port nothing listens on now, outside the ephemeral range.
func freePort(t testing.TB) int { return ports.Free(t) }

// run runs a command and returns its standard output, failing the test on error.
func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, exit.Stderr)
		}
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

// dockerList runs a docker command that prints one item per line.
func dockerList(t testing.TB, args ...string) []string {
	t.Helper()
	out := run(t, "docker", args...)
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

// inspect reads one field of a container, volume or network (a Go template).
func inspect(t testing.TB, format, name string) string {
	t.Helper()
	return run(t, "docker", "inspect", "--format", format, name)
}

// progressTo is where the engine's progress goes: the test's log, shown when it
// fails or with -v; benchmarks print their whole log, so they get none.
func progressTo(t testing.TB) io.Writer {
	if _, bench := t.(*testing.B); bench {
		return io.Discard
	}
	return testWriter{t}
}

// testWriter sends the engine's progress to the test log, line by line.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		w.t.Log(line)
	}
	return len(p), nil
}

var _ io.Writer = testWriter{}

// since formats the time since start for the log.
func since(start time.Time) string { return time.Since(start).Round(100 * time.Millisecond).String() }
