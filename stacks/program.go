// Package stacks is the Pulumi program: it loads and validates the stack config and
// wires the components of the chosen target. main.go, the tests and Automation API
// callers all run it.
package stacks

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/stacks/config"
	"github.com/moodle-cluster/moodle-pulumi/stacks/preflight"
)

// Options adapt the program to where it runs.
type Options struct {
	// ProjectDir is the folder of Pulumi.yaml: relative paths in the stack config
	// (moodle.build.context) resolve against it. Empty: the folder the engine names,
	// which is the project under `pulumi up` but the workspace for an Automation API
	// inline program, which must therefore set it.
	ProjectDir string
	// DockerHost answers the docker target's preflight. Nil: the engine the Docker
	// provider deploys to (preflight.NewEngine: docker:context, docker:host and
	// their environment variables, as the provider reads them).
	DockerHost preflight.Host
}

// Program is the stack's pulumi.RunFunc under the pulumi CLI.
func Program(ctx *pulumi.Context) error { return NewProgram(Options{})(ctx) }

// NewProgram returns the program with o applied. Config errors, and a Docker host
// that cannot run the stack, are returned before any resource is registered.
func NewProgram(o Options) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		spec, err := config.Load(func(key string) (string, bool) {
			return ctx.GetConfig("moodle:" + key)
		})
		if err != nil {
			return err
		}
		switch spec.Target {
		case topology.TargetDocker:
			return deployDocker(ctx, spec, o)
		case topology.TargetAWS:
			return deployAWS(ctx, spec, o)
		}
		return fmt.Errorf("moodle:target %q: not a target this program provisions", spec.Target)
	}
}

// mailPassword is the relay password, moodle:mailPassword, as a secret output;
// nil when the stack sets none (config.Load has checked that mail.user needs it).
func mailPassword(ctx *pulumi.Context) (pulumi.StringInput, error) {
	pw, err := config.MailPassword(func(key string) (string, bool) {
		return ctx.GetConfig(config.Namespace + ":" + key)
	}, ctx.IsConfigSecret)
	if err != nil || pw == "" {
		return nil, err
	}
	return pulumi.ToSecret(pulumi.String(pw)).(pulumi.StringOutput), nil
}

// absoluteBuildContext makes moodle.build.context absolute, against the project
// folder: components take it so, because the Docker provider resolves relative
// paths against its own working directory.
func (o Options) absoluteBuildContext(ctx *pulumi.Context, spec *topology.Spec) error {
	b := &spec.Moodle.Build
	if spec.Moodle.CodeSource != topology.CodeBuild || filepath.IsAbs(b.Context) {
		return nil
	}
	dir, err := o.projectDir(ctx)
	if err != nil {
		return fmt.Errorf("project folder: %w", err)
	}
	if b.Context, err = filepath.Abs(filepath.Join(dir, b.Context)); err != nil {
		return fmt.Errorf("moodle.build.context: %w", err)
	}
	return nil
}

// projectDir is the folder relative config paths resolve against. Where the engine
// names none (mocks, older engines), it is the nearest folder holding Pulumi.yaml
// from the working directory up, as the pulumi CLI finds its project; failing that,
// the working directory.
func (o Options) projectDir(ctx *pulumi.Context) (string, error) {
	switch {
	case o.ProjectDir != "":
		return o.ProjectDir, nil
	case ctx.RootDirectory() != "":
		return ctx.RootDirectory(), nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "Pulumi.yaml")); err == nil {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return wd, nil
		}
	}
}
