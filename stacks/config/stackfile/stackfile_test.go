package stackfile_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/stacks/config/stackfile"
)

func write(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "Pulumi.test.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Values reach the program as the engine passes them: scalars as their text,
// objects and lists as JSON, every key still namespaced.
func TestReadGivesEngineShapedValues(t *testing.T) {
	path := write(t, `config:
  aws:region: eu-west-1
  moodle:target: docker
  moodle:count: 3
  moodle:flag: true
  moodle:quoted: "16"
  moodle:empty:
  moodle:app:
    cpus: 4.0
    php: {maxInputVars: 5000}
    statusAllow: [127.0.0.1/32]
  moodle:list: [a, b]
`)
	got, err := stackfile.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"aws:region":    "eu-west-1",
		"moodle:target": "docker",
		"moodle:count":  "3",
		"moodle:flag":   "true",
		"moodle:quoted": "16",
		"moodle:empty":  "",
		"moodle:app":    `{"cpus":4,"php":{"maxInputVars":5000},"statusAllow":["127.0.0.1/32"]}`,
		"moodle:list":   `["a","b"]`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Read = %#v\nwant %#v", got, want)
	}
}

func TestGetterReadsTheMoodleNamespace(t *testing.T) {
	get := stackfile.Getter(map[string]string{"moodle:target": "aws", "aws:region": "eu-west-1"})
	if v, ok := get("target"); !ok || v != "aws" {
		t.Errorf(`get("target") = %q, %v`, v, ok)
	}
	if v, ok := get("region"); ok {
		t.Errorf(`get("region") = %q from another namespace`, v)
	}
}

func TestReadRefuses(t *testing.T) {
	cases := []struct {
		name, text, want string
	}{
		{"encrypted values", "config:\n  moodle:secret:\n    secure: v1:abc\n", "moodle:secret: the value is encrypted"},
		{"keys without a namespace", "config:\n  target: docker\n", `config key "target" has no namespace; write it as moodle:target`},
		{"broken YAML", "config: [\n", "parse stack file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := write(t, c.text)
			if _, err := stackfile.Read(path); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Read: error = %v, want it to contain %q", err, c.want)
			}
			if _, err := stackfile.Decode(path); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Decode: error = %v, want it to contain %q", err, c.want)
			}
		})
	}
	if _, err := stackfile.Read(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "read stack file") {
		t.Errorf("missing file: error = %v", err)
	}
}

// Decode keeps YAML's types, which the Automation API writes back as typed config.
func TestDecodeKeepsYAMLTypes(t *testing.T) {
	path := write(t, `config:
  moodle:target: docker
  moodle:count: 3
  moodle:flag: true
  moodle:quoted: "16"
  moodle:app:
    cpus: 4.5
    statusAllow: [127.0.0.1/32]
`)
	got, err := stackfile.Decode(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"moodle:target": "docker",
		"moodle:count":  3,
		"moodle:flag":   true,
		"moodle:quoted": "16",
		"moodle:app":    map[string]any{"cpus": 4.5, "statusAllow": []any{"127.0.0.1/32"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Decode = %#v\nwant %#v", got, want)
	}
}

// Set edits a stack's values the way `pulumi config set --path` does, so tests
// can derive variants from the committed stack files.
func TestSetChangesOneValueAndKeepsTheRest(t *testing.T) {
	cases := []struct {
		name, path string
		value      any
		want       map[string]string
	}{
		{"a field of an object", "database.pooler", "pgbouncer", map[string]string{
			"moodle:target": "docker", "moodle:database": `{"cpus":2,"pooler":"pgbouncer"}`}},
		{"a nested field, creating the object", "app.php.maxInputVars", 9000, map[string]string{
			"moodle:target": "docker", "moodle:database": `{"cpus":2,"pooler":"none"}`,
			"moodle:app": `{"php":{"maxInputVars":9000}}`}},
		{"a top-level key", "siteUrl", "http://localhost:9090", map[string]string{
			"moodle:target": "docker", "moodle:database": `{"cpus":2,"pooler":"none"}`,
			"moodle:siteUrl": "http://localhost:9090"}},
		{"a field removed", "database.pooler", nil, map[string]string{
			"moodle:target": "docker", "moodle:database": `{"cpus":2}`}},
		{"a key removed", "database", nil, map[string]string{"moodle:target": "docker"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := map[string]string{"moodle:target": "docker", "moodle:database": `{"cpus":2,"pooler":"none"}`}
			if err := stackfile.Set(m, c.path, c.value); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m, c.want) {
				t.Errorf("Set(%s, %v) = %v, want %v", c.path, c.value, m, c.want)
			}
		})
	}
	if err := stackfile.Set(map[string]string{"moodle:target": "docker"}, "target.kind", "x"); err == nil {
		t.Error("Set went into a scalar as if it were an object")
	}
}
