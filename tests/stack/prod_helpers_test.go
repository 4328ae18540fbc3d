package stack_test

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// at follows a dotted path ("healthCheck.path", "defaultActions.0.type") through
// objects and arrays, looking through secrets and outputs; a missing step is null.
func at(v resource.PropertyValue, path string) resource.PropertyValue {
	for _, step := range strings.Split(path, ".") {
		v = unwrap(v)
		switch {
		case v.IsObject():
			v = v.ObjectValue()[resource.PropertyKey(step)]
		case v.IsArray():
			i, err := strconv.Atoi(step)
			if err != nil || i >= len(v.ArrayValue()) {
				return resource.NewNullProperty()
			}
			v = v.ArrayValue()[i]
		default:
			return resource.NewNullProperty()
		}
	}
	return unwrap(v)
}

func unwrap(v resource.PropertyValue) resource.PropertyValue {
	for {
		switch {
		case v.IsSecret():
			v = v.SecretValue().Element
		case v.IsOutput():
			v = v.OutputValue().Element
		default:
			return v
		}
	}
}

// input reads one input of a resource by path.
func (r registered) input(path string) resource.PropertyValue {
	return at(resource.NewObjectProperty(r.Inputs), path)
}

func (r registered) str(path string) string {
	v := r.input(path)
	if !v.IsString() {
		return ""
	}
	return v.StringValue()
}

func (r registered) boolean(path string) bool {
	v := r.input(path)
	return v.IsBool() && v.BoolValue()
}

func (r registered) number(path string) float64 {
	v := r.input(path)
	if !v.IsNumber() {
		return 0
	}
	return v.NumberValue()
}

func (r registered) strings(path string) []string {
	v := r.input(path)
	if !v.IsArray() {
		return nil
	}
	var out []string
	for _, e := range v.ArrayValue() {
		if e = unwrap(e); e.IsString() {
			out = append(out, e.StringValue())
		}
	}
	return out
}

// id is the id the mocks give a resource.
func (r registered) id() string { return r.Name + "-id" }

// jsonInput decodes a JSON document input (a policy, container definitions).
func (r registered) jsonInput(t *testing.T, key string, into any) {
	t.Helper()
	text := r.str(key)
	if err := json.Unmarshal([]byte(text), into); err != nil {
		t.Fatalf("%s %s: input %s is not JSON: %v\n%s", r.Type, r.Name, key, err, text)
	}
}

// containerDef is the part of an ECS container definition the tests read.
type containerDef struct {
	Name        string   `json:"name"`
	Image       string   `json:"image"`
	User        string   `json:"user"`
	Command     []string `json:"command"`
	Essential   bool     `json:"essential"`
	Privileged  bool     `json:"privileged"`
	ReadOnly    bool     `json:"readonlyRootFilesystem"`
	Environment []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"environment"`
	Secrets []struct {
		Name      string `json:"name"`
		ValueFrom string `json:"valueFrom"`
	} `json:"secrets"`
	MountPoints []struct {
		SourceVolume  string `json:"sourceVolume"`
		ContainerPath string `json:"containerPath"`
		ReadOnly      bool   `json:"readOnly"`
	} `json:"mountPoints"`
	PortMappings []struct {
		ContainerPort int `json:"containerPort"`
	} `json:"portMappings"`
	DependsOn []struct {
		ContainerName string `json:"containerName"`
		Condition     string `json:"condition"`
	} `json:"dependsOn"`
	HealthCheck      *struct{} `json:"healthCheck"`
	StartTimeout     *int      `json:"startTimeout"`
	LogConfiguration struct {
		LogDriver string            `json:"logDriver"`
		Options   map[string]string `json:"options"`
	} `json:"logConfiguration"`
}

func (r registered) containers(t *testing.T) []containerDef {
	t.Helper()
	var defs []containerDef
	r.jsonInput(t, "containerDefinitions", &defs)
	return defs
}

// renderedFiles decodes the MOODLE_FILE_* variables of a task definition: the
// files its init container writes.
func (r registered) renderedFiles(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, c := range r.containers(t) {
		for _, e := range c.Environment {
			if !strings.HasPrefix(e.Name, "MOODLE_FILE_") {
				continue
			}
			b, err := base64.StdEncoding.DecodeString(e.Value)
			if err != nil {
				t.Fatalf("%s: %s is not base64: %v", r.Name, e.Name, err)
			}
			out[e.Name] = string(b)
		}
	}
	return out
}

// policyDoc is an IAM policy document as the tests read it.
type policyDoc struct {
	Statement []struct {
		Sid       string
		Effect    string
		Principal any
		Action    any
		Resource  any
		Condition map[string]map[string]any
	}
}

// anyStrings reads an IAM field that is a string or a list of strings.
func anyStrings(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, e := range t {
			out = append(out, anyStrings(e)...)
		}
		return out
	}
	return nil
}

// one returns the resource of a type with a name; names repeat across types
// (the ALB, its target group and web ACL are all "moodle-edge").
func (r *recorder) one(t *testing.T, token, name string) registered {
	t.Helper()
	for _, res := range r.ofType(token) {
		if res.Name == name {
			return res
		}
	}
	t.Fatalf("no %s named %q", token, name)
	return registered{}
}

// byID maps the mock ids of resources of one type to the resources.
func (r *recorder) byID(token string) map[string]registered {
	out := map[string]registered{}
	for _, res := range r.ofType(token) {
		out[res.id()] = res
	}
	return out
}
