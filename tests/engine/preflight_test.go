//go:build engine

package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/automation"
)

// The program's preflight asks the engine the stack's docker:* config names, as the
// engine hands that config to the program, before DOCKER_HOST.

// oneCPUEngine serves, on a socket of its own, a Docker engine with one CPU that
// holds every image; it returns the socket's address.
func oneCPUEngine(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "engine.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.41")
		switch {
		case strings.HasSuffix(r.URL.Path, "/_ping"):
			fmt.Fprint(w, "OK")
		case strings.HasSuffix(r.URL.Path, "/info"):
			json.NewEncoder(w).Encode(map[string]any{"NCPU": 1, "MemTotal": 64 << 30, "SwapLimit": true})
		case strings.Contains(r.URL.Path, "/images/"):
			fmt.Fprint(w, "{}")
		default:
			http.NotFound(w, r)
		}
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "unix://" + sock
}

func TestPreflight_AsksTheEngineOfTheStacksDockerHost(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "not-this.sock"))
	host := oneCPUEngine(t)
	r := newRig(t)
	s := r.stack(t, "dev", committedConfigWith(t, "dev", map[string]any{"docker:host": host}), automation.WithDockerHost(nil))
	_, err := s.Preview(context.Background())
	want := "the Docker host " + host + " cannot run this stack"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "has 1 CPUs") {
		t.Fatalf("preview with docker:host %s: %v; want %q and its 1 CPU", host, err, want)
	}
}

// docker:sshOpts is a list in the stack; the ssh the provider's connection helper
// runs gets it. A stand-in ssh records how it was run and fails: the preview then
// warns that the host does not answer.
func TestPreflight_SSHHostGetsTheStacksSSHOptions(t *testing.T) {
	bin := t.TempDir()
	record := filepath.Join(bin, "args")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" >" + record + "\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "ssh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	r := newRig(t)
	cfg := committedConfigWith(t, "dev", map[string]any{
		"docker:host":    "ssh://deploy@docker.invalid:2222",
		"docker:sshOpts": []string{"-i", "/keys/deploy", "-oBatchMode=yes"},
	})
	var out strings.Builder
	s := r.stack(t, "dev", cfg, automation.WithDockerHost(nil), automation.WithProgress(&out))
	if _, err := s.Preview(context.Background()); err != nil {
		t.Fatalf("preview: %v", err)
	}
	if !strings.Contains(out.String(), "ssh://deploy@docker.invalid:2222 about its capacity") {
		t.Errorf("preview did not warn that the ssh host does not answer:\n%s", out.String())
	}
	raw, err := os.ReadFile(record)
	if err != nil {
		t.Fatalf("ssh was not run: %v", err)
	}
	args := strings.Join(strings.Fields(string(raw)), " ")
	if !strings.Contains(args, "-l deploy -p 2222 -i /keys/deploy -oBatchMode=yes") || !strings.HasSuffix(args, "docker system dial-stdio") {
		t.Errorf("ssh %s; want the stack's options and docker system dial-stdio", args)
	}
}
