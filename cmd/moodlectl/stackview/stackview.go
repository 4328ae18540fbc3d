// Package stackview reads a stack the way moodlectl's cost, diagram and status
// commands see it: its stack file as the engine hands it to the program, the
// validated Spec, and the resources its program registers, run offline.
package stackview

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/inventory"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/offline"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/stacks"
	"github.com/moodle-cluster/moodle-pulumi/stacks/config"
	"github.com/moodle-cluster/moodle-pulumi/stacks/config/stackfile"
	"github.com/moodle-cluster/moodle-pulumi/stacks/preflight"
)

// View is one stack, read offline.
type View struct {
	// Values is the config as the engine passes it ("moodle:app" -> JSON text).
	Values map[string]string
	Spec   topology.Spec
	// Resources are what the program registers (inventory.FromProgram).
	Resources inventory.Inventory
}

// Region is the AWS region of the stack, "" for the Docker target.
func (v View) Region() string { return v.Values["aws:region"] }

// Load reads the stack file of stack, changed by edits ("moodle:app.replicas" -> 5,
// as `pulumi config set --path` would change it), and runs its program offline.
func Load(stackFile, stack string, edits map[string]any) (View, error) {
	v, err := read(stackFile, stack, edits)
	if err != nil {
		return v, err
	}
	dir, err := filepath.Abs(filepath.Dir(stackFile))
	if err != nil {
		return v, err
	}
	// The docker target's preflight asks the Docker host for its capacity: an
	// offline reading draws and prices the stack, not the host it would run on.
	program := stacks.NewProgram(stacks.Options{ProjectDir: dir, DockerHost: preflight.StaticHost{Capacity: anyHost}})
	aws := offline.Env{Region: v.Region(), Account: offline.Account,
		Subnet: offline.SubnetsInOrder(v.Region(), v.Spec.AWS.VPCID, v.Spec.AWS.PrivateSubnetIDs)}
	v.Resources, err = inventory.FromProgram(program, config.Namespace, stack, v.Values, aws)
	return v, err
}

// anyHost is a Docker host larger than any valid stack asks for (64 CPUs and
// 256 GiB per container at most).
var anyHost = preflight.Capacity{CPUs: 1024, MemoryBytes: 1 << 50, SwapLimit: true}

// Config reads the stack file and validates it, without running the program:
// the View has no Resources.
func Config(stackFile, stack string) (View, error) { return read(stackFile, stack, nil) }

// read reads the stack file as the engine hands it to the program, applies edits and
// validates the result.
func read(stackFile, stack string, edits map[string]any) (View, error) {
	var v View
	var err error
	if v.Values, err = stackfile.Read(stackFile); err != nil {
		return v, err
	}
	for key, value := range edits {
		path, ok := strings.CutPrefix(key, config.Namespace+":")
		if !ok {
			return v, fmt.Errorf("edit %s: only %s: keys can be edited", key, config.Namespace)
		}
		if err := stackfile.Set(v.Values, path, value); err != nil {
			return v, err
		}
	}
	if v.Spec, err = config.Load(stackfile.Getter(v.Values)); err != nil {
		return v, fmt.Errorf("stack %s: %w", stack, err)
	}
	return v, nil
}
