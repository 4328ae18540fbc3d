package stacks

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/stacks/config/stackfile"
)

// The docker:* keys reach the preflight as the engine hands them to the program:
// sshOpts, a list in the stack file, as JSON text.
func TestDockerProviderConfigFromTheStackFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Pulumi.dev.yaml")
	file := `config:
  docker:context: remote
  docker:host: ssh://deploy@docker.example.org
  docker:sshOpts:
    - -oPort=2222
    - -i
    - /keys/deploy
  docker:certPath: /certs
`
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := stackfile.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	get := func(key string) (string, bool) { v, ok := m[key]; return v, ok }
	cfg, err := DockerProviderConfig(get)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Context != "remote" || cfg.Host != "ssh://deploy@docker.example.org" || cfg.CertPath != "/certs" ||
		!slices.Equal(cfg.SSHOpts, []string{"-oPort=2222", "-i", "/keys/deploy"}) {
		t.Errorf("config %+v", cfg)
	}

	m["docker:sshOpts"] = "-oPort=2222"
	if _, err := DockerProviderConfig(get); err == nil || !strings.Contains(err.Error(), "docker:sshOpts = -oPort=2222: not a list of strings") {
		t.Errorf("sshOpts not a list: %v", err)
	}
}
