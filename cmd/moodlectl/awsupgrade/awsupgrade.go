// Package awsupgrade moves the prod site on AWS to another Moodle release as
// Moodle's upgrade procedure says (https://docs.moodle.org/en/Upgrading: back
// up everything, put the site into maintenance mode, replace the code, run the
// upgrade, check), and undoes an upgrade that fails: Moodle's upgrade steps are
// one-way, so the way back is the backup taken just before.
//
// On AWS the steps are stack config applied by up, so that the stack file stays
// the truth of what runs: aws.maintenance closes the site at the load balancer
// (what Moodle's CLI maintenance mode, $CFG->dataroot/climaintenance.html set by
// admin/cli/maintenance.php, does inside PHP: "all web access is prevented, CLI
// scripts continue to work (with the exception of admin/cli/cron.php)",
// https://docs.moodle.org/37/en/Maintenance_mode) and stops the ad hoc workers;
// the new release is a new images.app, whose cron runner runs
// admin/cli/upgrade.php once inside Moodle's CLI maintenance mode
// (docker/moodle-install-upgrade); the outcome is read from that runner's log in
// CloudWatch Logs with the judge the dev site's upgrade uses (installlog.Judge);
// a rollback is a restore (a new database from the snapshot, a new file system
// from the recovery point) switched by config. The dev site's procedure
// (cmd/moodlectl/devsite) shares the refusal (topology.CheckUpgrade) and the judge;
// its steps act on containers through the Docker Engine API and stay its own.
package awsupgrade

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/backup"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/installlog"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// The stack config the procedure changes, as paths under the moodle namespace.
const (
	VersionKey     = "moodle.version"
	ImageKey       = "images.app"
	MaintenanceKey = "aws.maintenance.enabled"
)

// upgradedLine is what the runner's hook writes once upgrade.php succeeded; a
// runner that finds nothing to upgrade says "database is up to date" instead,
// which Judge also counts as success.
const upgradedLine = "moodle-install-upgrade: upgraded"

// Deployer records config changes in the stack file, then runs up with it.
type Deployer interface {
	Up(ctx context.Context, edits map[string]any) error
}

// Site is the prod stack as the upgrade reaches it.
type Site struct {
	Deployer Deployer
	// Backup takes the on-demand backup the upgrade starts from, with note in
	// its manifest; Restore points the stack file at that backup's copies
	// (database.restoreFromSnapshot, storage.restoreFileSystemId), restoring the
	// file system first. Neither runs up.
	Backup  func(ctx context.Context, note string) (backup.Manifest, error)
	Restore func(ctx context.Context, m backup.Manifest) error
	// Logs reads LogGroup, the cron runner's log group.
	Logs     installlog.LogsAPI
	LogGroup string
	// Database and FileSystem are what the site runs on before the upgrade: a
	// rollback leaves them in place, protected, with the failed upgrade's data.
	Database, FileSystem string
	// Poll is the time between two readings of the log; Wait bounds how long
	// the runner may take to end the upgrade.
	Poll, Wait time.Duration
	Now        func() time.Time
	Progress   io.Writer
}

// Request is one upgrade.
type Request struct {
	// From and FromImage are what the stack runs (its state's outputs).
	From, FromImage string
	// To is the release; Image the app image of it.
	To, Image string
	// Restored is the snapshot the site already runs from after a restore: a
	// rollback would be a second restore over it, which is refused.
	Restored string
	// BuildsImage says up builds the app image (moodle.codeSource build), which
	// this procedure cannot roll back: see Upgrade.
	BuildsImage bool
}

// Result says what happened.
type Result struct {
	Backup     backup.Manifest
	RolledBack bool
	// Failure is the runner's log line (or the error) that ended the upgrade.
	Failure string
	// Duration is the whole procedure's; RollbackDuration from the failure to
	// the site serving again.
	Duration, RollbackDuration time.Duration
}

