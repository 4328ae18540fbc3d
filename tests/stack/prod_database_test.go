package stack_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

const tRandomID = "random:index/randomId:RandomId"

// parameter returns the value of one parameter of a parameter group.
func (r registered) parameter(name string) (value, applyMethod string) {
	for i := range r.input("parameters").ArrayValue() {
		p := fmt.Sprintf("parameters.%d.", i)
		if r.str(p+"name") == name {
			return r.str(p + "value"), r.str(p + "applyMethod")
		}
	}
	return "", ""
}

// max_connections is static: RDS applies a change only at a restart, which nothing
// does. So the value follows the instance class (whose change restarts the
// instance) and not the app tier, and the alarm measures what the class allows.
func TestProdMaxConnectionsFollowTheInstanceClassNotTheAppTier(t *testing.T) {
	base := mustRun(t, "prod", nil)
	scaled := mustRun(t, "prod", map[string]any{"app.maxReplicas": 18})
	spec := stackSpec(t, "prod", nil)
	for name, rec := range map[string]*recorder{"prod": base, "more app nodes": scaled} {
		value, _ := rec.one(t, tDBParams, dbName).parameter("max_connections")
		if value != topology.RDSMaxConnectionsFormula {
			t.Errorf("%s: max_connections %q, want the instance-class formula", name, value)
		}
	}
	if !base.one(t, tDBParams, dbName).Inputs.DeepEquals(scaled.one(t, tDBParams, dbName).Inputs) {
		t.Error("the parameter group changes with the app tier's size")
	}
	limit, _ := topology.RDSMaxConnections(spec.Database.InstanceClass)
	for _, a := range base.ofType(tAlarm) {
		if a.str("metricName") == "DatabaseConnections" && a.number("threshold") != 0.8*float64(limit) {
			t.Errorf("%s alarms at %v connections, want 80 %% of the %d the class allows", a.Name, a.number("threshold"), limit)
		}
	}
	if spec.ServerConnections() > limit {
		t.Errorf("the committed prod stack needs %d connections, its class allows %d", spec.ServerConnections(), limit)
	}
}

// database.version accepts 14..17, and a new major version reaches the instances in
// place, with a parameter group of the new family.
func TestProdMajorVersionUpgradeHappensInPlace(t *testing.T) {
	before := mustRun(t, "prod", nil)
	after := mustRun(t, "prod", map[string]any{"database.version": "17"})
	if family := after.one(t, tDBParams, dbName).str("family"); family != "postgres17" {
		t.Errorf("parameter group family %q, want postgres17", family)
	}
	for _, db := range after.ofType(tDB) {
		if !db.boolean("allowMajorVersionUpgrade") || !db.boolean("applyImmediately") {
			t.Errorf("%s: major upgrade allowed %v, applied at once %v", db.Name, db.boolean("allowMajorVersionUpgrade"), db.boolean("applyImmediately"))
		}
		old := before.one(t, tDB, db.Name)
		if db.str("identifier") != old.str("identifier") {
			t.Errorf("%s is renamed (%s -> %s): the upgrade would replace it", db.Name, old.str("identifier"), db.str("identifier"))
		}
	}
	if v := after.one(t, tDB, dbName).str("engineVersion"); v != "17" {
		t.Errorf("the primary runs %q, want 17", v)
	}
}

// Every instance is named from a random part that changes exactly when the
// instance is replaced; the primary's final snapshot is named after the instance,
// so a second replacement or delete never meets the first one's snapshot. The
// same holds for the Redis groups.
func TestProdFinalSnapshotsAreNamedPerReplacement(t *testing.T) {
	rec := mustRun(t, "prod", nil)
	primary := rec.one(t, tDB, dbName)
	suffix := rec.one(t, tRandomID, dbName)
	for _, keeper := range []string{"engine", "dbName", "username", "kmsKeyId"} {
		if suffix.str("keepers."+keeper) == "" {
			t.Errorf("the primary's name does not change with %s, which replaces it", keeper)
		}
	}
	if id := primary.str("identifier"); !strings.HasSuffix(id, "-"+mockHex) || primary.str("finalSnapshotIdentifier") != id+"-final" {
		t.Errorf("identifier %q, final snapshot %q: want both from the random part", id, primary.str("finalSnapshotIdentifier"))
	}
	snapshots := map[string]bool{}
	for _, g := range rec.ofType(tRedis) {
		final := g.str("finalSnapshotIdentifier")
		if !strings.HasSuffix(final, "-"+mockHex) || snapshots[final] {
			t.Errorf("%s: final snapshot %q is not its own", g.Name, final)
		}
		snapshots[final] = true
		if rec.one(t, tRandomID, g.Name+"-final").str("keepers.kmsKeyId") == "" {
			t.Errorf("%s: the snapshot name does not change with the group's key", g.Name)
		}
	}
}

