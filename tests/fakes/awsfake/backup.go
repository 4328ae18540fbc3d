package awsfake

import (
	"fmt"
	"net/url"
	"sync"
)

// BackupAccount is the part of RDS and AWS Backup that a prod backup and
// restore talk to: DB snapshots, EFS backup jobs and EFS restore jobs that
// finish after a number of readings. Each operation is shaped as the service's
// API reference gives it.
type BackupAccount struct {
	// Instance is the one DB instance a snapshot may be taken of.
	Instance string
	// Readings is how many readings a new snapshot or job reports itself under
	// way before it is done; JobsFail makes every backup job end FAILED.
	Readings int
	JobsFail bool
	// RestoresFail makes every restore job end FAILED.
	RestoresFail bool
	// FileSystem is the id of the file system the recovery points were taken
	// of, which GetRecoveryPointRestoreMetadata reports.
	FileSystem string

	mu sync.Mutex
	// snapshots and jobs: id -> readings left before done (-1: failed).
	snapshots map[string]int
	jobs      map[string]int
	// restores: id -> readings left before done (-1: failed); points: the
	// recovery points in the vault.
	restores map[string]int
	points   map[string]bool
	// restoreRequests are the StartRestoreJob bodies.
	restoreRequests []map[string]any
	// JobRequests are the StartBackupJob bodies, SnapshotTags the tag keys
	// CreateDBSnapshot was given.
	jobRequests  []map[string]any
	snapshotTags []string
}

// Snapshot adds a snapshot that is available after readings more readings
// (0: available now, -1: failed).
func (a *BackupAccount) Snapshot(id string, readings int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.snapshots == nil {
		a.snapshots = map[string]int{}
	}
	a.snapshots[id] = readings
}

// RecoveryPoint adds a recovery point of FileSystem to the vault.
func (a *BackupAccount) RecoveryPoint(arn string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.points == nil {
		a.points = map[string]bool{}
	}
	a.points[arn] = true
}

// RestoreRequests returns the StartRestoreJob request bodies received.
func (a *BackupAccount) RestoreRequests() []map[string]any {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]map[string]any(nil), a.restoreRequests...)
}

// JobRequests returns the StartBackupJob request bodies received.
func (a *BackupAccount) JobRequests() []map[string]any {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]map[string]any(nil), a.jobRequests...)
}

// SnapshotTags returns the tag keys CreateDBSnapshot calls carried.
func (a *BackupAccount) SnapshotTags() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.snapshotTags...)
}

// Serve registers the operations on s.
func (a *BackupAccount) Serve(s *Server) {
	a.mu.Lock()
	if a.snapshots == nil {
		a.snapshots = map[string]int{}
	}
	a.jobs = map[string]int{}
	a.restores = map[string]int{}
	if a.points == nil {
		a.points = map[string]bool{}
	}
	a.mu.Unlock()
	// RDS CreateDBSnapshot (query protocol; Amazon RDS API Reference,
	// CreateDBSnapshot): the snapshot starts "creating"; an unknown instance is
	// DBInstanceNotFound.
	s.Query("CreateDBSnapshot", func(form url.Values) (string, error) {
		a.mu.Lock()
		defer a.mu.Unlock()
		id := form.Get("DBSnapshotIdentifier")
		if form.Get("DBInstanceIdentifier") != a.Instance {
			return "", fmt.Errorf("DBInstanceNotFound: %s", form.Get("DBInstanceIdentifier"))
		}
		a.snapshots[id] = a.Readings
		if key := form.Get("Tags.Tag.1.Key"); key != "" {
			a.snapshotTags = append(a.snapshotTags, key)
		}
		return a.snapshotXML("CreateDBSnapshot", id, "creating", 0, false), nil
	})
	// RDS DescribeDBSnapshots: Status "creating" until "available" (or
	// "failed"), PercentProgress as it goes (Amazon RDS API Reference,
	// DescribeDBSnapshots and the DBSnapshot data type); an unknown identifier is
	// DBSnapshotNotFound.
	s.Query("DescribeDBSnapshots", func(form url.Values) (string, error) {
		a.mu.Lock()
		defer a.mu.Unlock()
		id := form.Get("DBSnapshotIdentifier")
		left, ok := a.snapshots[id]
		switch {
		case !ok:
			return "", fmt.Errorf("DBSnapshotNotFound: %s", id)
		case left < 0:
			return a.snapshotXML("DescribeDBSnapshots", id, "failed", 0, true), nil
		case left == 0:
			return a.snapshotXML("DescribeDBSnapshots", id, "available", 100, true), nil
		}
		a.snapshots[id] = left - 1
		return a.snapshotXML("DescribeDBSnapshots", id, "creating", 50, true), nil
	})
	// AWS Backup StartBackupJob: PUT /backup-jobs with a JSON body, answering
	// BackupJobId and CreationDate (AWS Backup API Reference, StartBackupJob;
	// aws-sdk-go-v2/service/backup v1.70.0 request_snapshot/StartBackupJob.request.snap).
	s.REST("PUT", "/backup-jobs", func(r RESTRequest) (any, error) {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.jobRequests = append(a.jobRequests, r.Body)
		id := fmt.Sprintf("job-%d", len(a.jobs)+1)
		a.jobs[id] = a.Readings
		if a.JobsFail {
			a.jobs[id] = -1
		}
		return map[string]any{"BackupJobId": id, "CreationDate": 1.7651e9}, nil
	})
	// AWS Backup DescribeBackupJob: GET /backup-jobs/{BackupJobId}; State is one
	// of CREATED, PENDING, RUNNING, ABORTING, ABORTED, COMPLETED, FAILED, EXPIRED,
	// PARTIAL, with StatusMessage, PercentDone (a string) and, once completed, the
	// RecoveryPointArn it made (AWS Backup API Reference, DescribeBackupJob;
	// request_snapshot/DescribeBackupJob.request.snap).
	s.REST("GET", "/backup-jobs/{BackupJobId}", func(r RESTRequest) (any, error) {
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
			point := "arn:aws:backup:eu-west-1:123456789012:recovery-point:" + id
			a.points[point] = true
			return map[string]any{"BackupJobId": id, "State": "COMPLETED", "PercentDone": "100.0", "RecoveryPointArn": point}, nil
		}
		a.jobs[id] = left - 1
		return map[string]any{"BackupJobId": id, "State": "RUNNING", "PercentDone": "40.0"}, nil
	})
	a.serveRestores(s)
}

