package preflight

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/cli/cli/connhelper"
	"github.com/docker/docker/client"
)

// ProviderConfig is the Docker provider's configuration as the stack sets it: the
// docker:* keys (docker:host, docker:context, docker:sshOpts, docker:caMaterial,
// docker:certMaterial, docker:keyMaterial, docker:certPath). A field left empty is
// one the stack does not set, for which the provider reads the environment.
type ProviderConfig struct {
	Host, Context                         string
	SSHOpts                               []string
	CAMaterial, CertMaterial, KeyMaterial string
	CertPath                              string
	// Home is where the Docker contexts are looked up; "" is the current user's
	// home directory, the provider's only choice (tests set it).
	Home string
}

// Engine is the Docker engine the provider deploys to, asked through the Docker
// project's own client: the same code the provider runs, so every address form the
// provider reaches, the preflight reaches.
type Engine struct {
	client *client.Client
	name   string
}

// defaultHost is the provider's fallback when neither the stack nor DOCKER_HOST
// names a host.
const defaultHost = "unix:///var/run/docker.sock"

// NewEngine finds the engine the Docker provider would talk to for cfg and the
// environment, as pulumi-docker v4.10.0's bridged terraform-provider-docker does:
//   - the defaults of upstream/internal/provider/provider.go lines 43-100 (host:
//     DOCKER_HOST, else unix:///var/run/docker.sock; context: DOCKER_CONTEXT;
//     sshOpts: DOCKER_SSH_OPTS split on spaces; the materials: DOCKER_CA_MATERIAL,
//     DOCKER_CERT_MATERIAL, DOCKER_KEY_MATERIAL; certPath: DOCKER_CERT_PATH);
//   - a context overrides the host, looked up in ~/.docker/contexts/meta of the
//     current user (lines 190-204 and getContextHost, lines 257-294), not in
//     DOCKER_CONFIG;
//   - the client options of upstream/internal/provider/config.go lines 84-129
//     (NewClient): client.FromEnv, then TLS from the materials (with no CA, the
//     server's certificate is not verified: buildHTTPClientFromBytes, lines 31-55)
//     or from certPath's ca.pem, cert.pem and key.pem, then an ssh:// host through
//     docker/cli's connection helper, else the host, with API version negotiation.
//
// It returns no error for an engine that does not answer: only asking finds that.
func NewEngine(cfg ProviderConfig) (*Engine, error) {
	c, name, err := NewClient(cfg)
	if err != nil {
		return nil, err
	}
	return &Engine{client: c, name: name}, nil
}

// NewClient is the Docker project's client for the engine the Docker provider
// would talk to for cfg and the environment (see NewEngine), and that engine's
// name for errors: the host, and the Docker context it came from. It is the one
// place the engine is resolved: the preflight asks it through NewEngine, and
// moodlectl's tools (cmd/moodlectl/dockerapi) reach the same engine through it.
func NewClient(cfg ProviderConfig) (*client.Client, string, error) {
	env := func(v, name string) string {
		if v != "" {
			return v
		}
		return os.Getenv(name)
	}
	host := env(cfg.Host, "DOCKER_HOST")
	if host == "" {
		host = defaultHost
	}
	name := host
	if ctxName := env(cfg.Context, "DOCKER_CONTEXT"); ctxName != "" {
		home := cfg.Home
		if home == "" {
			u, err := user.Current()
			if err != nil {
				return nil, "", fmt.Errorf("docker context %q (docker:context, else DOCKER_CONTEXT): no home directory to find it in: %w", ctxName, err)
			}
			home = u.HomeDir
		}
		var err error
		if host, err = contextHost(ctxName, home); err != nil {
			return nil, "", fmt.Errorf("docker context %q (docker:context, else DOCKER_CONTEXT): %w; create it with `docker context create`, or unset it to deploy to docker:host", ctxName, err)
		}
		name = fmt.Sprintf("%s (Docker context %q)", host, ctxName)
	}
	sshOpts := cfg.SSHOpts
	if sshOpts == nil {
		sshOpts = strings.Fields(os.Getenv("DOCKER_SSH_OPTS"))
	}
	ca := env(cfg.CAMaterial, "DOCKER_CA_MATERIAL")
	cert := env(cfg.CertMaterial, "DOCKER_CERT_MATERIAL")
	key := env(cfg.KeyMaterial, "DOCKER_KEY_MATERIAL")
	certPath := env(cfg.CertPath, "DOCKER_CERT_PATH")

	opts := []client.Opt{client.FromEnv}
	switch {
	case cert != "" || key != "":
		if cert == "" || key == "" {
			return nil, "", fmt.Errorf("docker host %s: docker:certMaterial and docker:keyMaterial (or DOCKER_CERT_MATERIAL and DOCKER_KEY_MATERIAL) go together; set both or neither", name)
		}
		if certPath != "" {
			return nil, "", fmt.Errorf("docker host %s: the client certificate is given both as material (docker:certMaterial) and as a folder (docker:certPath or DOCKER_CERT_PATH); unset one", name)
		}
		hc, err := materialClient([]byte(ca), []byte(cert), []byte(key))
		if err != nil {
			return nil, "", fmt.Errorf("docker host %s: docker:caMaterial, docker:certMaterial, docker:keyMaterial: %w", name, err)
		}
		opts = append(opts, client.WithHTTPClient(hc))
	case certPath != "":
		opts = append(opts, client.WithTLSClientConfig(filepath.Join(certPath, "ca.pem"), filepath.Join(certPath, "cert.pem"), filepath.Join(certPath, "key.pem")))
	}
	helper, err := connhelper.GetConnectionHelperWithSSHOpts(host, sshOpts)
	if err != nil {
		return nil, "", fmt.Errorf("docker host %s: %w; set docker:host (or DOCKER_HOST) to unix://, tcp:// or ssh://user@host", name, err)
	}
	if helper != nil {
		opts = append(opts, client.WithHost(helper.Host), client.WithDialContext(helper.Dialer))
	} else {
		opts = append(opts, client.WithHost(host))
	}
	opts = append(opts, client.WithAPIVersionNegotiation())
	c, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, "", fmt.Errorf("docker host %s: %w; set docker:host (or DOCKER_HOST) to unix://, tcp:// or ssh://user@host", name, err)
	}
	return c, name, nil
}

