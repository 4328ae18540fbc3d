package devsite

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/backup"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/dockerapi"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/installlog"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// Deployer changes the stack's config and runs an update with it: moodlectl's
// records the change in the stack file first, so the next `up` keeps it.
// Refresh reads the containers' real state into the stack's.
type Deployer interface {
	Up(ctx context.Context, edits map[string]any) error
	Refresh(ctx context.Context) error
}

// Follower streams a container's log (*dockerapi.Client).
type Follower = installlog.Follower

// UpgradeRequest is one upgrade of a dev site.
type UpgradeRequest struct {
	// To is the release to run; Edits more config the new release needs (its
	// build context), Undo the values that put them back.
	To          string
	Edits, Undo map[string]any
	// Backups is the folder the backup taken first goes under; Manifest what the
	// caller knows of it (stack, config).
	Backups  string
	Manifest backup.Manifest
}

// UpgradeResult says what happened.
type UpgradeResult struct {
	Backup     backup.Manifest
	BackupDir  string
	RolledBack bool
	// Failure is the line of the runner's log that ended a failed upgrade.
	Failure string
	// Kept is the data a rollback replaced (the half-upgraded database and files).
	Kept     Restored
	Duration time.Duration
	// RollbackDuration is the time from the failure to the site answering again.
	RollbackDuration time.Duration
}

// Upgrade moves the site to req.To as Moodle's upgrade procedure says, and
// undoes it when the upgrade fails:
//
//  1. refuse a path Moodle refuses (topology.CheckUpgrade);
//  2. maintenance mode on, the cron runner and workers drained;
//  3. a backup (database and moodledata) under req.Backups;
//  4. the stack updated to the new release: its cron runner runs the upgrade
//     once (docker/moodle-install-upgrade), and the update ends when it has;
//  5. on success, maintenance mode off; the new runner and workers already run.
//
// When the upgrade fails, the runner is removed at once: the Docker provider
// waits for a container's health until its timeout and does not stop at an
// unhealthy one (pulumi-docker v4.10.0, upstream/internal/provider/
// resource_docker_container_funcs.go, the wait loop in resourceDockerContainerCreate),
// so the update would otherwise wait 30 minutes. The database and moodledata are
// then replaced from the backup (the half-upgraded ones are kept), the stack is
// updated back to the previous release, and maintenance mode ends: the site
// answers on its old release with its data as it was.
func (s Site) Upgrade(ctx context.Context, d Deployer, logs Follower, req UpgradeRequest) (UpgradeResult, error) {
	var res UpgradeResult
	begin := s.now()
	from, err := s.Running(ctx)
	if err != nil {
		return res, err
	}
	if from == "" {
		return res, fmt.Errorf("%s is not deployed: run up first", s.Prefix)
	}
	if err := topology.CheckUpgrade(from, req.To); err != nil {
		return res, err
	}
	release, err := s.Quiesce(ctx)
	if err != nil {
		return res, errors.Join(err, release(ctx))
	}
	m := req.Manifest
	m.ID = backup.NewID(s.now())
	m.Release = from
	m.Note = fmt.Sprintf("before the upgrade from %s to %s", from, req.To)
	res.BackupDir = backup.Dir(req.Backups, m.Stack, m.ID)
	s.step("backup %s before the upgrade", m.ID)
	if res.Backup, err = s.Copy(ctx, res.BackupDir, m); err != nil {
		return res, errors.Join(fmt.Errorf("the backup before the upgrade failed, nothing was upgraded: %w", err), release(ctx))
	}

	edits := map[string]any{"moodle.version": req.To}
	for k, v := range req.Edits {
		edits[k] = v
	}
	s.step("upgrading from %s to %s", from, req.To)
	failure, err := s.upWatching(ctx, d, logs, edits)
	if err == nil {
		// The runner turned healthy: its hook upgraded the database. Say so only
		// once the database's version has moved on.
		if err = s.checkMovedOn(ctx, res.Backup.Version); err != nil {
			return res, err
		}
		res.Duration = s.now().Sub(begin)
		s.step("upgraded to %s in %s", req.To, res.Duration.Round(time.Second))
		return res, release(ctx)
	}
	failedAt := s.now()
	res.Failure = failure
	cause := err
	if failure != "" {
		cause = errors.New(failure)
	}
	s.step("the upgrade failed (%v); rolling back to %s from backup %s", cause, from, m.ID)

	// The runner removed mid-creation stays in the stack's state, and the provider
	// cannot delete a container that is gone ("No such container" from its stop):
	// a refresh drops it (its read of a missing container clears the resource).
	if err := d.Refresh(ctx); err != nil {
		return res, fmt.Errorf("upgrade to %s failed (%v), and the refresh before the rollback failed: %w; the site stays in maintenance mode", req.To, cause, err)
	}
	// Stop the new release's workers, if any started, before the data moves.
	if _, err := s.Drain(ctx); err != nil {
		return res, fmt.Errorf("upgrade to %s failed (%v), and the rollback could not stop the workers: %w", req.To, cause, err)
	}
	if res.Kept, err = s.Replace(ctx, res.BackupDir, res.Backup); err != nil {
		return res, fmt.Errorf("upgrade to %s failed (%v), and restoring backup %s failed: %w; the site stays in maintenance mode", req.To, cause, m.ID, err)
	}
	undo := map[string]any{"moodle.version": from}
	for k, v := range req.Undo {
		undo[k] = v
	}
	if err := d.Up(ctx, undo); err != nil {
		return res, fmt.Errorf("upgrade to %s failed (%v); the data is restored, but the update back to %s failed: %w; the site stays in maintenance mode", req.To, cause, from, err)
	}
	if err := s.PurgeCaches(ctx); err != nil {
		return res, err
	}
	if err := s.Maintenance(ctx, false); err != nil {
		return res, err
	}
	res.RolledBack = true
	res.RollbackDuration = s.now().Sub(failedAt)
	res.Duration = s.now().Sub(begin)
	s.step("rolled back to %s in %s", from, res.RollbackDuration.Round(time.Second))
	return res, fmt.Errorf("the upgrade from %s to %s failed: %v; the site was rolled back to %s from backup %s (the failed upgrade's database is kept as %s, its files in %s)",
		from, req.To, cause, from, m.ID, res.Kept.Database, res.Kept.Files)
}

