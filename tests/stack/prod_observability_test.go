package stack_test

import (
	"reflect"
	"strconv"
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
	if len(filters) != 1 {
		t.Fatalf("%d log metric filters, want the completed cron runs", len(filters))
	}
	f := filters[0]
	if f.str("logGroupName") != rec.one(t, tLogGroup, cronName).Name+"-a1b2c3" || f.str("pattern") != strconv.Quote(render.CronCompleted) {
		t.Errorf("filter %q on %q, want the runner's completed line on the cron log", f.str("pattern"), f.str("logGroupName"))
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
	if minutes*60 < spec.Cron.RunTimeoutSeconds {
		t.Errorf("the alarm fires after %d minutes, before a run may end (%d s)", minutes, spec.Cron.RunTimeoutSeconds)
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
		"AWS/ECS CPUUtilization":                        2,
		"AWS/ECS MemoryUtilization":                     2,
		"ECS/ContainerInsights RunningTaskCount":        1,
		"Moodle/moodle-prod CronRunsCompleted":          1,
	}
	if !reflect.DeepEqual(count, want) {
		t.Errorf("alarms by metric:\n got %v\nwant %v", count, want)
	}
	if n := len(rec.ofType("aws:cloudwatch/dashboard:Dashboard")); n != 1 {
		t.Errorf("%d dashboards, want 1", n)
	}
}
