// Package stack_test runs stacks.Program under Pulumi mocks, driven by the committed
// stack files, and asserts on the resources it registers.
package stack_test

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/awscloud"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/stacks"
	"github.com/moodle-cluster/moodle-pulumi/stacks/config"
	"github.com/moodle-cluster/moodle-pulumi/stacks/config/stackfile"
	"github.com/moodle-cluster/moodle-pulumi/stacks/preflight"
)

// registered is one resource the program registered, as the engine would see it.
type registered struct {
	Type   string
	Name   string
	Inputs resource.PropertyMap
	// Protect, Parent, DependsOn (URNs), DeleteBeforeReplace and RetainOnDelete
	// as sent by the program.
	Protect             bool
	Parent              string
	DependsOn           []string
	DeleteBeforeReplace bool
	RetainOnDelete      bool
}

// recorder is the mock engine: it records every resource and invoke, and answers
// with the inputs plus the outputs the real provider would compute.
type recorder struct {
	mu        sync.Mutex
	resources []registered
	calls     []string
}

func (r *recorder) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resources = append(r.resources, registered{
		Type:      args.TypeToken,
		Name:      args.Name,
		Inputs:    args.Inputs,
		Protect:   args.RegisterRPC.GetProtect(),
		Parent:    args.RegisterRPC.GetParent(),
		DependsOn: args.RegisterRPC.GetDependencies(),
		// The engine reads the option from the request's own field.
		DeleteBeforeReplace: args.RegisterRPC.GetDeleteBeforeReplace(),
		RetainOnDelete:      args.RegisterRPC.GetRetainOnDelete(),
	})
	outputs := args.Inputs.Copy()
	for k, v := range computedOutputs(args.TypeToken, args.Name, args.Inputs) {
		outputs[k] = v
	}
	return args.Name + "-id", outputs, nil
}

func (r *recorder) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	r.mu.Lock()
	r.calls = append(r.calls, args.Token)
	r.mu.Unlock()
	return invokeResult(args.Token, args.Args)
}

// computedOutputs returns what a provider computes on create, per package.
func computedOutputs(token, name string, inputs resource.PropertyMap) resource.PropertyMap {
	switch {
	case strings.HasPrefix(token, "random:"):
		return randomOutputs(token, name, inputs)
	case strings.HasPrefix(token, "docker:"):
		return dockerOutputs(token, name, inputs)
	case strings.HasPrefix(token, "aws:"):
		return awsOutputs(token, name, inputs)
	}
	return nil
}

// invokeResult answers data-source calls; only the AWS program makes them.
func invokeResult(token string, args resource.PropertyMap) (resource.PropertyMap, error) {
	if strings.HasPrefix(token, "aws:") {
		return awsInvoke(token, args)
	}
	return nil, fmt.Errorf("unexpected invoke %s", token)
}

// randomOutputs gives every generated secret a recognisable value, so tests can
// search for it in places it must never appear in plain text.
func randomOutputs(token, name string, _ resource.PropertyMap) resource.PropertyMap {
	switch token {
	case "random:index/randomPassword:RandomPassword":
		return resource.PropertyMap{
			"result":     resource.MakeSecret(resource.NewStringProperty(generatedSecret(name))),
			"bcryptHash": resource.MakeSecret(resource.NewStringProperty("$2a$10$" + name)),
		}
	case "random:index/randomId:RandomId":
		return resource.PropertyMap{"hex": resource.NewStringProperty(mockHex), "b64Url": resource.NewStringProperty("ZmFrZQ")}
	}
	return nil
}

// mockHex is the hex every random id of the mocks has.
const mockHex = "0a1b2c3d"

func generatedSecret(name string) string { return "s3cr3t-" + name }

// run runs the program under mocks with the committed Pulumi.<stack>.yaml, changed by
// the given edits ("app.replicas" -> 5 edits the moodle:app object).
func run(t *testing.T, stack string, edits map[string]any) (*recorder, error) {
	t.Helper()
	return runWithSecrets(t, stack, edits, nil)
}

// runWithSecrets is run with top-level keys (without the moodle: prefix) set as
// the engine hands secrets to a program: the value, and the key among the
// secret ones.
func runWithSecrets(t *testing.T, stack string, edits map[string]any, secrets map[string]string) (*recorder, error) {
	t.Helper()
	cfg := stackConfig(t, stack)
	for path, value := range edits {
		setConfig(t, cfg, path, value)
	}
	var secretKeys []string
	for k, v := range secrets {
		cfg[config.Namespace+":"+k] = v
		secretKeys = append(secretKeys, config.Namespace+":"+k)
	}
	rec := &recorder{}
	err := pulumi.RunErr(program(roomyHost),
		pulumi.WithMocks("moodle", stack, rec),
		func(ri *pulumi.RunInfo) { ri.Config, ri.ConfigSecretKeys = cfg, secretKeys },
	)
	return rec, err
}

