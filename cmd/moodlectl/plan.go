package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/cost"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/plan"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// runPlan prints a stack file sized for the site (cmd/moodlectl/plan). Everything
// but the config block is a YAML comment, so `moodlectl plan ... >
// Pulumi.mysite.yaml` is a stack file; warnings also go to stderr, where they
// are seen when stdout is redirected.
func runPlan(f flags, stdout, stderr io.Writer) error {
	p, err := plan.Make(plan.Request{Users: f.users, Concurrent: f.concurrent, Target: topology.Target(f.target)})
	if errors.Is(err, plan.ErrInput) {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err != nil {
		return err
	}
	var est *cost.Estimate
	if p.Target == topology.TargetAWS {
		dir, err := os.MkdirTemp("", "moodlectl-plan-")
		if err != nil {
			return fmt.Errorf("plan: scratch folder for the cost estimate: %w", err)
		}
		defer os.RemoveAll(dir)
		e, err := plan.Estimate(p, dir)
		if err != nil {
			return fmt.Errorf("plan: cost estimate: %w", err)
		}
		est = &e
	}
	for _, w := range p.Warnings {
		fmt.Fprintln(stderr, "moodlectl: warning:", w)
	}
	return plan.Write(stdout, p, est)
}
