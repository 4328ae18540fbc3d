// Package dockerapi is the little of the Docker Engine API the program and its tools
// read: the host's capacity and the images it holds; for moodlectl, a command's
// output in a container, its health and its log. It speaks HTTP over the socket
// DOCKER_HOST names, as the docker CLI and the Docker provider do, without pulling
// the Docker client library into the program.
package dockerapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// DefaultHost is where a local Docker engine listens.
const DefaultHost = "unix:///var/run/docker.sock"

// Client talks to one Docker engine.
type Client struct {
	host string
	base string
	http *http.Client
}

// New returns a client for host ("unix:///var/run/docker.sock", "tcp://10.0.0.5:2376"),
// or, when host is empty, for DOCKER_HOST or the local engine. A tcp host uses TLS
// when DOCKER_TLS_VERIFY is set, with the certificates in DOCKER_CERT_PATH, as the
// docker CLI does.
func New(host string) (*Client, error) {
	if host == "" {
		host = os.Getenv("DOCKER_HOST")
	}
	if host == "" {
		host = DefaultHost
	}
	u, err := url.Parse(host)
	if err != nil {
		return nil, fmt.Errorf("docker host %q: %w", host, err)
	}
	transport := &http.Transport{}
	c := &Client{host: host, http: &http.Client{Transport: transport}}
	switch u.Scheme {
	case "unix":
		socket := u.Path
		transport.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		}
		c.base = "http://docker"
	case "tcp":
		c.base = "http://" + u.Host
		if os.Getenv("DOCKER_TLS_VERIFY") != "" {
			cfg, err := tlsConfig(os.Getenv("DOCKER_CERT_PATH"))
			if err != nil {
				return nil, fmt.Errorf("docker host %s: %w", host, err)
			}
			transport.TLSClientConfig = cfg
			c.base = "https://" + u.Host
		}
	default:
		return nil, fmt.Errorf("docker host %q: only unix:// and tcp:// hosts are supported", host)
	}
	return c, nil
}

// Host is the address the client talks to.
func (c *Client) Host() string { return c.host }

// tlsConfig loads the docker CLI's client certificates from dir (default ~/.docker).
func tlsConfig(dir string) (*tls.Config, error) {
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, err
		}
		dir = filepath.Join(home, ".docker")
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if err != nil {
		return nil, fmt.Errorf("client certificate: %w", err)
	}
	ca, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("CA certificate %s: no certificate in it", filepath.Join(dir, "ca.pem"))
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// Info is what the engine says about its host.
type Info struct {
	CPUs          int    `json:"NCPU"`
	MemoryBytes   int64  `json:"MemTotal"`
	ServerVersion string `json:"ServerVersion"`
	OSType        string `json:"OSType"`
	Architecture  string `json:"Architecture"`
	// SwapLimit is whether the kernel lets Docker limit a container's swap.
	SwapLimit bool `json:"SwapLimit"`
}

// MemoryMB is the host's memory in MiB.
func (i Info) MemoryMB() int { return int(i.MemoryBytes >> 20) }

// Info asks the engine about its host.
func (c *Client) Info(ctx context.Context) (Info, error) {
	var info Info
	if err := c.get(ctx, "/info", &info); err != nil {
		return Info{}, err
	}
	return info, nil
}

// ErrNotFound is what the engine answers for an image or container it does not
// have; ErrNotRunning for a command in a container that is not running.
var (
	ErrNotFound   = errors.New("not found")
	ErrNotRunning = errors.New("not running")
)

// HasImage reports whether the engine holds the image ref.
func (c *Client) HasImage(ctx context.Context, ref string) (bool, error) {
	err := c.get(ctx, "/images/"+ref+"/json", nil)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotFound):
		return false, nil
	}
	return false, err
}

// ResolveImage asks the image's registry, through the engine, for its manifest: it
// fails when the engine could not pull the image.
func (c *Client) ResolveImage(ctx context.Context, ref string) error {
	return c.get(ctx, "/distribution/"+ref+"/json", nil)
}

// requestTimeout bounds one call; a registry lookup through the engine is the
// slowest.
const requestTimeout = 30 * time.Second

// get decodes the JSON answer of path into out (nil: discard it), within
// requestTimeout.
func (c *Client) get(ctx context.Context, path string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := c.send(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("docker engine at %s: %s: %w", c.host, path, err)
	}
	return nil
}
