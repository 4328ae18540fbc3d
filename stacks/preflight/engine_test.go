package preflight

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The engine's address is resolved as the Docker provider resolves it (NewEngine's
// comment names the provider's lines); each test asks a fake engine that answers
// /_ping and /info, so it shows which address was taken by what it answered.

// clearDockerEnv unsets every variable the provider or the Docker client reads, so
// a test sees only what it sets.
func clearDockerEnv(t *testing.T) {
	t.Helper()
	for _, v := range []string{"DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_SSH_OPTS", "DOCKER_CA_MATERIAL",
		"DOCKER_CERT_MATERIAL", "DOCKER_KEY_MATERIAL", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY", "DOCKER_API_VERSION"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
}

// fakeEngine answers the ping and the info of a Docker engine with cpus CPUs.
func fakeEngine(cpus int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/_ping"):
			w.Header().Set("Api-Version", "1.41")
			fmt.Fprint(w, "OK")
		case strings.HasSuffix(r.URL.Path, "/info"):
			json.NewEncoder(w).Encode(map[string]any{"NCPU": cpus, "MemTotal": 8 << 30, "SwapLimit": true})
		default:
			http.NotFound(w, r)
		}
	})
}

// unixEngine serves a fake engine with cpus CPUs on a socket of its own; it returns
// the socket's address.
func unixEngine(t *testing.T, cpus int) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: fakeEngine(cpus)}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "unix://" + sock
}

// askCPUs is the number of CPUs the engine cfg resolves to says its host has.
func askCPUs(t *testing.T, cfg ProviderConfig) (int, *Engine) {
	t.Helper()
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := e.Info(ctx)
	if err != nil {
		t.Fatalf("%s: %v", e.Name(), err)
	}
	return c.CPUs, e
}

func TestEngineHostFromStackConfigBeforeDOCKER_HOST(t *testing.T) {
	clearDockerEnv(t)
	stack, env := unixEngine(t, 3), unixEngine(t, 5)
	t.Setenv("DOCKER_HOST", env)
	if cpus, e := askCPUs(t, ProviderConfig{Host: stack}); cpus != 3 || e.Name() != stack {
		t.Errorf("docker:host %s: asked %s, which has %d CPUs; want the stack's (3)", stack, e.Name(), cpus)
	}
}

func TestEngineHostFromDOCKER_HOST(t *testing.T) {
	clearDockerEnv(t)
	env := unixEngine(t, 5)
	t.Setenv("DOCKER_HOST", env)
	if cpus, e := askCPUs(t, ProviderConfig{}); cpus != 5 || e.Name() != env {
		t.Errorf("DOCKER_HOST %s: asked %s, which has %d CPUs; want 5", env, e.Name(), cpus)
	}
}