// Upgrade moves the site to req.To:
//
//  1. refuse what Moodle refuses (topology.CheckUpgrade), and an image that is
//     not a new one (the runner would find nothing to upgrade);
//  2. maintenance on (up with aws.maintenance.enabled): users get the
//     maintenance page, the ad hoc workers stop, the cron runner stays;
//  3. the backup (an RDS snapshot and an EFS recovery point);
//  4. up with the new version and image: the cron service is replaced first
//     and its runner upgrades the database once; its log says how that ended;
//  5. on success, maintenance off.
//
// On failure the site is restored from the backup into a new database and file
// system beside the current ones (which keep the failed upgrade's data), the
// stack file set back to the previous version and image and updated, the old
// release's runner checked on the restored copy, and maintenance ended.
func (s Site) Upgrade(ctx context.Context, req Request) (Result, error) {
	var res Result
	begin := s.Now()
	if err := topology.CheckUpgrade(req.From, req.To); err != nil {
		return res, err
	}
	switch {
	// The rollback's up would build the previous release again under the tag
	// it already pushed: pulumi-docker pushes every build without asking the
	// registry (provider/image.go:324-335), and an IMMUTABLE repository answers
	// ImageTagAlreadyExistsException to a push of a tag it holds (Amazon ECR
	// User Guide, "Preventing image tags from being overwritten").
	case req.BuildsImage:
		return res, fmt.Errorf("the stack builds its app image (moodle.codeSource build), and a rollback would push the previous release's tag again, "+
			"which its immutable ECR repository refuses: upgrade it with moodlectl backup, then up with moodle.version %s "+
			"(the cron runner upgrades; docs/aws.md, Upgrades), or move it to prebuilt images (codeSource image) for this procedure", req.To)
	case req.Image == "":
		return res, fmt.Errorf("a new release on AWS is a new image: name the image of Moodle %s (the site runs %s)", req.To, req.FromImage)
	case req.Image == req.FromImage:
		return res, fmt.Errorf("the site already runs image %s; Moodle %s is another image (build it from docker/ with MOODLE_VERSION=%s and push it)", req.Image, req.To, req.To)
	case req.Restored != "":
		return res, fmt.Errorf("the site runs on a database restored from %s: a failed upgrade could not be rolled back over that restore. "+
			"Retire it first (docs/aws.md, Backups on AWS), then upgrade", req.Restored)
	}

	s.step("maintenance on: the load balancer answers 503, the ad hoc workers stop, the cron runner stays")
	if err := s.Deployer.Up(ctx, map[string]any{MaintenanceKey: true}); err != nil {
		return res, fmt.Errorf("maintenance on failed, nothing was upgraded (the stack file says %s true; fix the cause and run up, or set it false): %w", MaintenanceKey, err)
	}
	var err error
	if res.Backup, err = s.Backup(ctx, fmt.Sprintf("before the upgrade from %s to %s", req.From, req.To)); err != nil {
		return res, errors.Join(fmt.Errorf("the backup before the upgrade failed, nothing was upgraded: %w", err), s.maintenanceOff(ctx))
	}
	id := res.Backup.ID

	s.step("upgrading from %s to %s: image %s", req.From, req.To, req.Image)
	outcome, line, err := s.upFollowing(ctx, map[string]any{VersionKey: req.To, ImageKey: req.Image})
	if err == nil && outcome == installlog.Succeeded {
		if line != upgradedLine {
			// Like the dev site's check of the database's version: the update
			// ran, but the runner found nothing to upgrade.
			return res, fmt.Errorf("the update to %s succeeded, but the cron runner says %q, not that it upgraded: the upgrade did not run; "+
				"the site stays in maintenance (backup %s holds it as it was)", req.To, line, id)
		}
		if err := s.maintenanceOff(ctx); err != nil {
			return res, err
		}
		res.Duration = s.Now().Sub(begin)
		s.step("upgraded to %s in %s", req.To, res.Duration.Round(time.Second))
		return res, nil
	}
	failedAt := s.Now()
	res.Failure = line
	if line == "" {
		res.Failure = fmt.Sprint(err)
	}
	s.step("the upgrade failed (%s); rolling back to %s from backup %s", res.Failure, req.From, id)

	if err := s.Restore(ctx, res.Backup); err != nil {
		return res, fmt.Errorf("the upgrade to %s failed (%s), and restoring backup %s failed: %w; the site stays in maintenance", req.To, res.Failure, id, err)
	}
	s.step("rolling back: up with the restored copies and %s (image %s)", req.From, req.FromImage)
	outcome, back, err := s.upFollowing(ctx, map[string]any{VersionKey: req.From, ImageKey: req.FromImage})
	if err != nil || outcome != installlog.Succeeded {
		if back == "" {
			back = fmt.Sprint(err)
		}
		return res, fmt.Errorf("the upgrade to %s failed (%s); the stack is back on %s and restored from backup %s, but its cron runner did not confirm the site (%s); "+
			"the site stays in maintenance", req.To, res.Failure, req.From, id, back)
	}
	if err := s.maintenanceOff(ctx); err != nil {
		return res, err
	}
	res.RolledBack = true
	res.RollbackDuration = s.Now().Sub(failedAt)
	res.Duration = s.Now().Sub(begin)
	s.step("rolled back to %s in %s", req.From, res.RollbackDuration.Round(time.Second))
	return res, fmt.Errorf("the upgrade from %s to %s failed: %s; the site was rolled back to %s (image %s) from backup %s, restored into a new database and file system; "+
		"the failed upgrade's data is kept in database instance %s and file system %s (retire them once the site is checked: docs/aws.md, Backups on AWS)",
		req.From, req.To, res.Failure, req.From, req.FromImage, id, s.Database, s.FileSystem)
}

// upFollowing runs up with edits, then follows the cron runner's log from the
// start of the update until a line ends its install/upgrade step. up waits for
// the step and fails when ECS rolled the runner back, but says neither which
// line failed nor, at its timeout, whether the step failed at all: the log
// decides. An update that failed is followed only briefly: its runner may never
// have started.
func (s Site) upFollowing(ctx context.Context, edits map[string]any) (installlog.Outcome, string, error) {
	since := s.Now()
	upErr := s.Deployer.Up(ctx, edits)
	wait := s.Wait
	if upErr != nil {
		wait = 3 * s.Poll
	}
	followCtx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	p := installlog.NewPrinter(s.Progress, since)
	outcome, line, err := installlog.FollowCloudWatch(followCtx, s.Logs, s.LogGroup, since, s.Poll, p)
	switch {
	case err != nil:
		return outcome, line, errors.Join(upErr, err)
	case outcome == installlog.Running && upErr == nil:
		return outcome, line, fmt.Errorf("the cron runner did not end the step within %v (log group %s)", s.Wait, s.LogGroup)
	}
	return outcome, line, upErr
}

func (s Site) maintenanceOff(ctx context.Context) error {
	s.step("maintenance off")
	if err := s.Deployer.Up(ctx, map[string]any{MaintenanceKey: false}); err != nil {
		return fmt.Errorf("maintenance off failed (the stack file says %s false; run up again): %w", MaintenanceKey, err)
	}
	return nil
}

func (s Site) step(format string, args ...any) {
	fmt.Fprintf(s.Progress, "  %s\n", strings.TrimSpace(fmt.Sprintf(format, args...)))
}
