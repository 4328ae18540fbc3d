// Package inventory lists the resources of a stack: the ones its program registers
// (the program run offline as a preview, under Pulumi mocks) or the ones its state
// holds once deployed. The cost estimate and the topology diagram read this list,
// so they describe the stack itself rather than a parallel model of it.
package inventory

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/sig"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/offline"
)

// Resource is one resource of a stack.
type Resource struct {
	// Type is the Pulumi type token ("aws:rds/instance:Instance").
	Type string `json:"type"`
	// Name is the logical name; Parent the parent's logical name ("" for the stack).
	Name   string `json:"name"`
	Parent string `json:"parent,omitempty"`
	// Custom is false for component resources, which only group others.
	Custom bool `json:"custom"`
	// Inputs as plain JSON values; a value not known before deployment is nil and
	// a secret is the string Secret.
	Inputs map[string]any `json:"inputs"`
	// Outputs are known for a deployed stack only.
	Outputs map[string]any `json:"outputs,omitempty"`
}

// Secret stands for every secret value: the inventory never holds one.
const Secret = "[secret]"

// Inventory is a stack's resources, in the order the program registered them
// (or the state lists them), with the stack's outputs when deployed.
type Inventory struct {
	Stack     string         `json:"stack"`
	Deployed  bool           `json:"deployed"`
	Resources []Resource     `json:"resources"`
	Outputs   map[string]any `json:"outputs,omitempty"`
}

// OfType returns the resources of one type token, in name order.
func (inv Inventory) OfType(token string) []Resource {
	var out []Resource
	for _, r := range inv.Resources {
		if r.Type == token {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Str returns a string input, "" when it is absent or not a string.
func (r Resource) Str(key string) string {
	s, _ := r.Inputs[key].(string)
	return s
}

// Num returns a numeric input, 0 when it is absent or not a number (numbers
// given as text, as some providers take them, count too).
func (r Resource) Num(key string) float64 {
	switch v := r.Inputs[key].(type) {
	case float64:
		return v
	case string:
		var f float64
		if _, err := fmt.Sscan(v, &f); err == nil {
			return f
		}
	}
	return 0
}

// Bool returns a boolean input, false when it is absent.
func (r Resource) Bool(key string) bool {
	b, _ := r.Inputs[key].(bool)
	return b
}

// Len returns the length of a list input.
func (r Resource) Len(key string) int {
	l, _ := r.Inputs[key].([]any)
	return len(l)
}

// FromProgram runs program offline under Pulumi mocks, with the stack's config as
// the engine passes it (structured values as JSON text, see stackfile.Read), and
// returns what it registers. Values only a provider computes (ids, endpoints) are
// empty; data sources get the offline table's answers for aws. The mocks run it as an update, not a preview: the Go SDK
// marks a secret whose value is not known yet in a way the mock monitor refuses.
func FromProgram(program pulumi.RunFunc, project, stack string, config map[string]string, aws offline.Env) (Inventory, error) {
	m := &mocks{aws: aws}
	err := pulumi.RunErr(program,
		pulumi.WithMocks(project, stack, m),
		func(ri *pulumi.RunInfo) { ri.Config = config },
	)
	if err != nil {
		return Inventory{}, fmt.Errorf("run the %s program offline: %w", stack, err)
	}
	return Inventory{Stack: stack, Resources: m.resources}, nil
}

// mocks answer the program with every input echoed back and no computed output.
type mocks struct {
	aws       offline.Env
	mu        sync.Mutex
	resources []Resource
}

func (m *mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.resources = append(m.resources, Resource{
		Type:   args.TypeToken,
		Name:   args.Name,
		Parent: urnName(args.RegisterRPC.GetParent()),
		Custom: args.Custom,
		Inputs: plain(args.Inputs),
	})
	return args.Name, args.Inputs, nil
}

// Call answers the AWS data sources the program reads from the offline table.
func (m *mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return offline.Answer(m.aws, args.Token, args.Args)
}

// FromState lists the resources of a deployed stack from its checkpoint, skipping
// the stack itself and the providers.
func FromState(stack string, deployment apitype.DeploymentV3) Inventory {
	inv := Inventory{Stack: stack, Deployed: true}
	for _, r := range deployment.Resources {
		switch {
		case r.Type == "pulumi:pulumi:Stack":
			inv.Outputs = hideSecrets(r.Outputs)
			continue
		case strings.HasPrefix(string(r.Type), "pulumi:providers:"):
			continue
		}
		inv.Resources = append(inv.Resources, Resource{
			Type:    string(r.Type),
			Name:    r.URN.Name(),
			Parent:  urnName(string(r.Parent)),
			Custom:  r.Custom,
			Inputs:  hideSecrets(r.Inputs),
			Outputs: hideSecrets(r.Outputs),
		})
	}
	return inv
}

func urnName(urn string) string {
	if urn == "" {
		return ""
	}
	return resource.URN(urn).Name()
}

// plain turns property values into JSON values: unknowns become nil, secrets
// the Secret placeholder.
func plain(props resource.PropertyMap) map[string]any {
	return props.MapRepl(nil, func(v resource.PropertyValue) (any, bool) {
		switch {
		case v.IsComputed():
			return nil, true
		case v.IsOutput():
			o := v.OutputValue()
			if o.Secret {
				return Secret, true
			}
			if !o.Known {
				return nil, true
			}
			return plain(resource.PropertyMap{"v": o.Element})["v"], true
		case v.IsSecret():
			return Secret, true
		}
		return nil, false
	})
}

// hideSecrets replaces every secret in checkpoint values with Secret: an exported
// deployment holds them decrypted.
func hideSecrets(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = hideSecret(v)
	}
	return out
}

func hideSecret(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if v[sig.Key] == sig.Secret {
			return Secret
		}
		return hideSecrets(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = hideSecret(e)
		}
		return out
	}
	return v
}
