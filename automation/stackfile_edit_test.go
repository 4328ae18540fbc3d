package automation

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSetInStackFile_ChangesOneValueAndKeepsTheRest(t *testing.T) {
	const file = `# The prod stack.
config:
  aws:region: eu-west-1
  # The database.
  moodle:database:
    version: "17"
    backupRetentionDays: 14 # two weeks
  moodle:target: aws
`
	for _, tc := range []struct {
		name, path string
		value      any
		want       map[string]any // paths read back through LoadConfig
	}{
		{"a new field of an existing object", "moodle:database.restoreFromSnapshot", "snap-1",
			map[string]any{"moodle:database": map[string]any{"version": "17", "backupRetentionDays": 14, "restoreFromSnapshot": "snap-1"}}},
		{"an object the file lacks", "moodle:backup.schedule", "cron(0 5 ? * * *)",
			map[string]any{"moodle:backup": map[string]any{"schedule": "cron(0 5 ? * * *)"}}},
		{"a top-level key", "moodle:target", "docker", map[string]any{"moodle:target": "docker"}},
		{"a boolean, as a YAML boolean", "moodle:aws.maintenance", true, map[string]any{"moodle:aws": map[string]any{"maintenance": true}}},
		{"a number, as a YAML number", "moodle:database.backupRetentionDays", 7,
			map[string]any{"moodle:database": map[string]any{"version": "17", "backupRetentionDays": 7}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "Pulumi.prod.yaml")
			if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := SetInStackFile(path, tc.path, tc.value); err != nil {
				t.Fatal(err)
			}
			cfg, err := LoadConfig(path)
			if err != nil {
				t.Fatal(err)
			}
			for key, want := range tc.want {
				if got := cfg[key]; !equalJSON(got, want) {
					t.Errorf("%s = %#v, want %#v", key, got, want)
				}
			}
			if cfg["aws:region"] != "eu-west-1" {
				t.Errorf("aws:region lost: %#v", cfg)
			}
			raw, _ := os.ReadFile(path)
			for _, comment := range []string{"# The prod stack.", "# The database.", "# two weeks"} {
				if !strings.Contains(string(raw), comment) {
					t.Errorf("comment %q lost:\n%s", comment, raw)
				}
			}
		})
	}
}

func TestSetInStackFile_RefusesToReplaceAValueWithAnObject(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Pulumi.prod.yaml")
	if err := os.WriteFile(path, []byte("config:\n  moodle:target: aws\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := SetInStackFile(path, "moodle:target.x", "y"); err == nil || !strings.Contains(err.Error(), "moodle:target is not an object") {
		t.Errorf("error %v", err)
	}
}

// equalJSON compares two decoded values as JSON would (numbers of any type).
func equalJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}
