package stack_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

const (
	tVault        = "aws:backup/vault:Vault"
	tBackupPlan   = "aws:backup/plan:Plan"
	tBackupSelect = "aws:backup/selection:Selection"
	backupName    = "moodle-backup"
)

// The committed prod stack backs up the database the site uses and the file
// system with AWS Backup, into a vault of its own encrypted with the data key and
// kept like the data, with a role AWS Backup assumes.
func TestProdBackupPlanCoversTheDatabaseAndTheFiles(t *testing.T) {
	rec := mustRun(t, "prod", nil)
	vault := rec.one(t, tVault, backupName)
	key := rec.one(t, tKey, "moodle-data")
	if got, want := vault.str("kmsKeyArn"), mockARN(tKey, key.Name); got != want {
		t.Errorf("vault encrypted with %q, want the data key %q", got, want)
	}
	if !vault.Protect || !vault.RetainOnDelete {
		t.Errorf("vault protect=%v retainOnDelete=%v: its recovery points must outlive a mistake and a destroy", vault.Protect, vault.RetainOnDelete)
	}

	plan := rec.one(t, tBackupPlan, backupName)
	if n := len(plan.input("rules").ArrayValue()); n != 1 {
		t.Fatalf("%d rules, want 1", n)
	}
	for path, want := range map[string]string{
		"rules.0.schedule":        "cron(0 5 ? * * *)",
		"rules.0.targetVaultName": backupName + "-a1b2c3",
	} {
		if got := plan.str(path); got != want {
			t.Errorf("plan %s = %q, want %q", path, got, want)
		}
	}
	if got := plan.number("rules.0.lifecycle.deleteAfter"); got != 35 {
		t.Errorf("recovery points kept %v days, want 35", got)
	}

	role := rec.one(t, tRole, backupName)
	if got := role.str("assumeRolePolicy"); !strings.Contains(got, `"backup.amazonaws.com"`) {
		t.Errorf("the backup role is not for AWS Backup: %s", got)
	}
	wantPolicies := []string{
		"arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
		"arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
	}
	if got := role.strings("managedPolicyArns"); !slices.Equal(got, wantPolicies) {
		t.Errorf("backup role policies %v, want %v", got, wantPolicies)
	}

	sel := rec.one(t, tBackupSelect, backupName)
	if got, want := sel.str("planId"), plan.id(); got != want {
		t.Errorf("selection of plan %q, want %q", got, want)
	}
	if got, want := sel.str("iamRoleArn"), mockARN(tRole, backupName); got != want {
		t.Errorf("selection role %q, want %q", got, want)
	}
	want := []string{mockARN(tDB, dbName), mockARN(tEFS, "moodle-files")}
	if got := sel.strings("resources"); !slices.Equal(got, want) {
		t.Errorf("selection backs up %v, want the primary and the file system %v", got, want)
	}
}

// What moodle:backup sets reaches the plan; without a plan the vault and the
// role stay, for moodlectl backup's on-demand jobs.
func TestProdBackupConfigShapesThePlan(t *testing.T) {
	for _, tc := range []struct {
		name      string
		edits     map[string]any
		plans     int
		schedule  string
		retention float64
	}{
		{"weekly, kept a year", map[string]any{"backup.schedule": "cron(30 6 ? * SUN *)", "backup.retentionDays": 365}, 1, "cron(30 6 ? * SUN *)", 365},
		{"s3 storage still backs up EFS", s3Storage(), 1, "cron(0 5 ? * * *)", 35},
		{"disabled", map[string]any{"backup.enabled": false}, 0, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := mustRun(t, "prod", tc.edits)
			rec.one(t, tVault, backupName)
			rec.one(t, tRole, backupName)
			plans, selections := rec.ofType(tBackupPlan), rec.ofType(tBackupSelect)
			if len(plans) != tc.plans || len(selections) != tc.plans {
				t.Fatalf("%d plans and %d selections, want %d", len(plans), len(selections), tc.plans)
			}
			if tc.plans == 0 {
				return
			}
			if got := plans[0].str("rules.0.schedule"); got != tc.schedule {
				t.Errorf("schedule %q, want %q", got, tc.schedule)
			}
			if got := plans[0].number("rules.0.lifecycle.deleteAfter"); got != tc.retention {
				t.Errorf("kept %v days, want %v", got, tc.retention)
			}
			if got := selections[0].strings("resources"); !slices.Contains(got, mockARN(tEFS, "moodle-files")) {
				t.Errorf("EFS not backed up: %v", got)
			}
		})
	}
}