// upWatching runs the update while following the cron container's log; a line
// that ends the install/upgrade step as failed removes the container, which
// ends the provider's wait for it. It returns that line.
func (s Site) upWatching(ctx context.Context, d Deployer, logs Follower, edits map[string]any) (string, error) {
	watchCtx, stop := context.WithCancel(ctx)
	var (
		mu      sync.Mutex
		failure string
		wg      sync.WaitGroup
	)
	since := s.now()
	wg.Add(1)
	go func() {
		defer wg.Done()
		// An engine that stops answering fails the update itself.
		_ = installlog.FollowRunner(watchCtx, logs, s.Cron(), since, s.now, func(l dockerapi.LogLine) {
			if installlog.Judge(l.Text) != installlog.Failed {
				return
			}
			mu.Lock()
			first := failure == ""
			if first {
				failure = strings.TrimSpace(l.Text)
			}
			mu.Unlock()
			if first {
				_ = s.Docker.Remove(context.WithoutCancel(ctx), s.Cron())
			}
		})
	}()
	err := d.Up(ctx, edits)
	stop()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if err == nil && failure != "" {
		err = errors.New(failure)
	}
	return failure, err
}

// checkMovedOn fails when the site's database still holds version: the update
// succeeded without upgrading it.
func (s Site) checkMovedOn(ctx context.Context, version string) error {
	now, err := s.Version(ctx, s.Spec.Database.Name)
	if err != nil {
		return err
	}
	if now == version {
		return fmt.Errorf("the update succeeded, but the database still holds version %s: the upgrade did not run; the site stays in maintenance mode", version)
	}
	s.step("database upgraded from version %s to %s", version, now)
	return nil
}
