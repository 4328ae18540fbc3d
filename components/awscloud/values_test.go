package awscloud

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// The values below are the ones AWS validates on create. No AWS account is
// reachable from the tests, so each table holds what the provider (or the AWS API
// model it is generated from) accepts, copied from the named source file, and the
// program's values are checked against it.

// elastiCacheRedisFamilies are the Redis OSS parameter group families, from
// aws/aws-sdk-js clients/elasticache.d.ts (CacheParameterGroup.CacheParameterGroupFamily:
// "redis2.6 | redis2.8 | redis3.2 | redis4.0 | redis5.0 | redis6.x | redis7").
var elastiCacheRedisFamilies = []string{"redis2.6", "redis2.8", "redis3.2", "redis4.0", "redis5.0", "redis6.x", "redis7"}

// redisEngineVersion is validRedisVersionString of hashicorp/terraform-provider-aws
// internal/service/elasticache/engine_version.go: <major>.<minor> from 6 on.
var redisEngineVersion = regexp.MustCompile(`^[1-5](\.[[:digit:]]+){2}$|^((6)\.x)|([6-9]\.[[:digit:]]+)$`)

func TestRedisVersionsHaveAnElastiCacheFamily(t *testing.T) {
	want := map[string]string{"6.2": "redis6.x", "7.0": "redis7", "7.1": "redis7"}
	for _, v := range topology.RedisVersions {
		t.Run(v, func(t *testing.T) {
			if !redisEngineVersion.MatchString(v) {
				t.Errorf("engine version %q is refused by the provider", v)
			}
			family := redisFamily(v)
			if !slices.Contains(elastiCacheRedisFamilies, family) {
				t.Errorf("family %q of %s is not an ElastiCache family %v", family, v, elastiCacheRedisFamilies)
			}
			if family != want[v] {
				t.Errorf("family of %s = %q, want %q", v, family, want[v])
			}
		})
	}
}

// Bounds the provider validates, from hashicorp/terraform-provider-aws:
// internal/service/elbv2/target_group.go (deregistration_delay IntBetween(0, 3600))
// and internal/service/elbv2/load_balancer.go (idle_timeout IntBetween(1, 4000)).
// stopTimeout is bounded by ECS itself: "The max stop timeout value is 120 seconds"
// (aws/aws-sdk-js clients/ecs.d.ts, ContainerDefinition.stopTimeout, Fargate).
const (
	tfDeregistrationDelayMax = 3600
	tfIdleTimeoutMax         = 4000
	ecsFargateStopTimeoutMax = 120
)

// The web tier's timeouts are valid AWS values over the whole range validation
// allows for web.fastcgiReadTimeout (30..3600), and each one outlasts a PHP request.
func TestWebTimeoutsStayWithinWhatAWSAccepts(t *testing.T) {
	for _, read := range []int{30, 300, 3595, 3600} {
		w := topology.Web{FastCGIReadTimeout: read}
		idle, drain := w.LoadBalancerIdleTimeout(), DeregistrationDelay(w)
		if idle < 1 || idle > tfIdleTimeoutMax {
			t.Errorf("read timeout %d: ALB idle timeout %d outside 1..%d", read, idle, tfIdleTimeoutMax)
		}
		if drain < read || drain > tfDeregistrationDelayMax {
			t.Errorf("read timeout %d: deregistration delay %d, want %d..%d", read, drain, read, tfDeregistrationDelayMax)
		}
	}
	if stopTimeoutSeconds > ecsFargateStopTimeoutMax || stopTimeoutSeconds <= 30 {
		t.Errorf("stop timeout %d s, want above ECS's 30 s default and at most %d", stopTimeoutSeconds, ecsFargateStopTimeoutMax)
	}
}

// rdsIdentifier is validIdentifier of hashicorp/terraform-provider-aws
// internal/service/rds/validate.go: lower-case letters, digits and hyphens, a letter
// first, no two hyphens in a row, no hyphen last, at most 63 characters.
var rdsIdentifier = regexp.MustCompile(`^[a-z](-?[0-9a-z])*$`)

// rdsPostgresLogExports are the log types RDS for PostgreSQL exports, from
// hashicorp/terraform-provider-aws internal/service/rds/consts.go
// (instanceExportableLogType_Values).
var rdsPostgresLogExports = []string{"postgresql", "upgrade", "iam-db-auth-error"}

