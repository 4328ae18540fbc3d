//go:build engine

package engine_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/automation"
)

func TestConfig_SetEditsNestedFieldsAndKeepsTheRest(t *testing.T) {
	cases := []struct {
		name  string
		start automation.Config
		path  string
		value any
		want  automation.Config
	}{
		{"top-level key", automation.Config{}, "aws:region", "eu-west-1",
			automation.Config{"aws:region": "eu-west-1"}},
		{"field of an existing object", automation.Config{"moodle:app": map[string]any{"replicas": 3, "cpus": 4}},
			"moodle:app.replicas", 4,
			automation.Config{"moodle:app": map[string]any{"replicas": 4, "cpus": 4}}},
		{"missing objects are created", automation.Config{},
			"moodle:database.pgbouncer.poolSize", 20,
			automation.Config{"moodle:database": map[string]any{"pgbouncer": map[string]any{"poolSize": 20}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.start.Set(c.path, c.value); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.start, c.want) {
				t.Errorf("got %v, want %v", c.start, c.want)
			}
		})
	}
}

func TestConfig_SetRefusesAPathWithoutNamespace(t *testing.T) {
	err := automation.Config{}.Set("app.replicas", 4)
	if err == nil || !strings.Contains(err.Error(), "moodle:app.replicas") {
		t.Errorf("got %v, want an error showing the namespaced form", err)
	}
}

func TestConfig_LoadRefusesValuesEncryptedForAnotherStack(t *testing.T) {
	file := filepath.Join(t.TempDir(), "Pulumi.x.yaml")
	text := "config:\n  moodle:target: docker\n  moodle:smtpPassword:\n    secure: v1:abc\n"
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := automation.LoadConfig(file)
	if err == nil || !strings.Contains(err.Error(), "moodle:smtpPassword") {
		t.Errorf("got %v, want an error naming the encrypted key", err)
	}
}

func TestConfig_KeyGivenWithAndWithoutNamespaceIsRefused(t *testing.T) {
	r := newRig(t)
	_, err := automation.New(t.Context(), "dev",
		automation.WithProjectDir(projectDir), automation.WithStateDir(r.state), automation.WithPassphrase(testPassphrase),
		automation.WithConfig(automation.Config{"moodle:target": "docker", "target": "aws"}))
	if err == nil || !strings.Contains(err.Error(), "moodle:target is given twice") {
		t.Errorf("got %v, want the duplicate key named", err)
	}
}
