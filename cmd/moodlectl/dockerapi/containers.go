package dockerapi

// The calls moodlectl's backup, restore and upgrade make on a dev stack's
// containers: stop and start the cron runner and the workers, read what a
// container runs, and copy files in and out of it (Docker Engine API v1.41,
// /containers/{id}/stop, /start, /json, /archive).

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
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

// Inspect reads container.
func (c *Client) Inspect(ctx context.Context, container string) (Container, error) {
	var raw struct {
		Name   string
		Image  string
		Config struct {
			Image string
			Env   []string
		}
		State struct {
			Running bool
			Status  string
			Health  *struct{ Status string }
		}
	}
	if err := c.get(ctx, "/containers/"+url.PathEscape(container)+"/json", &raw); err != nil {
		return Container{}, fmt.Errorf("inspect %s: %w", container, err)
	}
	health := raw.State.Status
	if raw.State.Health != nil {
		health = raw.State.Health.Status
	}
	return Container{Name: container, Image: raw.Config.Image, ImageID: raw.Image, Env: raw.Config.Env, Running: raw.State.Running, Health: health}, nil
}

// Stop stops container as `docker stop` does: SIGTERM (or the container's stop
// signal), then SIGKILL after its own stop timeout. Stopping a stopped container
// is not an error (the engine answers 304).
func (c *Client) Stop(ctx context.Context, container string) error {
	return c.call(ctx, http.MethodPost, "/containers/"+url.PathEscape(container)+"/stop")
}

// Start starts container; starting a running one is not an error (304).
func (c *Client) Start(ctx context.Context, container string) error {
	return c.call(ctx, http.MethodPost, "/containers/"+url.PathEscape(container)+"/start")
}

// Remove removes container, running or not, as `docker rm -f` does.
func (c *Client) Remove(ctx context.Context, container string) error {
	return c.call(ctx, http.MethodDelete, "/containers/"+url.PathEscape(container)+"?force=1")
}

// call sends a request whose answer says nothing beyond its status.
func (c *Client) call(ctx context.Context, method, path string) error {
	resp, err := c.send(ctx, method, path, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// CopyFrom returns a tar archive of path in container: its entries are named
// from path's last element ("moodledata/...") and keep their owners and modes.
func (c *Client) CopyFrom(ctx context.Context, container, path string) (io.ReadCloser, error) {
	resp, err := c.send(ctx, http.MethodGet, "/containers/"+url.PathEscape(container)+"/archive?"+url.Values{"path": {path}}.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("copy %s from %s: %w", path, container, err)
	}
	return resp.Body, nil
}

// CopyTo extracts the tar archive read from archive into the folder dir of
// container, keeping the owners the archive records (copyUIDGID, `docker cp -a`)
// rather than making root own everything.
func (c *Client) CopyTo(ctx context.Context, container, dir string, archive io.Reader) error {
	q := url.Values{"path": {dir}, "copyUIDGID": {strconv.FormatBool(true)}}
	resp, err := c.sendRaw(ctx, http.MethodPut, "/containers/"+url.PathEscape(container)+"/archive?"+q.Encode(), "application/x-tar", archive)
	if err != nil {
		return fmt.Errorf("copy into %s:%s: %w", container, dir, err)
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}