func TestDatabaseNamesAndExportsAreWhatRDSAccepts(t *testing.T) {
	for _, tc := range []struct{ project, stack, name string }{
		{"moodle", "prod", "moodle-db"},
		{"moodle", "Staging_2", "moodle-db-replica-5"},
		{"9lives", "a--b", "moodle-db"},
		{"moodle", strings.Repeat("very-long-stack-", 8), "moodle-db-replica-1"},
	} {
		id := physicalNameOf(tc.project, tc.stack, tc.name, rdsIdentifierLength-9) + "-" + "0a1b2c3d"
		if !rdsIdentifier.MatchString(id) || len(id) > rdsIdentifierLength {
			t.Errorf("%s/%s/%s: identifier %q is refused by RDS", tc.project, tc.stack, tc.name, id)
		}
	}
	for _, export := range postgresLogExports {
		if !slices.Contains(rdsPostgresLogExports, export) {
			t.Errorf("log export %q is not one RDS for PostgreSQL offers", export)
		}
	}
}

// The instance classes and types the stacks ship are constants of the provider's
// own enumerations (pulumi-aws sdk/v6 go/aws/rds/pulumiEnums.go and
// go/aws/ec2/pulumiEnums.go, generated from its schema), and so are the managed
// policies the roles attach (go/aws/iam/pulumiEnums.go): a value the provider does
// not know would have no constant, and this test would not compile.
func TestShippedSizesAndPoliciesAreInTheProviderEnums(t *testing.T) {
	defaults, err := topology.Defaults(topology.TargetAWS)
	if err != nil {
		t.Fatal(err)
	}
	a := Account{Partition: "aws"}
	for _, tc := range []struct{ what, got, enum string }{
		{"default database.instanceClass", defaults.Database.InstanceClass, string(rds.InstanceType_R6G_Large)},
		{"prod database.instanceClass", "db.r6g.xlarge", string(rds.InstanceType_R6G_XLarge)},
		{"default aws.ec2InstanceType", defaults.AWS.EC2InstanceType, string(ec2.InstanceType_M6i_XLarge)},
		{"a Graviton aws.ec2InstanceType", "m7g.xlarge", string(ec2.InstanceType_M7g_XLarge)},
		{"task execution policy", a.managedPolicy("service-role/AmazonECSTaskExecutionRolePolicy"), string(iam.ManagedPolicyAmazonECSTaskExecutionRolePolicy)},
		{"container instance policy", a.managedPolicy("service-role/AmazonEC2ContainerServiceforEC2Role"), string(iam.ManagedPolicyAmazonEC2ContainerServiceforEC2Role)},
		{"session manager policy", a.managedPolicy("AmazonSSMManagedInstanceCore"), string(iam.ManagedPolicyAmazonSSMManagedInstanceCore)},
		{"enhanced monitoring policy", a.managedPolicy("service-role/AmazonRDSEnhancedMonitoringRole"), string(iam.ManagedPolicyAmazonRDSEnhancedMonitoringRole)},
	} {
		if tc.got != tc.enum {
			t.Errorf("%s: %q, the provider knows %q", tc.what, tc.got, tc.enum)
		}
	}
	for _, class := range []string{string(rds.InstanceType_R6G_Large), string(rds.InstanceType_R6G_XLarge), string(rds.InstanceType_T4G_Micro)} {
		if _, ok := topology.RDSMaxConnections(class); !ok {
			t.Errorf("max_connections of %s cannot be known", class)
		}
	}
}

// cloudFrontMinimumProtocolVersions are CloudFront's viewer security policies, from
// aws/aws-sdk-js-v3 clients/client-cloudfront (the MinimumProtocolVersion enum).
var cloudFrontMinimumProtocolVersions = []string{
	"SSLv3", "TLSv1", "TLSv1_2016", "TLSv1.1_2016", "TLSv1.2_2018", "TLSv1.2_2019", "TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025",
}

func TestCloudFrontViewerPolicyIsOneCloudFrontOffers(t *testing.T) {
	if !slices.Contains(cloudFrontMinimumProtocolVersions, cloudFrontTLSPolicy) {
		t.Errorf("viewer policy %q is not one of %v", cloudFrontTLSPolicy, cloudFrontMinimumProtocolVersions)
	}
	if strings.HasPrefix(cloudFrontTLSPolicy, "SSL") || strings.HasPrefix(cloudFrontTLSPolicy, "TLSv1_") || strings.HasPrefix(cloudFrontTLSPolicy, "TLSv1.1") {
		t.Errorf("viewer policy %q admits TLS below 1.2", cloudFrontTLSPolicy)
	}
}
