package awscloud

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// ObservabilityArgs name what the alarms watch.
type ObservabilityArgs struct {
	// AlarmEmail is aws.alarmEmail; DatabaseConfig and CronConfig the database's
	// size and the cron timing the alarms' thresholds follow.
	AlarmEmail     string
	DatabaseConfig topology.Database
	CronConfig     topology.Cron
	Account        Account
	KMSKeyARN      pulumi.StringInput
	Edge           *Edge
	Database       *Database
	Cache          *Cache
	ClusterName    pulumi.StringInput
	App            *App
	Cron           *Cron
}

// Observability is the alarm topic, the alarms and one dashboard.
type Observability struct {
	pulumi.ResourceState

	TopicARN      pulumi.StringOutput `pulumi:"topicArn"`
	DashboardName pulumi.StringOutput `pulumi:"dashboardName"`
}

// dims are the dimensions of one metric.
type dims map[string]pulumi.StringInput

// metricAlarm is one CloudWatch alarm: over threshold (or under, when below) for
// periods consecutive periods of period seconds.
type metricAlarm struct {
	name, namespace, metric, statistic string
	dims                               dims
	threshold                          float64
	below                              bool
	period, periods                    int
	description                        string
	// missingBreaches makes no data an alarm: the metric of something that should
	// report all the time (a running task, completed cron runs).
	missingBreaches bool
}

