// Package stackfile reads a committed Pulumi.<stack>.yaml the way the engine hands
// its config to a program, so tests and the Automation API use the real stack files.
package stackfile

import (
	"encoding/json"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"
)

// Read returns the stack file's config as the engine passes it to a program: full
// keys ("moodle:app"), scalars as their text, objects and arrays as JSON.
func Read(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read stack file: %w", err)
	}
	var file struct {
		Config map[string]any `yaml:"config"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	out := make(map[string]string, len(file.Config))
	for key, value := range file.Config {
		switch v := value.(type) {
		case map[string]any, []any:
			b, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("%s: key %s: %w", path, key, err)
			}
			out[key] = string(b)
		default:
			out[key] = fmt.Sprint(v)
		}
	}
	return out, nil
}
