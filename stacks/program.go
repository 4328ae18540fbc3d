// Package stacks is the Pulumi program: it loads and validates the stack config and
// wires the components of the chosen target. main.go, the tests and Automation API
// callers all run Program.
package stacks

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/stacks/config"
)

// Program is the stack's pulumi.RunFunc. Config errors are returned before any
// resource is registered.
func Program(ctx *pulumi.Context) error {
	spec, err := config.Load(func(key string) (string, bool) {
		return ctx.GetConfig("moodle:" + key)
	})
	if err != nil {
		return err
	}
	switch spec.Target {
	case topology.TargetDocker:
		return deployDocker(ctx, spec)
	case topology.TargetAWS:
		return deployAWS(ctx, spec)
	}
	return fmt.Errorf("moodle:target %q: not a target this program provisions", spec.Target)
}
