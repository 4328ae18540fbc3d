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
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/backup"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/inventory"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/stackview"
	"github.com/moodle-cluster/moodle-pulumi/tests/fakes/awsfake"
)

const (
	testDBInstance = "moodle-prod-moodle-db-0a1b2c3d"
	testFileSystem = "fs-0123456789abcdef0"
	testDataKey    = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-0000-4000-8000-000000000000"
)

// What the fake state says the site runs: not what the stack file names, as
// after a build (a pushed digest) or an edit not yet applied.
const (
	testDeployedRelease = "5.1"
	testDeployedImage   = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/moodle-prod-app-image@sha256:" +
		"70432c0bf2953aafae9335834d396affed2ef823fb82f9910078c8768e061e72"
)

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
	account.Instance, account.FileSystem = testDBInstance, testFileSystem
	account.Serve(fake)

	state, cfg, poll := prodState, prodAWSConfig, prodPoll
	t.Cleanup(func() { prodState, prodAWSConfig, prodPoll = state, cfg, poll })
	prodState = func(context.Context, flags) (inventory.Inventory, error) {
		return inventory.Inventory{Stack: "prod", Deployed: true, Outputs: map[string]any{
			"databaseInstanceId": testDBInstance,
			"fileSystemArn":      "arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/" + testFileSystem,
			"dataKeyArn":         testDataKey,
			"bucketName":         "",
			"backupVaultName":    "moodle-backup-1a2b3c4",
			"backupRoleArn":      "arn:aws:iam::123456789012:role/moodle-backup-5e6f7a8",
			"moodleVersion":      testDeployedRelease,
			"appImage":           testDeployedImage,
		}}, nil
	}
	prodAWSConfig = func(_ context.Context, region string) (aws.Config, error) { return fake.Config(region), nil }
	prodPoll = time.Millisecond

	f := flags{stack: "prod", to: filepath.Join(t.TempDir(), "backups")}
	v, err := stackview.Config(f.stackFile(), f.stack)
	if err != nil {
		t.Fatal(err)
	}
	return f, v
}

// A backup of prod lands as a manifest under --to naming the snapshot and the
// recovery point, with what the site ran (its state's outputs); restoring it restores the file system
// with AWS Backup and sets the stack file's restore keys, which the program then
// reads.
func TestProdBackupThenRestore_WritesTheManifestThenPointsTheStackAtTheSnapshotAndTheRestoredFileSystem(t *testing.T) {
	account := &awsfake.BackupAccount{Readings: 1}
	f, v := prodWorld(t, account)
	var out bytes.Buffer
	m, err := prodBackup(context.Background(), f, v, "", &out)
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
	if saved.Release != testDeployedRelease || saved.Image != testDeployedImage || saved.Target != "aws" {
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
	after, err := stackview.Config(f.stackFile(), f.stack)
	if err != nil {
		t.Fatal(err)
	}
	if got := after.Spec.Database.RestoreFromSnapshot; got != snapshot {
		t.Errorf("database.restoreFromSnapshot = %q, want %q", got, snapshot)
	}
	const restored = "fs-0fedcba9876543201"
	if got := after.Spec.Storage.RestoreFileSystemID; got != restored {
		t.Errorf("storage.restoreFileSystemId = %q, want the restore job's %q", got, restored)
	}
	reqs := account.RestoreRequests()
	if len(reqs) != 1 || reqs[0]["RecoveryPointArn"] != saved.RecoveryPoints[1].ID || reqs[0]["IamRoleArn"] != "arn:aws:iam::123456789012:role/moodle-backup-5e6f7a8" {
		t.Fatalf("restore jobs %v, want one of the backup's recovery point with the stack's backup role", reqs)
	}
	if meta, _ := reqs[0]["Metadata"].(map[string]any); meta["KmsKeyId"] != testDataKey || meta["newFileSystem"] != "true" || meta["file-system-id"] != testFileSystem {
		t.Errorf("restore metadata %v, want a new file system of %s encrypted with the data key", meta, testFileSystem)
	}
	for _, want := range []string{"moodlectl up --stack prod", "keeps the current database", "file system restore job restore-1: COMPLETED, 100.0%",
		"set moodle:storage.restoreFileSystemId = " + restored, "moves the site to file system " + restored} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("restore does not say %q:\n%s", want, out.String())
		}
	}
}

