package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/moodle-cluster/moodle-pulumi/automation"
	"github.com/moodle-cluster/moodle-pulumi/internal/awsbackup"
	"github.com/moodle-cluster/moodle-pulumi/internal/backup"
	"github.com/moodle-cluster/moodle-pulumi/internal/stackview"
	"github.com/moodle-cluster/moodle-pulumi/stacks/config"
)

// What the prod backup and restore reach out to: the stack's state and AWS. They
// are variables so that the commands' test gives them a state and an endpoint of
// its own; nothing else changes them.
var (
	prodState     = deployed
	prodAWSConfig = func(ctx context.Context, region string) (aws.Config, error) {
		return awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
	}
	// prodPoll is the time between two readings of a snapshot's or a job's
	// progress: both take minutes.
	prodPoll = 15 * time.Second
)

// restoreKey is the config key a restore sets.
const restoreKey = config.Namespace + ":database.restoreFromSnapshot"

// prodBackup takes an on-demand backup of the prod stack in AWS, waits for it,
// and writes its manifest under f.to (backup.DefaultRoot when empty).
func prodBackup(ctx context.Context, f flags, v stackview.View, stdout io.Writer) (backup.Manifest, error) {
	clients, targets, err := prodClients(ctx, f, v)
	if err != nil {
		return backup.Manifest{}, err
	}
	fmt.Fprintf(stdout, "backing up stack %s: a snapshot of %s and a recovery point of %s in vault %s\n",
		f.stack, targets.DBInstance, targets.FileSystemARN, targets.Vault)
	m, err := awsbackup.Backup(ctx, clients, targets, awsbackup.Options{Stack: f.stack, Now: time.Now, Poll: prodPoll, Progress: stdout})
	if err != nil {
		return m, fmt.Errorf("backup of stack %s: %w", f.stack, err)
	}
	m.Release, m.Image = v.Spec.Moodle.Version, v.Spec.Images.App
	if m.Config, err = manifestConfig(v.Values); err != nil {
		return m, err
	}
	root := f.to
	if root == "" {
		root = backup.DefaultRoot
	}
	dir := backup.Dir(root, f.stack, m.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return m, fmt.Errorf("backup %s: %w", m.ID, err)
	}
	if err := backup.Save(dir, m); err != nil {
		return m, err
	}
	fmt.Fprintf(stdout, "backup %s of stack %s: its manifest is %s\n", m.ID, f.stack, dir)
	return m, nil
}

// prodRestore switches the prod stack to a database restored from the backup's
// snapshot: it checks that RDS has the snapshot available, then sets
// database.restoreFromSnapshot in the stack file. The next `moodlectl up`
// creates the restored instances beside the current ones, which it keeps.
func prodRestore(ctx context.Context, f flags, v stackview.View, m backup.Manifest, stdout io.Writer) error {
	cfg, err := prodAWSConfig(ctx, v.Region())
	if err != nil {
		return fmt.Errorf("AWS credentials: %w", err)
	}
	snapshot, err := awsbackup.CheckSnapshot(ctx, awsbackup.NewClients(cfg).RDS, m)
	if err != nil {
		return fmt.Errorf("restore of stack %s: %w", f.stack, err)
	}
	switch current := v.Spec.Database.RestoreFromSnapshot; current {
	case snapshot:
		fmt.Fprintf(stdout, "stack %s already restores its database from snapshot %s\n", f.stack, snapshot)
	case "":
		if err := automation.SetInStackFile(f.stackFile(), restoreKey, snapshot); err != nil {
			return fmt.Errorf("restore of stack %s: %w", f.stack, err)
		}
		// The edited file must still be a valid stack: read it as the program will.
		if _, err := stackview.Config(f.stackFile(), f.stack, nil); err != nil {
			return fmt.Errorf("restore of stack %s: the edited %s: %w", f.stack, f.stackFile(), err)
		}
		fmt.Fprintf(stdout, "set %s = %s in %s\n", restoreKey, snapshot, f.stackFile())
	default:
		// The site may already have written to the database restored before:
		// replacing it would lose that, and Pulumi refuses to replace a protected
		// instance anyway.
		return fmt.Errorf("restore of stack %s: %s is already %s; the site runs on the database restored from it. "+
			"Retire that restore first (docs/aws.md, Backups on AWS), then restore again", f.stack, restoreKey, current)
	}
	fmt.Fprintf(stdout, "next: moodlectl preview --stack %[1]s, then moodlectl up --stack %[1]s: it creates a new primary (and replicas) from %[2]s, "+
		"points the site at it and keeps the current database, protected, until you have checked the restored site and retire it (docs/aws.md, Backups on AWS)\n", f.stack, snapshot)
	for _, p := range m.RecoveryPoints {
		switch p.Kind {
		case awsbackup.KindEFS:
			fmt.Fprintf(stdout, "not restored: the file system's recovery point %s; restore it into a new file system with AWS Backup (docs/aws.md, Backups on AWS)\n", p.ID)
		case awsbackup.KindS3:
			fmt.Fprintf(stdout, "not restored: the objectfs bucket's files as of %s; its versions keep them (docs/aws.md, Backups on AWS)\n", p.ID)
		}
	}
	return nil
}

// prodClients reads the stack's targets from its state and makes the clients.
func prodClients(ctx context.Context, f flags, v stackview.View) (awsbackup.Clients, awsbackup.Targets, error) {
	inv, err := prodState(ctx, f)
	if err != nil {
		return awsbackup.Clients{}, awsbackup.Targets{}, err
	}
	targets, err := awsbackup.FromState(inv)
	if err != nil {
		return awsbackup.Clients{}, targets, err
	}
	cfg, err := prodAWSConfig(ctx, v.Region())
	if err != nil {
		return awsbackup.Clients{}, targets, fmt.Errorf("AWS credentials: %w", err)
	}
	return awsbackup.NewClients(cfg), targets, nil
}

// manifestConfig is the stack's configuration as the manifest keeps it: each
// value as JSON when it is JSON (the structured keys), as text otherwise, and
// the secret relay password left out.
func manifestConfig(values map[string]string) (map[string]any, error) {
	out := make(map[string]any, len(values))
	for key, text := range values {
		if key == config.Namespace+":"+config.MailPasswordKey {
			continue
		}
		var v any
		if err := json.Unmarshal([]byte(text), &v); err != nil {
			var syntax *json.SyntaxError
			if !errors.As(err, &syntax) {
				return nil, fmt.Errorf("config %s: %w", key, err)
			}
			v = text
		}
		out[key] = v
	}
	return out, nil
}
