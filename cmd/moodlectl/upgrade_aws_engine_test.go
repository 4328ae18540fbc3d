//go:build engine

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/moodle-cluster/moodle-pulumi/automation"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/awsbackup"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/backup"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/inventory"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/stackview"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/status/awsstatus"
	"github.com/moodle-cluster/moodle-pulumi/tests/fakes/awsfake"
	"github.com/moodle-cluster/moodle-pulumi/tests/fakes/fakeprovider"
)

const (
	ecr          = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/moodle-cluster/app:"
	imageBefore  = ecr + "5.1.4"
	imageAfter   = ecr + "5.3.1"
	imageBroken  = ecr + "5.3.1-broken"
	cronTaskURN  = "::moodle-cron"
	taskDefType  = "aws:ecs/taskDefinition:TaskDefinition"
	ruleType     = "aws:lb/listenerRule:ListenerRule"
	serviceType  = "aws:ecs/service:Service"
	restoredFS   = "fs-0fedcba9876543201"
	upgradedLine = "moodle-install-upgrade: upgraded"
	failedLine   = "moodle-install-upgrade: UPGRADE FAILED: the site stays in maintenance mode until the upgrade succeeds"
)

// engineProd is the prod stack deployed on Moodle 5.1 by the real Pulumi engine
// over the fake providers, in a project folder of its own, with AWS answered by
// awsfake: the backup and restore APIs and the cron runner's log group.
type engineProd struct {
	f       flags
	fakes   *fakeprovider.Fakes
	account *awsfake.BackupAccount
	runner  *fakeRunner
	before  inventory.Inventory
}

// fakeRunner stands in for the cron task's runner: each cron task definition the
// engine registers is a new runner, which writes to the log group what the
// install/upgrade hook (docker/moodle-install-upgrade) writes for the stack
// file it was deployed from: on a restored database the old release finds it up
// to date; a new image upgrades, or fails halfway when its reference says
// "broken".
type fakeRunner struct {
	f     flags
	fakes *fakeprovider.Fakes

	mu      sync.Mutex
	started int
	// maintenance records, per runner, whether the stack was in maintenance.
	maintenance []bool
}

