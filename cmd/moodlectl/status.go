package main

import (
	"context"
	"fmt"
	"io"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/stackview"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/status"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/status/awsstatus"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/status/devstatus"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/stacks"
)

// exitStatus ends moodlectl with a status of its own, after the command has
// printed everything it had to say.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// runStatus reads the live cluster and exits with the worst verdict's status.
func runStatus(ctx context.Context, f flags, stdout io.Writer) error {
	v, err := stackview.Config(f.stackFile(), f.stack)
	if err != nil {
		return err
	}
	var readings status.Readings
	switch v.Spec.Target {
	case topology.TargetDocker:
		docker, err := devDocker(v.Values)
		if err != nil {
			return err
		}
		readings = devstatus.Collector{Docker: docker, Spec: v.Spec, Prefix: stacks.DockerClusterName(f.stack)}.Collect(ctx)
	case topology.TargetAWS:
		inv, err := deployed(ctx, f)
		if err != nil {
			return err
		}
		targets, err := awsstatus.FromState(inv)
		if err != nil {
			return err
		}
		cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(v.Region()))
		if err != nil {
			return fmt.Errorf("AWS credentials: %w", err)
		}
		readings = awsstatus.New(cfg, v.Spec, targets, time.Now).Collect(ctx)
	}
	rep := status.Evaluate(f.stack, v.Spec, readings, time.Now())
	if f.json {
		err = status.WriteJSON(stdout, rep)
	} else {
		err = status.WriteTable(stdout, rep)
	}
	if err != nil {
		return err
	}
	if code := rep.Verdict.ExitCode(); code != 0 {
		return exitStatus(code)
	}
	return nil
}
