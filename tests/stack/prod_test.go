package stack_test

import (
	"encoding/base64"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/moodle-cluster/moodle-pulumi/components/awscloud"
	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// Type tokens of the AWS resources the prod tests read.
const (
	tVPC            = "aws:ec2/vpc:Vpc"
	tSubnet         = "aws:ec2/subnet:Subnet"
	tNAT            = "aws:ec2/natGateway:NatGateway"
	tDefaultSG      = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
	tFlowLog        = "aws:ec2/flowLog:FlowLog"
	tSG             = "aws:ec2/securityGroup:SecurityGroup"
	tIngress        = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	tEgress         = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
	tLaunchTmpl     = "aws:ec2/launchTemplate:LaunchTemplate"
	tASG            = "aws:autoscaling/group:Group"
	tCapacity       = "aws:ecs/capacityProvider:CapacityProvider"
	tALB            = "aws:lb/loadBalancer:LoadBalancer"
	tListener       = "aws:lb/listener:Listener"
	tTargetGroup    = "aws:lb/targetGroup:TargetGroup"
	tWebACL         = "aws:wafv2/webAcl:WebAcl"
	tWebACLAssoc    = "aws:wafv2/webAclAssociation:WebAclAssociation"
	tWebACLLogging  = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
	tDB             = "aws:rds/instance:Instance"
	tDBParams       = "aws:rds/parameterGroup:ParameterGroup"
	tProxy          = "aws:rds/proxy:Proxy"
	tProxyTarget    = "aws:rds/proxyTarget:ProxyTarget"
	tRedis          = "aws:elasticache/replicationGroup:ReplicationGroup"
	tRedisParams    = "aws:elasticache/parameterGroup:ParameterGroup"
	tEFS            = "aws:efs/fileSystem:FileSystem"
	tEFSBackup      = "aws:efs/backupPolicy:BackupPolicy"
	tEFSMount       = "aws:efs/mountTarget:MountTarget"
	tAccessPoint    = "aws:efs/accessPoint:AccessPoint"
	tBucket         = "aws:s3/bucketV2:BucketV2"
	tBucketBlock    = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
	tBucketSSE      = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
	tBucketVersion  = "aws:s3/bucketVersioningV2:BucketVersioningV2"
	tBucketPolicy   = "aws:s3/bucketPolicy:BucketPolicy"
	tBucketOwner    = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
	tECSCluster     = "aws:ecs/cluster:Cluster"
	tService        = "aws:ecs/service:Service"
	tTaskDef        = "aws:ecs/taskDefinition:TaskDefinition"
	tScaleTarget    = "aws:appautoscaling/target:Target"
	tScalePolicy    = "aws:appautoscaling/policy:Policy"
	tLogGroup       = "aws:cloudwatch/logGroup:LogGroup"
	tAlarm          = "aws:cloudwatch/metricAlarm:MetricAlarm"
	tRole           = "aws:iam/role:Role"
	tRolePolicy     = "aws:iam/rolePolicy:RolePolicy"
	tKey            = "aws:kms/key:Key"
	tSecret         = "aws:secretsmanager/secret:Secret"
	tSecretVersion  = "aws:secretsmanager/secretVersion:SecretVersion"
	tRandomPassword = "random:index/randomPassword:RandomPassword"
)

// Names the program gives its resources (the cluster is "moodle").
const (
	appName  = "moodle-app"
	cronName = "moodle-cron"
	edgeName = "moodle-edge"
	dbName   = "moodle-db"
)

// prodVariant is one configuration of the prod stack.
type prodVariant struct {
	name  string
	edits map[string]any
}

func prodVariants() []prodVariant {
	return []prodVariant{
		{"prod", nil},
		{"launchType ec2", map[string]any{"app.launchType": topology.LaunchEC2}},
		{"storage s3", s3Storage()},
		{"pooler rdsproxy", map[string]any{"database.pooler": topology.PoolerRDSProxy}},
		{"existing vpc", existingVPC()},
		{"single nat gateway", map[string]any{"aws.natGateways": topology.NATSingle}},
	}
}

// s3Storage puts the file pool in S3, with the app image declaring the plugins that
// needs (validation refuses s3 storage without them).
func s3Storage() map[string]any {
	return map[string]any{"storage.kind": topology.StorageS3, "moodle.plugins": topology.S3Plugins}
}

// existingVPC adopts a VPC instead of creating one.
func existingVPC() map[string]any {
	ids := func(tier string) []string {
		return []string{"subnet-0" + tier + "1000000000000", "subnet-0" + tier + "2000000000000", "subnet-0" + tier + "3000000000000"}
	}
	return map[string]any{
		"aws.vpcId": "vpc-0abc123def4567890", "aws.publicSubnetIds": ids("a"),
		"aws.privateSubnetIds": ids("b"), "aws.dataSubnetIds": ids("c"),
	}
}

// dataTypes hold data: they are protected and no app-tier change may touch them.
func dataTypes() []string {
	return []string{tDB, tRedis, tEFS, tBucket, tSecret, tSecretVersion, tKey}
}

func TestProdInventory(t *testing.T) {
	for _, v := range prodVariants() {
		t.Run(v.name, func(t *testing.T) {
			spec := stackSpec(t, "prod", v.edits)
			rec := mustRun(t, "prod", v.edits)
			inv := rec.inventory()
			logInventory(t, inv)

			created := 0
			if spec.AWS.VPCID == "" {
				created = 1
			}
			zones := spec.AWS.AZCount
			natGateways := zones
			if spec.AWS.NATGateways == topology.NATSingle {
				natGateways = 1
			}
			ec2 := boolCount(spec.App.LaunchType == topology.LaunchEC2)
			s3 := boolCount(spec.Storage.Kind == topology.StorageS3)
			proxy := boolCount(spec.Database.Pooler == topology.PoolerRDSProxy)
			want := map[string]int{
				tVPC:            created,
				tSubnet:         3 * zones * created,
				tNAT:            natGateways * created,
				tFlowLog:        created,
				tDefaultSG:      created,
				tALB:            1,
				tListener:       2,
				tWebACL:         boolCount(spec.AWS.WAF),
				tDB:             1 + spec.Database.ReadReplicas,
				tProxy:          proxy,
				tProxyTarget:    proxy,
				tRedis:          1,
				tEFS:            1,
				tEFSMount:       len(spec.AWS.PrivateSubnetIDs) + zones*created,
				tBucket:         1 + s3,
				tService:        2,
				tTaskDef:        2,
				tLaunchTmpl:     ec2,
				tASG:            ec2,
				tCapacity:       ec2,
				tSecret:         4,
				tRandomPassword: 4,
				tKey:            1,
			}
			for token, n := range want {
				if inv[token] != n {
					t.Errorf("%s: %d registered, want %d", token, inv[token], n)
				}
			}
		})
	}
}

func boolCount(b bool) int {
	if b {
		return 1
	}
	return 0
}

func logInventory(t *testing.T, inv map[string]int) {
	t.Helper()
	keys := make([]string, 0, len(inv))
	total := 0
	for k, n := range inv {
		keys = append(keys, k)
		total += n
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "\n%4d %s", inv[k], k)
	}
	t.Logf("%d resources:%s", total, b.String())
}

