//go:build integration

package loopback

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/tests/harness/probetree"
)

// Cluster is the dev topology running on loopback from the rendered files.
type Cluster struct {
	Spec topology.Spec
	// Root holds everything the cluster writes; it is removed at the end.
	Root string
	// URL is the load balancer.
	URL      string
	Postgres *Postgres
	Redis    *Redis
	Nodes    []*FPM
	LB       *Process
	// LBSite is the load balancer's rendered configuration.
	LBSite string
	// LBErrorLog is the load balancer's error_log (warnings included).
	LBErrorLog string
	As         Account
	// secretFiles maps the secret variables to the files that hold the values.
	secretFiles map[string]string
	t           T
}

// NewRoot creates a directory for a cluster that the service account can traverse,
// removed when the test ends, after every port is checked closed.
func NewRoot(t T) string {
	t.Helper()
	root, err := os.MkdirTemp("", "loopback-")
	if err != nil {
		t.Fatalf("create cluster root: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatalf("open cluster root: %v", err)
	}
	return root
}

// ExpectPortsClosed fails the test if anything still listens on the ports once every
// server started after this call has been stopped.
func ExpectPortsClosed(t T, ports ...int) {
	t.Cleanup(func() {
		for _, p := range ports {
			if PortOpen(p) {
				t.Errorf("port %d still accepts connections after teardown", p)
			}
		}
	})
}

// StartCluster renders the dev stack's topology and runs it: PostgreSQL, Redis, one
// php-fpm master per app node and the load balancer, each on a free port of
// 127.0.0.1, until the test ends. PostgreSQL is Debian's 15, whichever major version
// the stack names: nothing in the rendered files depends on it.
func StartCluster(t T) *Cluster {
	t.Helper()
	root := NewRoot(t)
	webPort, pgPort, redisPort := FreePort(t), FreePort(t), FreePort(t)
	spec := DevSpec(t, root, webPort)
	nodes := spec.AppNodes()
	fpmPorts := make([]int, len(nodes))
	for i := range fpmPorts {
		fpmPorts[i] = FreePort(t)
	}
	ExpectPortsClosed(t, append([]int{webPort, pgPort, redisPort}, fpmPorts...)...)

	c := &Cluster{Spec: spec, Root: root, URL: spec.SiteURL, As: ServiceAccount(t), t: t}
	pg := render.HostPort{Host: "127.0.0.1", Port: pgPort}
	redis := render.HostPort{Host: "127.0.0.1", Port: redisPort}
	c.layOut(render.Endpoints{Database: pg, Redis: redis})
	secrets := c.writeSecrets()

	c.Postgres = StartPostgres(t, filepath.Join(root, "postgres"), pgPort, spec.ServerConnections(), c.As)
	if _, err := c.Postgres.SQL(`CREATE ROLE :"user" LOGIN PASSWORD :'password';
CREATE DATABASE :"db" OWNER :"user";`, "user="+spec.Database.User, "password="+secrets[render.EnvDBPassword],
		"db="+spec.Database.Name); err != nil {
		t.Fatalf("create the Moodle database: %v", err)
	}
	// The cluster's cron runners stub the install hook; Moodle's cron runs nothing
	// on a site with an upgrade pending.
	c.Postgres.InstallSite(t, spec.Database.Name, spec.Database.User, spec.WebRoot())
	c.Redis = StartRedis(t, spec, filepath.Join(root, "redis"), redisPort, secrets[render.EnvRedisPassword], c.As)

	backends := make([]render.HostPort, len(nodes))
	for i, node := range nodes {
		backends[i] = render.HostPort{Host: "127.0.0.1", Port: fpmPorts[i]}
		c.Nodes = append(c.Nodes, StartFPM(t, filepath.Join(root, "nodes", node), node,
			render.PHPFPMPool(spec, backends[i].String()), fpmPorts[i], c.PHPEnv("fpm"), c.As))
	}
	c.LBSite = render.NginxLoadBalancer(spec, backends)
	c.LB = StartNginx(t, filepath.Join(root, "lb"), "nginx-lb", c.LBSite, webPort, c.As)
	c.LBErrorLog = NginxErrorLog(filepath.Join(root, "lb"))
	// php-fpm's ping, not a PHP page: PHP stays closed until the site is installed.
	c.LB.WaitFor(t, 15*time.Second, "php-fpm through the load balancer", func() error {
		resp, err := http.Get(c.URL + render.FPMPingPath)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			return fmt.Errorf("php-fpm ping answered %s: %s\nnode logs:\n%s", resp.Status, body, c.nodeLogs())
		}
		return nil
	})
	return c
}

