// Command configdoc writes the tables of docs/config.md and the config block of
// Pulumi.yaml from the declarations of the settings (stacks/config.Reference,
// stacks/config.Project): run it from the project folder, as `make docs` does,
// after adding or changing a setting.
package main

import (
	"fmt"
	"os"

	"github.com/moodle-cluster/moodle-pulumi/stacks/config"
)

const (
	docsFile    = "docs/config.md"
	projectFile = "Pulumi.yaml"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "configdoc:", err)
		os.Exit(1)
	}
}

func run() error {
	doc, err := os.ReadFile(docsFile)
	if err != nil {
		return err
	}
	out, err := config.Reference(string(doc))
	if err != nil {
		return err
	}
	if err := os.WriteFile(docsFile, []byte(out), 0o644); err != nil {
		return err
	}
	project, err := os.ReadFile(projectFile)
	if err != nil {
		return err
	}
	out, err = config.Project(string(project))
	if err != nil {
		return err
	}
	return os.WriteFile(projectFile, []byte(out), 0o644)
}
