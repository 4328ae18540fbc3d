//go:build integration

package realprograms

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/tests/harness/loopback"
)

// TestConfigPHPReadsSecretsAtRunTime runs the rendered config.php with PHP as the
// cron runner does, with every secret given the way a target gives it: in the
// environment (ECS secrets), in a file named by NAME_FILE (Docker secrets), or not at
// all, which must stop the script rather than run a half-configured site.
func TestConfigPHPReadsSecretsAtRunTime(t *testing.T) {
	root := loopback.NewRoot(t)
	as := loopback.ServiceAccount(t)
	spec := loopback.DevSpec(t, root, 8080)
	loopback.CopyProbeApp(t, spec.Paths.CodeDir)
	config := writeFile(t, filepath.Join(spec.Paths.CodeDir, "config.php"), render.ConfigPHP(spec, endpoints(spec)))
	as.OwnDataRoot(t, spec)
	iniDir := filepath.Join(root, "php")
	writeFile(t, filepath.Join(iniDir, "zz-moodle.ini"), render.PHPIni(spec))
	secrets := map[string]string{
		render.EnvDBPassword:    "db-" + loopback.Password(t),
		render.EnvRedisPassword: "redis-" + loopback.Password(t),
		render.EnvUpgradeKey:    "key-" + loopback.Password(t),
	}
	secretDir := filepath.Join(root, "secrets")
	for name, value := range secrets {
		// A trailing newline, as `echo value > file` leaves, is not part of the secret.
		if err := os.MkdirAll(secretDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(secretDir, name), []byte(value+"\n"), 0o400); err != nil {
			t.Fatal(err)
		}
	}
	as.Own(t, secretDir)

	const script = `define('CLI_SCRIPT', true); require $argv[1];
echo json_encode(['db' => $CFG->dbpass, 'redis' => $CFG->session_redis_auth, 'key' => $CFG->upgradekey,
    'setup' => $CFG->probe_setup_loaded ?? false]);`
	cases := []struct {
		name    string
		env     func(name, value string) string
		wantErr string
	}{
		{"from the environment", func(name, value string) string { return name + "=" + value }, ""},
		{"from files named by _FILE", func(name, _ string) string {
			return name + render.FileSuffix + "=" + filepath.Join(secretDir, name)
		}, ""},
		{"missing", func(string, string) string { return "" }, "neither " + render.EnvDBPassword},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := []string{loopback.PHPEnv("cli", iniDir)}
			for name, value := range secrets {
				if v := c.env(name, value); v != "" {
					env = append(env, v)
				}
			}
			out, err := loopback.Run(as, env, loopback.PHPBin, "-r", script, config)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(out, c.wantErr) {
					t.Fatalf("config.php ran without its secrets (%v): %s", err, out)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				DB, Redis, Key string
				Setup          bool
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if got.DB != secrets[render.EnvDBPassword] || got.Redis != secrets[render.EnvRedisPassword] ||
				got.Key != secrets[render.EnvUpgradeKey] {
				t.Errorf("config.php read %+v, want the secrets %v", got, secrets)
			}
			if !got.Setup {
				t.Errorf("config.php did not hand over to lib/setup.php")
			}
		})
	}
}
