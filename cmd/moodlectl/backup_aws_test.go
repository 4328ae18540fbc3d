package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/moodle-cluster/moodle-pulumi/automation"
	"github.com/moodle-cluster/moodle-pulumi/internal/awsfake"
	"github.com/moodle-cluster/moodle-pulumi/internal/backup"
	"github.com/moodle-cluster/moodle-pulumi/internal/inventory"
	"github.com/moodle-cluster/moodle-pulumi/internal/stackview"
)

const testDBInstance = "moodle-prod-moodle-db-0a1b2c3d"

// prodWorld is a deployed prod stack for the glue: the committed stack file in a
// folder of its own (the commands read ./Pulumi.prod.yaml), a state whose
// outputs name the targets, and AWS answered by awsfake with real SDK clients.
func prodWorld(t *testing.T, account *awsfake.BackupAccount) (flags, stackview.View) {
	t.Helper()
	committed, err := os.ReadFile("../../Pulumi.prod.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	if err := os.WriteFile("Pulumi.prod.yaml", committed, 0o600); err != nil {
		t.Fatal(err)
	}
	fake := awsfake.Start()
	t.Cleanup(fake.Close)
	account.Instance = testDBInstance
	account.Serve(fake)

	state, cfg, poll := prodState, prodAWSConfig, prodPoll
	t.Cleanup(func() { prodState, prodAWSConfig, prodPoll = state, cfg, poll })
	prodState = func(context.Context, flags) (inventory.Inventory, error) {
		return inventory.Inventory{Stack: "prod", Deployed: true, Outputs: map[string]any{
			"databaseInstanceId": testDBInstance,
			"fileSystemArn":      "arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-0123456789abcdef0",
			"bucketName":         "",
			"backupVaultName":    "moodle-backup-1a2b3c4",
			"backupRoleArn":      "arn:aws:iam::123456789012:role/moodle-backup-5e6f7a8",
		}}, nil
	}
	prodAWSConfig = func(_ context.Context, region string) (aws.Config, error) { return fake.Config(region), nil }
	prodPoll = time.Millisecond

	f := flags{stack: "prod", to: filepath.Join(t.TempDir(), "backups")}
	v, err := stackview.Config(f.stackFile(), f.stack, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f, v
}

// A backup of prod lands as a manifest under --to naming the snapshot and the
// recovery point, with what the stack ran; restoring it sets the stack file's
// restore key, which the program then reads.
func TestProdBackupThenRestore_WritesTheManifestThenPointsTheStackAtTheSnapshot(t *testing.T) {
	f, v := prodWorld(t, &awsfake.BackupAccount{Readings: 1})
	var out bytes.Buffer
	m, err := prodBackup(context.Background(), f, v, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	saved, err := backup.Load(backup.Dir(f.to, "prod", m.ID))
	if err != nil {
		t.Fatal(err)
	}
	snapshot := testDBInstance + "-" + strings.ToLower(m.ID)
	if len(saved.RecoveryPoints) != 2 || saved.RecoveryPoints[0].ID != snapshot || saved.RecoveryPoints[1].Kind != "efs-recovery-point" {
		t.Errorf("recovery points %+v", saved.RecoveryPoints)
	}
	if saved.Release != "5.3" || saved.Image != v.Spec.Images.App || saved.Target != "aws" {
		t.Errorf("manifest says release %q, image %q, target %q", saved.Release, saved.Image, saved.Target)
	}
	if region, _ := saved.Config["aws:region"].(string); region != "eu-west-1" {
		t.Errorf("config in the manifest: aws:region = %v", saved.Config["aws:region"])
	}
	if db, _ := saved.Config["moodle:database"].(map[string]any); db["instanceClass"] != "db.r6g.xlarge" {
		t.Errorf("config in the manifest: moodle:database = %v", saved.Config["moodle:database"])
	}
	if !strings.Contains(out.String(), "database snapshot "+snapshot+": available, 100%") {
		t.Errorf("no progress shown:\n%s", out.String())
	}

	out.Reset()
	if err := prodRestore(context.Background(), f, v, saved, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	after, err := stackview.Config(f.stackFile(), f.stack, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := after.Spec.Database.RestoreFromSnapshot; got != snapshot {
		t.Errorf("database.restoreFromSnapshot = %q, want %q", got, snapshot)
	}
	for _, want := range []string{"moodlectl up --stack prod", "keeps the current database", "not restored: the file system's recovery point"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("restore does not say %q:\n%s", want, out.String())
		}
	}
}

func TestProdRestore_RefusesWhatWouldLoseDataAndLeavesTheStackFileAlone(t *testing.T) {
	const ready = testDBInstance + "-20261207t031500z"
	manifest := func(snapshot string) backup.Manifest {
		return backup.Manifest{ID: "20261207T031500Z", Stack: "prod", RecoveryPoints: []backup.RecoveryPoint{{Kind: "rds-snapshot", ID: snapshot}}}
	}
	for _, tc := range []struct {
		name    string
		restore string // already in the stack file
		m       backup.Manifest
		want    string
	}{
		{"a snapshot still being created", "", manifest("creating-one"), "snapshot creating-one is creating; a restore needs it available"},
		{"a snapshot RDS no longer has", "", manifest("gone"), "DBSnapshotNotFound"},
		{"a second restore over the first", "older-snapshot", manifest(ready), "is already older-snapshot; the site runs on the database restored from it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			account := &awsfake.BackupAccount{}
			account.Snapshot(ready, 0)
			account.Snapshot("creating-one", 10)
			f, v := prodWorld(t, account)
			if tc.restore != "" {
				if err := automation.SetInStackFile(f.stackFile(), restoreKey, tc.restore); err != nil {
					t.Fatal(err)
				}
				var err error
				if v, err = stackview.Config(f.stackFile(), f.stack, nil); err != nil {
					t.Fatal(err)
				}
			}
			before, _ := os.ReadFile(f.stackFile())
			err := prodRestore(context.Background(), f, v, tc.m, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
			if after, _ := os.ReadFile(f.stackFile()); !bytes.Equal(before, after) {
				t.Error("a refused restore changed the stack file")
			}
		})
	}
}
