package main

import (
	"context"
	"fmt"
	"io"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/moodle-cluster/moodle-pulumi/automation"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/installlog"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/stackview"
	"github.com/moodle-cluster/moodle-pulumi/components/awscloud"
	"github.com/moodle-cluster/moodle-pulumi/components/dockerhost"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/stacks"
	"github.com/moodle-cluster/moodle-pulumi/stacks/config/stackfile"
)

// installWait bounds how long up follows the install or upgrade on AWS after
// the engine is done: the docker target's own bound (the cron container's health
// wait) is 30 minutes too.
const installWait = 30 * time.Minute

// up deploys the stack. On docker, a stack file naming another Moodle release
// than the site runs is an upgrade: it takes Moodle's procedure (upgradeDev),
// with its backup first and its rollback when the upgrade fails.
func up(ctx context.Context, f flags, stdout io.Writer) error {
	v, err := stackview.Config(f.stackFile(), f.stack)
	if err != nil {
		return err
	}
	if v.Spec.Target == topology.TargetDocker {
		site, _, err := devSite(f, v, stdout)
		if err != nil {
			return err
		}
		// An engine that does not answer is reported by the deployment's own
		// preflight, with what to do; here it only means there is nothing to upgrade.
		running, _ := site.Running(ctx)
		if want := v.Spec.Release().Version; running != "" && running != want {
			return upgradeDev(ctx, f, v, want, stdout)
		}
	}
	return deploy(ctx, f, stdout, true)
}

// deploy deploys the stack and shows the cron runner's install or upgrade step while
// it runs: on docker the engine waits for it (the cron container turns healthy
// when it is done), on AWS the engine does not, so up follows the cron task's
// log afterwards until the step ends, unless followAWS is false (the caller
// follows it itself).
func deploy(ctx context.Context, f flags, stdout io.Writer, followAWS bool) (err error) {
	values, err := stackfile.Read(f.stackFile())
	if err != nil {
		return err
	}
	printer := func(start time.Time) *installlog.Printer { return installlog.NewPrinter(stdout, start) }
	opts := stackOptions(f, stdout)
	switch values["moodle:target"] {
	case "docker":
		docker, err := devDocker(values)
		if err != nil {
			return err
		}
		w := installlog.NewDockerWatcher(ctx, docker, dockerhost.CronContainerName(stacks.DockerClusterName(f.stack)), printer, time.Now)
		defer w.Wait()
		opts = append(opts, automation.WithEvents(w.Event))
	case "aws":
		if !followAWS {
			break
		}
		w := installlog.NewAWSWatcher(awscloud.CronName(stacks.AWSClusterName), time.Now)
		opts = append(opts, automation.WithEvents(w.Event))
		defer func() {
			if err == nil {
				err = followAWSInstall(ctx, w, values["aws:region"], printer)
			}
		}()
	}
	s, err := automation.New(ctx, f.stack, opts...)
	if err != nil {
		return err
	}
	_, err = s.Up(ctx)
	return err
}

// followAWSInstall follows the new cron task's log until the install or upgrade
// ends; a failed step fails the command.
func followAWSInstall(ctx context.Context, w *installlog.AWSWatcher, region string, printer func(time.Time) *installlog.Printer) error {
	group, since, ok := w.Pending()
	if !ok {
		return nil
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
	if err != nil {
		return fmt.Errorf("follow the install: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, installWait)
	defer cancel()
	p := printer(since)
	p.Line(since, "the cron task installs or upgrades Moodle; its log ("+group+") follows")
	outcome, line, err := installlog.FollowCloudWatch(ctx, cloudwatchlogs.NewFromConfig(cfg), group, since, 5*time.Second, p)
	switch {
	case err != nil:
		return fmt.Errorf("follow the install: %w", err)
	case outcome == installlog.Failed:
		return fmt.Errorf("the install or upgrade failed (%s; log group %s); the site stays closed or in maintenance mode until it succeeds", line, group)
	case outcome == installlog.Running:
		return fmt.Errorf("the install or upgrade did not end within %v; follow it in log group %s", installWait, group)
	}
	return nil
}
