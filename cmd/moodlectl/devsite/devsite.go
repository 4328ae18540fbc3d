// Package devsite backs up and restores the site of a dev stack on its Docker
// host, and takes it in and out of service around those operations and around an
// upgrade, following Moodle's procedure for both (docs.moodle.org/en/Upgrading,
// "Before upgrading" and "Upgrading from the command line"): CLI maintenance mode
// on, nothing running in the background, the database and moodledata copied or
// replaced, caches purged, maintenance mode off.
//
// It drives the containers the stack created (named <Prefix>-<role>) through the
// Docker Engine API; the stack itself is changed only through the program (see
// moodlectl's upgrade).
package devsite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/dockerapi"
	"github.com/moodle-cluster/moodle-pulumi/components/appimage"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// Docker is what the site needs of the engine; *dockerapi.Client is the real one.
type Docker interface {
	Exec(ctx context.Context, container string, cmd ...string) (string, error)
	ExecTo(ctx context.Context, stdout io.Writer, container string, cmd ...string) error
	Inspect(ctx context.Context, container string) (dockerapi.Container, error)
	Stop(ctx context.Context, container string) error
	Start(ctx context.Context, container string) error
	Remove(ctx context.Context, container string) error
	CopyFrom(ctx context.Context, container, path string) (io.ReadCloser, error)
	CopyTo(ctx context.Context, container, dir string, archive io.Reader) error
}

// Site is one dev stack's site.
type Site struct {
	Docker Docker
	Spec   topology.Spec
	// Prefix is the cluster's name (stacks.DockerClusterName).
	Prefix string
	// Progress receives a line per step.
	Progress io.Writer
	// Now is the clock; time.Now unless a test sets it.
	Now func() time.Time
}

func (s Site) name(role string) string { return s.Prefix + "-" + role }

// Database is the PostgreSQL primary's container.
func (s Site) Database() string { return s.name("db") }

// Cron is the cron runner's container.
func (s Site) Cron() string { return s.name("cron") }

// node is the container the site's CLI scripts and file copies run in: the first
// running app node, which has the code, the configuration and moodledata, and
// keeps running while the cron runner and the workers are stopped. After a failed
// update an app node may be stopped, or gone mid-replacement: a stopped one is
// started.
func (s Site) node(ctx context.Context) (string, error) {
	var stopped []string
	for _, n := range s.Spec.AppNodes() {
		c, err := s.Docker.Inspect(ctx, s.name(n))
		if errors.Is(err, dockerapi.ErrNotFound) {
			continue
		}
		if err != nil {
			return "", err
		}
		if c.Running {
			return c.Name, nil
		}
		stopped = append(stopped, c.Name)
	}
	if len(stopped) == 0 {
		return "", fmt.Errorf("no app node of %s exists: run `moodlectl up` first", s.Prefix)
	}
	if err := s.Docker.Start(ctx, stopped[0]); err != nil {
		return "", fmt.Errorf("start %s: %w", stopped[0], err)
	}
	return stopped[0], nil
}

// background are the containers that run Moodle's tasks: the cron runner and
// the ad hoc workers.
func (s Site) background() []string {
	out := []string{s.Cron()}
	for _, w := range s.Spec.AdhocWorkerNames() {
		out = append(out, s.name(w))
	}
	return out
}

func (s Site) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s Site) step(format string, args ...any) {
	if s.Progress != nil {
		fmt.Fprintf(s.Progress, "  "+format+"\n", args...)
	}
}

// cli runs one of Moodle's admin/cli scripts on the app node, as the image's
// user, with the release's web root (MOODLE_WEBROOT) the image sets.
func (s Site) cli(ctx context.Context, script string, args ...string) (string, error) {
	node, err := s.node(ctx)
	if err != nil {
		return "", err
	}
	c, err := s.Docker.Inspect(ctx, node)
	if err != nil {
		return "", err
	}
	// The release the node runs lays its CLI out (the code root or public/),
	// which during an upgrade or a rollback need not be the stack file's.
	webRoot := env(c.Env, appimage.EnvWebRoot)
	if webRoot == "" {
		webRoot = s.Spec.WebRoot()
	}
	cmd := append([]string{"php", webRoot + "/admin/cli/" + script}, args...)
	out, err := s.Docker.Exec(ctx, node, cmd...)
	if err != nil {
		return out, fmt.Errorf("admin/cli/%s: %w", script, err)
	}
	return out, nil
}

