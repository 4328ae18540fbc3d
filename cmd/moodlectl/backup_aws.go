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
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/awsbackup"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/backup"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/inventory"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/stackview"
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

// The config keys a restore sets: the database's snapshot and the file system
// AWS Backup restored.
const (
	restoreKey     = config.Namespace + ":database.restoreFromSnapshot"
	restoreFileKey = config.Namespace + ":storage.restoreFileSystemId"
)

// prodBackup takes an on-demand backup of the prod stack in AWS, waits for it,
// and writes its manifest, with note, under f.to (backup.DefaultRoot when empty).
func prodBackup(ctx context.Context, f flags, v stackview.View, note string, stdout io.Writer) (backup.Manifest, error) {
	clients, inv, targets, err := prodClients(ctx, f, v)
	if err != nil {
		return backup.Manifest{}, err
	}
	fmt.Fprintf(stdout, "backing up stack %s: a snapshot of %s and a recovery point of %s in vault %s\n",
		f.stack, targets.DBInstance, targets.FileSystemARN, targets.Vault)
	m, err := awsbackup.Backup(ctx, clients, targets, awsbackup.Options{Stack: f.stack, Now: time.Now, Poll: prodPoll, Progress: stdout})
	if err != nil {
		return m, fmt.Errorf("backup of stack %s: %w", f.stack, err)
	}
	// What the site ran when the backup was taken, which the stack file may
	// already have moved on from.
	m.Release, m.Image = deployedRelease(inv)
	m.Note = note
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
// snapshot and, when the backup has one, to a file system AWS Backup restores
// from its recovery point: it checks that RDS has the snapshot available and
// that no other restore is in place, restores the file system (waiting for the
// job), then sets database.restoreFromSnapshot and storage.restoreFileSystemId
// in the stack file. The next `moodlectl up` moves the site to the restored
// copies beside the current ones, which it keeps. Nothing is written to the
// stack file unless every restore it names has succeeded.
func prodRestore(ctx context.Context, f flags, v stackview.View, m backup.Manifest, stdout io.Writer) error {
	cfg, err := prodAWSConfig(ctx, v.Region())
	if err != nil {
		return fmt.Errorf("AWS credentials: %w", err)
	}
	snapshot, err := awsbackup.CheckSnapshot(ctx, awsbackup.NewClients(cfg).RDS, m)
	if err != nil {
		return fmt.Errorf("restore of stack %s: %w", f.stack, err)
	}
	// The site may already have written to what an earlier restore gave it:
	// replacing that would lose it, and Pulumi refuses to replace a protected
	// instance anyway. So a restore in place is retired first.
	if current := v.Spec.Database.RestoreFromSnapshot; current != "" && current != snapshot {
		return fmt.Errorf("restore of stack %s: %s is already %s; the site runs on the database restored from it. "+
			"Retire that restore first (docs/aws.md, Backups on AWS), then restore again", f.stack, restoreKey, current)
	}
	fileSystem := v.Spec.Storage.RestoreFileSystemID
	_, noFiles := awsbackup.FileSystemPoint(m)
	switch {
	case noFiles != nil:
		fmt.Fprintf(stdout, "not restored: the file system; backup %s names no recovery point of it\n", m.ID)
	case fileSystem != "" && v.Spec.Database.RestoreFromSnapshot == snapshot:
		// This restore set both keys before: the file system is this backup's.
	case fileSystem != "":
		// A recovery point restores into a new file system each time, and the
		// site may have written to the one in place: it is retired first, as the
		// database's.
		return fmt.Errorf("restore of stack %s: %s is already %s; the site runs on the file system restored into it. "+
			"Retire that restore first (docs/aws.md, Backups on AWS), then restore again", f.stack, restoreFileKey, fileSystem)
	default:
		clients, _, targets, err := prodClients(ctx, f, v)
		if err != nil {
			return fmt.Errorf("restore of stack %s: %w", f.stack, err)
		}
		fmt.Fprintf(stdout, "restoring the file system of backup %s into a new file system (AWS Backup, vault %s)\n", m.ID, targets.Vault)
		if fileSystem, err = awsbackup.RestoreFileSystem(ctx, clients, targets, m, awsbackup.Options{Stack: f.stack, Now: time.Now, Poll: prodPoll, Progress: stdout}); err != nil {
			return fmt.Errorf("restore of stack %s: %w", f.stack, err)
		}
	}

	edits := []struct{ key, value, current string }{
		{restoreKey, snapshot, v.Spec.Database.RestoreFromSnapshot},
		{restoreFileKey, fileSystem, v.Spec.Storage.RestoreFileSystemID},
	}
	for _, e := range edits {
		switch {
		case e.value == "":
		case e.value == e.current:
			fmt.Fprintf(stdout, "stack %s already has %s = %s\n", f.stack, e.key, e.value)
		default:
			if err := automation.SetInStackFile(f.stackFile(), e.key, e.value); err != nil {
				return fmt.Errorf("restore of stack %s: %w", f.stack, err)
			}
			fmt.Fprintf(stdout, "set %s = %s in %s\n", e.key, e.value, f.stackFile())
		}
	}
	// The edited file must still be a valid stack: read it as the program will.
	if _, err := stackview.Config(f.stackFile(), f.stack); err != nil {
		return fmt.Errorf("restore of stack %s: the edited %s: %w", f.stack, f.stackFile(), err)
	}
	fmt.Fprintf(stdout, "next: moodlectl preview --stack %[1]s, then moodlectl up --stack %[1]s: it creates a new primary (and replicas) from %[2]s, "+
		"points the site at it and keeps the current database, protected, until you have checked the restored site and retire it (docs/aws.md, Backups on AWS)\n", f.stack, snapshot)
	if fileSystem != "" {
		fmt.Fprintf(stdout, "and it moves the site to file system %s and keeps the current one, protected; the cron runner moves the restored files out of "+
			"AWS Backup's recovery directory into moodledata when it starts (docs/aws.md, Backups on AWS)\n", fileSystem)
	}
	for _, p := range m.RecoveryPoints {
		if p.Kind == awsbackup.KindS3 {
			fmt.Fprintf(stdout, "not restored: the objectfs bucket's files as of %s; its versions keep them (docs/aws.md, Backups on AWS)\n", p.ID)
		}
	}
	return nil
}

// prodClients reads the stack's targets from its state and makes the clients.
func prodClients(ctx context.Context, f flags, v stackview.View) (awsbackup.Clients, inventory.Inventory, awsbackup.Targets, error) {
	inv, err := prodState(ctx, f)
	if err != nil {
		return awsbackup.Clients{}, inv, awsbackup.Targets{}, err
	}
	targets, err := awsbackup.FromState(inv)
	if err != nil {
		return awsbackup.Clients{}, inv, targets, err
	}
	cfg, err := prodAWSConfig(ctx, v.Region())
	if err != nil {
		return awsbackup.Clients{}, inv, targets, fmt.Errorf("AWS credentials: %w", err)
	}
	return awsbackup.NewClients(cfg), inv, targets, nil
}

// deployedRelease is the release and app image the stack's last up deployed
// (its outputs moodleVersion and appImage): a built image is the digest up
// pushed, which no stack file names.
func deployedRelease(inv inventory.Inventory) (release, image string) {
	release, _ = inv.Outputs["moodleVersion"].(string)
	image, _ = inv.Outputs["appImage"].(string)
	return release, image
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
