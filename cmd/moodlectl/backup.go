package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/moodle-cluster/moodle-pulumi/automation"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/backup"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/devsite"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/dockerapi"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/stackview"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/stacks"
	"github.com/moodle-cluster/moodle-pulumi/stacks/config"
)

// devSite is the dev stack's site on the engine the stack deploys to.
func devSite(f flags, v stackview.View, progress io.Writer) (devsite.Site, *dockerapi.Client, error) {
	docker, err := devDocker(v.Values)
	if err != nil {
		return devsite.Site{}, nil, err
	}
	return devsite.Site{Docker: docker, Spec: v.Spec, Prefix: stacks.DockerClusterName(f.stack), Progress: progress}, docker, nil
}

// devDocker is a client for the engine the dev stack of the stack file whose
// values are values deploys to: its docker:* keys (docker:host, docker:context,
// docker:sshOpts, the TLS material), else the environment, resolved as the
// program's preflight and the Docker provider resolve them.
func devDocker(values map[string]string) (*dockerapi.Client, error) {
	cfg, err := stacks.DockerProviderConfig(func(key string) (string, bool) { v, ok := values[key]; return v, ok })
	if err != nil {
		return nil, err
	}
	return dockerapi.NewFor(cfg)
}

// manifestBase is what a backup's manifest says of the stack before the backup
// runs: its config, without secrets (manifestConfig).
func manifestBase(f flags, v stackview.View) (backup.Manifest, error) {
	cfg, err := manifestConfig(v.Values)
	return backup.Manifest{Stack: f.stack, Target: string(v.Spec.Target), Config: cfg}, err
}

func runBackup(ctx context.Context, f flags, stdout io.Writer) error {
	v, err := stackview.Config(f.stackFile(), f.stack)
	if err != nil {
		return err
	}
	// backup writes under --to; the other commands read --backups.
	root := cmp.Or(f.to, f.backups)
	switch v.Spec.Target {
	case topology.TargetDocker:
		site, _, err := devSite(f, v, stdout)
		if err != nil {
			return err
		}
		m, err := manifestBase(f, v)
		if err != nil {
			return err
		}
		m.ID = backup.NewID(time.Now())
		fmt.Fprintf(stdout, "backup %s of stack %s\n", m.ID, f.stack)
		if m, err = site.Backup(ctx, backup.Dir(root, f.stack, m.ID), m); err != nil {
			return fmt.Errorf("backup %s: %w", m.ID, err)
		}
		fmt.Fprintf(stdout, "backup %s: Moodle %s (version %s), %s in %s, in %s\n", m.ID, m.Release, m.Version,
			devsite.FormatSize(m.Size()), m.Finished.Sub(m.Started).Round(100*time.Millisecond), backup.Dir(root, f.stack, m.ID))
		return nil
	default:
		_, err = prodBackup(ctx, f, v, "", stdout)
		return err
	}
}

func runBackups(f flags, stdout io.Writer) error {
	list, err := backup.List(f.backups, f.stack)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintf(stdout, "no backups of stack %s in %s\n", f.stack, filepath.Join(f.backups, f.stack))
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRELEASE\tVERSION\tSIZE\tTOOK\tNOTE")
	for _, m := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.Release, m.Version, devsite.FormatSize(m.Size()), m.Finished.Sub(m.Started).Round(100*time.Millisecond), m.Note)
	}
	return tw.Flush()
}

func runRestore(ctx context.Context, f flags, stdout io.Writer) error {
	if f.from == "" || f.from == "program" || f.from == "state" {
		return fmt.Errorf("%w: restore needs --from <backup id> (moodlectl backups --stack %s lists them)", errUsage, f.stack)
	}
	v, err := stackview.Config(f.stackFile(), f.stack)
	if err != nil {
		return err
	}
	dir := backup.Dir(f.backups, f.stack, f.from)
	m, err := backup.Load(dir)
	if err != nil {
		return err
	}
	if m.Target != string(v.Spec.Target) {
		return fmt.Errorf("backup %s was taken on a %s stack; stack %s runs on %s", m.ID, m.Target, f.stack, v.Spec.Target)
	}
	if v.Spec.Target != topology.TargetDocker {
		return prodRestore(ctx, f, v, m, stdout)
	}
	site, _, err := devSite(f, v, stdout)
	if err != nil {
		return err
	}
	begin := time.Now()
	fmt.Fprintf(stdout, "restore backup %s (Moodle %s, version %s) into stack %s\n", m.ID, m.Release, m.Version, f.stack)
	kept, err := site.Restore(ctx, stackDeployer{f: f, stdout: stdout}, dir, m)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored in %s; the data it replaced is kept: database %s, files %s (remove them once the site is checked)\n",
		time.Since(begin).Round(100*time.Millisecond), kept.Database, kept.Files)
	return nil
}

func runUpgrade(ctx context.Context, f flags, stdout io.Writer) error {
	if f.to == "" {
		return fmt.Errorf("%w: upgrade needs --to <release> (%s)", errUsage, topology.ReleaseVersions())
	}
	v, err := stackview.Config(f.stackFile(), f.stack)
	if err != nil {
		return err
	}
	if v.Spec.Target != topology.TargetDocker {
		return prodUpgrade(ctx, f, v, stdout)
	}
	if f.image != "" {
		return fmt.Errorf("%w: --image is for an aws stack, whose release is an image; stack %s builds its own (moodle.build)", errUsage, f.stack)
	}
	return upgradeDev(ctx, f, v, f.to, stdout)
}

// upgradeDev runs the dev site's upgrade to release and prints its outcome.
func upgradeDev(ctx context.Context, f flags, v stackview.View, release string, stdout io.Writer) error {
	site, docker, err := devSite(f, v, stdout)
	if err != nil {
		return err
	}
	m, err := manifestBase(f, v)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "upgrade of stack %s to Moodle %s\n", f.stack, release)
	res, err := site.Upgrade(ctx, stackDeployer{f: f, stdout: stdout}, docker, devsite.UpgradeRequest{
		To: release, Backups: f.backups, Manifest: m,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "upgraded to Moodle %s in %s; backup %s holds the site as it was\n", release, res.Duration.Round(time.Second), res.Backup.ID)
	return nil
}

// stackDeployer records config changes in the stack file, then runs up: the
// stack file stays the truth of what runs. ownLog is set when the caller follows
// the cron runner's log itself (prod's upgrade).
type stackDeployer struct {
	f      flags
	stdout io.Writer
	ownLog bool
}

func (d stackDeployer) Up(ctx context.Context, edits map[string]any) error {
	for path, value := range edits {
		if err := automation.SetInStackFile(d.f.stackFile(), config.Namespace+":"+path, value); err != nil {
			return err
		}
		fmt.Fprintf(d.stdout, "  %s: moodle:%s = %v\n", d.f.stackFile(), path, value)
	}
	return deploy(ctx, d.f, d.stdout, !d.ownLog)
}

func (d stackDeployer) Refresh(ctx context.Context) error {
	s, err := automation.New(ctx, d.f.stack, stackOptions(d.f, d.stdout)...)
	if err != nil {
		return err
	}
	_, err = s.Refresh(ctx)
	return err
}
