//go:build docker

package preflight

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests ask the machine's Docker daemon (DOCKER_HOST or the default socket;
// `make dockerapi` starts one) over each address form the provider takes: its
// socket, a Docker context the docker CLI created, ssh through a throwaway sshd,
// and a second daemon of the machine's own dockerd listening on TCP with mutual
// TLS. Each proves it reached the engine it meant to by the engine's ID.

// machineSocket is the unix socket of the machine's daemon.
func machineSocket(t *testing.T) string {
	t.Helper()
	host := os.Getenv("DOCKER_HOST")
	if host == "" {
		host = defaultHost
	}
	if !strings.HasPrefix(host, "unix://") {
		t.Fatalf("DOCKER_HOST %s: these tests need the machine's engine on a unix socket", host)
	}
	return host
}

// engineID asks the engine cfg resolves to for its ID, and the preflight's
// questions with it.
func engineID(t *testing.T, cfg ProviderConfig) string {
	t.Helper()
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	capacity, err := e.Info(ctx)
	if err != nil {
		t.Fatalf("%s: %v", e.Name(), err)
	}
	if capacity.CPUs < 1 || capacity.MemoryMB() < 1 {
		t.Errorf("%s: capacity %+v", e.Name(), capacity)
	}
	info, err := e.client.Info(ctx)
	if err != nil || info.ID == "" {
		t.Fatalf("%s: ID %q, %v", e.Name(), info.ID, err)
	}
	return info.ID
}

func TestRealEngineOverTheUnixSocket(t *testing.T) {
	clearDockerEnv(t)
	e, err := NewEngine(ProviderConfig{Host: machineSocket(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	if _, err := e.Info(ctx); err != nil {
		t.Fatal(err)
	}
	ref := emptyImage(t)
	if ok, err := e.HasImage(ctx, ref); err != nil || !ok {
		t.Errorf("HasImage(%s) = %v, %v; want true", ref, ok, err)
	}
	if ok, err := e.HasImage(ctx, "moodle-pulumi-test/never-there:1"); err != nil || ok {
		t.Errorf("HasImage(never-there) = %v, %v; want false", ok, err)
	}
	// A registry nothing listens on: the engine cannot resolve the image.
	if err := e.ResolveImage(ctx, "127.0.0.1:1/never-there:1"); err == nil {
		t.Error("ResolveImage of an image on a registry nothing listens on succeeded")
	}
}

// emptyImage is an image of one file, imported into the machine's engine.
func emptyImage(t *testing.T) string {
	t.Helper()
	const ref = "moodle-pulumi-test/preflight-empty:1"
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "empty", Mode: 0o644, Typeflag: tar.TypeReg})
	tw.Close()
	cmd := exec.Command("docker", "import", "-", ref)
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker import: %v: %s", err, out)
	}
	return ref
}

// A context created by the docker CLI itself, in a home of the test's: its host
// replaces the stack's.
func TestRealEngineThroughADockerContext(t *testing.T) {
	clearDockerEnv(t)
	sock := machineSocket(t)
	want := engineID(t, ProviderConfig{Host: sock})
	home := t.TempDir()
	create := exec.Command("docker", "context", "create", "preflight-real", "--docker", "host="+sock)
	create.Env = append(os.Environ(), "DOCKER_CONFIG="+filepath.Join(home, ".docker"))
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("docker context create: %v: %s", err, out)
	}
	got := engineID(t, ProviderConfig{Host: "unix:///nonexistent/docker.sock", Context: "preflight-real", Home: home})
	if got != want {
		t.Errorf("through the context: engine %s; want the machine's %s", got, want)
	}
}

// freePort is a TCP port on 127.0.0.1 nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// background runs cmd until the test ends, its output in log; it stops it with
// SIGTERM and waits.
func background(t *testing.T, cmd *exec.Cmd, log string) {
	t.Helper()
	out, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		out.Close()
	})
}

// waitPort waits until something listens on 127.0.0.1:port.
func waitPort(t *testing.T, port int, what, log string) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return
		}
	}
	raw, _ := os.ReadFile(log)
	t.Fatalf("%s did not listen on port %d within 60 s:\n%s", what, port, raw)
}

// An ssh:// host: the provider's connection helper runs ssh, which runs `docker
// system dial-stdio` on the far side, here a throwaway sshd on this machine that
// lets in only a key made for the test.
func TestRealEngineOverSSH(t *testing.T) {
	clearDockerEnv(t)
	sock := machineSocket(t)
	want := engineID(t, ProviderConfig{Host: sock})

	dir, err := os.MkdirTemp("", "preflight-ssh")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, key := range []string{"host_key", "client_key"} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, key)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v: %s", err, out)
		}
	}
	port := freePort(t)
	config := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %[2]s/host_key