// env is the value of key in a container's environment.
func env(list []string, key string) string {
	for _, kv := range list {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// Running is the release line the site's containers run (their MOODLE_BRANCH),
// "" when no app node or cron runner exists yet.
func (s Site) Running(ctx context.Context) (string, error) {
	for _, name := range append([]string{s.Cron()}, s.name(s.Spec.AppNodes()[0])) {
		c, err := s.Docker.Inspect(ctx, name)
		if errors.Is(err, dockerapi.ErrNotFound) {
			continue
		}
		if err != nil {
			return "", err
		}
		branch := env(c.Env, appimage.EnvBranch)
		r, ok := topology.ReleaseOfBranch(branch)
		if !ok {
			return "", fmt.Errorf("%s runs an unknown Moodle branch %q", name, branch)
		}
		return r.Version, nil
	}
	return "", nil
}

// Maintenance turns CLI maintenance mode on or off: while on, every web request
// gets Moodle's maintenance page and cron.php refuses to run
// (admin/cli/maintenance.php writes or removes dataroot/climaintenance.html).
func (s Site) Maintenance(ctx context.Context, on bool) error {
	flag := "--disable"
	if on {
		flag = "--enable"
	}
	_, err := s.cli(ctx, "maintenance.php", flag)
	return err
}

// InMaintenance reports whether CLI maintenance mode is on.
func (s Site) InMaintenance(ctx context.Context) (bool, error) {
	node, err := s.node(ctx)
	if err != nil {
		return false, err
	}
	_, err = s.Docker.Exec(ctx, node, "test", "-e", s.Spec.Paths.DataRoot+"/climaintenance.html")
	var exit *dockerapi.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &exit) && exit.Code == 1:
		return false, nil
	}
	return false, err
}

// Drain stops the cron runner and the ad hoc workers and returns what starts them
// again. Stopping sends them SIGTERM: a runner lets the task it is running finish
// (Moodle's graceful exit) before its container's stop timeout, so nothing is
// left half done when the data is copied or replaced.
func (s Site) Drain(ctx context.Context) (resume func(context.Context) error, err error) {
	var stopped []string
	resume = func(ctx context.Context) error {
		var errs []error
		for _, c := range stopped {
			if err := s.Docker.Start(ctx, c); err != nil {
				errs = append(errs, fmt.Errorf("start %s: %w", c, err))
			}
		}
		return errors.Join(errs...)
	}
	for _, c := range s.background() {
		begin := s.now()
		if err := s.Docker.Stop(ctx, c); err != nil {
			if errors.Is(err, dockerapi.ErrNotFound) {
				continue
			}
			return resume, fmt.Errorf("stop %s: %w", c, err)
		}
		stopped = append(stopped, c)
		s.step("stopped %s in %s", c, s.now().Sub(begin).Round(100*time.Millisecond))
	}
	return resume, nil
}

// Version is the site's version in its database ($CFG->version), "" for a
// database without Moodle.
func (s Site) Version(ctx context.Context, database string) (string, error) {
	out, err := s.psql(ctx, database, "SELECT value FROM "+topology.TablePrefix+"config WHERE name = 'version'")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(out), nil
}

// psql runs one SQL command on the primary as the stack's database user, over
// the server's local socket (the stack's pg_hba.conf trusts it), and returns its
// unaligned, header-less output.
func (s Site) psql(ctx context.Context, database, sql string) (string, error) {
	d := s.Spec.Database
	out, err := s.Docker.Exec(ctx, s.Database(), "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-tA", "-U", d.User, "-d", database, "-c", sql)
	if err != nil {
		return out, fmt.Errorf("psql on %s: %w", database, err)
	}
	return out, nil
}
