package automation

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// SetInStackFile sets one string value in a stack file's config, at a path that
// starts with a full key as Config.Set takes it ("moodle:database.restoreFromSnapshot"),
// creating the objects on the way. The file is edited as a YAML tree, so its
// comments, key order and every other value stay as the operator wrote them: a
// tool's change to a committed stack file reads as one line in its diff.
func SetInStackFile(stackFile, path, value string) error {
	raw, err := os.ReadFile(stackFile)
	if err != nil {
		return fmt.Errorf("read stack file: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("parse %s: %w", stackFile, err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return fmt.Errorf("%s: not a stack file (no top-level mapping)", stackFile)
	}
	ns, name, ok := strings.Cut(path, ":")
	if !ok || ns == "" || name == "" {
		return fmt.Errorf("config path %q: start it with the namespace, as in moodle:app.replicas", path)
	}
	top, rest, _ := strings.Cut(name, ".")
	keys := []string{"config", ns + ":" + top}
	if rest != "" {
		keys = append(keys, strings.Split(rest, ".")...)
	}
	node := doc.Content[0]
	for i, key := range keys {
		last := i == len(keys)-1
		child := mappingValue(node, key)
		switch {
		case child == nil && last:
			node.Content = append(node.Content, scalar(key), scalar(value))
		case child == nil:
			child = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			node.Content = append(node.Content, scalar(key), child)
		case last:
			*child = *scalar(value)
		case child.Kind != yaml.MappingNode:
			return fmt.Errorf("%s: %s is not an object", stackFile, strings.Join(keys[1:i+1], "."))
		}
		node = child
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return fmt.Errorf("write %s: %w", stackFile, err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("write %s: %w", stackFile, err)
	}
	return os.WriteFile(stackFile, out.Bytes(), 0o644)
}

// mappingValue is the value node of key in a mapping node, nil when absent.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }
