package stack_test

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/awscloud"
	"github.com/moodle-cluster/moodle-pulumi/components/render"
)

const tMetricFilter = "aws:cloudwatch/logMetricFilter:LogMetricFilter"

// A dead cron is noticed: the cron task not running, and no cron.php run
// completed for longer than the longest run may take. Both alarm when no data
// arrives, which is what a dead runner sends.
func TestProdDeadCronRaisesAlarms(t *testing.T) {
	spec := stackSpec(t, "prod", nil)
	rec := mustRun(t, "prod", nil)
	alarm := func(name string) registered { return rec.one(t, tAlarm, "moodle-alarms-"+name) }

	running := alarm("cron-not-running")
	if running.str("namespace") != "ECS/ContainerInsights" || running.str("metricName") != "RunningTaskCount" ||
		running.str("comparisonOperator") != "LessThanThreshold" || running.number("threshold") != 1 ||
		running.str("treatMissingData") != "breaching" {
		t.Errorf("cron-not-running: %s %s %s %v, missing data %s", running.str("namespace"), running.str("metricName"),
			running.str("comparisonOperator"), running.number("threshold"), running.str("treatMissingData"))
	}
	cluster := rec.ofType(tECSCluster)[0]
	if running.str("dimensions.ClusterName") != cluster.str("name") || running.str("dimensions.ServiceName") != cronName+"-a1b2c3" {
		t.Errorf("cron-not-running watches %v", running.input("dimensions"))
	}

	filters := rec.ofType(tMetricFilter)
	if len(filters) != 2 {
		t.Fatalf("%d log metric filters, want the completed and the failed cron runs", len(filters))
	}
	byPattern := map[string]registered{}
	for _, f := range filters {
		if f.str("logGroupName") != rec.one(t, tLogGroup, cronName).Name+"-a1b2c3" {
			t.Errorf("filter %q reads %q, want the cron log", f.str("pattern"), f.str("logGroupName"))
		}
		byPattern[f.str("pattern")] = f
	}
	f, ok := byPattern[strconv.Quote(render.CronCompleted)]
	if !ok {
		t.Fatalf("no filter counts the runner's completed runs (%q)", render.CronCompleted)
	}
	// A runner that fails every interval (an upgrade pending, CLI maintenance left
	// on) alarms within minutes, not after the long silence.
	failed, ok := byPattern[strconv.Quote(render.CronFailed)]
	failing := alarm("cron-failing")
	if !ok || failing.str("metricName") != failed.str("metricTransformation.name") || failing.str("comparisonOperator") != "GreaterThanThreshold" ||
		failing.number("period")*failing.number("evaluationPeriods") > 900 || failing.str("treatMissingData") != "notBreaching" {
		t.Errorf("cron-failing: %s %s over %v × %v s, missing data %s; want the failed runs' metric within 15 minutes, no data healthy",
			failing.str("metricName"), failing.str("comparisonOperator"), failing.number("evaluationPeriods"), failing.number("period"), failing.str("treatMissingData"))
	}
	completed := alarm("cron-no-completed-run")
	minutes := awscloud.CronSilenceMinutes(spec.Cron)
	if completed.str("namespace") != f.str("metricTransformation.namespace") || completed.str("metricName") != f.str("metricTransformation.name") ||
		completed.str("statistic") != "Sum" || completed.str("comparisonOperator") != "LessThanThreshold" ||
		completed.number("period")*completed.number("evaluationPeriods") != float64(60*minutes) ||
		completed.str("treatMissingData") != "breaching" {
		t.Errorf("cron-no-completed-run: %s/%s %s %s over %v × %v s, missing data %s; want the filter's metric, < 1 in %d minutes",
			completed.str("namespace"), completed.str("metricName"), completed.str("statistic"), completed.str("comparisonOperator"),
			completed.number("evaluationPeriods"), completed.number("period"), completed.str("treatMissingData"), minutes)
	}
	if minutes < 12*60 {
		t.Errorf("the alarm fires after %d minutes, before Moodle warns of a long task (12 h)", minutes)
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
		"AWS/ElastiCache EngineCPUUtilization":          spec.Cache.Replicas + spec.Cache.MUC.Replicas,
		"AWS/ECS CPUUtilization":                        3, // app, cron, ad hoc workers
		"AWS/ECS MemoryUtilization":                     3,
		"ECS/ContainerInsights RunningTaskCount":        2, // cron, ad hoc workers
		"Moodle/moodle-prod CronRunsCompleted":          1,
		"Moodle/moodle-prod CronRunsFailed":             1,
	}
	if !reflect.DeepEqual(count, want) {
		t.Errorf("alarms by metric:\n got %v\nwant %v", count, want)
	}
	if n := len(rec.ofType("aws:cloudwatch/dashboard:Dashboard")); n != 1 {
		t.Errorf("%d dashboards, want 1", n)
	}
}

// CloudWatch Logs may use a key only for this account's log groups: the
// encryption-context condition of AWS's "Encrypt log data in CloudWatch Logs
// using AWS KMS", which is also what stops another account's log group (the
// confused deputy) from having its data encrypted with the stack's key.
func TestProdKeysServeCloudWatchLogsOnlyForThisAccountsLogGroups(t *testing.T) {
	for _, v := range []prodVariant{{"prod", nil}, {"cloudfront", cloudFront()}} {
		t.Run(v.name, func(t *testing.T) {
			rec := mustRun(t, "prod", v.edits)
			for _, key := range rec.ofType(tKey) {
				var doc policyDoc
				key.jsonInput(t, "policy", &doc)
				var logs int
				for _, s := range doc.Statement {
					p, ok := s.Principal.(map[string]any)
					if !ok || p["Service"] == nil {
						continue
					}
					service := anyStrings(p["Service"])[0]
					region, ok := strings.CutSuffix(strings.TrimPrefix(service, "logs."), ".amazonaws.com")
					if !ok || !strings.HasPrefix(service, "logs.") {
						continue
					}
					logs++
					want := "arn:aws:logs:" + region + ":" + mockAccount + ":log-group:"
					groups := anyStrings(s.Condition["ArnLike"]["kms:EncryptionContext:aws:logs:arn"])
					if s.Effect != "Allow" || len(groups) != 1 || !strings.HasPrefix(groups[0], want) {
						t.Errorf("key %s lets %s use it for %v, want only log groups under %s", key.Name, service, groups, want)
					}
				}
				if logs != 1 {
					t.Errorf("key %s: %d statements for CloudWatch Logs, want 1", key.Name, logs)
				}
			}
		})
	}
}
