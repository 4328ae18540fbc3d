// Package awsbackup takes and checks the prod stack's on-demand backups in AWS:
// an RDS manual snapshot of the DB instance the site uses, an AWS Backup
// recovery point of the EFS file system in the stack's vault, and, with files in
// S3, the time from which the bucket's versions give the files back. The
// backup's manifest (cmd/moodlectl/backup) names them; nothing is copied out of AWS.
package awsbackup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsbk "github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	efstypes "github.com/aws/aws-sdk-go-v2/service/efs/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/backup"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/inventory"
)

// Recovery point kinds, as the manifest records them.
const (
	KindRDSSnapshot = "rds-snapshot"
	KindEFS         = "efs-recovery-point"
	KindS3          = "s3-point-in-time"
)

// Targets are what a backup takes, named by the deployed stack's outputs.
type Targets struct {
	// DBInstance is the identifier of the DB instance the site uses.
	DBInstance string
	// FileSystemARN is the EFS file system's ARN.
	FileSystemARN string
	// Bucket is the objectfs bucket, "" unless files are in S3.
	Bucket string
	// Vault and RoleARN are the stack's AWS Backup vault and the role AWS Backup
	// assumes.
	Vault   string
	RoleARN string
	// DataKeyARN is the stack's data key, which a restored file system is
	// encrypted with; only a restore needs it.
	DataKeyARN string
}

// FromState names the targets from a deployed prod stack's outputs: the program
// exports them, so nothing here rebuilds a resource's name.
func FromState(inv inventory.Inventory) (Targets, error) {
	if !inv.Deployed {
		return Targets{}, fmt.Errorf("stack %s: a backup reads a deployed stack's outputs", inv.Stack)
	}
	str := func(key string) string { s, _ := inv.Outputs[key].(string); return s }
	t := Targets{
		DBInstance: str("databaseInstanceId"), FileSystemARN: str("fileSystemArn"), Bucket: str("bucketName"),
		Vault: str("backupVaultName"), RoleARN: str("backupRoleArn"), DataKeyARN: str("dataKeyArn"),
	}
	var missing []string
	for key, v := range map[string]string{"databaseInstanceId": t.DBInstance, "fileSystemArn": t.FileSystemARN, "backupVaultName": t.Vault, "backupRoleArn": t.RoleARN} {
		if v == "" {
			missing = append(missing, key)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return t, fmt.Errorf("stack %s: its outputs lack %s: run `moodlectl up --stack %s` with this release first", inv.Stack, strings.Join(missing, ", "), inv.Stack)
	}
	return t, nil
}

// Clients are the AWS API clients a backup uses.
type Clients struct {
	RDS    *rds.Client
	Backup *awsbk.Client
	EFS    *efs.Client
}

// NewClients makes the clients from cfg (credentials and region, or a test
// endpoint).
func NewClients(cfg aws.Config) Clients {
	return Clients{RDS: rds.NewFromConfig(cfg), Backup: awsbk.NewFromConfig(cfg), EFS: efs.NewFromConfig(cfg)}
}

// Options tune one backup.
type Options struct {
	Stack string
	// Now is the clock; the backup's id is its start time.
	Now func() time.Time
	// Poll is the time between two readings of a job's progress.
	Poll time.Duration
	// Progress receives one line per reading.
	Progress io.Writer
}

// Backup starts the snapshot and the EFS backup job, waits for both and returns
// the manifest naming them (Release, Image and Config are the caller's to fill).
// The snapshot takes the instance's tags: the program sets copyTagsToSnapshot,
// and RDS copies them to a manual snapshot created without tags of its own
// (Amazon RDS User Guide, "Copying tags to DB instance snapshots").
func Backup(ctx context.Context, c Clients, t Targets, o Options) (backup.Manifest, error) {
	started := o.Now().UTC()
	id := backup.NewID(started)
	m := backup.Manifest{ID: id, Stack: o.Stack, Target: "aws", Started: started}
	snapshot := SnapshotID(t.DBInstance, id)
	if _, err := c.RDS.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{
		DBInstanceIdentifier: aws.String(t.DBInstance),
		DBSnapshotIdentifier: aws.String(snapshot),
	}); err != nil {
		return m, fmt.Errorf("snapshot of %s: %w", t.DBInstance, err)
	}
	job, err := c.Backup.StartBackupJob(ctx, &awsbk.StartBackupJobInput{
		BackupVaultName: aws.String(t.Vault),
		IamRoleArn:      aws.String(t.RoleARN),
		ResourceArn:     aws.String(t.FileSystemARN),
		// A retried call with the same token starts no second job.
		IdempotencyToken: aws.String(o.Stack + "-" + id),
	})
	if err != nil {
		return m, fmt.Errorf("backup job of %s into vault %s: %w", t.FileSystemARN, t.Vault, err)
	}
	jobID := aws.ToString(job.BackupJobId)

	var dbDone, fsDone bool
	var recoveryPoint string
	err = poll(ctx, o.Poll, func() (bool, error) {
		var err error
		if !dbDone {
			if dbDone, err = snapshotDone(ctx, c.RDS, snapshot, o.Progress); err != nil {
				return false, err
			}
		}
		if !fsDone {
			if fsDone, recoveryPoint, err = jobDone(ctx, c.Backup, jobID, o.Progress); err != nil {
				return false, err
			}
		}
		return dbDone && fsDone, nil
	})
	switch {
	case ctx.Err() != nil:
		return m, fmt.Errorf("backup %s: %w (the snapshot %s and backup job %s go on in AWS)", id, ctx.Err(), snapshot, jobID)
	case err != nil:
		return m, err
	}
	m.RecoveryPoints = []backup.RecoveryPoint{{Kind: KindRDSSnapshot, ID: snapshot}, {Kind: KindEFS, ID: recoveryPoint}}
	if t.Bucket != "" {
		// The objectfs bucket is versioned: the versions current at the start of
		// the backup are the files as they were, for as long as its lifecycle
		// keeps noncurrent versions.
		m.RecoveryPoints = append(m.RecoveryPoints, backup.RecoveryPoint{Kind: KindS3, ID: started.Format(time.RFC3339)})
	}
	m.Finished = o.Now().UTC()
	return m, nil
}

