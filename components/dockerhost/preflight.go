package dockerhost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/internal/dockerapi"
)

// Host is the Docker host a cluster is to run on, as the preflight asks it;
// *dockerapi.Client is one.
type Host interface {
	Info(ctx context.Context) (dockerapi.Info, error)
	HasImage(ctx context.Context, ref string) (bool, error)
	ResolveImage(ctx context.Context, ref string) error
}

// PreflightError lists everything the Docker host lacks for a Spec, each problem
// naming the stack config key, its value and the host's figure.
type PreflightError struct {
	Host     string
	Problems []string
}

func (e *PreflightError) Error() string {
	if len(e.Problems) == 1 {
		return "the Docker host " + e.Host + " cannot run this stack: " + e.Problems[0]
	}
	return fmt.Sprintf("the Docker host %s cannot run this stack (%d problems):\n  - %s",
		e.Host, len(e.Problems), strings.Join(e.Problems, "\n  - "))
}

// ErrUnreachable is Preflight's error when no Docker host answers.
var ErrUnreachable = errors.New("the Docker host does not answer")

// Preflight checks, before anything is created, that host can run spec: every
// container's CPU limit within the host's CPUs (Docker refuses more, and would do so
// halfway through a deployment) and one the provider reads back unchanged, every memory limit and the reservations together
// within its memory, every image either on the host or where the host can pull it
// from, and the build context on this machine. hostName names the host in the error.
// It returns what the host told it.
func Preflight(ctx context.Context, spec topology.Spec, host Host, hostName string) (dockerapi.Info, error) {
	info, err := host.Info(ctx)
	if err != nil {
		return dockerapi.Info{}, fmt.Errorf("preflight: %w: cannot ask %s about its capacity (is Docker running? set DOCKER_HOST or docker:host): %w", ErrUnreachable, hostName, err)
	}
	var problems []string
	add := func(key string, value any, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("moodle:%s = %v: %s", key, value, fmt.Sprintf(format, args...)))
	}

	reserved := 0
	var parts []string
	for _, c := range containerLimits(spec) {
		if !cpusSurvive(c.r.CPUs) {
			add(c.key+".cpus", c.r.CPUs, "pulumi-docker reads this limit back from Docker as %s, so every up would replace the container; allowed: a value it reads back unchanged (0.1, 0.25 and 1.5 are; 0.05 and 10.05 are not)",
				formatCPUs(c.r.CPUs))
		}
		if c.r.CPUs > float64(info.CPUs) {
			add(c.key+".cpus", c.r.CPUs, "the Docker host has %d CPUs and Docker refuses a limit above them; allowed: at most %d (lower %s.cpus, and %s.reservedCpus with it)",
				info.CPUs, info.CPUs, c.key, c.key)
		}
		if c.r.MemoryMB > info.MemoryMB() {
			add(c.key+".memoryMb", c.r.MemoryMB, "the Docker host has %d MB of memory; allowed: at most %d", info.MemoryMB(), info.MemoryMB())
		}
		reserved += c.count * c.r.ReservedMemoryMB
		parts = append(parts, fmt.Sprintf("%s %d × %d", c.key, c.count, c.r.ReservedMemoryMB))
	}
	if reserved > info.MemoryMB() {
		problems = append(problems, fmt.Sprintf("the memory reservations add up to %d MB (%s), more than the Docker host's %d MB; lower the reservedMemoryMb settings",
			reserved, strings.Join(parts, " + "), info.MemoryMB()))
	}

	for _, im := range runImages(spec) {
		if err := pullable(ctx, host, im.ref); err != nil {
			add(im.key, strconv.Quote(im.ref), "%v; load it with `docker load`, or point %s at a registry the host reaches (README: offline sites and private registries)", err, im.key)
		}
	}
	if spec.Moodle.CodeSource == topology.CodeBuild {
		b := spec.Moodle.Build
		if st, err := os.Stat(b.Context); err != nil || !st.IsDir() {
			add("moodle.build.context", strconv.Quote(b.Context), "no such folder on this machine")
		} else if _, err := os.Stat(filepath.Join(b.Context, b.Dockerfile)); err != nil {
			add("moodle.build.dockerfile", strconv.Quote(b.Dockerfile), "no such file in %s", b.Context)
		}
	}

	if len(problems) > 0 {
		return info, &PreflightError{Host: hostName, Problems: problems}
	}
	return info, nil
}

// pullable reports why the host could not start a container from ref: it neither
// holds the image nor reaches its registry.
func pullable(ctx context.Context, host Host, ref string) error {
	ok, err := host.HasImage(ctx, ref)
	if err != nil {
		return fmt.Errorf("cannot ask the Docker host for it: %w", err)
	}
	if ok {
		return nil
	}
	if err := host.ResolveImage(ctx, ref); err != nil {
		return errors.New("not on the Docker host, and the host cannot pull it: " + err.Error())
	}
	return nil
}

type limitedContainer struct {
	key   string
	count int
	r     topology.Resources
}

// containerLimits lists the containers spec runs with the config key of their limits.
func containerLimits(spec topology.Spec) []limitedContainer {
	out := []limitedContainer{
		{"web", 1, spec.Web.Resources},
		{"app", spec.App.Replicas, spec.App.Resources},
		{"cron", 1, spec.Cron.Resources},
		{"database", 1 + spec.Database.ReadReplicas, spec.Database.Resources},
		{"cache", 1, spec.Cache.Resources},
		{"cache.muc", 1, spec.Cache.MUC.Resources},
	}
	if spec.Database.Pooler == topology.PoolerPgBouncer {
		out = append(out, limitedContainer{"database.pgbouncer", 1, spec.Database.PgBouncer})
	}
	if spec.UsesCatcher() {
		out = append(out, limitedContainer{"mail.catcher", 1, spec.Mail.Catcher.Resources})
	}
	return out
}

type namedImage struct{ key, ref string }

// runImages are the images spec runs that are not built on the host.
func runImages(spec topology.Spec) []namedImage {
	im := spec.Images
	var out []namedImage
	if spec.Moodle.CodeSource != topology.CodeBuild {
		out = append(out, namedImage{"images.app", im.App})
	}
	if im.Web != im.App {
		out = append(out, namedImage{"images.web", im.Web})
	}
	out = append(out, namedImage{"images.database", im.Database}, namedImage{"images.cache", im.Cache})
	if spec.Database.Pooler == topology.PoolerPgBouncer {
		out = append(out, namedImage{"images.pgbouncer", im.PgBouncer})
	}
	if spec.UsesCatcher() {
		out = append(out, namedImage{"images.mailCatcher", im.MailCatcher})
	}
	return out
}

// StaticHost is a Host described in code: a fixed capacity and the images it can
// run. Tests use it, and so can a caller that previews a stack for a Docker host it
// cannot reach.
type StaticHost struct {
	Capacity dockerapi.Info
	// Missing are the images the host neither holds nor can pull; every other
	// image is taken to be there.
	Missing []string
}

// Info returns the host's fixed capacity.
func (h StaticHost) Info(context.Context) (dockerapi.Info, error) { return h.Capacity, nil }

// HasImage reports the images not listed as missing as present.
func (h StaticHost) HasImage(_ context.Context, ref string) (bool, error) {
	return !slices.Contains(h.Missing, ref), nil
}

// ResolveImage fails for the missing images, as an unreachable registry would.
func (h StaticHost) ResolveImage(_ context.Context, ref string) error {
	if slices.Contains(h.Missing, ref) {
		return fmt.Errorf("%s: no registry answers", ref)
	}
	return nil
}
