package awsbackup_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/awsbackup"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/backup"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/inventory"
	"github.com/moodle-cluster/moodle-pulumi/tests/fakes/awsfake"
)

const (
	instance = "moodle-prod-moodle-db-0a1b2c3d"
	fsARN    = "arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-0123456789abcdef0"
	vault    = "moodle-backup-1a2b3c4"
	roleARN  = "arn:aws:iam::123456789012:role/moodle-backup-5e6f7a8"
)

func targets(bucket string) awsbackup.Targets {
	return awsbackup.Targets{DBInstance: instance, FileSystemARN: fsARN, Bucket: bucket, Vault: vault, RoleARN: roleARN}
}

var start = time.Date(2026, 12, 7, 3, 15, 0, 0, time.UTC)

func clock() func() time.Time {
	t := start
	return func() time.Time { now := t; t = t.Add(time.Minute); return now }
}

func TestBackup_WaitsForTheSnapshotAndTheEFSRecoveryPointAndNamesThem(t *testing.T) {
	for _, tc := range []struct {
		name, bucket string
		want         []backup.RecoveryPoint
	}{
		{"files on EFS", "", []backup.RecoveryPoint{
			{Kind: "rds-snapshot", ID: instance + "-20261207t031500z"},
			{Kind: "efs-recovery-point", ID: "arn:aws:backup:eu-west-1:123456789012:recovery-point:job-1"},
		}},
		{"files in S3", "moodle-files-objectfs-1a2b", []backup.RecoveryPoint{
			{Kind: "rds-snapshot", ID: instance + "-20261207t031500z"},
			{Kind: "efs-recovery-point", ID: "arn:aws:backup:eu-west-1:123456789012:recovery-point:job-1"},
			{Kind: "s3-point-in-time", ID: "2026-12-07T03:15:00Z"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := awsfake.Start()
			defer fake.Close()
			acct := &awsfake.BackupAccount{Instance: instance, Readings: 2}
			acct.Serve(fake)
			var progress bytes.Buffer
			m, err := awsbackup.Backup(context.Background(), awsbackup.NewClients(fake.Config("eu-west-1")), targets(tc.bucket),
				awsbackup.Options{Stack: "prod", Now: clock(), Poll: time.Millisecond, Progress: &progress})
			if err != nil {
				t.Fatal(err)
			}
			if m.ID != "20261207T031500Z" || m.Stack != "prod" || m.Target != "aws" || !m.Started.Equal(start) || !m.Finished.After(m.Started) {
				t.Errorf("manifest %+v", m)
			}
			if fmt.Sprint(m.RecoveryPoints) != fmt.Sprint(tc.want) {
				t.Errorf("recovery points %v, want %v", m.RecoveryPoints, tc.want)
			}
			req := acct.JobRequests()[0]
			for key, want := range map[string]string{"BackupVaultName": vault, "IamRoleArn": roleARN, "ResourceArn": fsARN, "IdempotencyToken": "prod-20261207T031500Z"} {
				if req[key] != want {
					t.Errorf("StartBackupJob %s = %v, want %q", key, req[key], want)
				}
			}
			// The instance's tags reach the snapshot through copyTagsToSnapshot,
			// which tags given here would turn off.
			if tags := acct.SnapshotTags(); len(tags) > 0 {
				t.Errorf("snapshot created with tags %v", tags)
			}
			for _, line := range []string{"database snapshot " + instance + "-20261207t031500z: creating, 50%", "available, 100%",
				"file system backup job job-1: RUNNING, 40.0%", "COMPLETED, 100.0%"} {
				if !strings.Contains(progress.String(), line) {
					t.Errorf("progress lacks %q:\n%s", line, progress.String())
				}
			}
		})
	}
}

func TestBackup_AFailedJobFailsTheBackupWithItsReason(t *testing.T) {
	fake := awsfake.Start()
	defer fake.Close()
	(&awsfake.BackupAccount{Instance: instance, Readings: 1, JobsFail: true}).Serve(fake)
	_, err := awsbackup.Backup(context.Background(), awsbackup.NewClients(fake.Config("eu-west-1")), targets(""),
		awsbackup.Options{Stack: "prod", Now: clock(), Poll: time.Millisecond, Progress: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "backup job job-1 ended FAILED: access denied to the file system") {
		t.Errorf("error %v, want the job's state and message", err)
	}
}

func TestCheckSnapshot_RestoresOnlyFromAnAvailableSnapshot(t *testing.T) {
	fake := awsfake.Start()
	defer fake.Close()
	acct := &awsfake.BackupAccount{Instance: instance}
	acct.Serve(fake)
	acct.Snapshot("ready", 0)
	acct.Snapshot("still-creating", 5)
	acct.Snapshot("broken", -1)
	rds := awsbackup.NewClients(fake.Config("eu-west-1")).RDS
	manifest := func(id string) backup.Manifest {
		return backup.Manifest{ID: "20261207T031500Z", RecoveryPoints: []backup.RecoveryPoint{{Kind: "rds-snapshot", ID: id}}}
	}
	for _, tc := range []struct {
		name    string
		m       backup.Manifest
		wantErr string
	}{
		{"available", manifest("ready"), ""},
		{"still being created", manifest("still-creating"), "snapshot still-creating is creating; a restore needs it available"},
		{"failed", manifest("broken"), "snapshot broken is failed"},
		{"gone", manifest("deleted-by-hand"), "DBSnapshotNotFound"},
		{"no snapshot in the backup", backup.Manifest{ID: "x"}, awsbackup.ErrNoSnapshot.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := awsbackup.CheckSnapshot(context.Background(), rds, tc.m)
			if tc.wantErr == "" {
				if err != nil || got != tc.m.RecoveryPoints[0].ID {
					t.Errorf("CheckSnapshot = %q, %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want %q", err, tc.wantErr)
			}
			if tc.m.RecoveryPoints == nil && !errors.Is(err, awsbackup.ErrNoSnapshot) {
				t.Errorf("error %v is not ErrNoSnapshot", err)
			}
		})
	}
}

func TestFromState_NamesTheTargetsFromTheOutputsAndSaysWhichLack(t *testing.T) {
	inv := inventory.Inventory{Stack: "prod", Deployed: true, Outputs: map[string]any{
		"databaseInstanceId": instance, "fileSystemArn": fsARN, "bucketName": "", "backupVaultName": vault, "backupRoleArn": roleARN,
	}}
	got, err := awsbackup.FromState(inv)
	if err != nil || got != targets("") {
		t.Errorf("FromState = %+v, %v", got, err)
	}
	delete(inv.Outputs, "backupVaultName")
	delete(inv.Outputs, "backupRoleArn")
	if _, err := awsbackup.FromState(inv); err == nil || !strings.Contains(err.Error(), "lack backupRoleArn, backupVaultName") {
		t.Errorf("error %v, want the missing outputs named", err)
	}
	if _, err := awsbackup.FromState(inventory.Inventory{Stack: "prod"}); err == nil {
		t.Error("a stack never deployed has no targets")
	}
}

func TestRestoreFileSystem_RestoresTheRecoveryPointIntoANewEncryptedFileSystemAndNamesIt(t *testing.T) {
	const (
		point   = "arn:aws:backup:eu-west-1:123456789012:recovery-point:job-7"
		dataKey = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-0000-4000-8000-000000000000"
		source  = "fs-0123456789abcdef0"
	)
	withKey := targets("")
	withKey.DataKeyARN = dataKey
	manifest := func(points ...backup.RecoveryPoint) backup.Manifest {
		return backup.Manifest{ID: "20261207T031500Z", Stack: "prod", RecoveryPoints: points}
	}
	efs := backup.RecoveryPoint{Kind: "efs-recovery-point", ID: point}
	for _, tc := range []struct {
		name     string
		readings int
		fail     bool // restore jobs fail
		t        awsbackup.Targets
		m        backup.Manifest
		want     string // the new file system's id, or a line of the error
		wantErr  bool
	}{
		{"completed", 2, false, withKey, manifest(efs), "fs-0fedcba9876543201", false},
		{"a failed job fails with its reason", 1, true, withKey, manifest(efs),
			"restore job restore-1 ended FAILED: the role may not use the key", true},
		{"a recovery point the vault no longer has", 0, false, withKey,
			manifest(backup.RecoveryPoint{Kind: "efs-recovery-point", ID: point + "-gone"}), "ResourceNotFoundException", true},
		{"a backup without a file system point", 0, false, withKey, manifest(), awsbackup.ErrNoFileSystemPoint.Error(), true},
		{"a stack that does not export its data key yet", 0, false, targets(""), manifest(efs), "its outputs lack dataKeyArn", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := awsfake.Start()
			defer fake.Close()
			acct := &awsfake.BackupAccount{Instance: instance, FileSystem: source, Readings: tc.readings, RestoresFail: tc.fail}
			acct.Serve(fake)
			acct.RecoveryPoint(point)
			var progress bytes.Buffer
			got, err := awsbackup.RestoreFileSystem(context.Background(), awsbackup.NewClients(fake.Config("eu-west-1")), tc.t, tc.m,
				awsbackup.Options{Stack: "prod", Now: clock(), Poll: time.Millisecond, Progress: &progress})
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("RestoreFileSystem = %q, %v; want an error with %q", got, err, tc.want)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("RestoreFileSystem = %q, %v; want %q", got, err, tc.want)
			}
			reqs := acct.RestoreRequests()
			if len(reqs) != 1 {
				t.Fatalf("%d restore jobs started, want 1", len(reqs))
			}
			for key, want := range map[string]string{"RecoveryPointArn": point, "IamRoleArn": roleARN, "ResourceType": "EFS",
				"IdempotencyToken": "prod-20261207T031500Z-20261207T031500Z"} {
				if reqs[0][key] != want {
					t.Errorf("StartRestoreJob %s = %v, want %q", key, reqs[0][key], want)
				}
			}
			wantMeta := map[string]any{"file-system-id": source, "newFileSystem": "true", "Encrypted": "true", "KmsKeyId": dataKey,
				"PerformanceMode": "generalPurpose", "CreationToken": "prod-20261207T031500Z-20261207T031500Z"}
			if fmt.Sprint(reqs[0]["Metadata"]) != fmt.Sprint(wantMeta) {
				t.Errorf("StartRestoreJob Metadata %v, want %v", reqs[0]["Metadata"], wantMeta)
			}
			for _, line := range []string{"file system restore job restore-1: RUNNING, 60.0%", "file system restore job restore-1: COMPLETED, 100.0%"} {
				if !strings.Contains(progress.String(), line) {
					t.Errorf("progress lacks %q:\n%s", line, progress.String())
				}
			}
		})
	}
}