// CopyProbeApp copies the probe app to codeDir, read-only to PHP as the code in the
// image is: only dataroot and the local cache belong to the service account.
func CopyProbeApp(t T, codeDir string) {
	t.Helper()
	if err := probetree.Copy(codeDir, ProbeRelease); err != nil {
		t.Fatalf("%v", err)
	}
}

// layOut copies the probe app to CodeDir, renders config.php and php.ini, and creates
// the shared and per-node directories the way the app image and volumes provide them.
func (c *Cluster) layOut(e render.Endpoints) {
	t := c.t
	t.Helper()
	CopyProbeApp(t, c.Spec.Paths.CodeDir)
	write(t, filepath.Join(c.Spec.Paths.CodeDir, "config.php"), render.ConfigPHP(c.Spec, e), 0o644)
	write(t, filepath.Join(c.IniDir(), "zz-moodle.ini"), render.PHPIni(c.Spec), 0o644)
	mkdirs(t, c.Spec.Paths.DataRoot, c.Spec.Paths.LocalCacheDir)
	c.As.Own(t, c.Spec.Paths.DataRoot, c.Spec.Paths.LocalCacheDir)
}

// MarkInstalled does what the cron runner does once the install hook has succeeded:
// it writes the marker of its release that opens PHP on the web servers.
func (c *Cluster) MarkInstalled() {
	c.t.Helper()
	write(c.t, c.Spec.ReleaseMarker(), "", 0o644)
}

// IniDir holds the rendered php.ini.
func (c *Cluster) IniDir() string { return filepath.Join(c.Root, "php") }

// writeSecrets generates the passwords and writes each to a file only the service
// account reads, as Docker secrets are mounted; the app nodes get the *_FILE names.
func (c *Cluster) writeSecrets() map[string]string {
	t := c.t
	t.Helper()
	values := map[string]string{}
	c.secretFiles = map[string]string{}
	dir := filepath.Join(c.Root, "secrets")
	for _, name := range []string{render.EnvDBPassword, render.EnvRedisPassword, render.EnvUpgradeKey, render.EnvSMTPPassword} {
		values[name] = Password(t)
		c.secretFiles[name] = filepath.Join(dir, strings.ToLower(name))
		write(t, c.secretFiles[name], values[name], 0o400)
	}
	c.As.Own(t, dir)
	return values
}

// PHPEnv is the environment of a PHP process of the cluster (sapi "fpm" or "cli"):
// the rendered php.ini and the secrets by file.
func (c *Cluster) PHPEnv(sapi string) []string {
	env := []string{PHPEnv(sapi, c.IniDir())}
	for name, file := range c.secretFiles {
		env = append(env, name+"_FILE="+file)
	}
	return env
}

// Password returns a fresh random secret.
func Password(t T) string {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("generate a secret: %v", err)
	}
	return hex.EncodeToString(b)
}

// Ports lists every port the cluster listens on.
func (c *Cluster) Ports() []int {
	ports := []int{c.Spec.Web.Port, c.Postgres.Addr.Port, c.Redis.Addr.Port}
	for _, n := range c.Nodes {
		ports = append(ports, n.Addr.Port)
	}
	return ports
}

// StartCronRunner starts the rendered runner script as the cron container runs it:
// the CLI php.ini, the secrets, PHP_BIN and the install hook in dir.
func (c *Cluster) StartCronRunner(name, script, dir string) *Process {
	c.t.Helper()
	env := append(c.PHPEnv("cli"), "PHP_BIN="+PHPBin, "MOODLE_INSTALL_HOOK="+filepath.Join(dir, "install-hook.sh"))
	return Start(c.t, Command{Name: name, Path: "/bin/sh", Args: []string{script}, Env: env, As: c.As, Logs: dir})
}

// nodeLogs is what the app nodes logged, for failure messages.
func (c *Cluster) nodeLogs() string {
	var b strings.Builder
	for _, n := range c.Nodes {
		fmt.Fprintf(&b, "--- %s\n%s", n.Node, n.Log())
	}
	return b.String()
}
