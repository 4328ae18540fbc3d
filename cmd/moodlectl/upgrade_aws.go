package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/awsbackup"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/awsupgrade"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/backup"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/stackview"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/status/awsstatus"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// prodUpgrade runs the prod site's upgrade to f.to on image f.image
// (awsupgrade.Site.Upgrade) from what the stack's state says it runs, and
// prints its outcome.
func prodUpgrade(ctx context.Context, f flags, v stackview.View, stdout io.Writer) error {
	inv, err := prodState(ctx, f)
	if err != nil {
		return err
	}
	from, fromImage := deployedRelease(inv)
	if from == "" || fromImage == "" {
		return fmt.Errorf("upgrade of stack %s: its state does not say which release it runs (outputs moodleVersion, appImage): "+
			"it was deployed by an earlier moodlectl; run moodlectl up --stack %[1]s once without changing the release, then upgrade", f.stack)
	}
	targets, err := awsbackup.FromState(inv)
	if err != nil {
		return err
	}
	logs, err := awsstatus.FromState(inv)
	if err != nil {
		return err
	}
	cfg, err := prodAWSConfig(ctx, v.Region())
	if err != nil {
		return fmt.Errorf("AWS credentials: %w", err)
	}
	// The backup goes under --backups: --to is the release here.
	bf := f
	bf.to = f.backups
	site := awsupgrade.Site{
		Deployer: stackDeployer{f: f, stdout: stdout, ownLog: true},
		Backup: func(ctx context.Context, note string) (backup.Manifest, error) {
			return prodBackup(ctx, bf, v, note, stdout)
		},
		Restore: func(ctx context.Context, m backup.Manifest) error {
			// The stack file has changed since v was read (maintenance, release).
			now, err := stackview.Config(f.stackFile(), f.stack)
			if err != nil {
				return err
			}
			return prodRestore(ctx, bf, now, m, stdout)
		},
		Logs:     cloudwatchlogs.NewFromConfig(cfg),
		LogGroup: logs.CronLogGroup,
		Database: targets.DBInstance, FileSystem: targets.FileSystemARN,
		Poll: prodPoll, Wait: installWait, Now: time.Now, Progress: stdout,
	}
	fmt.Fprintf(stdout, "upgrade of stack %s from Moodle %s to %s\n", f.stack, from, f.to)
	res, err := site.Upgrade(ctx, awsupgrade.Request{
		From: from, FromImage: fromImage, To: f.to, Image: f.image, Restored: v.Spec.Database.RestoreFromSnapshot,
		BuildsImage: v.Spec.Moodle.CodeSource == topology.CodeBuild,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "upgraded to Moodle %s in %s; backup %s holds the site as it was\n", f.to, res.Duration.Round(time.Second), res.Backup.ID)
	return nil
}