// securityRule is one rule of security-rules.md, checked on one variant.
type securityRule struct {
	ids     string
	variant map[string]any
	check   func(t *testing.T, rec *recorder, spec topology.Spec)
}

func TestProdSecurityRules(t *testing.T) {
	for _, r := range securityRules() {
		t.Run(r.ids, func(t *testing.T) {
			r.check(t, mustRun(t, "prod", r.variant), stackSpec(t, "prod", r.variant))
		})
	}
}

func securityRules() []securityRule {
	s3 := s3Storage()
	ec2 := map[string]any{"app.launchType": topology.LaunchEC2}
	return []securityRule{
		{"CKV_AWS_2,CKV2_AWS_20,AVD-AWS-0054,alb-http-to-https-redirection/port 80 only redirects to HTTPS", nil, checkHTTPRedirect},
		{"CKV_AWS_103,AVD-AWS-0047/HTTPS listener offers TLS 1.2 and 1.3 only", nil, checkTLSPolicy},
		{"CKV_AWS_131,AVD-AWS-0052/ALB drops invalid header fields", nil, func(t *testing.T, rec *recorder, _ topology.Spec) {
			if alb := rec.one(t, tALB, edgeName); !alb.boolean("dropInvalidHeaderFields") {
				t.Error("dropInvalidHeaderFields is not true")
			}
		}},
		{"CKV_AWS_91,CKV_AWS_150,CKV_AWS_328/ALB logs to a private encrypted bucket, deletion protection, desync mitigation", nil, checkALBLogsAndProtection},
		{"CKV_AWS_261/target group health check asks php-fpm through nginx", nil, checkHealthCheck},
		{"CKV2_AWS_28,CKV2_AWS_31/WAF web ACL with managed rule groups on the ALB, logged", nil, checkWAF},
		{"CKV_AWS_24,CKV_AWS_25,CKV_AWS_260,CKV_AWS_277,AVD-AWS-0107/only the ALB takes traffic from the internet, on 80 and 443", nil, checkWorldIngress},
		{"AVD-AWS-0104/egress to the internet is port-limited and only from the tasks", ec2, checkWorldEgress},
		{"CKV_AWS_23/every security group and rule is described", ec2, checkDescribed},
		{"CKV2_AWS_12/default security group is closed", nil, func(t *testing.T, rec *recorder, _ topology.Spec) {
			sg := rec.ofType(tDefaultSG)
			if len(sg) != 1 {
				t.Fatalf("%d default security groups managed, want 1", len(sg))
			}
			for _, k := range []string{"ingress", "egress"} {
				if v := sg[0].input(k); v.IsArray() && len(v.ArrayValue()) > 0 {
					t.Errorf("default security group has %s rules: %v", k, v)
				}
			}
		}},
		{"CKV2_AWS_11/VPC flow logs record all traffic", nil, checkFlowLogs},
		{"CKV_AWS_16,AVD-AWS-0080,CKV_AWS_17,AVD-AWS-0180,rds-storage-encrypted,rds-instance-public-access/every DB instance encrypted and private", nil, checkDBEncryptedPrivate},
		{"CKV_AWS_133,AVD-AWS-0077,CKV_AWS_293,AVD-AWS-0177,CKV_AWS_157,rds-instance-backup-enabled,rds-instance-multi-az-enabled/backups, deletion protection, Multi-AZ, final snapshot", nil, checkDBSafety},
		{"CKV_AWS_161,CKV_AWS_353,CKV_AWS_354,CKV_AWS_118,CKV_AWS_226,CKV2_AWS_60,CKV_AWS_129,CKV2_AWS_69/IAM auth, insights, monitoring, upgrades, tags, logs, forced TLS", nil, checkDBOperations},
		{"CKV_AWS_29,AVD-AWS-0045,CKV_AWS_30,AVD-AWS-0051,CKV_AWS_31,CKV2_AWS_50,AVD-AWS-0050/Redis encrypted at rest and in transit with AUTH, failover, snapshots", nil, checkRedis},
		{"CKV_AWS_42,AVD-AWS-0037,CKV2_AWS_18,CKV_AWS_329,CKV_AWS_330,CKV_AWS_97,efs-encrypted/EFS encrypted, backed up, access point, mounts in every app subnet, TLS", nil, checkEFS},
		{"CKV2_AWS_6,CKV_AWS_53,CKV_AWS_54,CKV_AWS_55,CKV_AWS_56,CKV_AWS_19,CKV_AWS_145,CKV_AWS_21,CKV2_AWS_65/buckets private, encrypted, versioned, TLS only, ACLs off", s3, checkBuckets},
		{"CKV_AWS_334,CKV_AWS_249,AVD-AWS-0036,CKV_AWS_336/tasks unprivileged, separate roles, secrets from Secrets Manager, read-only roots", nil, checkTaskDefinitions},
		{"CKV_AWS_333,CKV_AWS_65/no public IPs, Container Insights, circuit breaker with rollback", nil, checkServices},
		{"CKV_AWS_66,CKV_AWS_338,CKV_AWS_158/log groups keep 30+ days and are encrypted", nil, checkLogGroups},
		{"CKV_AWS_79,AVD-AWS-0028,CKV_AWS_341,CKV_AWS_8,AVD-AWS-0131,CKV_AWS_88,CKV_AWS_46/container instances: IMDSv2, encrypted EBS, no public IP, no secret in user data", ec2, checkLaunchTemplate},
		{"CKV_AWS_62,CKV_AWS_63,CKV_AWS_290,CKV_AWS_355/least-privilege roles", s3, checkLeastPrivilege},
		{"project rule/data resources are protected", nil, checkProtected},
	}
}

func checkHTTPRedirect(t *testing.T, rec *recorder, _ topology.Spec) {
	http := rec.one(t, tListener, edgeName+"-http")
	if http.number("port") != 80 || http.str("protocol") != "HTTP" {
		t.Fatalf("http listener: port %v protocol %q", http.number("port"), http.str("protocol"))
	}
	actions := http.input("defaultActions").ArrayValue()
	if len(actions) != 1 {
		t.Fatalf("http listener has %d default actions, want 1 redirect", len(actions))
	}
	if got := http.str("defaultActions.0.type"); got != "redirect" {
		t.Errorf("http listener action %q, want redirect", got)
	}
	if p, code := http.str("defaultActions.0.redirect.protocol"), http.str("defaultActions.0.redirect.statusCode"); p != "HTTPS" || code != "HTTP_301" {
		t.Errorf("redirect to %q with %q, want HTTPS with HTTP_301", p, code)
	}
	https := rec.one(t, tListener, edgeName+"-https")
	if https.number("port") != 443 || https.str("protocol") != "HTTPS" || https.str("certificateArn") == "" {
		t.Errorf("https listener: port %v protocol %q certificate %q", https.number("port"), https.str("protocol"), https.str("certificateArn"))
	}
}

