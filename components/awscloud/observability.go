package awscloud

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// ObservabilityArgs name what the alarms watch.
type ObservabilityArgs struct {
	Spec      topology.Spec
	Account   Account
	KMSKeyARN pulumi.StringInput
	Edge      *Edge
	Database  *Database
	Cache     *Cache
	App       *App
	Cron      *Cron
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
}

// NewObservability creates the topic (and its e-mail subscription) and every alarm.
func NewObservability(ctx *pulumi.Context, name string, args *ObservabilityArgs, opts ...pulumi.ResourceOption) (*Observability, error) {
	o := &Observability{}
	if err := ctx.RegisterComponentResource("moodle:aws:Observability", name, o, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(o)
	topic, err := sns.NewTopic(ctx, name, &sns.TopicArgs{KmsMasterKeyId: args.KMSKeyARN, Tags: tags(name)}, parent)
	if err != nil {
		return nil, err
	}
	if email := args.Spec.AWS.AlarmEmail; email != "" {
		if _, err := sns.NewTopicSubscription(ctx, name+"-email", &sns.TopicSubscriptionArgs{
			Topic: topic.Arn, Protocol: pulumi.String("email"), Endpoint: pulumi.String(email),
		}, parent); err != nil {
			return nil, err
		}
	}
	for _, al := range alarms(args) {
		if err := al.create(ctx, name, topic.Arn, parent); err != nil {
			return nil, err
		}
	}
	board, err := cloudwatch.NewDashboard(ctx, name, &cloudwatch.DashboardArgs{
		DashboardName: pulumi.String(fmt.Sprintf("%s-%s-%s", ctx.Project(), ctx.Stack(), name)),
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
		TreatMissingData:   pulumi.String("notBreaching"),
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
	_, err := cloudwatch.NewMetricAlarm(ctx, prefix+"-"+m.name, args, parent)
	return err
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
func alarms(a *ObservabilityArgs) []metricAlarm {
	s := a.Spec
	lbDims := dims{"LoadBalancer": a.Edge.ARNSuffix}
	tgDims := dims{"LoadBalancer": a.Edge.ARNSuffix, "TargetGroup": a.Edge.TargetGroupARNSuffix}
	out := []metricAlarm{
		{"alb-5xx", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "Sum", lbDims, alarm5xxPer5Min, false, 300, 1, "The load balancer answers with 5xx errors (no healthy task, timeouts)."},
		{"app-5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum", tgDims, alarm5xxPer5Min, false, 300, 1, "Moodle answers with 5xx errors."},
		{"latency", "AWS/ApplicationELB", "TargetResponseTime", "p95", tgDims, alarmLatencySeconds, false, 300, 2, "p95 response time of Moodle is above 2 s."},
		{"unhealthy-tasks", "AWS/ApplicationELB", "UnHealthyHostCount", "Maximum", tgDims, 0, false, 60, 3, "A task fails its health check."},
	}
	dbInstances := append([]pulumi.StringOutput{a.Database.PrimaryID}, a.Database.ReplicaIDs...)
	for i, id := range dbInstances {
		role := "db"
		if i > 0 {
			role = fmt.Sprintf("db-replica-%d", i)
		}
		d := dims{"DBInstanceIdentifier": id}
		out = append(out,
			metricAlarm{role + "-cpu", "AWS/RDS", "CPUUtilization", "Average", d, alarmCPUPercent, false, 300, 2, "Database CPU above 80 %."},
			metricAlarm{role + "-free-storage", "AWS/RDS", "FreeStorageSpace", "Minimum", d, alarmFreeStorageShare * float64(s.Database.StorageGB) * (1 << 30), true, 300, 1, "Less than 10 % of the allocated database storage is free."},
			metricAlarm{role + "-connections", "AWS/RDS", "DatabaseConnections", "Maximum", d, alarmConnectionsShare * float64(s.ServerConnections()), false, 300, 1, "Database connections above 80 % of max_connections."},
		)
		if i > 0 {
			out = append(out, metricAlarm{role + "-lag", "AWS/RDS", "ReplicaLag", "Maximum", d, alarmReplicaLagSecs, false, 60, 5, "The read replica lags the primary by more than a minute."})
		}
	}
	for i, node := range a.Cache.Nodes {
		d := dims{"CacheClusterId": node}
		role := fmt.Sprintf("redis-%d", i+1)
		out = append(out,
			metricAlarm{role + "-memory", "AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "Maximum", d, alarmRedisMemoryPercent, false, 300, 1, "Redis memory above 80 %: with noeviction a full node refuses session writes."},
			metricAlarm{role + "-evictions", "AWS/ElastiCache", "Evictions", "Sum", d, 0, false, 300, 1, "Redis evicted keys: sessions may have been dropped."},
			metricAlarm{role + "-cpu", "AWS/ElastiCache", "EngineCPUUtilization", "Average", d, alarmCPUPercent, false, 300, 2, "Redis engine CPU above 80 %."},
		)
	}
	for _, svc := range []struct {
		role string
		name pulumi.StringOutput
	}{{"app", a.App.ServiceName}, {"cron", a.Cron.ServiceName}} {
		d := dims{"ClusterName": a.App.ClusterName, "ServiceName": svc.name}
		out = append(out,
			metricAlarm{svc.role + "-cpu", "AWS/ECS", "CPUUtilization", "Average", d, alarmECSPercent, false, 300, 3, "ECS service CPU above 85 % (autoscaling at its ceiling?)."},
			metricAlarm{svc.role + "-memory", "AWS/ECS", "MemoryUtilization", "Average", d, alarmECSPercent, false, 300, 3, "ECS service memory above 85 %."},
		)
	}
	return out
}

// dashboard is the body of the one dashboard: traffic, errors and latency, the app
// service, the database and Redis.
func dashboard(a *ObservabilityArgs) pulumi.StringOutput {
	region := a.Account.Region
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
			[]any{"AWS/ECS", "CPUUtilization", "ClusterName", a.App.ClusterName, "ServiceName", a.App.ServiceName},
			[]any{"AWS/ECS", "MemoryUtilization", "ClusterName", a.App.ClusterName, "ServiceName", a.App.ServiceName},
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