// contextHost is the docker endpoint's host of the context named name, read from
// the meta.json files of docker/cli's context store (home/.docker/contexts/meta/
// <digest of the name>/meta.json) as the provider reads them: by their Name, not
// by the digest.
func contextHost(name, home string) (string, error) {
	dir := filepath.Join(home, ".docker", "contexts", "meta")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("no contexts: %w", err)
	}
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(dir, e.Name(), "meta.json"))
		if err != nil {
			continue
		}
		var meta struct {
			Name      string
			Endpoints map[string]struct{ Host string }
		}
		if json.Unmarshal(raw, &meta) != nil || meta.Name != name {
			continue
		}
		if ep, ok := meta.Endpoints["docker"]; ok {
			return ep.Host, nil
		}
	}
	return "", fmt.Errorf("not found in %s", dir)
}

// materialClient is the provider's HTTP client for PEM material
// (buildHTTPClientFromBytes and defaultTransport, config.go lines 31-82, in
// short): no CA, no verification of the engine's certificate.
func materialClient(caPEM, certPEM, keyPEM []byte) (*http.Client, error) {
	cfg := &tls.Config{}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	cfg.Certificates = []tls.Certificate{pair}
	if len(caPEM) == 0 {
		cfg.InsecureSkipVerify = true
	} else {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, errors.New("no certificate in the CA material")
		}
		cfg.RootCAs = pool
	}
	return &http.Client{Transport: &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSClientConfig:     cfg,
		TLSHandshakeTimeout: 10 * time.Second,
		DisableKeepAlives:   true,
		MaxIdleConnsPerHost: -1,
	}}, nil
}

// Name is the engine's address as the errors give it: the host, and the context
// it came from.
func (e *Engine) Name() string { return e.name }

// Close lets go of the engine's connections.
func (e *Engine) Close() error { return e.client.Close() }

// requestTimeout bounds one question; a registry lookup through the engine is the
// slowest, and an ssh connection's own timeout is 30 s.
const requestTimeout = 45 * time.Second

// Info asks the engine about its host.
func (e *Engine) Info(ctx context.Context) (Capacity, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	info, err := e.client.Info(ctx)
	if err != nil {
		return Capacity{}, err
	}
	return Capacity{CPUs: info.NCPU, MemoryBytes: info.MemTotal, SwapLimit: info.SwapLimit}, nil
}

// HasImage reports whether the engine holds the image ref.
func (e *Engine) HasImage(ctx context.Context, ref string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	_, err := e.client.ImageInspect(ctx, ref)
	switch {
	case err == nil:
		return true, nil
	case cerrdefs.IsNotFound(err):
		return false, nil
	}
	return false, err
}

// ResolveImage asks the image's registry, through the engine, for its manifest: it
// fails when the engine could not pull the image.
func (e *Engine) ResolveImage(ctx context.Context, ref string) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	_, err := e.client.DistributionInspect(ctx, ref, "")
	return err
}