func checkTLSPolicy(t *testing.T, rec *recorder, _ topology.Spec) {
	for _, l := range rec.ofType(tListener) {
		if l.str("protocol") == "HTTPS" && l.str("sslPolicy") != "ELBSecurityPolicy-TLS13-1-2-2021-06" {
			t.Errorf("%s: sslPolicy %q", l.Name, l.str("sslPolicy"))
		}
	}
}

func checkALBLogsAndProtection(t *testing.T, rec *recorder, _ topology.Spec) {
	alb := rec.one(t, tALB, edgeName)
	if !alb.boolean("accessLogs.enabled") {
		t.Error("access logs are off")
	}
	bucket := rec.one(t, tBucket, edgeName+"-logs")
	if got, want := alb.str("accessLogs.bucket"), bucket.Name+"-a1b2c3"; got != want {
		t.Errorf("access logs go to %q, want the logs bucket %q", got, want)
	}
	checkBucketPrivate(t, rec, bucket)
	if !alb.boolean("enableDeletionProtection") {
		t.Error("deletion protection is off")
	}
	if m := alb.str("desyncMitigationMode"); m != "defensive" && m != "strictest" {
		t.Errorf("desyncMitigationMode %q", m)
	}
	if alb.boolean("internal") {
		t.Error("the ALB is internal; the site would be unreachable")
	}
}

func checkHealthCheck(t *testing.T, rec *recorder, spec topology.Spec) {
	tg := rec.one(t, tTargetGroup, edgeName)
	if !tg.boolean("healthCheck.enabled") || tg.str("healthCheck.path") != render.FPMPingPath || tg.str("healthCheck.matcher") != "200" {
		t.Errorf("health check: enabled %v path %q matcher %q", tg.boolean("healthCheck.enabled"), tg.str("healthCheck.path"), tg.str("healthCheck.matcher"))
	}
	if tg.boolean("stickiness.enabled") {
		t.Error("stickiness is on; sessions live in Redis")
	}
	if tg.str("targetType") != "ip" || tg.number("port") != float64(spec.Web.Port) {
		t.Errorf("target type %q port %v, want ip %d", tg.str("targetType"), tg.number("port"), spec.Web.Port)
	}
	// The ping location must let the load balancer in: it comes from the VPC.
	nginx := rec.one(t, tTaskDef, appName).renderedFiles(t)["MOODLE_FILE_NGINX_CONF"]
	if !strings.Contains(nginx, "location = "+render.FPMPingPath) || !strings.Contains(nginx, "allow "+spec.AWS.VPCCIDR+";") {
		t.Errorf("the node's nginx does not serve %s to the VPC %s:\n%s", render.FPMPingPath, spec.AWS.VPCCIDR, nginx)
	}
}

func checkWAF(t *testing.T, rec *recorder, _ topology.Spec) {
	acl := rec.one(t, tWebACL, edgeName)
	var groups []string
	for i := range acl.input("rules").ArrayValue() {
		groups = append(groups, acl.str(fmt.Sprintf("rules.%d.statement.managedRuleGroupStatement.name", i)))
	}
	for _, want := range []string{"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesSQLiRuleSet", "AWSManagedRulesAmazonIpReputationList"} {
		if !slices.Contains(groups, want) {
			t.Errorf("web ACL lacks %s; has %v", want, groups)
		}
	}
	assoc := rec.one(t, tWebACLAssoc, edgeName)
	alb := rec.one(t, tALB, edgeName)
	if assoc.str("resourceArn") != mockARN(alb.Type, alb.Name) {
		t.Errorf("web ACL associated with %q, not the ALB", assoc.str("resourceArn"))
	}
	logging := rec.one(t, tWebACLLogging, edgeName)
	if len(logging.strings("logDestinationConfigs")) != 1 {
		t.Error("web ACL decisions are not logged")
	}
}

// sgRule is one security-group rule, with groups named by role.
type sgRule struct {
	group, peer, description string
	port                     int
	egress                   bool
	protocol                 string
}

// securityGroupRules reads every rule and names groups by their role (the part of
// the resource name after "moodle-network-"); the world is "0.0.0.0/0".
func securityGroupRules(rec *recorder) []sgRule {
	role := map[string]string{}
	for id, sg := range rec.byID(tSG) {
		role[id] = strings.TrimPrefix(sg.Name, "moodle-network-")
	}
	var out []sgRule
	for _, token := range []string{tIngress, tEgress} {
		for _, r := range rec.ofType(token) {
			peer := r.str("cidrIpv4")
			if id := r.str("referencedSecurityGroupId"); id != "" {
				peer = role[id]
			}
			out = append(out, sgRule{
				group: role[r.str("securityGroupId")], peer: peer, description: r.str("description"),
				port: int(r.number("fromPort")), egress: token == tEgress, protocol: r.str("ipProtocol"),
			})
			if r.number("fromPort") != r.number("toPort") {
				out[len(out)-1].port = -1
			}
		}
	}
	return out
}

func checkWorldIngress(t *testing.T, rec *recorder, _ topology.Spec) {
	open := map[int]bool{}
	for _, r := range securityGroupRules(rec) {
		if r.egress || r.peer != "0.0.0.0/0" {
			continue
		}
		if r.group != "alb" || (r.port != 80 && r.port != 443) || r.protocol != "tcp" {
			t.Errorf("%s takes %s/%d from the internet", r.group, r.protocol, r.port)
		}
		open[r.port] = true
	}
	if !open[80] || !open[443] {
		t.Errorf("the ALB is open on %v, want 80 and 443", open)
	}
}

func checkWorldEgress(t *testing.T, rec *recorder, _ topology.Spec) {
	allowed := map[int]bool{443: true, 80: true, 587: true}
	for _, r := range securityGroupRules(rec) {
		if !r.egress || r.peer != "0.0.0.0/0" {
			continue
		}
		if r.protocol != "tcp" || !allowed[r.port] {
			t.Errorf("%s may send %s/%d anywhere", r.group, r.protocol, r.port)
		}
		if r.group != "app" && r.group != "cron" && r.group != "ecs-instances" {
			t.Errorf("%s may reach the internet", r.group)
		}
	}
}

func checkDescribed(t *testing.T, rec *recorder, _ topology.Spec) {
	for _, sg := range rec.ofType(tSG) {
		if sg.str("description") == "" {
			t.Errorf("security group %s has no description", sg.Name)
		}
	}
	for _, r := range securityGroupRules(rec) {
		if strings.TrimSpace(r.description) == "" {
			t.Errorf("rule %s %d %s has no description", r.group, r.port, r.peer)
		}
	}
}

