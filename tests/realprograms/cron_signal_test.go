//go:build integration

package realprograms

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/tests/harness/loopback"
)

// TestCronStopsCleanlyOnSIGTERM stops the cron runner the way `docker stop` and ECS
// do, with SIGTERM to the runner alone, while cron.php runs a task holding its lock
// row the way Moodle's record lock factory does. The whole path is the real one: the
// rendered runner, timeout(1), Debian's PHP CLI (which has pcntl, as the app image
// does) and the probe's cron.php, which installs its signal handlers the way
// core_shutdown_manager does (only with pcntl) and stops the way Moodle's cron does
// (graceful on the first SIGTERM, at once on the second, running the shutdown
// functions that release the locks).
//
// The last case is the image without pcntl's signal functions: PHP dies on the first
// SIGTERM without running any shutdown function, and the lock row stays behind,
// blocking its task until it expires. It shows what the other cases would see
// without the handler.
func TestCronStopsCleanlyOnSIGTERM(t *testing.T) {
	if out, err := loopback.Run(loopback.Account{}, nil, loopback.PHPBin, "-r", "echo extension_loaded('pcntl') ? 'yes' : 'no';"); err != nil || out != "yes" {
		t.Fatalf("Debian's PHP CLI has no pcntl (%v): %s", err, out)
	}
	sites := newCLISites(t)

	cases := []struct {
		name string
		// task is what the probe's cron.php runs: "graceful" ends when asked to,
		// "stubborn" never looks.
		task string
		// disable lists PHP functions taken away, as in an image without pcntl.
		disable string
		// released is how the lock came free, or "" when it stays held.
		released string
	}{
		{"a task that ends when asked releases its lock itself", "graceful", "", "the task"},
		{"a task that does not end is stopped by the second SIGTERM, whose shutdown handler releases its lock",
			"stubborn", "", "the shutdown handler"},
		{"without pcntl's signal functions PHP dies on SIGTERM and the lock stays held",
			"graceful", "pcntl_signal,pcntl_async_signals", ""},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, dir := sites.site(t, fmt.Sprintf("cron%d", i), sites.base)
			writeFile(t, filepath.Join(s.Paths.DataRoot, "probe-cron-task"), c.task+"\n")
			runner := writeFile(t, filepath.Join(dir, "cron-runner.sh"), render.CronRunner(s))
			php := loopback.PHPBin
			if c.disable != "" {
				php = writeFile(t, filepath.Join(dir, "php-without-pcntl"),
					"#!/bin/sh\nexec "+loopback.PHPBin+" -d disable_functions="+c.disable+` "$@"`+"\n")
				if err := os.Chmod(php, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			sites.as.Own(t, s.Paths.DataRoot, dir)
			cron := sites.start(t, s, dir, "cron", runner, php)
			started := filepath.Join(s.Paths.DataRoot, "probe-cron-task.started")
			cron.WaitFor(t, 30*time.Second, "the task to start", func() error {
				_, err := os.Stat(started)
				return err
			})

			// docker stop: SIGTERM to the container's main process, the runner.
			if err := syscall.Kill(cron.Pid(), syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case <-cron.Done():
			case <-time.After(2 * time.Minute):
				t.Fatalf("the runner did not stop:\n%s", cron.Log())
			}
			if code := cron.ExitCode(); code != 0 || !strings.Contains(cron.Log(), "cron-runner: stopped") {
				t.Errorf("the runner exited %d, want 0 after logging that it stopped:\n%s", code, cron.Log())
			}

			owner, err := sites.pg.SQL(`\c ` + s.Database.Name + "\nSELECT coalesce(owner, 'free') FROM mdl_lock_db;")
			if err != nil {
				t.Fatal(err)
			}
			releases := lines(filepath.Join(s.Paths.DataRoot, "probe-cron-locks.log"))
			switch {
			case c.released == "" && (owner == "free" || len(releases) > 0):
				t.Errorf("the lock came free (%s, %q): the case does not show what a missing handler leaves behind", owner, releases)
			case c.released != "" && owner != "free":
				t.Errorf("the task's lock row is still owned by %s after the stop:\n%s", owner, cron.Log())
			case c.released != "" && (len(releases) != 1 || !strings.HasSuffix(releases[0], "released by "+c.released)):
				t.Errorf("lock releases %q, want one by %s", releases, c.released)
			}
		})
	}
}

// cliSites are Moodle sites for the CLI scripts alone, each with its own code,
// dataroot and database on one PostgreSQL, installed as far as the probe looks.
type cliSites struct {
	base     topology.Spec
	as       loopback.Account
	pg       *loopback.Postgres
	password string
	root     string
}

func newCLISites(t *testing.T) *cliSites {
	root := loopback.NewRoot(t)
	as := loopback.ServiceAccount(t)
	pgPort := loopback.FreePort(t)
	loopback.ExpectPortsClosed(t, pgPort)
	base := loopback.StackSpec(t, "dev", root)
	pg := loopback.StartPostgres(t, filepath.Join(root, "postgres"), pgPort, base.ServerConnections(), as)
	password := loopback.Password(t)
	if _, err := pg.SQL(`CREATE ROLE :"user" LOGIN PASSWORD :'password';`, "user="+base.Database.User, "password="+password); err != nil {
		t.Fatal(err)
	}
	return &cliSites{base: base, as: as, pg: pg, password: password, root: root}
}

// site installs the site named name for spec s in a folder of its own and writes
// its config.php; it returns the spec with the site's paths and the folder.
func (c *cliSites) site(t *testing.T, name string, s topology.Spec) (topology.Spec, string) {
	t.Helper()
	dir := filepath.Join(c.root, name)
	s.Paths.CodeDir = filepath.Join(dir, "code")
	s.Paths.DataRoot = filepath.Join(dir, "moodledata")
	s.Paths.LocalCacheDir = filepath.Join(dir, "localcache")
	s.Database.Name = name
	if _, err := c.pg.SQL(`CREATE DATABASE :"db" OWNER :"user";`, "db="+s.Database.Name, "user="+s.Database.User); err != nil {
		t.Fatal(err)
	}
	loopback.CopyProbeApp(t, s.Paths.CodeDir)
	// Moodle's cron runs nothing with an upgrade pending.
	c.pg.InstallSite(t, s.Database.Name, s.Database.User, s.WebRoot())
	writeFile(t, filepath.Join(s.Paths.CodeDir, "config.php"), render.ConfigPHP(s, render.Endpoints{Database: c.pg.Addr, Redis: endpoints(s).Redis}))
	if err := os.MkdirAll(s.Paths.DataRoot, 0o755); err != nil {
		t.Fatal(err)
	}
	return s, dir
}

// start runs a rendered runner script of site s as its container does, with php
// as PHP_BIN and no install hook.
func (c *cliSites) start(t *testing.T, s topology.Spec, dir, name, script, php string) *loopback.Process {
	t.Helper()
	env := append(phpCLI(t, filepath.Join(dir, name), s, map[string]string{render.EnvDBPassword: c.password}),
		render.EnvPHPBin+"="+php, render.EnvInstallHook+"="+filepath.Join(dir, "no-install-hook"))
	return loopback.Start(t, loopback.Command{Name: name, Path: "/bin/sh", Args: []string{script}, Env: env, As: c.as, Logs: dir})
}