// SnapshotID names the manual snapshot of backup id of instance: RDS takes
// letters, digits and hyphens, a letter first (CreateDBSnapshot).
func SnapshotID(instance, id string) string { return instance + "-" + strings.ToLower(id) }

// snapshotDone reads the snapshot's state once: done when available.
func snapshotDone(ctx context.Context, c *rds.Client, snapshot string, progress io.Writer) (bool, error) {
	s, err := describeSnapshot(ctx, c, snapshot)
	if err != nil {
		return false, err
	}
	status := aws.ToString(s.Status)
	fmt.Fprintf(progress, "database snapshot %s: %s, %d%%\n", snapshot, status, aws.ToInt32(s.PercentProgress))
	switch status {
	case "available":
		return true, nil
	case "failed", "deleted", "deleting":
		return false, fmt.Errorf("snapshot %s is %s", snapshot, status)
	}
	return false, nil
}

// jobDone reads the backup job's state once: done when completed, with the ARN
// of the recovery point it made.
func jobDone(ctx context.Context, c *awsbk.Client, jobID string, progress io.Writer) (bool, string, error) {
	j, err := c.DescribeBackupJob(ctx, &awsbk.DescribeBackupJobInput{BackupJobId: aws.String(jobID)})
	if err != nil {
		return false, "", fmt.Errorf("backup job %s: %w", jobID, err)
	}
	state := string(j.State)
	fmt.Fprintf(progress, "file system backup job %s: %s, %s%%\n", jobID, state, orZero(aws.ToString(j.PercentDone)))
	switch state {
	case "COMPLETED":
		return true, aws.ToString(j.RecoveryPointArn), nil
	case "ABORTED", "FAILED", "EXPIRED", "PARTIAL":
		return false, "", fmt.Errorf("backup job %s ended %s: %s", jobID, state, aws.ToString(j.StatusMessage))
	}
	return false, "", nil
}

// ErrNoSnapshot is a manifest that names no RDS snapshot.
var ErrNoSnapshot = errors.New("the backup names no database snapshot")

// CheckSnapshot returns the RDS snapshot m names, once RDS reports it available:
// a restore starts from nothing less.
func CheckSnapshot(ctx context.Context, c *rds.Client, m backup.Manifest) (string, error) {
	var snapshot string
	for _, p := range m.RecoveryPoints {
		if p.Kind == KindRDSSnapshot {
			snapshot = p.ID
		}
	}
	if snapshot == "" {
		return "", fmt.Errorf("backup %s: %w", m.ID, ErrNoSnapshot)
	}
	s, err := describeSnapshot(ctx, c, snapshot)
	if err != nil {
		return "", fmt.Errorf("backup %s: %w", m.ID, err)
	}
	if status := aws.ToString(s.Status); status != "available" {
		return "", fmt.Errorf("backup %s: snapshot %s is %s; a restore needs it available", m.ID, snapshot, status)
	}
	return snapshot, nil
}