func TestEngineDefaultsToTheLocalSocket(t *testing.T) {
	clearDockerEnv(t)
	e, err := NewEngine(ProviderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Name() != "unix:///var/run/docker.sock" || e.client.DaemonHost() != "unix:///var/run/docker.sock" {
		t.Errorf("no host set: engine %s, client's host %s; want unix:///var/run/docker.sock", e.Name(), e.client.DaemonHost())
	}
}

// writeContext stores a context named name for host in home as `docker context
// create name --docker host=...` does (docker/cli v28.5.1 cli/context/store:
// store.go line 505, contextdirOf: the folder is the SHA-256 of the name;
// metadatastore.go lines 20-21: meta/<folder>/meta.json; store.go lines 75-79,
// Metadata: Name, Metadata, Endpoints, the docker endpoint's Host and
// SkipTLSVerify).
func writeContext(t *testing.T, home, name, host string) {
	t.Helper()
	sum := sha256.Sum256([]byte(name))
	dir := filepath.Join(home, ".docker", "contexts", "meta", hex.EncodeToString(sum[:]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	meta, _ := json.Marshal(map[string]any{
		"Name":      name,
		"Metadata":  map[string]any{"Description": "preflight test"},
		"Endpoints": map[string]any{"docker": map[string]any{"Host": host, "SkipTLSVerify": false}},
	})
	if err := os.WriteFile(filepath.Join(dir, "meta.json"), meta, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestEngineContextOverridesHost(t *testing.T) {
	clearDockerEnv(t)
	home := t.TempDir()
	writeContext(t, home, "other", unixEngine(t, 2))
	ctxHost := unixEngine(t, 7)
	writeContext(t, home, "remote", ctxHost)
	cpus, e := askCPUs(t, ProviderConfig{Host: unixEngine(t, 3), Context: "remote", Home: home})
	if cpus != 7 || !strings.Contains(e.Name(), ctxHost) || !strings.Contains(e.Name(), `"remote"`) {
		t.Errorf("docker:context remote: asked %s, which has %d CPUs; want the context's host %s (7)", e.Name(), cpus, ctxHost)
	}

	t.Setenv("DOCKER_CONTEXT", "remote")
	t.Setenv("DOCKER_HOST", unixEngine(t, 3))
	if cpus, e := askCPUs(t, ProviderConfig{Home: home}); cpus != 7 {
		t.Errorf("DOCKER_CONTEXT remote: asked %s, which has %d CPUs; want the context's (7)", e.Name(), cpus)
	}
}

func TestEngineUnknownContextSaysWhatToSet(t *testing.T) {
	clearDockerEnv(t)
	home := t.TempDir()
	writeContext(t, home, "other", "unix:///nowhere.sock")
	_, err := NewEngine(ProviderConfig{Context: "missing", Home: home})
	if err == nil || !strings.Contains(err.Error(), `docker context "missing" (docker:context, else DOCKER_CONTEXT)`) ||
		!strings.Contains(err.Error(), "docker context create") {
		t.Errorf("NewEngine = %v; want the context named and what to do", err)
	}
}

// An ssh:// host goes through docker/cli's connection helper: ssh with the
// stack's options runs `docker system dial-stdio` on the host. A stand-in ssh
// records how it was run.
func TestEngineSSHHostRunsDialStdioOverSSH(t *testing.T) {
	for _, fromEnv := range []bool{false, true} {
		t.Run(fmt.Sprintf("options from DOCKER_SSH_OPTS %v", fromEnv), func(t *testing.T) {
			clearDockerEnv(t)
			bin := t.TempDir()
			record := filepath.Join(bin, "args")
			script := "#!/bin/sh\nprintf '%s\\n' \"$@\" >" + record + "\nexit 1\n"
			if err := os.WriteFile(filepath.Join(bin, "ssh"), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
			cfg := ProviderConfig{Host: "ssh://deploy@docker.invalid:2222"}
			if fromEnv {
				t.Setenv("DOCKER_SSH_OPTS", "-i /keys/id -o StrictHostKeyChecking=no")
			} else {
				cfg.SSHOpts = []string{"-i", "/keys/id", "-o", "StrictHostKeyChecking=no"}
			}
			e, err := NewEngine(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			if e.Name() != cfg.Host || e.client.DaemonHost() != "http://docker.example.com" {
				t.Errorf("engine %s, client's host %s; want %s through the connection helper", e.Name(), e.client.DaemonHost(), cfg.Host)
			}
			if _, err := e.Info(context.Background()); err == nil {
				t.Fatal("Info through a failing ssh succeeded")
			}
			raw, err := os.ReadFile(record)
			if err != nil {
				t.Fatalf("ssh was not run: %v", err)
			}
			args := strings.Join(strings.Fields(string(raw)), " ")
			want := "-l deploy -p 2222 -i /keys/id -o StrictHostKeyChecking=no"
			if !strings.Contains(args, want) || !strings.HasSuffix(args, "-- docker.invalid docker system dial-stdio") {
				t.Errorf("ssh %s; want %s ... -- docker.invalid docker system dial-stdio", args, want)
			}
		})
	}
}

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, PEM-encoded, as a TLS-protected Docker engine and its clients hold
// them (docker docs: protect the daemon socket).
type testPKI struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey []byte
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	key := func() (*ecdsa.PrivateKey, []byte) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return k, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	}
	serial := int64(1)
	sign := func(tmpl *x509.Certificate, pub any, parent *x509.Certificate, signer *ecdsa.PrivateKey) (*x509.Certificate, []byte) {
		serial++
		tmpl.SerialNumber = big.NewInt(serial)
		tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
		if parent == nil {
			parent = tmpl
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	var p testPKI
	caKey, _ := key()
	ca, caPEM := sign(&x509.Certificate{Subject: pkix.Name{CommonName: "preflight test CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}, &caKey.PublicKey, nil, caKey)
	p.CA = caPEM
	sk, skPEM := key()
	_, p.ServerCert = sign(&x509.Certificate{Subject: pkix.Name{CommonName: "127.0.0.1"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, &sk.PublicKey, ca, caKey)
	p.ServerKey = skPEM
	ck, ckPEM := key()
	_, p.ClientCert = sign(&x509.Certificate{Subject: pkix.Name{CommonName: "preflight"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, &ck.PublicKey, ca, caKey)
	p.ClientKey = ckPEM
	return p
}

// writeCertPath stores the client's files as DOCKER_CERT_PATH holds them.
func (p testPKI) writeCertPath(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range map[string][]byte{"ca.pem": p.CA, "cert.pem": p.ClientCert, "key.pem": p.ClientKey} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// tlsEngine serves a fake engine with cpus CPUs over TLS on 127.0.0.1, to clients
// with a certificate of p's CA only, as dockerd --tlsverify does.
func tlsEngine(t *testing.T, p testPKI, cpus int) string {
	t.Helper()
	pair, err := tls.X509KeyPair(p.ServerCert, p.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.CA)
	srv := httptest.NewUnstartedServer(fakeEngine(cpus))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return "tcp://" + srv.Listener.Addr().String()
}

func TestEngineMutualTLS(t *testing.T) {
	p := newTestPKI(t)
	host := tlsEngine(t, p, 6)
	cases := []struct {
		name string
		cfg  ProviderConfig
		env  map[string]string
	}{
		{"material", ProviderConfig{Host: host, CAMaterial: string(p.CA), CertMaterial: string(p.ClientCert), KeyMaterial: string(p.ClientKey)}, nil},
		{"material without a CA: not verified, as the provider", ProviderConfig{Host: host, CertMaterial: string(p.ClientCert), KeyMaterial: string(p.ClientKey)}, nil},
		{"material from the environment", ProviderConfig{Host: host}, map[string]string{
			"DOCKER_CA_MATERIAL": string(p.CA), "DOCKER_CERT_MATERIAL": string(p.ClientCert), "DOCKER_KEY_MATERIAL": string(p.ClientKey)}},
		{"cert path", ProviderConfig{Host: host, CertPath: p.writeCertPath(t)}, nil},
		{"DOCKER_CERT_PATH and DOCKER_TLS_VERIFY", ProviderConfig{}, map[string]string{
			"DOCKER_HOST": host, "DOCKER_CERT_PATH": p.writeCertPath(t), "DOCKER_TLS_VERIFY": "1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clearDockerEnv(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			if cpus, e := askCPUs(t, c.cfg); cpus != 6 {
				t.Errorf("asked %s, which has %d CPUs; want 6", e.Name(), cpus)
			}
		})
	}

	t.Run("a CA that did not sign the engine's certificate", func(t *testing.T) {
		clearDockerEnv(t)
		other := newTestPKI(t)
		e, err := NewEngine(ProviderConfig{Host: host, CAMaterial: string(other.CA), CertMaterial: string(p.ClientCert), KeyMaterial: string(p.ClientKey)})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		if _, err := e.Info(context.Background()); err == nil {
			t.Error("the client trusted an engine its CA did not sign")
		}
	})
}

func TestEngineTLSMisconfigurationSaysWhatToSet(t *testing.T) {
	p := newTestPKI(t)
	for _, c := range []struct {
		cfg  ProviderConfig
		want string
	}{
		{ProviderConfig{Host: "tcp://127.0.0.1:2376", CertMaterial: string(p.ClientCert)}, "docker:certMaterial and docker:keyMaterial"},
		{ProviderConfig{Host: "tcp://127.0.0.1:2376", CertMaterial: string(p.ClientCert), KeyMaterial: string(p.ClientKey), CertPath: "/certs"}, "unset one"},
		{ProviderConfig{Host: "tcp://127.0.0.1:2376", CertPath: t.TempDir()}, "tcp://127.0.0.1:2376"},
	} {
		clearDockerEnv(t)
		if _, err := NewEngine(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewEngine(%+v) = %v; want an error with %q", c.cfg.CertPath, err, c.want)
		}
	}
}

// A cancelled preview or up stops the questions: the engine's answer is not
// waited for.
func TestEngineQuestionsStopWhenCancelled(t *testing.T) {
	clearDockerEnv(t)
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/_ping") {
			w.Header().Set("Api-Version", "1.41")
			return
		}
		<-r.Context().Done()
	})}
	go srv.Serve(l)
	defer srv.Close()
	e, err := NewEngine(ProviderConfig{Host: "unix://" + sock})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	if _, err := e.Info(ctx); err == nil {
		t.Fatal("Info of a cancelled preflight succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Info returned %v after the cancel", d)
	}
}
