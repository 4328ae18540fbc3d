// Command configdoc writes the tables of docs/config.md from the declarations of
// the settings (stacks/config.Reference): run it from the project folder, as
// `make docs` does, after adding or changing a setting.
package main

import (
	"fmt"
	"os"

	"github.com/moodle-cluster/moodle-pulumi/stacks/config"
)

const docsFile = "docs/config.md"

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
	return os.WriteFile(docsFile, []byte(out), 0o644)
}