func describeSnapshot(ctx context.Context, c *rds.Client, snapshot string) (rdstypes.DBSnapshot, error) {
	out, err := c.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: aws.String(snapshot)})
	if err != nil {
		return rdstypes.DBSnapshot{}, fmt.Errorf("snapshot %s: %w", snapshot, err)
	}
	if len(out.DBSnapshots) != 1 {
		return rdstypes.DBSnapshot{}, fmt.Errorf("snapshot %s: RDS lists %d snapshots of that name", snapshot, len(out.DBSnapshots))
	}
	return out.DBSnapshots[0], nil
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// ErrNoFileSystemPoint is a manifest that names no EFS recovery point.
var ErrNoFileSystemPoint = errors.New("the backup names no file system recovery point")

// FileSystemPoint returns the EFS recovery point m names.
func FileSystemPoint(m backup.Manifest) (string, error) {
	for _, p := range m.RecoveryPoints {
		if p.Kind == KindEFS && p.ID != "" {
			return p.ID, nil
		}
	}
	return "", fmt.Errorf("backup %s: %w", m.ID, ErrNoFileSystemPoint)
}

// RestoreFileSystem restores the EFS recovery point of m into a new file
// system encrypted with the stack's data key, waits for the restore job, gives
// the new file system the throughput and lifecycle of the one the site runs on,
// and returns its id. Nothing of the current file system is
// touched: AWS Backup restores EFS only beside it (newFileSystem=true), and even
// onto an existing one it writes into a recovery directory, never over the root
// (AWS Backup Developer Guide, "Restore an Amazon EFS file system").
func RestoreFileSystem(ctx context.Context, c Clients, t Targets, m backup.Manifest, o Options) (string, error) {
	point, err := FileSystemPoint(m)
	if err != nil {
		return "", err
	}
	if t.DataKeyARN == "" {
		return "", fmt.Errorf("stack %s: its outputs lack dataKeyArn: run `moodlectl up --stack %s` with this release first", o.Stack, o.Stack)
	}
	meta, err := c.Backup.GetRecoveryPointRestoreMetadata(ctx, &awsbk.GetRecoveryPointRestoreMetadataInput{
		BackupVaultName: aws.String(t.Vault), RecoveryPointArn: aws.String(point),
	})
	if err != nil {
		return "", fmt.Errorf("backup %s: recovery point %s in vault %s: %w", m.ID, point, t.Vault, err)
	}
	source := meta.RestoreMetadata["file-system-id"]
	if source == "" {
		return "", fmt.Errorf("backup %s: recovery point %s: AWS Backup gives no file-system-id to restore it with", m.ID, point)
	}
	// A token of the restore's own: EFS refuses a second file system with the
	// token of an existing one (CreateFileSystem, CreationToken), and the same
	// backup may be restored again once the first restore is retired.
	token := o.Stack + "-" + m.ID + "-" + backup.NewID(o.Now().UTC())
	if len(token) > 64 {
		// CreationToken takes 1 to 64 characters (CreateFileSystem); the tail
		// keeps the restore's time, which makes it unique.
		token = token[len(token)-64:]
	}
	// The metadata of a restore into a new EFS file system (AWS Backup API
	// Reference, StartRestoreJob, Metadata: file-system-id, Encrypted, KmsKeyId,
	// PerformanceMode, CreationToken, newFileSystem), with the settings the
	// stack's own file system has.
	job, err := c.Backup.StartRestoreJob(ctx, &awsbk.StartRestoreJobInput{
		RecoveryPointArn: aws.String(point),
		IamRoleArn:       aws.String(t.RoleARN),
		ResourceType:     aws.String("EFS"),
		IdempotencyToken: aws.String(token),
		Metadata: map[string]string{
			"file-system-id":  source,
			"newFileSystem":   "true",
			"Encrypted":       "true",
			"KmsKeyId":        t.DataKeyARN,
			"PerformanceMode": "generalPurpose",
			"CreationToken":   token,
		},
	})
	if err != nil {
		return "", fmt.Errorf("backup %s: restore job of %s: %w", m.ID, point, err)
	}
	jobID := aws.ToString(job.RestoreJobId)
	var created string
	err = poll(ctx, o.Poll, func() (done bool, err error) {
		created, done, err = restoreDone(ctx, c.Backup, jobID, o.Progress)
		return done, err
	})
	switch {
	case ctx.Err() != nil:
		return "", fmt.Errorf("backup %s: %w (restore job %s goes on in AWS)", m.ID, ctx.Err(), jobID)
	case err != nil:
		return "", fmt.Errorf("backup %s: %w", m.ID, err)
	}
	restored, err := fileSystemID(created)
	if err != nil {
		return "", fmt.Errorf("backup %s: the restore job created %w", m.ID, err)
	}
	current, err := fileSystemID(t.FileSystemARN)
	if err == nil {
		err = matchSettings(ctx, c.EFS, current, restored)
	}
	if err != nil {
		// The files are restored; only the settings are missing, which the
		// operator can set: fail neither the restore nor the site over them.
		fmt.Fprintf(o.Progress, "warning: file system %s keeps AWS Backup's throughput and lifecycle settings: %v; "+
			"set those of %s by hand (docs/aws.md, Backups on AWS)\n", restored, err, t.FileSystemARN)
	}
	return restored, nil
}