AuthorizedKeysFile %[2]s/client_key.pub
PidFile %[2]s/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
`, port, dir)
	if err := os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	// sshd refuses to start without its privilege separation folder, which only its
	// service creates.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "sshd.log")
	background(t, exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", filepath.Join(dir, "sshd_config")), log)
	waitPort(t, port, "sshd", log)

	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	host := fmt.Sprintf("ssh://%s@127.0.0.1:%d", me.Username, port)
	if sock != defaultHost {
		host += strings.TrimPrefix(sock, "unix://")
	}
	opts := []string{"-F", "/dev/null", "-i", filepath.Join(dir, "client_key"), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"}
	if got := engineID(t, ProviderConfig{Host: host, SSHOpts: opts}); got != want {
		t.Errorf("over ssh: engine %s; want the machine's %s", got, want)
	}
}

// A tcp:// host with mutual TLS: a second daemon of the machine's dockerd, with
// folders of its own and certificates made for the test, verifies the client's
// certificate as a production engine listening on TCP must.
func TestRealEngineOverTCPWithMutualTLS(t *testing.T) {
	clearDockerEnv(t)
	p := newTestPKI(t)
	// Short: dockerd's sockets under the exec root must fit a socket path.
	dir, err := os.MkdirTemp("", "pftls")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	files := map[string][]byte{"ca.pem": p.CA, "server-cert.pem": p.ServerCert, "server-key.pem": p.ServerKey, "daemon.json": []byte("{}")}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	port := freePort(t)
	host := fmt.Sprintf("tcp://127.0.0.1:%d", port)
	bridge := fmt.Sprintf("pftls%d", port)
	if out, err := exec.Command("ip", "link", "add", bridge, "type", "bridge").CombinedOutput(); err != nil {
		t.Fatalf("ip link add %s: %v: %s", bridge, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", bridge).Run() })
	log := filepath.Join(dir, "dockerd.log")
	background(t, exec.Command("dockerd",
		"--config-file", filepath.Join(dir, "daemon.json"),
		"--data-root", filepath.Join(dir, "data"), "--exec-root", filepath.Join(dir, "x"),
		"--pidfile", filepath.Join(dir, "dockerd.pid"), "-H", host,
		"--tlsverify", "--tlscacert", filepath.Join(dir, "ca.pem"),
		"--tlscert", filepath.Join(dir, "server-cert.pem"), "--tlskey", filepath.Join(dir, "server-key.pem"),
		// Nothing runs on it: a bridge of its own (with --bridge=none dockerd
		// deletes docker0, the machine's daemon's), nothing in the firewall, and
		// containerd namespaces apart from the machine's daemon's.
		"--bridge", bridge, "--iptables=false", "--ip-masq=false",
		"--containerd-namespace", "preflight-tls", "--containerd-plugins-namespace", "preflight-tls-plugins",
	), log)
	waitPort(t, port, "dockerd --tlsverify", log)

	dataRoot := filepath.Join(dir, "data")
	for _, c := range []struct {
		name string
		cfg  ProviderConfig
	}{
		{"material", ProviderConfig{Host: host, CAMaterial: string(p.CA), CertMaterial: string(p.ClientCert), KeyMaterial: string(p.ClientKey)}},
		{"cert path", ProviderConfig{Host: host, CertPath: p.writeCertPath(t)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := NewEngine(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			var root string
			for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(time.Second) {
				info, err := e.client.Info(context.Background())
				if err == nil {
					root = info.DockerRootDir
					break
				}
				if time.Now().After(deadline) {
					raw, _ := os.ReadFile(log)
					t.Fatalf("%s: %v\n%s", e.Name(), err, raw)
				}
			}
			if root != dataRoot {
				t.Errorf("%s answered for data root %s; want the TLS daemon's %s", e.Name(), root, dataRoot)
			}
			if _, err := e.Info(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	t.Run("a client without a certificate is refused", func(t *testing.T) {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(p.CA)
		hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		resp, err := hc.Get(fmt.Sprintf("https://127.0.0.1:%d/_ping", port))
		if err == nil {
			resp.Body.Close()
			t.Errorf("the daemon answered a client without a certificate: %s", resp.Status)
		}
	})
	t.Run("an engine the CA did not sign is refused", func(t *testing.T) {
		e, err := NewEngine(ProviderConfig{Host: host, CertMaterial: string(p.ClientCert), KeyMaterial: string(p.ClientKey), CAMaterial: string(newTestPKI(t).CA)})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		if _, err := e.Info(context.Background()); err == nil {
			t.Error("the client trusted an engine its CA did not sign")
		}
	})
}
