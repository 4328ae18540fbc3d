package stack_test

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

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
	tListenerRule   = "aws:lb/listenerRule:ListenerRule"
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
		{"graviton", map[string]any{"app.cpuArchitecture": topology.ArchARM64}},
		{"fargate spot", map[string]any{"app.spotPercent": 50}},
		{"ecs exec", map[string]any{"aws.ecsExec": true}},
		{"vpc endpoints", map[string]any{"aws.vpcEndpoints": true}},
		{"route 53", map[string]any{"aws.hostedZoneId": mockZoneID}},
		{"cloudfront", cloudFront()},
		{"image built by up", builtProd(nil)},
	}
}

// s3Storage puts the file pool in S3, with the app image declaring the plugins that
// needs (validation refuses s3 storage without them).
func s3Storage() map[string]any {
	return map[string]any{"storage.kind": topology.StorageS3, "moodle.plugins": topology.S3Plugins}
}

// cloudFront puts the distribution in front of the ALB.
func cloudFront() map[string]any {
	return map[string]any{"aws.cloudFront": map[string]any{"enabled": true, "certificateArn": mockCloudFrontCertificate}}
}

// mockCloudFrontCertificate is an ACM certificate in us-east-1, where CloudFront
// takes them from.
const mockCloudFrontCertificate = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-1111-1111-1111-111111111111"