func TestProdRestore_RefusesWhatWouldLoseDataAndLeavesTheStackFileAlone(t *testing.T) {
	const (
		ready = testDBInstance + "-20261207t031500z"
		point = "arn:aws:backup:eu-west-1:123456789012:recovery-point:job-7"
	)
	manifest := func(snapshot string, points ...backup.RecoveryPoint) backup.Manifest {
		return backup.Manifest{ID: "20261207T031500Z", Stack: "prod",
			RecoveryPoints: append([]backup.RecoveryPoint{{Kind: "rds-snapshot", ID: snapshot}}, points...)}
	}
	efs := backup.RecoveryPoint{Kind: "efs-recovery-point", ID: point}
	for _, tc := range []struct {
		name    string
		restore map[string]string // already in the stack file
		fail    bool              // restore jobs fail
		m       backup.Manifest
		want    string
	}{
		{"a snapshot still being created", nil, false, manifest("creating-one", efs), "snapshot creating-one is creating; a restore needs it available"},
		{"a snapshot RDS no longer has", nil, false, manifest("gone", efs), "DBSnapshotNotFound"},
		{"a second restore over the first", map[string]string{restoreKey: "older-snapshot"}, false, manifest(ready, efs),
			"is already older-snapshot; the site runs on the database restored from it"},
		{"a second file system restore over the first", map[string]string{restoreFileKey: "fs-0aaaaaaaaaaaaaaaa"}, false, manifest(ready, efs),
			"storage.restoreFileSystemId is already fs-0aaaaaaaaaaaaaaaa; the site runs on the file system restored into it"},
		{"a file system restore job that fails", nil, true, manifest(ready, efs), "restore job restore-1 ended FAILED"},
		{"a recovery point the vault no longer has", nil, false, manifest(ready, backup.RecoveryPoint{Kind: "efs-recovery-point", ID: point + "-gone"}),
			"ResourceNotFoundException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			account := &awsfake.BackupAccount{RestoresFail: tc.fail}
			account.Snapshot(ready, 0)
			account.Snapshot("creating-one", 10)
			account.RecoveryPoint(point)
			f, v := prodWorld(t, account)
			if len(tc.restore) > 0 {
				for key, value := range tc.restore {
					if err := automation.SetInStackFile(f.stackFile(), key, value); err != nil {
						t.Fatal(err)
					}
				}
				var err error
				if v, err = stackview.Config(f.stackFile(), f.stack); err != nil {
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
			if tc.restore != nil && len(account.RestoreRequests()) > 0 {
				t.Error("a refused restore started a restore job")
			}
		})
	}
}

// Restoring the backup the stack already restores from again changes nothing
// and starts no job: both keys are this backup's.
func TestProdRestore_TheSameBackupAgainIsAlreadyInPlace(t *testing.T) {
	const (
		ready = testDBInstance + "-20261207t031500z"
		point = "arn:aws:backup:eu-west-1:123456789012:recovery-point:job-7"
	)
	account := &awsfake.BackupAccount{}
	account.Snapshot(ready, 0)
	account.RecoveryPoint(point)
	f, _ := prodWorld(t, account)
	m := backup.Manifest{ID: "20261207T031500Z", Stack: "prod", RecoveryPoints: []backup.RecoveryPoint{{Kind: "rds-snapshot", ID: ready}, {Kind: "efs-recovery-point", ID: point}}}
	var out bytes.Buffer
	for i := 0; i < 2; i++ {
		v, err := stackview.Config(f.stackFile(), f.stack)
		if err != nil {
			t.Fatal(err)
		}
		out.Reset()
		if err := prodRestore(context.Background(), f, v, m, &out); err != nil {
			t.Fatalf("restore %d: %v\n%s", i+1, err, out.String())
		}
	}
	if n := len(account.RestoreRequests()); n != 1 {
		t.Errorf("%d restore jobs, want the first restore's only", n)
	}
	for _, want := range []string{"already has " + restoreKey + " = " + ready, "already has " + restoreFileKey + " = fs-0fedcba9876543201"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the second restore does not say %q:\n%s", want, out.String())
		}
	}
}
