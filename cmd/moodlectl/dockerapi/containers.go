package dockerapi

// The calls moodlectl's backup, restore and upgrade make on a dev stack's
// containers: stop and start the cron runner and the workers, read what a
// container runs, and copy files in and out of it.

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/docker/docker/api/types/container"
)

// Container is what moodlectl reads of a container.
type Container struct {
	Name string
	// Image is the reference the container was created from; ImageID the image
	// it runs.
	Image   string
	ImageID string
	Env     []string
	Running bool
	// Health is the health check's state (healthy, unhealthy, starting), or the
	// run state (running, exited) of a container without one.
	Health string
}

// requestTimeout bounds a call that answers at once (an inspect); the calls that
// stream (logs, exec, copies) or wait on the container (stop) have none of their
// own.
const requestTimeout = 30 * time.Second

// Inspect reads container.
func (c *Client) Inspect(ctx context.Context, name string) (Container, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	raw, err := c.api.ContainerInspect(ctx, name)
	if err != nil {
		return Container{}, fmt.Errorf("inspect %s: %w", name, c.engineErr(err))
	}
	got := Container{Name: name}
	if raw.ContainerJSONBase != nil {
		got.ImageID = raw.Image
		if s := raw.State; s != nil {
			got.Running, got.Health = s.Running, string(s.Status)
			if s.Health != nil {
				got.Health = string(s.Health.Status)
			}
		}
	}
	if raw.Config != nil {
		got.Image, got.Env = raw.Config.Image, raw.Config.Env
	}
	return got, nil
}

// Stop stops container as `docker stop` does: SIGTERM (or the container's stop
// signal), then SIGKILL after its own stop timeout. Stopping a stopped container
// is not an error (the engine answers 304, which the client takes as success).
func (c *Client) Stop(ctx context.Context, name string) error {
	return c.engineErr(c.api.ContainerStop(ctx, name, container.StopOptions{}))
}

// Start starts container; starting a running one is not an error (304).
func (c *Client) Start(ctx context.Context, name string) error {
	return c.engineErr(c.api.ContainerStart(ctx, name, container.StartOptions{}))
}

// Remove removes container, running or not, as `docker rm -f` does.
func (c *Client) Remove(ctx context.Context, name string) error {
	return c.engineErr(c.api.ContainerRemove(ctx, name, container.RemoveOptions{Force: true}))
}

// CopyFrom returns a tar archive of path in container: its entries are named
// from path's last element ("moodledata/...") and keep their owners and modes.
func (c *Client) CopyFrom(ctx context.Context, name, path string) (io.ReadCloser, error) {
	rc, _, err := c.api.CopyFromContainer(ctx, name, path)
	if err != nil {
		return nil, fmt.Errorf("copy %s from %s: %w", path, name, c.engineErr(err))
	}
	return rc, nil
}

// CopyTo extracts the tar archive read from archive into the folder dir of
// container, keeping the owners the archive records (CopyUIDGID, `docker cp -a`)
// rather than making root own everything. A restore replaces what is there, so
// an entry may replace a folder with a file or the reverse
// (AllowOverwriteDirWithFile: the engine's default, which `docker cp` turns off).
func (c *Client) CopyTo(ctx context.Context, name, dir string, archive io.Reader) error {
	err := c.api.CopyToContainer(ctx, name, dir, archive, container.CopyToContainerOptions{CopyUIDGID: true, AllowOverwriteDirWithFile: true})
	if err != nil {
		return fmt.Errorf("copy into %s:%s: %w", name, dir, c.engineErr(err))
	}
	return nil
}