// sameRegionReplicaInputs are the inputs a same-region replica may carry: what the
// provider sends to CreateDBInstanceReadReplica and, after it, ModifyDBInstance
// (hashicorp/terraform-provider-aws internal/service/rds/instance.go, the
// replicate_source_db branch of resourceInstanceCreate), plus storageEncrypted,
// which the provider reads back from the source and would otherwise plan to
// replace. kmsKeyId is not among them: RDS encrypts a same-region replica with its
// source's key ("don't specify a value for this parameter", API reference,
// CreateDBInstanceReadReplica, KmsKeyId); dbSubnetGroupName only for another region.
var sameRegionReplicaInputs = []string{
	"replicateSourceDb", "identifier", "instanceClass", "storageType", "maxAllocatedStorage", "storageEncrypted",
	"vpcSecurityGroupIds", "parameterGroupName", "publiclyAccessible", "backupRetentionPeriod", "backupWindow",
	"maintenanceWindow", "deletionProtection", "performanceInsightsEnabled", "performanceInsightsKmsKeyId",
	"performanceInsightsRetentionPeriod", "monitoringInterval", "monitoringRoleArn", "enabledCloudwatchLogsExports",
	"iamDatabaseAuthenticationEnabled", "autoMinorVersionUpgrade", "allowMajorVersionUpgrade", "applyImmediately",
	"copyTagsToSnapshot", "skipFinalSnapshot", "multiAz", "tags",
}

func TestProdReplicasCarryOnlyWhatSameRegionReplicasAccept(t *testing.T) {
	rec := mustRun(t, "prod", map[string]any{"database.readReplicas": 2})
	for _, db := range rec.ofType(tDB) {
		if db.str("replicateSourceDb") == "" {
			continue
		}
		for key := range db.Inputs {
			if !slices.Contains(sameRegionReplicaInputs, string(key)) {
				t.Errorf("%s: %s is not an argument of a same-region replica", db.Name, key)
			}
		}
		if db.number("backupRetentionPeriod") < 7 {
			t.Errorf("%s: backups kept %v days (PostgreSQL replicas keep their own)", db.Name, db.number("backupRetentionPeriod"))
		}
	}
}

// RDS log exports, RDS Proxy and Container Insights write to log groups of fixed
// names, which AWS creates unencrypted and kept forever unless they exist first.
func TestProdLogGroupsAWSWritesToExistFirst(t *testing.T) {
	for _, v := range []prodVariant{
		{"prod", nil},
		{"three replicas", map[string]any{"database.readReplicas": 3}},
		{"rdsproxy", map[string]any{"database.pooler": topology.PoolerRDSProxy}},
	} {
		t.Run(v.name, func(t *testing.T) {
			spec := stackSpec(t, "prod", v.edits)
			rec := mustRun(t, "prod", v.edits)
			groups := map[string]registered{}
			for _, g := range rec.ofType(tLogGroup) {
				groups[g.str("name")] = g
			}
			exists := func(owner registered, name string) {
				g, ok := groups[name]
				if !ok {
					t.Errorf("%s writes to %s, which the stack does not create", owner.Name, name)
					return
				}
				if g.str("kmsKeyId") == "" || g.number("retentionInDays") != float64(spec.AWS.LogRetentionDays) {
					t.Errorf("%s: key %q, retention %v", name, g.str("kmsKeyId"), g.number("retentionInDays"))
				}
				if !owner.dependsOn(tLogGroup, g.Name) {
					t.Errorf("%s may start before %s exists", owner.Name, name)
				}
			}
			dbs := rec.ofType(tDB)
			if len(dbs) != 1+spec.Database.ReadReplicas {
				t.Fatalf("%d DB instances", len(dbs))
			}
			for _, db := range dbs {
				for _, export := range db.strings("enabledCloudwatchLogsExports") {
					exists(db, "/aws/rds/instance/"+db.str("identifier")+"/"+export)
				}
			}
			proxies := rec.ofType(tProxy)
			if want := boolCount(spec.Database.Pooler == topology.PoolerRDSProxy); len(proxies) != want {
				t.Fatalf("%d proxies, want %d", len(proxies), want)
			}
			for _, proxy := range proxies {
				if proxy.str("name") == "" {
					t.Fatalf("%s: no name given, so its log group cannot exist before it", proxy.Name)
				}
				exists(proxy, "/aws/rds/proxy/"+proxy.str("name"))
			}
			cluster := rec.ofType(tECSCluster)[0]
			exists(cluster, "/aws/ecs/containerinsights/"+cluster.str("name")+"/performance")
		})
	}
}

func checkDBEncryptedPrivate(t *testing.T, rec *recorder, _ topology.Spec) {
	primary := rec.one(t, tDB, dbName)
	for _, db := range rec.ofType(tDB) {
		if !db.boolean("storageEncrypted") {
			t.Errorf("%s: storage not encrypted", db.Name)
		}
		// A same-region replica is encrypted with its source's key, which RDS
		// refuses to be given again.
		if source := db.str("replicateSourceDb"); source != "" && (source != primary.str("identifier") || db.str("kmsKeyId") != "") {
			t.Errorf("%s: a replica of %q with key %q, want the primary's key by inheritance", db.Name, source, db.str("kmsKeyId"))
		}
	}
	if primary.str("kmsKeyId") == "" {
		t.Error("the primary is not encrypted with the cluster key")
	}
	for _, db := range rec.ofType(tDB) {
		if v := db.input("publiclyAccessible"); !v.IsBool() || v.BoolValue() {
			t.Errorf("%s: publiclyAccessible %v", db.Name, v)
		}
	}
}