// mockZoneID is the hosted zone the route 53 variant names.
const mockZoneID = "Z0123456789EXAMPLE"

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
	return []string{tDB, tRedis, tEFS, tBucket, tSecret, tSecretVersion, tKey, tVault}
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
			cdn := boolCount(spec.AWS.CloudFront.Enabled)
			want := map[string]int{
				tVPC:            created,
				tSubnet:         3 * zones * created,
				tNAT:            natGateways * created,
				tFlowLog:        created,
				tDefaultSG:      created,
				tALB:            1,
				tListener:       2,
				tWebACL:         boolCount(spec.AWS.WAF && !spec.AWS.CloudFront.Enabled) + cdn, // one in front of the site
				tDB:             1 + spec.Database.ReadReplicas,
				tProxy:          proxy,
				tProxyTarget:    proxy,
				tRedis:          2,
				tEFS:            1,
				tEFSMount:       len(spec.AWS.PrivateSubnetIDs) + zones*created,
				tBucket:         1 + s3,
				tService:        2 + boolCount(spec.Cron.Adhoc.Workers > 0), // app, cron, ad hoc workers
				tTaskDef:        2 + boolCount(spec.Cron.Adhoc.Workers > 0),
				tLaunchTmpl:     ec2,
				tASG:            ec2,
				tCapacity:       ec2,
				tSecret:         4,
				tRandomPassword: 4 + cdn, // the origin secret CloudFront sends the ALB
				tKey:            1 + cdn,
				tDistribution:   cdn,
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
		{"CKV_AWS_51,CKV_AWS_163,CKV_AWS_136/ECR repository: immutable tags, scan on push, KMS, lifecycle policy", builtProd(nil), checkRepository},
		{"project rule/data resources are protected", nil, checkProtected},
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
	// Each execution role reads exactly its task's secrets: the database, Redis,
	// upgrade key and relay passwords, and on cron the admin password.
	for task, want := range map[string]int{appName: 4, cronName: 5} {
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
	// A destroy keeps the final snapshots and the retained backups; a key scheduled
	// for deletion with them would make them unreadable.
	for _, key := range rec.ofType(tKey) {
		if !key.RetainOnDelete {
			t.Errorf("key %s is deleted by a destroy that keeps the snapshots it encrypts", key.Name)
		}
	}
	// S3 deletes no bucket holding objects or versions (the versioned log bucket
	// always does): a destroy leaves them instead of failing half-way.
	for _, bucket := range rec.ofType(tBucket) {
		if !bucket.RetainOnDelete {
			t.Errorf("bucket %s: a destroy would fail on its objects", bucket.Name)
		}
	}
}

func TestProdKeepsSecretsOutOfPlainText(t *testing.T) {
	for _, v := range prodVariants() {
		t.Run(v.name, func(t *testing.T) {
			spec := stackSpec(t, "prod", v.edits)
			rec := mustRun(t, "prod", v.edits)
			passwords := rec.ofType(tRandomPassword)
			if want := 4 + boolCount(spec.AWS.CloudFront.Enabled); len(passwords) != want {
				t.Fatalf("%d generated passwords, want the database, Redis, upgrade key and admin ones (and CloudFront's origin secret): %d", len(passwords), want)
			}
			for _, p := range passwords {
				secret := generatedSecret(p.Name)
				// The origin secret is read by no task: it travels, as a secret, in the
				// distribution's origin header and the listener rule that checks it.
				if strings.HasSuffix(p.Name, "-origin-secret") {
					checkOriginSecret(t, rec, secret)
					continue
				}
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

// checkOriginSecret finds CloudFront's origin secret, as a secret, in the header
// the distribution sends and in the listener rule that forwards on it, and nowhere
// in plain text.
func checkOriginSecret(t *testing.T, rec *recorder, secret string) {
	t.Helper()
	for _, res := range rec.resources {
		for _, s := range plainStrings(resource.NewObjectProperty(res.Inputs)) {
			if strings.Contains(s, secret) {
				t.Errorf("%s %s holds the origin secret in plain text", res.Type, res.Name)
			}
		}
	}
	header := rec.ofType(tDistribution)[0].input("origins").ArrayValue()[0].ObjectValue()["customHeaders"]
	rule := rec.ofType(tListenerRule)[0].input("conditions").ArrayValue()[0].ObjectValue()["httpHeader"]
	for what, v := range map[string]resource.PropertyValue{"distribution's header": header, "listener rule": rule} {
		if !v.ContainsSecrets() || !strings.Contains(fmt.Sprint(v), secret) {
			t.Errorf("the %s does not carry the origin secret as a secret: %v", what, v)
		}
	}
}

func TestProdAppCountsLeaveDataUntouched(t *testing.T) {
	base := mustRun(t, "prod", nil)
	for _, edits := range []map[string]any{
		{"app.replicas": 6},
		{"app.minReplicas": 2, "app.maxReplicas": 18},
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
		// EFS takes one mount target per zone (CreateMountTarget: MountTargetConflict).
		{"two private subnets of an existing VPC in one zone", "aws.privateSubnetIds", mergeEdits(existingVPC(), map[string]any{
			"aws.privateSubnetIds": []string{"subnet-0b1000000000000", "subnet-0b1000000000001", "subnet-0b3000000000000"}})},
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

// Pulumi allows "." in a stack name; the names AWS allows fewer characters in are
// made of letters, digits, hyphens and underscores whatever the stack is called:
// a task definition's family (ECS RegisterTaskDefinition) and a dashboard's name
// (CloudWatch PutDashboard).
func TestProdNamesAWSRestrictsFollowAStackNameWithADot(t *testing.T) {
	rec := &recorder{}
	cfg := stackConfig(t, "prod")
	if err := pulumi.RunErr(program(roomyHost), pulumi.WithMocks("moodle", "prod.eu-west-1", rec),
		func(ri *pulumi.RunInfo) { ri.Config = cfg }); err != nil {
		t.Fatal(err)
	}
	allowed := regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	for token, field := range map[string]string{tTaskDef: "family", "aws:cloudwatch/dashboard:Dashboard": "dashboardName"} {
		resources := rec.ofType(token)
		if len(resources) == 0 {
			t.Errorf("no %s registered", token)
		}
		for _, r := range resources {
			if name := r.str(field); !allowed.MatchString(name) {
				t.Errorf("%s %s: %s %q has characters AWS refuses", token, r.Name, field, name)
			}
		}
	}
}
