package automation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
)

// findProjectDir returns dir, or the nearest folder at or above the working
// directory that holds a Pulumi.yaml.
func findProjectDir(dir string) (string, error) {
	if dir != "" {
		return filepath.Abs(dir)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find project: %w", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "Pulumi.yaml")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("find project: no Pulumi.yaml in %s or its parents: run from the project folder or pass WithProjectDir", wd)
		}
	}
}

// findPulumi prefers the CLI that `make bin/pulumi` builds into the project, pinned
// to the SDK's version, over one on PATH. An interrupted operation gets grace to
// wind down.
func findPulumi(projectDir string, grace time.Duration) (auto.PulumiCommand, error) {
	root, path := "", filepath.Join(projectDir, "bin", "pulumi")
	if _, err := os.Stat(path); err == nil {
		root = projectDir
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("pulumi CLI: %w", err)
	} else if path, err = exec.LookPath("pulumi"); err != nil {
		return nil, fmt.Errorf("pulumi CLI not found in %s nor on PATH: build it with `make bin/pulumi` "+
			"(from the Go module proxy, no download from get.pulumi.com) or install it from https://www.pulumi.com/docs/install/",
			filepath.Join(projectDir, "bin"))
	}
	cli, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: root})
	if err != nil {
		return nil, fmt.Errorf("pulumi CLI: %w", err)
	}
	if path, err = filepath.Abs(path); err != nil {
		return nil, fmt.Errorf("pulumi CLI: %w", err)
	}
	return graceful{PulumiCommand: cli, path: path, grace: grace}, nil
}

// defaultCancelGrace is how long an interrupted operation may take to wind down.
// The engine stops starting steps at once but lets those in flight finish (a
// container waiting to turn healthy), records them and releases the stack's lock.
// The SDK's own command kills the CLI 10 s after the interrupt, which leaves the
// stack locked and what it was creating missing from the state, so that the next
// `up` trips over a container of the same name.
const defaultCancelGrace = 10 * time.Minute

// graceful runs the pulumi CLI as the SDK's command does, except that a cancelled
// context interrupts the CLI and then waits up to grace before killing it.
type graceful struct {
	auto.PulumiCommand
	path  string
	grace time.Duration
}

// Run executes one CLI command.
func (g graceful) Run(ctx context.Context, workdir string, stdin io.Reader,
	additionalOutput, additionalErrorOutput []io.Writer, additionalEnv []string,
	args ...string,
) (string, string, int, error) {
	// Like the SDK: never prompt, and let the CLI find plugins installed beside it.
	if !slices.Contains(args, "--non-interactive") {
		args = append([]string{"--non-interactive"}, args...)
	}
	cmd := exec.CommandContext(ctx, g.path, args...)
	cmd.Dir = workdir
	cmd.Env = append(os.Environ(), additionalEnv...)
	cmd.Env = append(cmd.Env, "PULUMI_AUTOMATION_API=true",
		"PATH="+filepath.Dir(g.path)+string(os.PathListSeparator)+os.Getenv("PATH"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout = io.MultiWriter(append(additionalOutput, &stdout)...)
	cmd.Stderr = io.MultiWriter(append(additionalErrorOutput, &stderr)...)
	cmd.Stdin = stdin
	ownProcessGroup(cmd)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = g.grace

	err := cmd.Run()
	code := -1
	var exit *exec.ExitError
	switch {
	case err == nil:
		code = 0
	case errors.As(err, &exit):
		code = exit.ExitCode()
	}
	return stdout.String(), stderr.String(), code, err
}
