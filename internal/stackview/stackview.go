// Package stackview reads a stack the way moodlectl's cost, diagram and status
// commands see it: its stack file as the engine hands it to the program, the
// validated Spec, and the resources its program registers, run offline.
package stackview

import (
	"fmt"
	"path/filepath"

	"github.com/moodle-cluster/moodle-pulumi/automation"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/internal/inventory"
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

// Load reads the stack file of stack, changed by edits ("moodle:app.replicas"
// -> 5, as automation.Config.Set takes them), and runs its program offline.
func Load(stackFile, stack string, edits map[string]any) (View, error) {
	v, err := Config(stackFile, stack, edits)
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
	v.Resources, err = inventory.FromProgram(program, config.Namespace, stack, v.Values)
	return v, err
}

// anyHost is a Docker host larger than any valid stack asks for (64 CPUs and
// 256 GiB per container at most).
var anyHost = preflight.Capacity{CPUs: 1024, MemoryBytes: 1 << 50, SwapLimit: true}

// Config reads the stack file and validates it, without running the program:
// the View has no Resources.
func Config(stackFile, stack string, edits map[string]any) (View, error) {
	var v View
	cfg, err := automation.LoadConfig(stackFile)
	if err != nil {
		return v, err
	}
	for path, value := range edits {
		if err := cfg.Set(path, value); err != nil {
			return v, err
		}
	}
	if v.Values, err = cfg.Values(config.Namespace); err != nil {
		return v, err
	}
	if v.Spec, err = config.Load(stackfile.Getter(v.Values)); err != nil {
		return v, fmt.Errorf("stack %s: %w", stack, err)
	}
	return v, nil
}