func checkFlowLogs(t *testing.T, rec *recorder, _ topology.Spec) {
	vpc := rec.ofType(tVPC)[0]
	logs := rec.ofType(tFlowLog)
	if len(logs) != 1 || logs[0].str("vpcId") != vpc.id() || logs[0].str("trafficType") != "ALL" {
		t.Fatalf("flow logs %v do not record all traffic of %s", logs, vpc.id())
	}
	if logs[0].str("logDestination") == "" || logs[0].str("iamRoleArn") == "" {
		t.Error("flow log has no destination or role")
	}
}

func checkDBEncryptedPrivate(t *testing.T, rec *recorder, _ topology.Spec) {
	for _, db := range rec.ofType(tDB) {
		if !db.boolean("storageEncrypted") || db.str("kmsKeyId") == "" {
			t.Errorf("%s: storage not encrypted with the cluster key", db.Name)
		}
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

func checkRedis(t *testing.T, rec *recorder, spec topology.Spec) {
	for _, g := range rec.ofType(tRedis) {
		if !g.boolean("atRestEncryptionEnabled") || g.str("kmsKeyId") == "" {
			t.Errorf("%s: not encrypted at rest with the cluster key", g.Name)
		}
		if !g.boolean("transitEncryptionEnabled") || g.str("transitEncryptionMode") != "required" {
			t.Errorf("%s: in-transit encryption not required", g.Name)
		}
		if token := g.Inputs["authToken"]; !token.IsSecret() || unwrap(token).StringValue() == "" {
			t.Errorf("%s: AUTH token missing or not secret", g.Name)
		}
		if !g.boolean("automaticFailoverEnabled") || !g.boolean("multiAzEnabled") || g.number("numCacheClusters") < 2 {
			t.Errorf("%s: no Multi-AZ failover (%v nodes)", g.Name, g.number("numCacheClusters"))
		}
		if g.number("snapshotRetentionLimit") < 1 {
			t.Errorf("%s: no snapshots kept", g.Name)
		}
	}
	// The config.php the tasks get talks TLS to Redis.
	cfg := rec.one(t, tTaskDef, appName).renderedFiles(t)["MOODLE_FILE_CONFIG_PHP"]
	if !strings.Contains(cfg, "session_redis_encrypt") {
		t.Error("config.php does not talk TLS to Redis")
	}
	if !spec.Cache.TLS {
		t.Error("the prod spec does not ask for Redis TLS")
	}
}

func checkEFS(t *testing.T, rec *recorder, spec topology.Spec) {
	fs := rec.ofType(tEFS)[0]
	if !fs.boolean("encrypted") || fs.str("kmsKeyId") == "" {
		t.Error("EFS not encrypted with the cluster key")
	}
	if b := rec.ofType(tEFSBackup); len(b) != 1 || b[0].str("backupPolicy.status") != "ENABLED" {
		t.Error("EFS backups are not enabled")
	}
	ap := rec.ofType(tAccessPoint)[0]
	if ap.number("posixUser.uid") != awscloud.AppUID || ap.number("posixUser.gid") != awscloud.AppGID {
		t.Errorf("access point user %v:%v, want the app user", ap.number("posixUser.uid"), ap.number("posixUser.gid"))
	}
	if ap.str("rootDirectory.path") == "" || ap.str("rootDirectory.path") == "/" || ap.number("rootDirectory.creationInfo.ownerUid") != awscloud.AppUID {
		t.Errorf("access point root %q not a directory of the app user's", ap.str("rootDirectory.path"))
	}
	subnets := map[string]bool{}
	for _, m := range rec.ofType(tEFSMount) {
		subnets[m.str("subnetId")] = true
	}
	services := rec.ofType(tService)
	for _, s := range services {
		for _, sub := range s.strings("networkConfiguration.subnets") {
			if !subnets[sub] {
				t.Errorf("service %s runs in %s, which has no mount target", s.Name, sub)
			}
		}
	}
	for _, td := range rec.ofType(tTaskDef) {
		found := false
		for i := range td.input("volumes").ArrayValue() {
			efs := fmt.Sprintf("volumes.%d.efsVolumeConfiguration", i)
			if td.str(efs+".fileSystemId") == "" {
				continue
			}
			found = true
			if td.str(efs+".transitEncryption") != "ENABLED" || td.str(efs+".authorizationConfig.iam") != "ENABLED" || td.str(efs+".authorizationConfig.accessPointId") != ap.id() {
				t.Errorf("%s: EFS volume without TLS, IAM or the access point", td.Name)
			}
		}
		if !found {
			t.Errorf("%s mounts no moodledata", td.Name)
		}
	}
}

func checkBuckets(t *testing.T, rec *recorder, _ topology.Spec) {
	buckets := rec.ofType(tBucket)
	if len(buckets) != 2 {
		t.Fatalf("%d buckets, want the objectfs and the ALB-logs buckets", len(buckets))
	}
	for _, b := range buckets {
		checkBucketPrivate(t, rec, b)
	}
	objectfs := rec.one(t, tBucket, "moodle-files-objectfs")
	for _, sse := range rec.ofType(tBucketSSE) {
		if sse.str("bucket") == objectfs.id() && sse.str("rules.0.applyServerSideEncryptionByDefault.sseAlgorithm") != "aws:kms" {
			t.Error("the objectfs bucket is not encrypted with the cluster key (CKV_AWS_145)")
		}
	}
}

// checkBucketPrivate proves one bucket private: public access blocked four ways,
// encrypted, versioned, ACLs off and TLS required by policy.
func checkBucketPrivate(t *testing.T, rec *recorder, b registered) {
	t.Helper()
	of := func(token string) registered {
		for _, r := range rec.ofType(token) {
			if r.str("bucket") == b.id() {
				return r
			}
		}
		t.Fatalf("bucket %s has no %s", b.Name, token)
		return registered{}
	}
	block := of(tBucketBlock)
	for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
		if !block.boolean(k) {
			t.Errorf("%s: %s is not true", b.Name, k)
		}
	}
	if alg := of(tBucketSSE).str("rules.0.applyServerSideEncryptionByDefault.sseAlgorithm"); alg != "aws:kms" && alg != "AES256" {
		t.Errorf("%s: default encryption %q", b.Name, alg)
	}
	if of(tBucketVersion).str("versioningConfiguration.status") != "Enabled" {
		t.Errorf("%s: versioning off", b.Name)
	}
	if of(tBucketOwner).str("rule.objectOwnership") != "BucketOwnerEnforced" {
		t.Errorf("%s: ACLs not disabled", b.Name)
	}
	var doc policyDoc
	of(tBucketPolicy).jsonInput(t, "policy", &doc)
	tlsOnly := false
	for _, s := range doc.Statement {
		if s.Effect == "Deny" && s.Condition["Bool"]["aws:SecureTransport"] == "false" {
			tlsOnly = true
		}
	}
	if !tlsOnly {
		t.Errorf("%s: the policy does not deny plain HTTP", b.Name)
	}
}

func checkTaskDefinitions(t *testing.T, rec *recorder, _ topology.Spec) {
	secretNames := []string{render.EnvDBPassword, render.EnvRedisPassword, render.EnvUpgradeKey}
	for _, td := range rec.ofType(tTaskDef) {
		if td.str("executionRoleArn") == "" || td.str("executionRoleArn") == td.str("taskRoleArn") {
			t.Errorf("%s: execution role %q is the task role", td.Name, td.str("executionRoleArn"))
		}
		for _, c := range td.containers(t) {
			if c.Privileged {
				t.Errorf("%s/%s is privileged", td.Name, c.Name)
			}
			if !c.ReadOnly {
				t.Errorf("%s/%s has a writable root filesystem", td.Name, c.Name)
			}
			for _, e := range c.Environment {
				if slices.Contains(secretNames, e.Name) || e.Name == render.EnvAdminPassword {
					t.Errorf("%s/%s gets %s in plain environment", td.Name, c.Name, e.Name)
				}
			}
			if c.Name != "render-files" && (c.User == "0" || c.User == "" || strings.HasPrefix(c.User, "0:")) {
				t.Errorf("%s/%s runs as %q", td.Name, c.Name, c.User)
			}
			// Only the containers that run PHP see secrets.
			if c.Name == "render-files" || c.Name == "nginx" {
				if len(c.Secrets) != 0 {
					t.Errorf("%s/%s gets secrets", td.Name, c.Name)
				}
				continue
			}
			got := map[string]string{}
			for _, s := range c.Secrets {
				got[s.Name] = s.ValueFrom
			}
			for _, name := range secretNames {
				if !strings.HasPrefix(got[name], "arn:aws:secretsmanager:") {
					t.Errorf("%s/%s: %s from %q, want a Secrets Manager ARN", td.Name, c.Name, name, got[name])
				}
			}
			_, admin := got[render.EnvAdminPassword]
			if admin != (td.Name == cronName) {
				t.Errorf("%s/%s: admin password given %v; only the cron runner installs Moodle", td.Name, c.Name, admin)
			}
		}
	}
}

func checkServices(t *testing.T, rec *recorder, _ topology.Spec) {
	cluster := rec.ofType(tECSCluster)[0]
	if cluster.str("settings.0.name") != "containerInsights" || cluster.str("settings.0.value") != "enabled" {
		t.Error("Container Insights is off")
	}
	private := map[string]bool{}
	for _, s := range rec.ofType(tSubnet) {
		if strings.Contains(s.Name, "-private-") {
			private[s.id()] = true
		}
	}
	for _, s := range rec.ofType(tService) {
		if v := s.input("networkConfiguration.assignPublicIp"); !v.IsBool() || v.BoolValue() {
			t.Errorf("%s: assignPublicIp %v", s.Name, v)
		}
		for _, sub := range s.strings("networkConfiguration.subnets") {
			if !private[sub] {
				t.Errorf("%s runs in %s, not a private subnet", s.Name, sub)
			}
		}
		if !s.boolean("deploymentCircuitBreaker.enable") || !s.boolean("deploymentCircuitBreaker.rollback") {
			t.Errorf("%s: no circuit breaker with rollback", s.Name)
		}
	}
}

func checkLogGroups(t *testing.T, rec *recorder, _ topology.Spec) {
	groups := rec.ofType(tLogGroup)
	if len(groups) == 0 {
		t.Fatal("no log groups")
	}
	for _, g := range groups {
		if g.number("retentionInDays") < 30 {
			t.Errorf("%s keeps logs %v days", g.Name, g.number("retentionInDays"))
		}
		if g.str("kmsKeyId") == "" {
			t.Errorf("%s is not encrypted with the cluster key", g.Name)
		}
	}
}

func checkLaunchTemplate(t *testing.T, rec *recorder, _ topology.Spec) {
	lt := rec.ofType(tLaunchTmpl)[0]
	if lt.str("metadataOptions.httpTokens") != "required" || lt.number("metadataOptions.httpPutResponseHopLimit") != 1 {
		t.Errorf("IMDS: tokens %q hop limit %v", lt.str("metadataOptions.httpTokens"), lt.number("metadataOptions.httpPutResponseHopLimit"))
	}
	if lt.str("blockDeviceMappings.0.ebs.encrypted") != "true" || lt.str("blockDeviceMappings.0.ebs.kmsKeyId") == "" {
		t.Error("root volume not encrypted with the cluster key")
	}
	if lt.str("networkInterfaces.0.associatePublicIpAddress") != "false" {
		t.Errorf("associatePublicIpAddress %q", lt.str("networkInterfaces.0.associatePublicIpAddress"))
	}
	if lt.str("iamInstanceProfile.arn") == "" {
		t.Error("no instance profile")
	}
	if lt.str("imageId") != mockAMI {
		t.Errorf("image %q, want the ECS-optimised AMI from SSM", lt.str("imageId"))
	}
	data, err := base64Decode(lt.str("userData"))
	if err != nil || !strings.Contains(data, "ECS_CLUSTER=") {
		t.Errorf("user data %q (%v) does not join the cluster", data, err)
	}
	for _, p := range rec.ofType(tRandomPassword) {
		if strings.Contains(data, generatedSecret(p.Name)) {
			t.Errorf("user data holds the %s secret", p.Name)
		}
	}
	if !regexp.MustCompile(`^#!/bin/bash\n`).MatchString(data) {
		t.Errorf("user data is not a script: %q", data)
	}
}

func checkLeastPrivilege(t *testing.T, rec *recorder, _ topology.Spec) {
	for _, p := range rec.ofType(tRolePolicy) {
		var doc policyDoc
		p.jsonInput(t, "policy", &doc)
		for _, s := range doc.Statement {
			actions, resources := anyStrings(s.Action), anyStrings(s.Resource)
			for _, a := range actions {
				if a == "*" || strings.HasSuffix(a, ":*") {
					t.Errorf("%s: %s allows %s", p.Name, s.Sid, a)
				}
			}
			if slices.Contains(resources, "*") {
				t.Errorf("%s: %s applies to every resource", p.Name, s.Sid)
			}
		}
	}
	objectfs := rec.one(t, tBucket, "moodle-files-objectfs")
	for _, name := range []string{appName + "-task", cronName + "-task"} {
		var doc policyDoc
		rec.one(t, tRolePolicy, name).jsonInput(t, "policy", &doc)
		for _, s := range doc.Statement {
			for _, a := range anyStrings(s.Action) {
				if !strings.HasPrefix(a, "s3:") {
					continue
				}
				for _, r := range anyStrings(s.Resource) {
					if !strings.HasPrefix(r, "arn:aws:s3:::"+objectfs.Name+"-a1b2c3") {
						t.Errorf("%s: %s on %s, outside the objectfs bucket", name, a, r)
					}
				}
			}
		}
	}
	// Each execution role reads exactly its task's secrets.
	for task, want := range map[string]int{appName: 3, cronName: 4} {
		var doc policyDoc
		rec.one(t, tRolePolicy, task+"-execution").jsonInput(t, "policy", &doc)
		for _, s := range doc.Statement {
			if slices.Contains(anyStrings(s.Action), "secretsmanager:GetSecretValue") && len(anyStrings(s.Resource)) != want {
				t.Errorf("%s execution role reads %d secrets, want %d", task, len(anyStrings(s.Resource)), want)
			}
		}
	}
}

func checkProtected(t *testing.T, rec *recorder, _ topology.Spec) {
	for _, token := range dataTypes() {
		resources := rec.ofType(token)
		if len(resources) == 0 {
			t.Errorf("no %s registered", token)
		}
		for _, r := range resources {
			if !r.Protect {
				t.Errorf("%s %s is not protected", token, r.Name)
			}
		}
	}
	if r := rec.one(t, tALB, edgeName); !r.boolean("enableDeletionProtection") {
		t.Error("ALB deletion protection off")
	}
}

func base64Decode(s string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	return string(b), err
}

func TestProdRunsExactlyOneCronRunner(t *testing.T) {
	for _, v := range prodVariants() {
		t.Run(v.name, func(t *testing.T) {
			rec := mustRun(t, "prod", v.edits)
			cron := rec.one(t, tService, cronName)
			if cron.number("desiredCount") != 1 || cron.number("deploymentMaximumPercent") != 100 || cron.number("deploymentMinimumHealthyPercent") != 0 {
				t.Errorf("cron service: desired %v, max %v%%, min %v%%; want 1, 100, 0",
					cron.number("desiredCount"), cron.number("deploymentMaximumPercent"), cron.number("deploymentMinimumHealthyPercent"))
			}
			for _, target := range rec.ofType(tScaleTarget) {
				if strings.Contains(target.str("resourceId"), cronName) {
					t.Errorf("autoscaling targets the cron service: %s", target.str("resourceId"))
				}
			}
			// Only the cron task runs the runner, and it runs nothing else.
			runners := 0
			for _, td := range rec.ofType(tTaskDef) {
				for _, c := range td.containers(t) {
					// The init container only writes the runner's file.
					if c.Essential && strings.Contains(strings.Join(c.Command, " "), "moodle-cron") {
						runners++
						if td.Name != cronName {
							t.Errorf("%s/%s runs the cron runner", td.Name, c.Name)
						}
					}
				}
			}
			if runners != 1 {
				t.Errorf("%d containers run the cron runner, want 1", runners)
			}
			if runner := rec.one(t, tTaskDef, cronName).renderedFiles(t)["MOODLE_FILE_CRON"]; runner != render.CronRunner(stackSpec(t, "prod", v.edits)) {
				t.Error("the cron task does not get the rendered cron runner")
			}
		})
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

func TestProdSecurityGroupReachability(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edits map[string]any
		// want maps "group/port" to the groups that may connect to it.
		want map[string][]string
	}{
		{"fargate", nil, map[string][]string{
			"alb/80": {"0.0.0.0/0"}, "alb/443": {"0.0.0.0/0"}, "app/8080": {"alb"},
			"db/5432": {"app", "cron"}, "redis/6379": {"app", "cron"}, "efs/2049": {"app", "cron"},
		}},
		{"ec2 instances mount EFS", map[string]any{"app.launchType": topology.LaunchEC2}, map[string][]string{
			"alb/80": {"0.0.0.0/0"}, "alb/443": {"0.0.0.0/0"}, "app/8080": {"alb"},
			"db/5432": {"app", "cron"}, "redis/6379": {"app", "cron"}, "efs/2049": {"app", "cron", "ecs-instances"},
		}},
		{"rdsproxy in front of the database", map[string]any{"database.pooler": topology.PoolerRDSProxy}, map[string][]string{
			"alb/80": {"0.0.0.0/0"}, "alb/443": {"0.0.0.0/0"}, "app/8080": {"alb"},
			"db/5432": {"app", "cron", "db-proxy"}, "db-proxy/5432": {"app", "cron"},
			"redis/6379": {"app", "cron"}, "efs/2049": {"app", "cron"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := mustRun(t, "prod", tc.edits)
			got := map[string][]string{}
			for _, r := range securityGroupRules(rec) {
				if !r.egress {
					key := fmt.Sprintf("%s/%d", r.group, r.port)
					got[key] = append(got[key], r.peer)
				}
			}
			for k := range got {
				sort.Strings(got[k])
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("who reaches what:\n got %v\nwant %v", got, tc.want)
			}
			// The resources sit in the groups the graph is about.
			sg := func(role string) string { return "moodle-network-" + role + "-id" }
			for _, db := range rec.ofType(tDB) {
				if g := db.strings("vpcSecurityGroupIds"); !reflect.DeepEqual(g, []string{sg("db")}) {
					t.Errorf("%s in groups %v", db.Name, g)
				}
			}
			for _, r := range rec.ofType(tRedis) {
				if g := r.strings("securityGroupIds"); !reflect.DeepEqual(g, []string{sg("redis")}) {
					t.Errorf("%s in groups %v", r.Name, g)
				}
			}
			for _, m := range rec.ofType(tEFSMount) {
				if g := m.strings("securityGroups"); !reflect.DeepEqual(g, []string{sg("efs")}) {
					t.Errorf("%s in groups %v", m.Name, g)
				}
			}
			for name, role := range map[string]string{appName: "app", cronName: "cron"} {
				if g := rec.one(t, tService, name).strings("networkConfiguration.securityGroups"); !reflect.DeepEqual(g, []string{sg(role)}) {
					t.Errorf("%s in groups %v", name, g)
				}
			}
			if g := rec.one(t, tALB, edgeName).strings("securityGroups"); !reflect.DeepEqual(g, []string{sg("alb")}) {
				t.Errorf("the ALB in groups %v", g)
			}
		})
	}
}

func TestProdKeepsSecretsOutOfPlainText(t *testing.T) {
	for _, v := range prodVariants() {
		t.Run(v.name, func(t *testing.T) {
			rec := mustRun(t, "prod", v.edits)
			passwords := rec.ofType(tRandomPassword)
			if len(passwords) != 4 {
				t.Fatalf("%d generated passwords, want the database, Redis, upgrade key and admin ones", len(passwords))
			}
			for _, p := range passwords {
				secret := generatedSecret(p.Name)
				stored := false
				for _, res := range rec.resources {
					for _, s := range plainStrings(resource.NewObjectProperty(res.Inputs)) {
						if strings.Contains(s, secret) {
							t.Errorf("%s %s holds the %s password in plain text", res.Type, res.Name, p.Name)
						}
					}
					if res.Type == tSecretVersion && strings.Contains(res.str("secretString"), secret) {
						stored = res.Inputs["secretString"].IsSecret()
					}
				}
				if !stored {
					t.Errorf("the %s password is not kept, as a secret, in Secrets Manager", p.Name)
				}
			}
		})
	}
}

func TestProdAppCountsLeaveDataUntouched(t *testing.T) {
	base := mustRun(t, "prod", nil)
	for _, edits := range []map[string]any{
		{"app.replicas": 6},
		{"app.minReplicas": 2, "app.maxReplicas": 30},
		{"app.replicas": 4, "app.minReplicas": 4, "app.maxReplicas": 4},
	} {
		t.Run(fmt.Sprint(edits), func(t *testing.T) {
			changed := mustRun(t, "prod", edits)
			for _, token := range dataTypes() {
				before, after := base.ofType(token), changed.ofType(token)
				if len(before) != len(after) {
					t.Fatalf("%s: %d before, %d after", token, len(before), len(after))
				}
				for i := range before {
					if before[i].Name != after[i].Name || !before[i].Inputs.DeepEquals(after[i].Inputs) {
						t.Errorf("%s %s changes with %v", token, before[i].Name, edits)
					}
				}
			}
			// The edit did reach the app tier.
			svc := changed.one(t, tService, appName)
			target := changed.ofType(tScaleTarget)[0]
			spec := stackSpec(t, "prod", edits)
			if svc.number("desiredCount") != float64(spec.App.Replicas) || target.number("maxCapacity") != float64(spec.App.MaxReplicas) || target.number("minCapacity") != float64(spec.App.MinReplicas) {
				t.Errorf("app tier: desired %v min %v max %v; want %d %d %d", svc.number("desiredCount"),
					target.number("minCapacity"), target.number("maxCapacity"), spec.App.Replicas, spec.App.MinReplicas, spec.App.MaxReplicas)
			}
		})
	}
}

func TestProdConfigErrorsRegisterNothing(t *testing.T) {
	for _, tc := range []struct {
		name, key string
		edits     map[string]any
	}{
		{"no certificate", "aws.certificateArn", map[string]any{"aws.certificateArn": nil}},
		{"a single zone cannot be Multi-AZ", "aws.azCount", map[string]any{"aws.azCount": 1}},
		{"backups kept less than a week", "database.backupRetentionDays", map[string]any{"database.backupRetentionDays": 3}},
		{"no read replica", "database.readReplicas", map[string]any{"database.readReplicas": 0}},
		{"no app node", "app.replicas", map[string]any{"app.replicas": 0}},
		{"Redis without a replica cannot fail over", "cache.replicas", map[string]any{"cache.replicas": 1}},
		{"Redis without TLS", "cache.tls", map[string]any{"cache.tls": false}},
		{"logs kept a week", "aws.logRetentionDays", map[string]any{"aws.logRetentionDays": 7}},
		{"an existing VPC with too few subnets", "aws.privateSubnetIds", mergeEdits(existingVPC(), map[string]any{"aws.privateSubnetIds": []string{"subnet-0b1000000000000"}})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := run(t, "prod", tc.edits)
			if err == nil {
				t.Fatalf("prod with %v deployed", tc.edits)
			}
			if !strings.Contains(err.Error(), tc.key) {
				t.Errorf("the error does not name %s: %v", tc.key, err)
			}
			if len(rec.resources) != 0 {
				t.Errorf("%d resources registered before the error", len(rec.resources))
			}
		})
	}
}

func mergeEdits(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for _, m := range []map[string]any{a, b} {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func TestProdDeliversTheRenderedFiles(t *testing.T) {
	for _, v := range prodVariants() {
		t.Run(v.name, func(t *testing.T) {
			spec := stackSpec(t, "prod", v.edits)
			rec := mustRun(t, "prod", v.edits)
			app := rec.one(t, tTaskDef, appName).renderedFiles(t)
			if app["MOODLE_FILE_FPM_POOL"] != render.PHPFPMPool(spec, render.NodeFastCGI.String()) || app["MOODLE_FILE_PHP_INI"] != render.PHPIni(spec) {
				t.Error("the app task does not get the rendered pool and php.ini")
			}
			if !strings.Contains(app["MOODLE_FILE_NGINX_CONF"], "fastcgi_pass "+render.NodeFastCGI.String()) {
				t.Error("the node's nginx does not pass to php-fpm on localhost")
			}
			for _, td := range rec.ofType(tTaskDef) {
				// ECS refuses task definitions above 64 KiB.
				if n := len(td.str("containerDefinitions")); n > 60*1024 {
					t.Errorf("%s: container definitions are %d bytes, too close to the 64 KiB limit", td.Name, n)
				}
			}
			if spec.Storage.Kind == topology.StorageS3 {
				for _, c := range rec.one(t, tTaskDef, appName).containers(t) {
					if c.Name != "php-fpm" {
						continue
					}
					env := map[string]string{}
					for _, e := range c.Environment {
						env[e.Name] = e.Value
					}
					if env[render.EnvS3Bucket] != "moodle-files-objectfs-a1b2c3" || env[render.EnvS3Region] != mockRegion {
						t.Errorf("php-fpm gets bucket %q region %q", env[render.EnvS3Bucket], env[render.EnvS3Region])
					}
				}
			}
		})
	}
}

func TestProdPlainHTTPTestSite(t *testing.T) {
	edits := map[string]any{"aws.certificateArn": nil, "aws.allowPlainHttp": true, "siteUrl": "http://moodle.example.edu"}
	rec := mustRun(t, "prod", edits)
	listeners := rec.ofType(tListener)
	if len(listeners) != 1 || listeners[0].str("defaultActions.0.type") != "forward" {
		t.Fatalf("want one HTTP listener that forwards, got %d", len(listeners))
	}
	for _, r := range securityGroupRules(rec) {
		if r.port == 443 && !r.egress {
			t.Errorf("%s opens 443 without a certificate", r.group)
		}
	}
}

func TestProdAdoptsAnExistingVPC(t *testing.T) {
	edits := existingVPC()
	rec := mustRun(t, "prod", edits)
	for _, token := range []string{tVPC, tSubnet, tNAT, tDefaultSG} {
		if n := len(rec.ofType(token)); n != 0 {
			t.Errorf("%d %s created in an adopted VPC", n, token)
		}
	}
	private := edits["aws.privateSubnetIds"].([]string)
	if got := rec.one(t, tService, appName).strings("networkConfiguration.subnets"); !reflect.DeepEqual(got, private) {
		t.Errorf("app tasks in %v, want %v", got, private)
	}
	if got := rec.one(t, tTargetGroup, edgeName).str("vpcId"); got != edits["aws.vpcId"] {
		t.Errorf("target group in %q", got)
	}
	nginx := rec.one(t, tTaskDef, appName).renderedFiles(t)["MOODLE_FILE_NGINX_CONF"]
	if !strings.Contains(nginx, "allow "+mockVPCCIDR+";") {
		t.Errorf("the adopted VPC's range %s may not reach the health check", mockVPCCIDR)
	}
}

func TestProdAlarmsWatchEveryTier(t *testing.T) {
	spec := stackSpec(t, "prod", nil)
	rec := mustRun(t, "prod", nil)
	topic := rec.ofType("aws:sns/topic:Topic")
	if len(topic) != 1 || topic[0].str("kmsMasterKeyId") == "" {
		t.Fatal("want one KMS-encrypted alarm topic")
	}
	subs := rec.ofType("aws:sns/topicSubscription:TopicSubscription")
	if len(subs) != 1 || subs[0].str("endpoint") != spec.AWS.AlarmEmail || subs[0].str("protocol") != "email" {
		t.Errorf("alarm e-mail subscription %v, want %s", subs, spec.AWS.AlarmEmail)
	}
	count := map[string]int{}
	for _, a := range rec.ofType(tAlarm) {
		count[a.str("namespace")+" "+a.str("metricName")]++
		if actions := a.strings("alarmActions"); len(actions) != 1 || actions[0] != mockARN(topic[0].Type, topic[0].Name) {
			t.Errorf("alarm %s notifies %v, not the topic", a.Name, actions)
		}
	}
	dbInstances := 1 + spec.Database.ReadReplicas
	want := map[string]int{
		"AWS/ApplicationELB HTTPCode_ELB_5XX_Count":     1,
		"AWS/ApplicationELB HTTPCode_Target_5XX_Count":  1,
		"AWS/ApplicationELB TargetResponseTime":         1,
		"AWS/ApplicationELB UnHealthyHostCount":         1,
		"AWS/RDS CPUUtilization":                        dbInstances,
		"AWS/RDS FreeStorageSpace":                      dbInstances,
		"AWS/RDS DatabaseConnections":                   dbInstances,
		"AWS/RDS ReplicaLag":                            spec.Database.ReadReplicas,
		"AWS/ElastiCache DatabaseMemoryUsagePercentage": spec.Cache.Replicas,
		"AWS/ElastiCache Evictions":                     spec.Cache.Replicas,
		"AWS/ElastiCache EngineCPUUtilization":          spec.Cache.Replicas,
		"AWS/ECS CPUUtilization":                        2,
		"AWS/ECS MemoryUtilization":                     2,
	}
	if !reflect.DeepEqual(count, want) {
		t.Errorf("alarms by metric:\n got %v\nwant %v", count, want)
	}
	if n := len(rec.ofType("aws:cloudwatch/dashboard:Dashboard")); n != 1 {
		t.Errorf("%d dashboards, want 1", n)
	}
}

func TestProdALBWaitsLongerThanPHP(t *testing.T) {
	for _, timeout := range []int{300, 900, 3600} {
		t.Run(fmt.Sprint(timeout), func(t *testing.T) {
			edits := map[string]any{"web.fastcgiReadTimeout": timeout}
			spec := stackSpec(t, "prod", edits)
			idle := mustRun(t, "prod", edits).one(t, tALB, edgeName).number("idleTimeout")
			if idle <= float64(spec.Web.FastCGIReadTimeout) {
				t.Errorf("ALB idle timeout %v s, not above fastcgi_read_timeout %d s", idle, spec.Web.FastCGIReadTimeout)
			}
		})
	}
}

func TestProdAutoscalesOnCPUAndRequests(t *testing.T) {
	spec := stackSpec(t, "prod", nil)
	rec := mustRun(t, "prod", nil)
	targets := rec.ofType(tScaleTarget)
	if len(targets) != 1 || !strings.HasSuffix(targets[0].str("resourceId"), "/"+appName+"-a1b2c3") {
		t.Fatalf("autoscaling targets %v, want the app service", targets)
	}
	metrics := map[string]registered{}
	for _, p := range rec.ofType(tScalePolicy) {
		metrics[p.str("targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType")] = p
	}
	if _, ok := metrics["ECSServiceAverageCPUUtilization"]; !ok {
		t.Error("no CPU target tracking")
	}
	requests, ok := metrics["ALBRequestCountPerTarget"]
	if !ok {
		t.Fatal("no requests-per-target tracking")
	}
	label := requests.str("targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.resourceLabel")
	alb, tg := rec.one(t, tALB, edgeName), rec.one(t, tTargetGroup, edgeName)
	if label != "app/"+alb.Name+"/50dc6c495c0c9188/targetgroup/"+tg.Name+"/73e2d6bc24d8a067" {
		t.Errorf("resource label %q does not name the ALB and target group", label)
	}
	if got, want := requests.number("targetTrackingScalingPolicyConfiguration.targetValue"), float64(awscloud.RequestsPerTarget(spec)); got != want || want <= 0 {
		t.Errorf("requests per target %v, want %v", got, want)
	}
}

func TestProdOnlyTheCronRunnerInstallsMoodle(t *testing.T) {
	spec := stackSpec(t, "prod", nil)
	rec := mustRun(t, "prod", nil)
	installer := map[string]string{
		"MOODLE_ADMIN_USER":     spec.Moodle.AdminUser,
		"MOODLE_ADMIN_EMAIL":    spec.Moodle.AdminEmail,
		"MOODLE_SITE_FULLNAME":  spec.Moodle.SiteName,
		"MOODLE_SITE_SHORTNAME": spec.Moodle.SiteName,
	}
	for _, task := range []string{appName, cronName} {
		for _, c := range rec.one(t, tTaskDef, task).containers(t) {
			if c.Name == "render-files" || c.Name == "nginx" {
				continue
			}
			env := map[string]string{}
			for _, e := range c.Environment {
				env[e.Name] = e.Value
			}
			if env["MOODLE_DIRROOT"] != spec.Paths.CodeDir || env["MOODLE_DATAROOT"] != spec.Paths.DataRoot {
				t.Errorf("%s/%s: MOODLE_DIRROOT %q MOODLE_DATAROOT %q", task, c.Name, env["MOODLE_DIRROOT"], env["MOODLE_DATAROOT"])
			}
			for k, v := range installer {
				if got, ok := env[k]; (task == cronName) != ok || (ok && got != v) {
					t.Errorf("%s/%s: %s = %q (set %v)", task, c.Name, k, got, ok)
				}
			}
		}
	}
}

func TestProdResourcesLiveInTheirComponents(t *testing.T) {
	rec := mustRun(t, "prod", nil)
	for _, r := range rec.resources {
		if r.Type == "moodle:aws:Cluster" {
			if r.Parent != "" && !strings.HasSuffix(r.Parent, "::moodle-prod") {
				t.Errorf("the cluster is parented to %s", r.Parent)
			}
			continue
		}
		if !strings.Contains(r.Parent, "moodle:aws:") {
			t.Errorf("%s %s is not a child of a moodle:aws component (parent %q)", r.Type, r.Name, r.Parent)
		}
		if !strings.HasPrefix(r.Name, "moodle-") {
			t.Errorf("%s %s: name not derived from the cluster's", r.Type, r.Name)
		}
	}
}
