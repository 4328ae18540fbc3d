// Package stackfile reads a committed Pulumi.<stack>.yaml the way the engine hands
// its config to a program: every key namespaced ("moodle:app", "aws:region"),
// structured values as JSON text, scalars as their text. Tests use it to run the
// program (under mocks or the real engine) on the stack files users deploy,
// moodlectl to read a stack, and the automation package to load a stack file and to
// validate a config before the engine starts.
package stackfile

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/moodle-cluster/moodle-pulumi/stacks/config"
)

// Read returns the config: block of the stack file at path as the engine hands it
// to a program: structured values as JSON text, scalars as their text.
func Read(path string) (map[string]string, error) {
	nodes, err := parse(path)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(nodes))
	for key, node := range nodes {
		text, err := value(&node)
		if err != nil {
			return nil, fmt.Errorf("%s: config key %s: %w", path, key, err)
		}
		out[key] = text
	}
	return out, nil
}

// Decode returns the config: block of the stack file at path as YAML types it:
// strings, numbers and booleans, and objects and lists as maps and slices. It is
// the form the Automation API writes back to a stack's config.
func Decode(path string) (map[string]any, error) {
	nodes, err := parse(path)
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(nodes))
	for key, node := range nodes {
		var v any
		if err := node.Decode(&v); err != nil {
			return nil, fmt.Errorf("%s: config key %s: %w", path, key, err)
		}
		out[key] = v
	}
	return out, nil
}

// parse reads the config: block of the stack file at path, one node per key. Keys
// need their namespace, as the engine's config.ParseKey requires of a stack file
// (pulumi/sdk go/common/resource/config/key.go). Encrypted (secure:) values are
// refused: they cannot be read without the stack's secrets provider, and the
// committed stack files must not need one.
func parse(path string) (map[string]yaml.Node, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read stack file: %w", err)
	}
	var file struct {
		Config map[string]yaml.Node `yaml:"config"`
	}
	if err := yaml.Unmarshal(data, &file); err != nil {
		return nil, fmt.Errorf("parse stack file %s: %w", path, err)
	}
	for key, node := range file.Config {
		if !strings.Contains(key, ":") {
			return nil, fmt.Errorf("%s: config key %q has no namespace; write it as %s:%s", path, key, config.Namespace, key)
		}
		if encrypted(&node) {
			return nil, fmt.Errorf("%s: config key %s: the value is encrypted, and only the stack that encrypted it can read it; give it through the environment or automation.WithConfig", path, key)
		}
	}
	return file.Config, nil
}

// encrypted reports whether node is a secure: value.
func encrypted(node *yaml.Node) bool {
	return node.Kind == yaml.MappingNode && len(node.Content) == 2 && node.Content[0].Value == "secure"
}

// value is the text the engine passes for one config value.
func value(node *yaml.Node) (string, error) {
	switch node.Kind {
	case yaml.ScalarNode:
		if node.Tag == "!!null" {
			return "", nil
		}
		return node.Value, nil
	case yaml.MappingNode, yaml.SequenceNode:
		var v any
		if err := node.Decode(&v); err != nil {
			return "", err
		}
		text, err := json.Marshal(v)
		if err != nil {
			return "", fmt.Errorf("not representable as JSON: %w", err)
		}
		return string(text), nil
	}
	return "", fmt.Errorf("unsupported YAML value (kind %d)", node.Kind)
}

// Getter reads the moodle namespace of m, as config.Load expects.
func Getter(m map[string]string) config.Getter {
	return func(key string) (string, bool) {
		v, ok := m[config.Namespace+":"+key]
		return v, ok
	}
}

// Set changes one value of m (as Read returns it) the way `pulumi config set --path
// moodle:<path> <value>` changes a stack file: "app.replicas" sets a field of the
// moodle:app object, creating the object or the nested ones on the way, and
// "siteUrl" sets a top-level key. A nil value removes the key or the field. Tests
// use it to derive variants from the committed stack files.
func Set(m map[string]string, path string, value any) error {
	top, field, nested := strings.Cut(path, ".")
	key := config.Namespace + ":" + top
	if !nested {
		if value == nil {
			delete(m, key)
		} else {
			m[key] = fmt.Sprint(value)
		}
		return nil
	}
	obj := map[string]any{}
	if text, ok := m[key]; ok && text != "" {
		if err := json.Unmarshal([]byte(text), &obj); err != nil {
			return fmt.Errorf("set %s: %s is not an object: %w", path, key, err)
		}
	}
	setField(obj, strings.Split(field, "."), value)
	text, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("set %s: %w", path, err)
	}
	m[key] = string(text)
	return nil
}

func setField(obj map[string]any, path []string, value any) {
	if len(path) == 1 {
		if value == nil {
			delete(obj, path[0])
		} else {
			obj[path[0]] = value
		}
		return
	}
	child, ok := obj[path[0]].(map[string]any)
	if !ok {
		child = map[string]any{}
		obj[path[0]] = child
	}
	setField(child, path[1:], value)
}
