package awsfake

import (
	"fmt"
	"net/url"
	"sync"
)

// BackupAccount is the part of RDS and AWS Backup that a prod backup and
// restore talk to: DB snapshots and EFS backup jobs that finish after a number
// of readings. Each operation is shaped as the service's API reference gives it.
type BackupAccount struct {
	// Instance is the one DB instance a snapshot may be taken of.
	Instance string
	// Readings is how many readings a new snapshot or job reports itself under
	// way before it is done; JobsFail makes every backup job end FAILED.
	Readings int
	JobsFail bool

	mu sync.Mutex
	// snapshots and jobs: id -> readings left before done (-1: failed).
	snapshots map[string]int
	jobs      map[string]int
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
			return map[string]any{"BackupJobId": id, "State": "COMPLETED", "PercentDone": "100.0",
				"RecoveryPointArn": "arn:aws:backup:eu-west-1:123456789012:recovery-point:" + id}, nil
		}
		a.jobs[id] = left - 1
		return map[string]any{"BackupJobId": id, "State": "RUNNING", "PercentDone": "40.0"}, nil
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