func checkDBSafety(t *testing.T, rec *recorder, spec topology.Spec) {
	dbs := rec.ofType(tDB)
	if len(dbs) != 1+spec.Database.ReadReplicas {
		t.Fatalf("%d DB instances, want the primary and %d replicas", len(dbs), spec.Database.ReadReplicas)
	}
	for _, db := range dbs {
		if db.number("backupRetentionPeriod") < 7 {
			t.Errorf("%s: backups kept %v days", db.Name, db.number("backupRetentionPeriod"))
		}
		if !db.boolean("deletionProtection") {
			t.Errorf("%s: no deletion protection", db.Name)
		}
	}
	primary := rec.one(t, tDB, dbName)
	if !primary.boolean("multiAz") {
		t.Error("the primary is not Multi-AZ")
	}
	if skip := primary.input("skipFinalSnapshot"); !skip.IsBool() || skip.BoolValue() || primary.str("finalSnapshotIdentifier") == "" {
		t.Errorf("the primary takes no final snapshot (skip %v, id %q)", skip, primary.str("finalSnapshotIdentifier"))
	}
}

func checkDBOperations(t *testing.T, rec *recorder, _ topology.Spec) {
	params := rec.one(t, tDBParams, dbName)
	forced := false
	for i := range params.input("parameters").ArrayValue() {
		if params.str(fmt.Sprintf("parameters.%d.name", i)) == "rds.force_ssl" {
			forced = params.str(fmt.Sprintf("parameters.%d.value", i)) == "1"
		}
	}
	if !forced {
		t.Error("the parameter group does not set rds.force_ssl=1")
	}
	for _, db := range rec.ofType(tDB) {
		for _, flag := range []string{"iamDatabaseAuthenticationEnabled", "performanceInsightsEnabled", "autoMinorVersionUpgrade", "copyTagsToSnapshot"} {
			if !db.boolean(flag) {
				t.Errorf("%s: %s is not true", db.Name, flag)
			}
		}
		if db.str("performanceInsightsKmsKeyId") == "" {
			t.Errorf("%s: Performance Insights not encrypted with the cluster key", db.Name)
		}
		if db.number("monitoringInterval") <= 0 || db.str("monitoringRoleArn") == "" {
			t.Errorf("%s: no enhanced monitoring", db.Name)
		}
		if !slices.Contains(db.strings("enabledCloudwatchLogsExports"), "postgresql") {
			t.Errorf("%s: PostgreSQL logs not exported", db.Name)
		}
		if db.str("parameterGroupName") != params.Name+"-a1b2c3" {
			t.Errorf("%s: parameter group %q, want the TLS-forcing one", db.Name, db.str("parameterGroupName"))
		}
	}
}

func TestProdWiresReplicasIntoReadonly(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edits map[string]any
	}{
		{"one replica", nil},
		{"three replicas", map[string]any{"database.readReplicas": 3}},
		{"replicas behind rdsproxy", map[string]any{"database.readReplicas": 2, "database.pooler": topology.PoolerRDSProxy}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := stackSpec(t, "prod", tc.edits)
			rec := mustRun(t, "prod", tc.edits)
			primary := rec.one(t, tDB, dbName).str("address")
			if primary == "" {
				primary = dbName + ".c0ffee.eu-west-1.rds.amazonaws.com"
			}
			wantHost := primary
			if spec.Database.Pooler == topology.PoolerRDSProxy {
				wantHost = dbName + "-proxy.proxy-c0ffee.eu-west-1.rds.amazonaws.com"
			}
			for _, task := range []string{appName, cronName} {
				cfg := rec.one(t, tTaskDef, task).renderedFiles(t)["MOODLE_FILE_CONFIG_PHP"]
				if !strings.Contains(cfg, "$CFG->dbhost    = '"+wantHost+"'") {
					t.Errorf("%s: config.php does not point dbhost at %s", task, wantHost)
				}
				_, readonly, ok := strings.Cut(cfg, "$CFG->dboptions['readonly']")
				if !ok {
					t.Fatalf("%s: config.php has no dboptions['readonly']:\n%s", task, cfg)
				}
				readonly, _, _ = strings.Cut(readonly, "];\n")
				for i := 1; i <= spec.Database.ReadReplicas; i++ {
					replica := fmt.Sprintf("%s-replica-%d.c0ffee.eu-west-1.rds.amazonaws.com", dbName, i)
					if !strings.Contains(readonly, "'"+replica+"'") {
						t.Errorf("%s: replica %s is not in dboptions['readonly']:\n%s", task, replica, readonly)
					}
				}
				if strings.Contains(readonly, wantHost) {
					t.Errorf("%s: the primary is listed as a read replica", task)
				}
			}
		})
	}
}
