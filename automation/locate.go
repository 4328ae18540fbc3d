package automation

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

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
// to the SDK's version, over one on PATH.
func findPulumi(projectDir string) (auto.PulumiCommand, error) {
	root := ""
	if _, err := os.Stat(filepath.Join(projectDir, "bin", "pulumi")); err == nil {
		root = projectDir
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("pulumi CLI: %w", err)
	} else if _, err := exec.LookPath("pulumi"); err != nil {
		return nil, fmt.Errorf("pulumi CLI not found in %s nor on PATH: build it with `make bin/pulumi` "+
			"(from the Go module proxy, no download from get.pulumi.com) or install it from https://www.pulumi.com/docs/install/",
			filepath.Join(projectDir, "bin"))
	}
	cli, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: root})
	if err != nil {
		return nil, fmt.Errorf("pulumi CLI: %w", err)
	}
	return cli, nil
}