func (r *fakeRunner) read(g *awsfake.LogGroup) {
	var n int
	for _, q := range r.fakes.Requests() {
		if q.Method == "Create" && !q.Preview && q.Token == taskDefType && strings.HasSuffix(q.URN, cronTaskURN) {
			n++
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for ; r.started < n; r.started++ {
		v, err := stackview.Config(r.f.stackFile(), r.f.stack)
		if err != nil {
			g.Put("moodle-cron/cron/x", time.Now(), "cannot read the stack file: "+err.Error())
			continue
		}
		r.maintenance = append(r.maintenance, v.Spec.AWS.Maintenance.Enabled)
		stream := "moodle-cron/cron/" + v.Spec.Moodle.Version
		lines := []string{"cron-runner: running the install/upgrade hook /usr/local/bin/moodle-install-upgrade"}
		switch {
		case v.Spec.Database.RestoreFromSnapshot != "":
			lines = append(lines, "moodle-install-upgrade: database is up to date")
		case strings.HasSuffix(v.Spec.Images.App, "-broken"):
			lines = append(lines, "moodle-install-upgrade: code is newer than the database: upgrading", failedLine)
		default:
			lines = append(lines, "moodle-install-upgrade: code is newer than the database: upgrading", upgradedLine)
		}
		for _, l := range lines {
			g.Put(stream, time.Now(), l)
		}
	}
}

func startEngineProd(t *testing.T) *engineProd {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"Pulumi.yaml", "Pulumi.prod.yaml"} {
		raw, err := os.ReadFile(filepath.Join("..", "..", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	fakes, err := fakeprovider.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fakes.Close)
	t.Setenv("PULUMI_DEBUG_PROVIDERS", fakes.DebugProviders())
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "engine-tests-only")
	f := flags{stack: "prod", state: filepath.Join(dir, ".state"), backups: filepath.Join(dir, "backups"), yes: true}

	// The site runs 5.1 before the upgrade (PostgreSQL 17 serves both).
	for key, value := range map[string]string{"moodle:moodle.version": "5.1", "moodle:images.app": imageBefore} {
		if err := automation.SetInStackFile(f.stackFile(), key, value); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := deploy(context.Background(), f, &out, false); err != nil {
		t.Fatalf("first up: %v\n%s", err, out.String())
	}
	before, err := deployed(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	targets, err := awsbackup.FromState(before)
	if err != nil {
		t.Fatal(err)
	}
	status, err := awsstatus.FromState(before)
	if err != nil {
		t.Fatal(err)
	}

	fake := awsfake.Start()
	t.Cleanup(fake.Close)
	account := &awsfake.BackupAccount{Instance: targets.DBInstance, FileSystem: targets.FileSystemARN[strings.LastIndex(targets.FileSystemARN, "/")+1:]}
	account.Serve(fake)
	runner := &fakeRunner{f: f, fakes: fakes}
	fakes.ResetRequests()
	(&awsfake.LogGroup{Name: status.CronLogGroup, BeforeRead: runner.read}).Serve(fake)

	cfg, poll := prodAWSConfig, prodPoll
	t.Cleanup(func() { prodAWSConfig, prodPoll = cfg, poll })
	prodAWSConfig = func(_ context.Context, region string) (aws.Config, error) { return fake.Config(region), nil }
	prodPoll = time.Millisecond
	return &engineProd{f: f, fakes: fakes, account: account, runner: runner, before: before}
}

// upgrade runs `moodlectl upgrade --stack prod` as the command line does.
func (e *engineProd) upgrade(t *testing.T, to, image string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"upgrade", "--stack", "prod", "--to", to, "--image", image,
		"--state", e.f.state, "--backups", e.f.backups, "--yes"}, strings.NewReader(""), &out, &errOut)
	return out.String() + errOut.String(), err
}

// order is the position of the first request matching each pattern in the fake
// providers' journal (-1 when absent); a pattern is method, token, URN suffix.
func (e *engineProd) order(patterns ...[3]string) []int {
	reqs := e.fakes.Requests()
	out := make([]int, len(patterns))
	for i, p := range patterns {
		out[i] = slices.IndexFunc(reqs, func(q fakeprovider.Request) bool {
			return !q.Preview && q.Method == p[0] && q.Token == p[1] && strings.HasSuffix(q.URN, p[2])
		})
	}
	return out
}

func (e *engineProd) after(t *testing.T) (stackview.View, inventory.Inventory) {
	t.Helper()
	v, err := stackview.Config(e.f.stackFile(), e.f.stack)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := deployed(context.Background(), e.f)
	if err != nil {
		t.Fatal(err)
	}
	return v, inv
}

// workers is the ad hoc worker service's desired count in the state.
func workers(t *testing.T, inv inventory.Inventory) float64 {
	t.Helper()
	for _, r := range inv.OfType(serviceType) {
		if r.Name == "moodle-cron-adhoc" {
			return r.Num("desiredCount")
		}
	}
	t.Fatal("no ad hoc worker service in the state")
	return 0
}

// The upgrade of prod through the engine: maintenance on (the 503 rule created,
// the workers at 0) before the backup and the new runner, the runner's log says
// it upgraded, then maintenance off. The stack file and the deployed stack are
// on the new release, the rule is gone, the workers are back.
func TestProdUpgrade_MovesTheSiteOnInMaintenanceAndOpensItAgain(t *testing.T) {
	e := startEngineProd(t)
	out, err := e.upgrade(t, "5.3", imageAfter)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	v, inv := e.after(t)
	if v.Spec.Moodle.Version != "5.3" || v.Spec.Images.App != imageAfter || v.Spec.AWS.Maintenance.Enabled {
		t.Errorf("stack file: version %s, image %s, maintenance %v; want 5.3, %s, false", v.Spec.Moodle.Version, v.Spec.Images.App, v.Spec.AWS.Maintenance.Enabled, imageAfter)
	}
	if inv.Outputs["moodleVersion"] != "5.3" || inv.Outputs["appImage"] != imageAfter {
		t.Errorf("deployed: %v, %v; want 5.3 on %s", inv.Outputs["moodleVersion"], inv.Outputs["appImage"], imageAfter)
	}
	if rules := inv.OfType(ruleType); len(rules) != 0 {
		t.Errorf("after the upgrade the state still has listener rules %v", rules)
	}
	if n := workers(t, inv); n != 2 {
		t.Errorf("after the upgrade %v ad hoc workers, want 2", n)
	}
	if r := e.runner.maintenance; !slices.Equal(r, []bool{true}) {
		t.Errorf("runners started (maintenance on at the time): %v, want one, in maintenance", r)
	}
	// Maintenance came before the backup's snapshot was asked for and before the
	// new runner; it went after.
	at := e.order([3]string{"Create", ruleType, "::moodle-edge-maintenance"}, [3]string{"Create", taskDefType, cronTaskURN}, [3]string{"Delete", ruleType, "::moodle-edge-maintenance"})
	if at[0] < 0 || !(at[0] < at[1] && at[1] < at[2]) {
		t.Errorf("requests: maintenance rule created at %d, new runner at %d, rule deleted at %d; want them in that order", at[0], at[1], at[2])
	}
	list, err := backup.List(e.f.backups, "prod")
	if err != nil || len(list) != 1 || list[0].Release != "5.1" || list[0].Note != "before the upgrade from 5.1 to 5.3" ||
		len(list[0].RecoveryPoints) != 2 || list[0].RecoveryPoints[0].Kind != awsbackup.KindRDSSnapshot {
		t.Errorf("backups %+v, %v; want one of 5.1 with its snapshot and recovery point, noted as the upgrade's", list, err)
	}
	for _, want := range []string{"maintenance on", "upgrading from 5.1 to 5.3: image " + imageAfter, upgradedLine, "maintenance off", "upgraded to Moodle 5.3"} {
		if !strings.Contains(out, want) {
			t.Errorf("the upgrade does not say %q:\n%s", want, out)
		}
	}
}

// An upgrade whose runner fails halfway is rolled back by itself: the site is
// restored from the backup just taken into a new database and file system (the
// restore keys set), the stack file and the deployed stack are back on 5.1,
// maintenance is off, and the error names the failing line, the backup and
// where the failed upgrade's data stays.
func TestProdUpgrade_AFailedUpgradeIsRolledBackToTheBackup(t *testing.T) {
	e := startEngineProd(t)
	out, err := e.upgrade(t, "5.3", imageBroken)
	if err == nil {
		t.Fatalf("a failed upgrade succeeded:\n%s", out)
	}
	t.Logf("moodlectl upgrade printed (engine output left out):\n%s\nmoodlectl: %v", upgradeSteps(out), err)
	list, lerr := backup.List(e.f.backups, "prod")
	if lerr != nil || len(list) != 1 {
		t.Fatalf("backups %+v, %v; want the upgrade's", list, lerr)
	}
	id := list[0].ID
	targets, _ := awsbackup.FromState(e.before)
	for _, want := range []string{failedLine, "backup " + id, "rolled back to 5.1 (image " + imageBefore + ")",
		"kept in database instance " + targets.DBInstance, "file system " + targets.FileSystemARN} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	v, inv := e.after(t)
	snapshot := targets.DBInstance + "-" + strings.ToLower(id)
	if v.Spec.Moodle.Version != "5.1" || v.Spec.Images.App != imageBefore || v.Spec.AWS.Maintenance.Enabled {
		t.Errorf("stack file: version %s, image %s, maintenance %v; want 5.1, %s, false", v.Spec.Moodle.Version, v.Spec.Images.App, v.Spec.AWS.Maintenance.Enabled, imageBefore)
	}
	if v.Spec.Database.RestoreFromSnapshot != snapshot || v.Spec.Storage.RestoreFileSystemID != restoredFS {
		t.Errorf("restore keys %q, %q; want %q, %q", v.Spec.Database.RestoreFromSnapshot, v.Spec.Storage.RestoreFileSystemID, snapshot, restoredFS)
	}
	if inv.Outputs["moodleVersion"] != "5.1" || inv.Outputs["appImage"] != imageBefore {
		t.Errorf("deployed: %v, %v; want 5.1 on %s", inv.Outputs["moodleVersion"], inv.Outputs["appImage"], imageBefore)
	}
	if inv.Outputs["databaseInstanceId"] == targets.DBInstance || inv.Outputs["fileSystemId"] != restoredFS {
		t.Errorf("the site runs on database %v and file system %v; want the restored copies", inv.Outputs["databaseInstanceId"], inv.Outputs["fileSystemId"])
	}
	var kept bool
	for _, r := range inv.OfType("aws:rds/instance:Instance") {
		kept = kept || r.Outputs["identifier"] == targets.DBInstance
	}
	if !kept {
		t.Errorf("the pre-upgrade instance %s is no longer in the state", targets.DBInstance)
	}
	if rules := inv.OfType(ruleType); len(rules) != 0 {
		t.Errorf("after the rollback the state still has listener rules %v", rules)
	}
	if n := workers(t, inv); n != 2 {
		t.Errorf("after the rollback %v ad hoc workers, want 2", n)
	}
	if r := e.runner.maintenance; !slices.Equal(r, []bool{true, true}) {
		t.Errorf("runners started (maintenance on at the time): %v, want the failed one and the restored one, both in maintenance", r)
	}
	if reqs := e.account.RestoreRequests(); len(reqs) != 1 {
		t.Errorf("%d file system restore jobs, want 1", len(reqs))
	}
}

// upgradeSteps keeps the procedure's own lines of the command's output: its
// steps (indented by two), the runner's log and the backup's and restore's
// progress, without the engine's.
func upgradeSteps(out string) string {
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "  ") && !strings.HasPrefix(l, "   ") && !strings.HasPrefix(l, "  +") && !strings.HasPrefix(l, "  ~") && !strings.HasPrefix(l, "  -") ||
			strings.HasPrefix(l, "upgrade of") || strings.HasPrefix(l, "backing up") || strings.HasPrefix(l, "backup ") ||
			strings.HasPrefix(l, "restoring") || strings.HasPrefix(l, "set ") || strings.HasPrefix(l, "database snapshot") || strings.HasPrefix(l, "file system") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
