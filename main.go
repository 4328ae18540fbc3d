// Command moodle is the Pulumi program: one horizontally scalable Moodle cluster on a
// Docker host (dev) or on AWS (prod), chosen by the stack's moodle:target.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/stacks"
)

func main() { pulumi.Run(stacks.Program) }