// serveRestores registers the restore operations on s.
func (a *BackupAccount) serveRestores(s *Server) {
	// AWS Backup GetRecoveryPointRestoreMetadata: GET
	// /backup-vaults/{BackupVaultName}/recovery-points/{RecoveryPointArn}/restore-metadata,
	// answering BackupVaultArn, RecoveryPointArn, ResourceType and RestoreMetadata,
	// the string map a restore starts from, which for EFS holds the backed-up
	// file-system-id (AWS Backup API Reference, GetRecoveryPointRestoreMetadata and
	// StartRestoreJob's Metadata; request_snapshot/GetRecoveryPointRestoreMetadata.request.snap).
	// An unknown recovery point is ResourceNotFoundException.
	s.REST("GET", "/backup-vaults/{BackupVaultName}/recovery-points/{RecoveryPointArn}/restore-metadata", func(r RESTRequest) (any, error) {
		a.mu.Lock()
		defer a.mu.Unlock()
		point := r.Labels["RecoveryPointArn"]
		if !a.points[point] {
			return nil, fmt.Errorf("ResourceNotFoundException: recovery point %s", point)
		}
		return map[string]any{
			"BackupVaultArn": "arn:aws:backup:eu-west-1:123456789012:backup-vault:" + r.Labels["BackupVaultName"], "RecoveryPointArn": point,
			"ResourceType": "EFS", "RestoreMetadata": map[string]string{"file-system-id": a.FileSystem, "Encrypted": "true", "PerformanceMode": "generalPurpose"},
		}, nil
	})
	// AWS Backup StartRestoreJob: PUT /restore-jobs with a JSON body
	// (RecoveryPointArn, Metadata, IamRoleArn, IdempotencyToken, ResourceType),
	// answering RestoreJobId (AWS Backup API Reference, StartRestoreJob;
	// request_snapshot/StartRestoreJob.request.snap). The EFS keys it checks are
	// the API reference's: file-system-id, and KmsKeyId only with Encrypted true.
	s.REST("PUT", "/restore-jobs", func(r RESTRequest) (any, error) {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.restoreRequests = append(a.restoreRequests, r.Body)
		point, _ := r.Body["RecoveryPointArn"].(string)
		meta, _ := r.Body["Metadata"].(map[string]any)
		switch {
		case !a.points[point]:
			return nil, fmt.Errorf("ResourceNotFoundException: recovery point %s", point)
		case meta["file-system-id"] != a.FileSystem:
			return nil, fmt.Errorf("InvalidParameterValueException: file-system-id %v is not the recovery point's", meta["file-system-id"])
		case meta["KmsKeyId"] != nil && meta["Encrypted"] != "true":
			return nil, fmt.Errorf("InvalidParameterValueException: KmsKeyId needs Encrypted true")
		}
		id := fmt.Sprintf("restore-%d", len(a.restores)+1)
		a.restores[id] = a.Readings
		if a.RestoresFail {
			a.restores[id] = -1
		}
		return map[string]any{"RestoreJobId": id}, nil
	})
	// AWS Backup DescribeRestoreJob: GET /restore-jobs/{RestoreJobId}; Status is
	// one of PENDING, RUNNING, COMPLETED, ABORTED, FAILED, with StatusMessage,
	// PercentDone (a string) and CreatedResourceArn, the ARN of the resource the
	// job made (AWS Backup API Reference, DescribeRestoreJob;
	// request_snapshot/DescribeRestoreJob.request.snap).
	s.REST("GET", "/restore-jobs/{RestoreJobId}", func(r RESTRequest) (any, error) {
		a.mu.Lock()
		defer a.mu.Unlock()
		id := r.Labels["RestoreJobId"]
		left, ok := a.restores[id]
		switch {
		case !ok:
			return nil, fmt.Errorf("ResourceNotFoundException: %s", id)
		case left < 0:
			return map[string]any{"RestoreJobId": id, "Status": "FAILED", "StatusMessage": "the role may not use the key"}, nil
		case left == 0:
			return map[string]any{"RestoreJobId": id, "Status": "COMPLETED", "PercentDone": "100.0",
				"CreatedResourceArn": fmt.Sprintf("arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-0fedcba98765432%02d", len(a.restores))}, nil
		}
		a.restores[id] = left - 1
		return map[string]any{"RestoreJobId": id, "Status": "RUNNING", "PercentDone": "60.0"}, nil
	})
}

func (a *BackupAccount) snapshotXML(action, id, status string, percent int, list bool) string {
	snap := fmt.Sprintf(`<DBSnapshot><DBSnapshotIdentifier>%s</DBSnapshotIdentifier><DBInstanceIdentifier>%s</DBInstanceIdentifier>`+
		`<Status>%s</Status><PercentProgress>%d</PercentProgress></DBSnapshot>`, id, a.Instance, status, percent)
	if list {
		snap = "<DBSnapshots>" + snap + "</DBSnapshots>"
	}
	return fmt.Sprintf(`<%[1]sResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><%[1]sResult>%[2]s</%[1]sResult></%[1]sResponse>`, action, snap)
}
