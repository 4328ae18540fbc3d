// Package preflight asks the Docker host a dev stack is to run on whether it can:
// the containers' limits within its CPUs and memory, every image on the host or
// where it can pull it from, and the build context on this machine. The program
// runs it before it registers anything (stacks), so a stack the host cannot run
// fails at once with every reason, not halfway through an up. It is the one part
// of the dev program that talks to the Docker engine itself; the component
// (components/dockerhost) only describes resources.
package preflight

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/moodle-cluster/moodle-pulumi/components/dockerhost"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// Host is the Docker host a cluster is to run on, as the preflight asks it;
// *Engine is one.
type Host interface {
	Info(ctx context.Context) (Capacity, error)
	HasImage(ctx context.Context, ref string) (bool, error)
	ResolveImage(ctx context.Context, ref string) error
}

// Capacity is what the preflight learns of the Docker host.
type Capacity struct {
	CPUs        int
	MemoryBytes int64
	// SwapLimit is whether the kernel lets Docker limit a container's swap.
	SwapLimit bool
}

// MemoryMB is the host's memory in MiB.
func (c Capacity) MemoryMB() int { return int(c.MemoryBytes >> 20) }

// Error lists everything the Docker host lacks for a Spec, each problem
// naming the stack config key, its value and the host's figure.
type Error struct {
	Host     string
	Problems []string
}

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return "the Docker host " + e.Host + " cannot run this stack: " + e.Problems[0]
	}
	return fmt.Sprintf("the Docker host %s cannot run this stack (%d problems):\n  - %s",
		e.Host, len(e.Problems), strings.Join(e.Problems, "\n  - "))
}

// ErrUnreachable is Check's error when no Docker host answers.
var ErrUnreachable = errors.New("the Docker host does not answer")

// Check checks, before anything is created, that host can run spec: every
// container's CPU limit within the host's CPUs (Docker refuses more, and would do so
// halfway through a deployment) and one the provider reads back unchanged, every memory limit and the reservations together
// within its memory, every image either on the host or where the host can pull it
// from, and the build context on this machine. hostName names the host in the error.
// It returns what the host told it.
func Check(ctx context.Context, spec topology.Spec, host Host, hostName string) (Capacity, error) {
	info, err := host.Info(ctx)
	if err != nil {
		return Capacity{}, fmt.Errorf("preflight: %w: cannot ask %s about its capacity (is Docker running there? The stack deploys to docker:context, else docker:host: unix://, tcp:// or ssh://user@host; where the stack sets neither, to DOCKER_CONTEXT, else DOCKER_HOST, else the local socket): %w", ErrUnreachable, hostName, err)
	}
	var problems []string
	add := func(key string, value any, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("moodle:%s = %v: %s", key, value, fmt.Sprintf(format, args...)))
	}

	reserved := 0
	var parts []string
	for _, c := range dockerhost.ContainerLimits(spec) {
		if !dockerhost.CPUsSurvive(c.Resources.CPUs) {
			add(c.Key+".cpus", c.Resources.CPUs, "pulumi-docker reads this limit back from Docker as %s, so every up would replace the container; allowed: a value it reads back unchanged (0.1, 0.25 and 1.5 are; 0.05 and 10.05 are not)",
				dockerhost.FormatCPUs(c.Resources.CPUs))
		}
		if c.Resources.CPUs > float64(info.CPUs) {
			add(c.Key+".cpus", c.Resources.CPUs, "the Docker host has %d CPUs and Docker refuses a limit above them; allowed: at most %d (lower %s.cpus, and %s.reservedCpus with it)",
				info.CPUs, info.CPUs, c.Key, c.Key)
		}
		if c.Resources.MemoryMB > info.MemoryMB() {
			add(c.Key+".memoryMb", c.Resources.MemoryMB, "the Docker host has %d MB of memory; allowed: at most %d", info.MemoryMB(), info.MemoryMB())
		}
		reserved += c.Count * c.Resources.ReservedMemoryMB
		parts = append(parts, fmt.Sprintf("%s %d × %d", c.Key, c.Count, c.Resources.ReservedMemoryMB))
	}
	if reserved > info.MemoryMB() {
		problems = append(problems, fmt.Sprintf("the memory reservations add up to %d MB (%s), more than the Docker host's %d MB; lower the reservedMemoryMb settings",
			reserved, strings.Join(parts, " + "), info.MemoryMB()))
	}

	for _, im := range dockerhost.RunImages(spec) {
		if err := pullable(ctx, host, im.Ref); err != nil {
			add(im.Key, strconv.Quote(im.Ref), "%v; load it with `docker load`, or point %s at a registry the host reaches (README: offline sites and private registries)", err, im.Key)
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
		return info, &Error{Host: hostName, Problems: problems}
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

// StaticHost is a Host described in code: a fixed capacity and the images it can
// run. Tests use it, and so can a caller that previews a stack for a Docker host it
// cannot reach.
type StaticHost struct {
	Capacity Capacity
	// Missing are the images the host neither holds nor can pull; every other
	// image is taken to be there.
	Missing []string
}

// Info returns the host's fixed capacity.
func (h StaticHost) Info(context.Context) (Capacity, error) { return h.Capacity, nil }

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
