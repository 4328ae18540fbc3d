package automation

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"

	moodleconfig "github.com/moodle-cluster/moodle-pulumi/stacks/config"
	"github.com/moodle-cluster/moodle-pulumi/stacks/config/stackfile"
)

// Config is a stack's configuration given in code. Keys are full ("moodle:app",
// "aws:region") or bare ("app"), which belong to the project's namespace as in a
// stack file. Values are strings, numbers, booleans, or anything encoding/json
// marshals to an object or array, which is stored structured as a stack file holds
// it: the program reads the same JSON either way.
type Config map[string]any

// LoadConfig reads the config section of a stack file. Encrypted values are
// refused: they belong to the stack that encrypted them; pass such settings with
// WithConfig after decrypting them yourself, or keep them out of stack files.
func LoadConfig(stackFile string) (Config, error) {
	values, err := stackfile.Decode(stackFile)
	if err != nil {
		return nil, err
	}
	return Config(values), nil
}

// Set sets a value at a path that starts with a full key: "moodle:app.replicas"
// sets the replicas field of the moodle:app object, "aws:region" a top-level key.
// Missing objects on the way are created.
func (c Config) Set(path string, value any) error {
	ns, name, ok := strings.Cut(path, ":")
	if !ok || ns == "" {
		return fmt.Errorf("config path %q: start it with the namespace, as in moodle:app.replicas", path)
	}
	top, rest, nested := strings.Cut(name, ".")
	top = ns + ":" + top
	if !nested {
		c[top] = value
		return nil
	}
	obj, err := toObject(c[top])
	if err != nil {
		return fmt.Errorf("config %s: %w", top, err)
	}
	cur := obj
	fields := strings.Split(rest, ".")
	for _, f := range fields[:len(fields)-1] {
		next, err := toObject(cur[f])
		if err != nil {
			return fmt.Errorf("config %s: field %s: %w", top, f, err)
		}
		cur[f] = next
		cur = next
	}
	cur[fields[len(fields)-1]] = value
	c[top] = obj
	return nil
}

// toObject returns v as a mutable JSON object, converting structs and YAML maps.
func toObject(v any) (map[string]any, error) {
	if v == nil {
		return map[string]any{}, nil
	}
	if m, ok := v.(map[string]any); ok {
		return m, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("not an object: %s", b)
	}
	return m, nil
}

// toMap converts the config to the engine's form, giving bare keys the project
// namespace.
func (c Config) toMap(project string) (config.Map, error) {
	out := config.Map{}
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, name := range keys {
		full := name
		if !strings.Contains(name, ":") {
			full = project + ":" + name
		}
		key, err := config.ParseKey(full)
		if err != nil {
			return nil, fmt.Errorf("config key %q: %w", name, err)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("config key %s is given twice, with and without its namespace", full)
		}
		value, err := configValue(c[name])
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", full, err)
		}
		out[key] = value
	}
	return out, nil
}

func configValue(v any) (config.Value, error) {
	switch v := v.(type) {
	case string:
		return config.NewValue(v), nil
	case bool:
		return config.NewTypedValue(strconv.FormatBool(v), config.TypeBool), nil
	case int:
		return config.NewTypedValue(strconv.Itoa(v), config.TypeInt), nil
	case int64:
		return config.NewTypedValue(strconv.FormatInt(v, 10), config.TypeInt), nil
	case float64:
		if v == float64(int64(v)) {
			return config.NewTypedValue(strconv.FormatInt(int64(v), 10), config.TypeInt), nil
		}
		return config.NewTypedValue(strconv.FormatFloat(v, 'g', -1, 64), config.TypeFloat), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return config.Value{}, err
	}
	return config.NewObjectValue(string(b)), nil
}

// Values is the config as the engine hands it to the program: keys namespaced
// (bare keys get project's namespace), structured values as JSON text. It is
// what pulumi.RunInfo.Config takes to run the program without an engine.
func (c Config) Values(project string) (map[string]string, error) {
	m, err := c.toMap(project)
	if err != nil {
		return nil, err
	}
	return engineValues(m)
}

// engineValues is the config as the engine hands it to the program: every key
// namespaced, structured values as JSON text (what stackfile.Read gives).
func engineValues(m config.Map) (map[string]string, error) {
	out := make(map[string]string, len(m))
	for key, v := range m {
		text, err := v.Value(config.NopDecrypter)
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", key, err)
		}
		out[key.String()] = text
	}
	return out, nil
}

// checkConfig runs the program's own validator over the config.
func checkConfig(m config.Map) error {
	values, err := engineValues(m)
	if err != nil {
		return err
	}
	_, err = moodleconfig.Load(stackfile.Getter(values))
	return err
}
