// Package dockerapi is the little of the Docker Engine API moodlectl's tools use on
// a dev stack's containers: a command's output, a container's health and log, stop
// and start, archive copies. It asks through the Docker project's own client
// (github.com/docker/docker/client), built by stacks/preflight's NewClient so that
// the tools reach the very engine the Docker provider deploys the stack to (a
// context, unix://, tcp:// with TLS, ssh://), found the same way.
package dockerapi

import (
	"errors"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/client"

	"github.com/moodle-cluster/moodle-pulumi/stacks/preflight"
)

// Client talks to one Docker engine.
type Client struct {
	api *client.Client
	// name is the engine's address as errors give it (preflight.NewClient).
	name string
}

// New returns a client for host as docker:host would set it ("unix:///var/run/
// docker.sock", "tcp://10.0.0.5:2376", "ssh://user@host"), or, when host is empty,
// for the Docker provider's default engine from the environment: DOCKER_CONTEXT,
// DOCKER_HOST, the TLS material or DOCKER_CERT_PATH, DOCKER_SSH_OPTS, else the
// local socket (preflight.NewEngine lists the provider's rules).
func New(host string) (*Client, error) {
	return NewFor(preflight.ProviderConfig{Host: host})
}

// NewFor returns a client for the engine the Docker provider deploys to with the
// configuration cfg (a stack's docker:* keys, stacks.DockerProviderConfig) and the
// environment.
func NewFor(cfg preflight.ProviderConfig) (*Client, error) {
	api, name, err := preflight.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	return &Client{api: api, name: name}, nil
}

// ErrNotFound is what the engine answers for a container it does not have;
// ErrNotRunning for a command in a container that is not running.
var (
	ErrNotFound   = errors.New("not found")
	ErrNotRunning = errors.New("not running")
)

// engineErr gives err, from the client, the errors callers tell apart: a missing
// container is ErrNotFound; an exec in a stopped one ErrNotRunning, which the
// engine answers with a conflict, "container <id> is not running" (moby
// daemon/exec.go, getActiveContainer; daemon/errors.go, errNotRunning; docker/docker
// v28.5.1). Other errors say which engine failed.
func (c *Client) engineErr(err error) error {
	switch {
	case err == nil:
		return nil
	case cerrdefs.IsNotFound(err):
		return fmt.Errorf("%w: %w", err, ErrNotFound)
	case cerrdefs.IsConflict(err) && strings.Contains(err.Error(), "is not running"):
		return fmt.Errorf("%w: %w", err, ErrNotRunning)
	}
	return fmt.Errorf("docker engine at %s: %w", c.name, err)
}
