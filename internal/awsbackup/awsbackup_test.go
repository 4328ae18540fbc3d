package awsbackup_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moodle-cluster/moodle-pulumi/internal/awsbackup"
	"github.com/moodle-cluster/moodle-pulumi/internal/awsfake"
	"github.com/moodle-cluster/moodle-pulumi/internal/backup"
	"github.com/moodle-cluster/moodle-pulumi/internal/inventory"
)

const (
	instance = "moodle-prod-moodle-db-0a1b2c3d"
	fsARN    = "arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-0123456789abcdef0"
	vault    = "moodle-backup-1a2b3c4"
	roleARN  = "arn:aws:iam::123456789012:role/moodle-backup-5e6f7a8"
)

// account is the part of RDS and AWS Backup a backup talks to: snapshots that
// become available after a number of readings, and backup jobs likewise.
type account struct {
	mu sync.Mutex
	// snapshots: identifier -> readings left before "available" (-1: failed).
	snapshots map[string]int
	// jobs: id -> readings left before COMPLETED (-1: FAILED).
	jobs         map[string]int
	jobRequests  []map[string]any
	snapshotTags []string
}

func newAccount() *account { return &account{snapshots: map[string]int{}, jobs: map[string]int{}} }

// serve registers the operations, each shaped as the service's API reference
// gives it.
func (a *account) serve(fake *awsfake.Server, readingsToFinish int, jobFails bool) {
	// RDS CreateDBSnapshot (query protocol; Amazon RDS API Reference,
	// CreateDBSnapshot): the snapshot starts "creating".
	fake.Query("CreateDBSnapshot", func(form url.Values) (string, error) {
		a.mu.Lock()
		defer a.mu.Unlock()
		id := form.Get("DBSnapshotIdentifier")
		if form.Get("DBInstanceIdentifier") != instance {
			return "", fmt.Errorf("DBInstanceNotFound: %s", form.Get("DBInstanceIdentifier"))
		}
		a.snapshots[id] = readingsToFinish
		if form.Get("Tags.Tag.1.Key") != "" {
			a.snapshotTags = append(a.snapshotTags, form.Get("Tags.Tag.1.Key"))
		}
		return rdsSnapshotXML("CreateDBSnapshot", id, "creating", 0, false), nil
	})
	// RDS DescribeDBSnapshots: Status "creating" until the snapshot is
	// "available"; PercentProgress as it goes (Amazon RDS API Reference,
	// DBSnapshot data type).
	fake.Query("DescribeDBSnapshots", func(form url.Values) (string, error) {
		a.mu.Lock()
		defer a.mu.Unlock()
		id := form.Get("DBSnapshotIdentifier")
		left, ok := a.snapshots[id]
		if !ok {
			return "", fmt.Errorf("DBSnapshotNotFound: %s", id)
		}
		switch {
		case left < 0:
			return rdsSnapshotXML("DescribeDBSnapshots", id, "failed", 0, true), nil
		case left == 0:
			return rdsSnapshotXML("DescribeDBSnapshots", id, "available", 100, true), nil
		}
		a.snapshots[id] = left - 1
		return rdsSnapshotXML("DescribeDBSnapshots", id, "creating", 50, true), nil
	})
	// AWS Backup StartBackupJob: PUT /backup-jobs with a JSON body (AWS Backup
	// API Reference, StartBackupJob; aws-sdk-go-v2/service/backup
	// request_snapshot/StartBackupJob.request.snap).
	fake.REST("PUT", "/backup-jobs", func(r awsfake.RESTRequest) (any, error) {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.jobRequests = append(a.jobRequests, r.Body)
		id := fmt.Sprintf("job-%d", len(a.jobs)+1)
		a.jobs[id] = readingsToFinish
		if jobFails {
			a.jobs[id] = -1
		}
		return map[string]any{"BackupJobId": id, "CreationDate": 1.7651e9}, nil
	})
	// AWS Backup DescribeBackupJob: GET /backup-jobs/{BackupJobId}; State is
	// CREATED, PENDING, RUNNING, ABORTING, ABORTED, COMPLETED, FAILED, EXPIRED or
	// PARTIAL, and RecoveryPointArn names what a completed job made (AWS Backup
	// API Reference, DescribeBackupJob).
	fake.REST("GET", "/backup-jobs/{BackupJobId}", func(r awsfake.RESTRequest) (any, error) {
		a.mu.Lock()
		defer a.mu.Unlock()
		id := r.Labels["BackupJobId"]
		left, ok := a.jobs[id]
		switch {
		case !ok:
			return nil, fmt.Errorf("ResourceNotFoundException: %s", id)
		case left < 0:
			return map[string]any{"BackupJobId": id, "State": "FAILED", "StatusMessage": "access denied to the file system"}, nil
		case left == 0:
			return map[string]any{"BackupJobId": id, "State": "COMPLETED", "PercentDone": "100.0",
				"RecoveryPointArn": "arn:aws:backup:eu-west-1:123456789012:recovery-point:" + id}, nil
		}
		a.jobs[id] = left - 1
		return map[string]any{"BackupJobId": id, "State": "RUNNING", "PercentDone": "40.0"}, nil
	})
}

func rdsSnapshotXML(action, id, status string, percent int, list bool) string {
	snap := fmt.Sprintf(`<DBSnapshot><DBSnapshotIdentifier>%s</DBSnapshotIdentifier><DBInstanceIdentifier>%s</DBInstanceIdentifier>`+
		`<Status>%s</Status><PercentProgress>%d</PercentProgress></DBSnapshot>`, id, instance, status, percent)
	if list {
		snap = "<DBSnapshots>" + snap + "</DBSnapshots>"
	}
	return fmt.Sprintf(`<%[1]sResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><%[1]sResult>%[2]s</%[1]sResult></%[1]sResponse>`, action, snap)
}

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
			acct := newAccount()
			acct.serve(fake, 2, false)
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
			req := acct.jobRequests[0]
			for key, want := range map[string]string{"BackupVaultName": vault, "IamRoleArn": roleARN, "ResourceArn": fsARN, "IdempotencyToken": "prod-20261207T031500Z"} {
				if req[key] != want {
					t.Errorf("StartBackupJob %s = %v, want %q", key, req[key], want)
				}
			}
			// The instance's tags reach the snapshot through copyTagsToSnapshot,
			// which tags given here would turn off.
			if len(acct.snapshotTags) > 0 {
				t.Errorf("snapshot created with tags %v", acct.snapshotTags)
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
	newAccount().serve(fake, 1, true)
	_, err := awsbackup.Backup(context.Background(), awsbackup.NewClients(fake.Config("eu-west-1")), targets(""),
		awsbackup.Options{Stack: "prod", Now: clock(), Poll: time.Millisecond, Progress: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "backup job job-1 ended FAILED: access denied to the file system") {
		t.Errorf("error %v, want the job's state and message", err)
	}
}

func TestCheckSnapshot_RestoresOnlyFromAnAvailableSnapshot(t *testing.T) {
	fake := awsfake.Start()
	defer fake.Close()
	acct := newAccount()
	acct.serve(fake, 0, false)
	acct.snapshots["ready"] = 0
	acct.snapshots["still-creating"] = 5
	acct.snapshots["broken"] = -1
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