// database.restoreFromSnapshot creates a new primary from the snapshot, and
// replicas of it, beside the current instances, which stay registered as they
// were and protected; the site, the proxy, the alarms' identifiers and the
// backup plan follow the restored primary.
func TestProdRestoreFromSnapshotKeepsTheCurrentDatabase(t *testing.T) {
	const snapshot = "moodle-prod-20261207t031500z"
	edits := map[string]any{"database.restoreFromSnapshot": snapshot, "database.pooler": topology.PoolerRDSProxy}
	before := mustRun(t, "prod", map[string]any{"database.pooler": topology.PoolerRDSProxy})
	rec := mustRun(t, "prod", edits)
	restoredName := dbName + "-restored"

	for _, name := range []string{dbName, dbName + "-replica-1"} {
		was, is := before.one(t, tDB, name), rec.one(t, tDB, name)
		if !was.Inputs.DeepEquals(is.Inputs) || !is.Protect {
			t.Errorf("%s changed by the restore (protect %v):\nbefore %v\nafter  %v", name, is.Protect, was.Inputs, is.Inputs)
		}
	}
	restored := rec.one(t, tDB, restoredName)
	if got := restored.str("snapshotIdentifier"); got != snapshot {
		t.Errorf("restored primary from %q, want %q", got, snapshot)
	}
	if !restored.Protect || !restored.boolean("deletionProtection") || restored.number("backupRetentionPeriod") < 7 {
		t.Error("the restored primary is not kept as the primary was")
	}
	if got, want := restored.str("password"), generatedSecret(dbName+"-master"); got != want {
		t.Errorf("restored primary's password %q, want the stack's login %q (RDS sets it after the restore)", got, want)
	}
	restoredID, originalID := restored.str("identifier"), rec.one(t, tDB, dbName).str("identifier")
	if restoredID == "" || restoredID == originalID {
		t.Fatalf("restored primary named %q beside %q: it needs a name of its own", restoredID, originalID)
	}
	replica := rec.one(t, tDB, restoredName+"-replica-1")
	if got, want := replica.str("replicateSourceDb"), restoredID; got != want {
		t.Errorf("replica of %q, want the restored primary %q", got, want)
	}
	if got, want := rec.one(t, tProxyTarget, dbName+"-proxy").str("dbInstanceIdentifier"), restoredID; got != want {
		t.Errorf("the proxy serves %q, want the restored primary %q", got, want)
	}
	cfg := rec.one(t, tTaskDef, appName).renderedFiles(t)["MOODLE_FILE_CONFIG_PHP"]
	if want := fmt.Sprintf("'%s-replica-1.c0ffee.eu-west-1.rds.amazonaws.com'", restoredName); !strings.Contains(cfg, want) {
		t.Errorf("config.php does not read from the restored replica %s", want)
	}
	if got := rec.one(t, tBackupSelect, backupName).strings("resources"); !slices.Contains(got, mockARN(tDB, restoredName)) {
		t.Errorf("the backup plan selects %v, not the restored primary", got)
	}
	alarms := 0
	for _, a := range rec.ofType(tAlarm) {
		if a.str("dimensions.DBInstanceIdentifier") == restoredID {
			alarms++
		}
		if a.str("dimensions.DBInstanceIdentifier") == originalID {
			t.Errorf("alarm %s still watches the instance the site left", a.Name)
		}
	}
	if alarms == 0 {
		t.Error("no alarm watches the restored primary")
	}
}

// database.retireOriginal stops registering the instances the site left, and
// nothing else: the restored ones stay as they were.
func TestProdRetireOriginalDropsOnlyTheInstancesTheSiteLeft(t *testing.T) {
	restore := map[string]any{"database.restoreFromSnapshot": "moodle-prod-20261207t031500z"}
	retire := map[string]any{"database.restoreFromSnapshot": "moodle-prod-20261207t031500z", "database.retireOriginal": true}
	before, after := mustRun(t, "prod", restore), mustRun(t, "prod", retire)
	names := func(rec *recorder) []string {
		var out []string
		for _, r := range rec.ofType(tDB) {
			out = append(out, r.Name)
		}
		slices.Sort(out)
		return out
	}
	if got, want := names(after), []string{dbName + "-restored", dbName + "-restored-replica-1"}; !slices.Equal(got, want) {
		t.Errorf("instances %v, want only the restored ones %v", got, want)
	}
	for _, name := range names(after) {
		if !before.one(t, tDB, name).Inputs.DeepEquals(after.one(t, tDB, name).Inputs) {
			t.Errorf("%s changed when the original was retired", name)
		}
	}
}
