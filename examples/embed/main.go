// Command embed deploys the dev stack from another Go program: the moodle program
// runs inline, with a config built in code rather than read from a stack file.
package main

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/moodle-cluster/moodle-pulumi/automation"
)

func main() {
	ctx := context.Background()
	cfg, err := automation.LoadConfig("Pulumi.dev.yaml")
	if err != nil {
		log.Fatal(err)
	}
	if err := cfg.Set("moodle:app.replicas", 4); err != nil { // four app nodes instead of the file's count
		log.Fatal(err)
	}
	stack, err := automation.New(ctx, "dev",
		automation.WithConfig(cfg),
		automation.WithStateDir(".state"),
		automation.WithPassphraseFile(".state/dev.passphrase"),
		automation.WithProgress(os.Stdout))
	if err != nil {
		log.Fatal(err)
	}
	res, err := stack.Up(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("site:", res.Outputs["siteUrl"].Value)
}