// roomyHost is a Docker host every committed stack fits on, holding every image.
var roomyHost = preflight.StaticHost{Capacity: preflight.Capacity{CPUs: 64, MemoryBytes: 256 << 30, SwapLimit: true}}

// program is the program as the pulumi CLI runs it from the project folder, with its
// Docker preflight asking host.
func program(host preflight.Host) pulumi.RunFunc {
	return stacks.NewProgram(stacks.Options{ProjectDir: filepath.Join("..", ".."), DockerHost: host})
}

// mustRun is run for configs that must deploy.
func mustRun(t *testing.T, stack string, edits map[string]any) *recorder {
	t.Helper()
	rec, err := run(t, stack, edits)
	if err != nil {
		t.Fatalf("stack %s with %v: %v", stack, edits, err)
	}
	return rec
}

func stackConfig(t *testing.T, stack string) map[string]string {
	t.Helper()
	cfg, err := stackfile.Read(filepath.Join("..", "..", "Pulumi."+stack+".yaml"))
	if err != nil {
		t.Fatalf("read stack %s: %v", stack, err)
	}
	return cfg
}

// stackSpec is the Spec the program builds from a committed stack file with edits.
func stackSpec(t *testing.T, stack string, edits map[string]any) topology.Spec {
	t.Helper()
	cfg := stackConfig(t, stack)
	for path, value := range edits {
		setConfig(t, cfg, path, value)
	}
	spec, err := config.Load(stackfile.Getter(cfg))
	if err != nil {
		t.Fatalf("stack %s with %v does not load: %v", stack, edits, err)
	}
	// As the program does: components take the build context as an absolute path.
	if spec.Moodle.Build.Context != "" {
		if spec.Moodle.Build.Context, err = filepath.Abs(filepath.Join("..", "..", spec.Moodle.Build.Context)); err != nil {
			t.Fatal(err)
		}
	}
	// An aws stack that builds its image runs it under the pushed content tag.
	if spec.Target == topology.TargetAWS && spec.Moodle.CodeSource == topology.CodeBuild {
		tag, err := awscloud.ImageTag(spec)
		if err != nil {
			t.Fatal(err)
		}
		ref := mockAccount + ".dkr.ecr." + mockRegion + ".amazonaws.com/moodle-" + stack + "-moodle-app-image:" + tag
		if spec.Images.Web == spec.Images.App {
			spec.Images.Web = ref
		}
		spec.Images.App = ref
	}
	return spec
}

// setConfig sets a top-level key ("siteUrl") or a field inside an object key
// ("app.replicas", "aws.waf"); a nil value deletes it.
func setConfig(t *testing.T, cfg map[string]string, path string, value any) {
	t.Helper()
	if err := stackfile.Set(cfg, path, value); err != nil {
		t.Fatal(err)
	}
}

// ofType returns the registered resources of one type token, in name order.
func (r *recorder) ofType(token string) []registered {
	var out []registered
	for _, res := range r.resources {
		if res.Type == token {
			out = append(out, res)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// named returns the resource with the given name, failing the test when absent.
func (r *recorder) named(t *testing.T, name string) registered {
	t.Helper()
	for _, res := range r.resources {
		if res.Name == name {
			return res
		}
	}
	t.Fatalf("no resource named %q; have %v", name, r.inventory())
	return registered{}
}

// inventory counts resources by type token.
func (r *recorder) inventory() map[string]int {
	out := map[string]int{}
	for _, res := range r.resources {
		out[res.Type]++
	}
	return out
}

// plainStrings walks a property value and returns every string that is not under a
// secret: what would be stored in plain text.
func plainStrings(v resource.PropertyValue) []string {
	switch {
	case v.IsSecret():
		return nil
	case v.IsString():
		return []string{v.StringValue()}
	case v.IsArray():
		var out []string
		for _, e := range v.ArrayValue() {
			out = append(out, plainStrings(e)...)
		}
		return out
	case v.IsObject():
		var out []string
		for _, e := range v.ObjectValue() {
			out = append(out, plainStrings(e)...)
		}
		return out
	case v.IsOutput():
		if v.OutputValue().Secret {
			return nil
		}
		return plainStrings(v.OutputValue().Element)
	}
	return nil
}