// A restore job cannot give the new file system the stack's throughput mode or
// lifecycle policies; the restore copies them from the file system the site runs
// on, and a failure to do so leaves the restored files usable and says what to set.
func TestRestoreFileSystem_GivesTheRestoredFileSystemTheCurrentOnesSettings(t *testing.T) {
	const (
		point    = "arn:aws:backup:eu-west-1:123456789012:recovery-point:job-7"
		current  = "fs-0123456789abcdef0"
		restored = "fs-0fedcba9876543201"
	)
	stackLifecycle := []map[string]any{{"TransitionToIA": "AFTER_30_DAYS"}, {"TransitionToPrimaryStorageClass": "AFTER_1_ACCESS"}}
	for _, tc := range []struct {
		name              string
		current, restored *awsfake.FileSystem // nil: not in the account
		want              awsfake.FileSystem
		updates           int
		warning           string
	}{
		{"elastic and the lifecycle policies onto AWS Backup's bursting file system",
			&awsfake.FileSystem{ThroughputMode: "elastic", Lifecycle: stackLifecycle}, &awsfake.FileSystem{ThroughputMode: "bursting"},
			awsfake.FileSystem{ThroughputMode: "elastic", Lifecycle: stackLifecycle}, 1, ""},
		{"provisioned throughput with its rate",
			&awsfake.FileSystem{ThroughputMode: "provisioned", ProvisionedMiBps: 128}, &awsfake.FileSystem{ThroughputMode: "bursting", Lifecycle: stackLifecycle},
			awsfake.FileSystem{ThroughputMode: "provisioned", ProvisionedMiBps: 128}, 1, ""},
		{"the same mode is not changed again (24 hours between changes)",
			&awsfake.FileSystem{ThroughputMode: "elastic", Lifecycle: stackLifecycle}, &awsfake.FileSystem{ThroughputMode: "elastic"},
			awsfake.FileSystem{ThroughputMode: "elastic", Lifecycle: stackLifecycle}, 0, ""},
		{"an unreadable current file system: the restore stands, with a warning",
			nil, &awsfake.FileSystem{ThroughputMode: "bursting"},
			awsfake.FileSystem{ThroughputMode: "bursting"}, 0, "warning: file system " + restored + " keeps AWS Backup's throughput and lifecycle settings: file system " + current + ": "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := awsfake.Start()
			defer fake.Close()
			acct := &awsfake.BackupAccount{Instance: instance, FileSystem: current}
			acct.Serve(fake)
			acct.RecoveryPoint(point)
			var systems awsfake.FileSystems
			systems.Serve(fake)
			if tc.current != nil {
				systems.Add(current, *tc.current)
			}
			systems.Add(restored, *tc.restored)
			withKey := targets("")
			withKey.DataKeyARN = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-0000-4000-8000-000000000000"
			var progress bytes.Buffer
			got, err := awsbackup.RestoreFileSystem(context.Background(), awsbackup.NewClients(fake.Config("eu-west-1")), withKey,
				backup.Manifest{ID: "20261207T031500Z", Stack: "prod", RecoveryPoints: []backup.RecoveryPoint{{Kind: "efs-recovery-point", ID: point}}},
				awsbackup.Options{Stack: "prod", Now: clock(), Poll: time.Millisecond, Progress: &progress})
			if err != nil || got != restored {
				t.Fatalf("RestoreFileSystem = %q, %v; want %q", got, err, restored)
			}
			if after := systems.Get(restored); fmt.Sprint(after) != fmt.Sprint(tc.want) {
				t.Errorf("restored file system %+v, want %+v", after, tc.want)
			}
			if n := len(systems.Updates()); n != tc.updates {
				t.Errorf("%d throughput mode changes (%v), want %d", n, systems.Updates(), tc.updates)
			}
			if warned := strings.Contains(progress.String(), "warning:"); warned != (tc.warning != "") || !strings.Contains(progress.String(), tc.warning) {
				t.Errorf("progress:\n%s\nwant a warning with %q", progress.String(), tc.warning)
			}
		})
	}
}