// NewObservability creates the topic (and its e-mail subscription) and every alarm.
func NewObservability(ctx *pulumi.Context, name string, args *ObservabilityArgs, opts ...pulumi.ResourceOption) (*Observability, error) {
	o := &Observability{}
	if err := ctx.RegisterComponentResource(TypeObservability, name, o, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(o)
	topic, err := sns.NewTopic(ctx, name, &sns.TopicArgs{KmsMasterKeyId: args.KMSKeyARN, Tags: tags(name)}, parent)
	if err != nil {
		return nil, err
	}
	if email := args.AlarmEmail; email != "" {
		if _, err := sns.NewTopicSubscription(ctx, name+"-email", &sns.TopicSubscriptionArgs{
			Topic: topic.Arn, Protocol: pulumi.String("email"), Endpoint: pulumi.String(email),
		}, parent); err != nil {
			return nil, err
		}
	}
	if err := cronMetricFilters(ctx, name+"-cron-completed", args.Cron.LogGroupName, parent); err != nil {
		return nil, err
	}
	for _, al := range alarms(ctx, args) {
		if err := al.create(ctx, name, topic.Arn, parent); err != nil {
			return nil, err
		}
	}
	board, err := cloudwatch.NewDashboard(ctx, name, &cloudwatch.DashboardArgs{
		// Letters, digits, "-" and "_" only (CloudWatch PutDashboard, DashboardName).
		DashboardName: pulumi.String(physicalName(ctx, name, 255)),
		DashboardBody: dashboard(args),
	}, parent)
	if err != nil {
		return nil, err
	}
	o.TopicARN, o.DashboardName = topic.Arn, board.DashboardName
	if err := ctx.RegisterResourceOutputs(o, pulumi.Map{"topicArn": o.TopicARN, "dashboardName": o.DashboardName}); err != nil {
		return nil, err
	}
	return o, nil
}

func (m metricAlarm) create(ctx *pulumi.Context, prefix string, topic pulumi.StringInput, parent pulumi.ResourceOption) error {
	comparison := "GreaterThanThreshold"
	if m.below {
		comparison = "LessThanThreshold"
	}
	dimensions := pulumi.StringMap{}
	for k, v := range m.dims {
		dimensions[k] = v
	}
	args := &cloudwatch.MetricAlarmArgs{
		AlarmDescription:   pulumi.String(m.description),
		Namespace:          pulumi.String(m.namespace),
		MetricName:         pulumi.String(m.metric),
		Dimensions:         dimensions,
		Period:             pulumi.Int(m.period),
		EvaluationPeriods:  pulumi.Int(m.periods),
		Threshold:          pulumi.Float64(m.threshold),
		ComparisonOperator: pulumi.String(comparison),
		TreatMissingData:   pulumi.String(missingData(m.missingBreaches)),
		AlarmActions:       pulumi.Array{topic},
		OkActions:          pulumi.Array{topic},
		Tags:               tags(prefix + "-" + m.name),
	}
	// Percentiles ("p95") are extended statistics.
	if strings.HasPrefix(m.statistic, "p") {
		args.ExtendedStatistic = pulumi.String(m.statistic)
	} else {
		args.Statistic = pulumi.String(m.statistic)
	}
	if _, err := cloudwatch.NewMetricAlarm(ctx, prefix+"-"+m.name, args, parent); err != nil {
		return fmt.Errorf("alarm %s-%s: %w", prefix, m.name, err)
	}
	return nil
}

func missingData(breaches bool) string {
	if breaches {
		return "breaching"
	}
	return "notBreaching"
}

// cronCompletedMetric is the metric the runner's log publishes: one per cron.php
// run that exited 0 (render.CronCompleted), counted by a log metric filter.
const cronCompletedMetric = "CronRunsCompleted"

// cronMetricNamespace keeps the metric of each stack apart: a metric filter
// cannot add dimensions to lines that are plain text.
func cronMetricNamespace(ctx *pulumi.Context) string {
	return fmt.Sprintf("Moodle/%s-%s", ctx.Project(), ctx.Stack())
}

// CronSilenceMinutes is how long cron may go without a completed run before the
// alarm fires. No run is cut short, and one runs as long as its longest task, so
// the alarm waits as long as Moodle does before it warns of a task that runs long
// (topology.TaskRuntimeWarnSeconds) and two intervals. A runner that fails instead
// raises cron-failing within minutes.
func CronSilenceMinutes(c topology.Cron) int {
	return (topology.TaskRuntimeWarnSeconds + 2*c.IntervalSeconds + 59) / 60
}

// cronFailedMetric counts the runner's failed cron.php runs (render.CronFailed);
// a run fails every interval while Moodle refuses to run (an upgrade pending, CLI
// maintenance left on) or PHP cannot start.
const cronFailedMetric = "CronRunsFailed"

// alarmCronFailuresPer10Min is how many failed runs in 10 minutes are still no
// alarm: the one or two of a deployment are not, a runner that keeps failing is.
const alarmCronFailuresPer10Min = 2

// cronMetricFilters count the runner's completed and failed runs in its log.
func cronMetricFilters(ctx *pulumi.Context, name string, logGroup pulumi.StringInput, parent pulumi.ResourceOption) error {
	for _, f := range []struct{ suffix, phrase, metric string }{
		{"", render.CronCompleted, cronCompletedMetric},
		{"-failed", render.CronFailed, cronFailedMetric},
	} {
		if _, err := cloudwatch.NewLogMetricFilter(ctx, name+f.suffix, &cloudwatch.LogMetricFilterArgs{
			LogGroupName: logGroup,
			// A quoted term matches the phrase exactly, anywhere in the line.
			Pattern: pulumi.String(strconv.Quote(f.phrase)),
			MetricTransformation: cloudwatch.LogMetricFilterMetricTransformationArgs{
				Namespace: pulumi.String(cronMetricNamespace(ctx)),
				Name:      pulumi.String(f.metric),
				Value:     pulumi.String("1"),
				Unit:      pulumi.String("Count"),
			},
		}, parent); err != nil {
			return fmt.Errorf("metric filter %s: %w", name+f.suffix, err)
		}
	}
	return nil
}

// Alarm thresholds.
const (
	alarmCPUPercent         = 80
	alarmRedisMemoryPercent = 80
	alarmECSPercent         = 85
	alarmLatencySeconds     = 2
	alarm5xxPer5Min         = 20
	alarmReplicaLagSecs     = 60
	alarmFreeStorageShare   = 0.1
	alarmConnectionsShare   = 0.8
)

// alarms lists every alarm of the cluster.
func alarms(ctx *pulumi.Context, a *ObservabilityArgs) []metricAlarm {
	lbDims := dims{"LoadBalancer": a.Edge.ARNSuffix}
	tgDims := dims{"LoadBalancer": a.Edge.ARNSuffix, "TargetGroup": a.Edge.TargetGroupARNSuffix}
	out := []metricAlarm{
		{"alb-5xx", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "Sum", lbDims, alarm5xxPer5Min, false, 300, 1, "The load balancer answers with 5xx errors (no healthy task, timeouts).", false},
		{"app-5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum", tgDims, alarm5xxPer5Min, false, 300, 1, "Moodle answers with 5xx errors.", false},
		{"latency", "AWS/ApplicationELB", "TargetResponseTime", "p95", tgDims, alarmLatencySeconds, false, 300, 2, "p95 response time of Moodle is above 2 s.", false},
		{"unhealthy-tasks", "AWS/ApplicationELB", "UnHealthyHostCount", "Maximum", tgDims, 0, false, 60, 3, "A task fails its health check.", false},
	}
	dbInstances := append([]pulumi.StringOutput{a.Database.PrimaryID}, a.Database.ReplicaIDs...)
	// What RDS allows on the instance class, which validation keeps the budget under.
	maxConnections, _ := topology.RDSMaxConnections(a.DatabaseConfig.InstanceClass)
	for i, id := range dbInstances {
		role := "db"
		if i > 0 {
			role = fmt.Sprintf("db-replica-%d", i)
		}
		d := dims{"DBInstanceIdentifier": id}
		out = append(out,
			metricAlarm{role + "-cpu", "AWS/RDS", "CPUUtilization", "Average", d, alarmCPUPercent, false, 300, 2, "Database CPU above 80 %.", false},
			metricAlarm{role + "-free-storage", "AWS/RDS", "FreeStorageSpace", "Minimum", d, alarmFreeStorageShare * float64(a.DatabaseConfig.StorageGB) * (1 << 30), true, 300, 1, "Less than 10 % of the allocated database storage is free.", false},
			metricAlarm{role + "-connections", "AWS/RDS", "DatabaseConnections", "Maximum", d, alarmConnectionsShare * float64(maxConnections), false, 300, 1, "Database connections above 80 % of max_connections.", false},
		)
		if i > 0 {
			out = append(out, metricAlarm{role + "-lag", "AWS/RDS", "ReplicaLag", "Maximum", d, alarmReplicaLagSecs, false, 60, 5, "The read replica lags the primary by more than a minute.", false})
		}
	}
	for i, node := range a.Cache.Nodes {
		d := dims{"CacheClusterId": node}
		role := fmt.Sprintf("redis-%d", i+1)
		out = append(out,
			metricAlarm{role + "-memory", "AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "Maximum", d, alarmRedisMemoryPercent, false, 300, 1, "Redis memory above 80 %: with noeviction a full node refuses session writes.", false},
			metricAlarm{role + "-evictions", "AWS/ElastiCache", "Evictions", "Sum", d, 0, false, 300, 1, "Redis evicted keys: sessions may have been dropped.", false},
			metricAlarm{role + "-cpu", "AWS/ElastiCache", "EngineCPUUtilization", "Average", d, alarmCPUPercent, false, 300, 2, "Redis engine CPU above 80 %.", false},
		)
	}
	for i, node := range a.Cache.MUCNodes {
		// The MUC evicts by design and fills its memory; only its CPU says trouble.
		out = append(out, metricAlarm{fmt.Sprintf("redis-muc-%d-cpu", i+1), "AWS/ElastiCache", "EngineCPUUtilization", "Average", dims{"CacheClusterId": node}, alarmCPUPercent, false, 300, 2, "MUC Redis engine CPU above 80 %.", false})
	}
	cron := dims{"ClusterName": a.ClusterName, "ServiceName": a.Cron.ServiceName}
	out = append(out,
		metricAlarm{"cron-not-running", "ECS/ContainerInsights", "RunningTaskCount", "Minimum", cron, 1, true, 60, 3,
			"The cron runner task is not running: no cron, no upgrade.", true},
		metricAlarm{"cron-no-completed-run", cronMetricNamespace(ctx), cronCompletedMetric, "Sum", nil, 1, true, 60 * CronSilenceMinutes(a.CronConfig), 1,
			fmt.Sprintf("No cron.php run completed for %d minutes: cron is stuck or failing.", CronSilenceMinutes(a.CronConfig)), true},
		// Missing data is no failure: a healthy runner logs none.
		metricAlarm{"cron-failing", cronMetricNamespace(ctx), cronFailedMetric, "Sum", nil, alarmCronFailuresPer10Min, false, 600, 1,
			fmt.Sprintf("cron.php failed more than %d times in 10 minutes: the cron runner's log says why (an upgrade pending, CLI maintenance, PHP).", alarmCronFailuresPer10Min), false},
	)
	type service struct {
		role string
		name pulumi.StringOutput
	}
	services := []service{{"app", a.App.ServiceName}, {"cron", a.Cron.ServiceName}}
	if workers := a.CronConfig.Adhoc.Workers; workers > 0 {
		services = append(services, service{"adhoc", a.Cron.AdhocServiceName})
		out = append(out, metricAlarm{"adhoc-not-running", "ECS/ContainerInsights", "RunningTaskCount", "Minimum",
			dims{"ClusterName": a.ClusterName, "ServiceName": a.Cron.AdhocServiceName}, float64(workers), true, 60, 3,
			fmt.Sprintf("Fewer than %d ad hoc task workers run: backups, restores and notifications queue up.", workers), true})
	}
	for _, svc := range services {
		d := dims{"ClusterName": a.ClusterName, "ServiceName": svc.name}
		out = append(out,
			metricAlarm{svc.role + "-cpu", "AWS/ECS", "CPUUtilization", "Average", d, alarmECSPercent, false, 300, 3, "ECS service CPU above 85 % (autoscaling at its ceiling?).", false},
			metricAlarm{svc.role + "-memory", "AWS/ECS", "MemoryUtilization", "Average", d, alarmECSPercent, false, 300, 3, "ECS service memory above 85 %.", false},
		)
	}
	return out
}

// dashboard is the body of the one dashboard: traffic, errors and latency, the app
// service, the database and Redis.
func dashboard(a *ObservabilityArgs) pulumi.StringOutput {
	region := a.Account.Region
	cluster := a.ClusterName
	widget := func(title string, x, y int, metrics ...[]any) map[string]any {
		ms := make([]any, len(metrics))
		for i, m := range metrics {
			ms[i] = m
		}
		return map[string]any{
			"type": "metric", "x": x, "y": y, "width": 12, "height": 6,
			"properties": map[string]any{"title": title, "region": region, "metrics": ms, "period": 60, "stat": "Average", "view": "timeSeries"},
		}
	}
	lb := a.Edge.ARNSuffix
	tg := a.Edge.TargetGroupARNSuffix
	widgets := []any{
		widget("Requests and errors", 0, 0,
			[]any{"AWS/ApplicationELB", "RequestCount", "LoadBalancer", lb, map[string]any{"stat": "Sum"}},
			[]any{"AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", lb, "TargetGroup", tg, map[string]any{"stat": "Sum"}},
			[]any{"AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", lb, map[string]any{"stat": "Sum"}}),
		widget("Response time p95", 12, 0,
			[]any{"AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", lb, "TargetGroup", tg, map[string]any{"stat": "p95"}}),
		widget("App tasks", 0, 6,
			[]any{"AWS/ECS", "CPUUtilization", "ClusterName", cluster, "ServiceName", a.App.ServiceName},
			[]any{"AWS/ECS", "MemoryUtilization", "ClusterName", cluster, "ServiceName", a.App.ServiceName},
			[]any{"AWS/ApplicationELB", "HealthyHostCount", "LoadBalancer", lb, "TargetGroup", tg, map[string]any{"stat": "Minimum"}}),
		widget("Database", 12, 6,
			[]any{"AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", a.Database.PrimaryID},
			[]any{"AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", a.Database.PrimaryID}),
	}
	var redis [][]any
	for _, node := range a.Cache.Nodes {
		redis = append(redis, []any{"AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "CacheClusterId", node})
	}
	widgets = append(widgets, widget("Redis memory %", 0, 12, redis...))
	return jsonDocument(map[string]any{"widgets": widgets})
}
