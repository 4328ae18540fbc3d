package automation

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// SetInStackFile sets one value in a stack file's config, at a path that starts
// with a full key as Config.Set takes it ("moodle:database.restoreFromSnapshot"),
// creating the objects on the way. A string, bool or int is written as a YAML
// value of its type: the config's decoder refuses the string "true" for a
// boolean. The file is edited as a YAML tree, so its comments, key order and
// every other value stay as the operator wrote them: a tool's change to a
// committed stack file reads as one line in its diff.
func SetInStackFile(stackFile, path string, value any) error {
	leaf, err := scalarOf(value)
	if err != nil {
		return fmt.Errorf("config path %s: %w", path, err)
	}
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
			node.Content = append(node.Content, scalar(key), leaf)
		case child == nil:
			child = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			node.Content = append(node.Content, scalar(key), child)
		case last:
			// The value's own comments stay with it.
			leaf.HeadComment, leaf.LineComment, leaf.FootComment = child.HeadComment, child.LineComment, child.FootComment
			*child = *leaf
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

// scalarOf is value as a YAML scalar of its own type.
func scalarOf(value any) (*yaml.Node, error) {
	switch v := value.(type) {
	case string:
		return scalar(v), nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v)}, nil
	case int:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(v)}, nil
	}
	return nil, fmt.Errorf("a %T value; a stack file takes a string, a bool or an int here", value)
}