// matchSettings gives the restored file system the throughput mode and the
// lifecycle policies of the current one, which the program set (Elastic, IA
// after 30 days, back on first access) and a restore cannot carry: the metadata
// of an EFS restore job takes no throughput or lifecycle setting (AWS Backup API
// Reference, StartRestoreJob). UpdateFileSystem is called only for a different
// mode: EFS wants 24 hours between two changes of a file system's throughput
// mode (Amazon EFS API Reference, UpdateFileSystem, error TooManyRequests).
func matchSettings(ctx context.Context, c *efs.Client, from, to string) error {
	describe := func(id string) (efstypes.FileSystemDescription, error) {
		out, err := c.DescribeFileSystems(ctx, &efs.DescribeFileSystemsInput{FileSystemId: aws.String(id)})
		if err != nil {
			return efstypes.FileSystemDescription{}, fmt.Errorf("file system %s: %w", id, err)
		}
		if len(out.FileSystems) != 1 {
			return efstypes.FileSystemDescription{}, fmt.Errorf("file system %s: EFS describes %d", id, len(out.FileSystems))
		}
		return out.FileSystems[0], nil
	}
	want, err := describe(from)
	if err != nil {
		return err
	}
	got, err := describe(to)
	if err != nil {
		return err
	}
	if want.ThroughputMode != got.ThroughputMode {
		in := &efs.UpdateFileSystemInput{FileSystemId: aws.String(to), ThroughputMode: want.ThroughputMode}
		if want.ThroughputMode == efstypes.ThroughputModeProvisioned {
			in.ProvisionedThroughputInMibps = want.ProvisionedThroughputInMibps
		}
		if _, err := c.UpdateFileSystem(ctx, in); err != nil {
			return fmt.Errorf("file system %s: throughput mode %s: %w", to, want.ThroughputMode, err)
		}
	}
	lifecycle, err := c.DescribeLifecycleConfiguration(ctx, &efs.DescribeLifecycleConfigurationInput{FileSystemId: aws.String(from)})
	if err != nil {
		return fmt.Errorf("file system %s: lifecycle: %w", from, err)
	}
	// An empty list, not none, clears the restored one's configuration
	// (PutLifecycleConfiguration): the current file system may have none.
	policies := append([]efstypes.LifecyclePolicy{}, lifecycle.LifecyclePolicies...)
	if _, err := c.PutLifecycleConfiguration(ctx, &efs.PutLifecycleConfigurationInput{
		FileSystemId: aws.String(to), LifecyclePolicies: policies,
	}); err != nil {
		return fmt.Errorf("file system %s: lifecycle: %w", to, err)
	}
	return nil
}

// poll calls done every interval until it reports done or fails, or ctx ends:
// snapshots and jobs take minutes, read again and again.
func poll(ctx context.Context, every time.Duration, done func() (bool, error)) error {
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
}

// restoreDone reads the restore job's state once: done when completed, with the
// ARN of the resource it created.
func restoreDone(ctx context.Context, c *awsbk.Client, jobID string, progress io.Writer) (string, bool, error) {
	j, err := c.DescribeRestoreJob(ctx, &awsbk.DescribeRestoreJobInput{RestoreJobId: aws.String(jobID)})
	if err != nil {
		return "", false, fmt.Errorf("restore job %s: %w", jobID, err)
	}
	status := string(j.Status)
	fmt.Fprintf(progress, "file system restore job %s: %s, %s%%\n", jobID, status, orZero(aws.ToString(j.PercentDone)))
	switch status {
	case "COMPLETED":
		return aws.ToString(j.CreatedResourceArn), true, nil
	case "ABORTED", "FAILED":
		return "", false, fmt.Errorf("restore job %s ended %s: %s", jobID, status, aws.ToString(j.StatusMessage))
	}
	return "", false, nil
}

// fileSystemID is the id in an EFS file system's ARN
// (arn:PARTITION:elasticfilesystem:REGION:ACCOUNT:file-system/fs-...).
func fileSystemID(arn string) (string, error) {
	_, id, ok := strings.Cut(arn, ":file-system/")
	if !ok || !strings.HasPrefix(id, "fs-") {
		return "", fmt.Errorf("%q, not an EFS file system", arn)
	}
	return id, nil
}
