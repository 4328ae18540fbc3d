// Package awsstatus reads the prod stack's status from AWS: CloudWatch metrics
// (the load balancer, the ECS services, RDS, ElastiCache), ECS (the tasks and
// their health, the cron task that holds the runner), RDS (each instance's
// state), the cron task's log (its last run) and the site itself over HTTPS
// (maintenance mode). The php-fpm pools are not exposed outside the tasks, so
// the app tier is read as the service's CPU and memory and each task's health.
package awsstatus

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/status"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// Targets names what to read, from the deployed stack's state (FromState).
type Targets struct {
	SiteURL     string
	Cluster     string
	AppService  string
	CronService string
	// LoadBalancer is the ARN suffix CloudWatch's dimensions take.
	LoadBalancer string
	// DBInstances are the RDS identifiers, the primary first.
	DBInstances []string
	// CacheNodes are the ElastiCache member clusters.
	CacheNodes   []string
	CronLogGroup string
}

// Collector reads one prod stack.
type Collector struct {
	Spec    topology.Spec
	Targets Targets
	CW      *cloudwatch.Client
	ECS     *ecs.Client
	RDS     *rds.Client
	Logs    *cloudwatchlogs.Client
	HTTP    *http.Client
	Now     func() time.Time
}

// New makes the clients from cfg (credentials and region, or a test endpoint).
func New(cfg aws.Config, spec topology.Spec, t Targets, now func() time.Time) Collector {
	return Collector{Spec: spec, Targets: t, Now: now, HTTP: &http.Client{Timeout: 10 * time.Second},
		CW: cloudwatch.NewFromConfig(cfg), ECS: ecs.NewFromConfig(cfg), RDS: rds.NewFromConfig(cfg), Logs: cloudwatchlogs.NewFromConfig(cfg)}
}

// window is how far back metrics are read; period the granularity. CloudWatch
// publishes most of these every minute; the last complete point is used.
const (
	window = 15 * time.Minute
	period = 300
)

// Collect reads every tier; a tier that fails carries its error.
func (c Collector) Collect(ctx context.Context) status.Readings {
	var r status.Readings
	m, err := c.metrics(ctx)
	if err != nil {
		r.LBErr, r.AppErr, r.DBErr, r.RedisErr = err, err, err, err
	} else {
		r.LB, r.LBErr = c.lb(ctx, m)
		r.Nodes, r.AppErr = c.app(m)
		r.DB, r.DBErr = c.db(ctx, m)
		r.Redis = c.redis(m)
	}
	// EFS grows with what it holds: there is no free space to run out of.
	r.Files = &status.Files{Elastic: true}
	r.Cron, r.CronErr = c.cron(ctx)
	r.Moodle, r.MoodleErr = c.site(ctx)
	return r
}

// query is one metric of GetMetricData.
type query struct {
	id, namespace, metric, stat string
	dims                        map[string]string
}

func (c Collector) queries() []query {
	t := c.Targets
	q := []query{
		{"lbRequests", "AWS/ApplicationELB", "RequestCount", "Sum", map[string]string{"LoadBalancer": t.LoadBalancer}},
		{"lbActive", "AWS/ApplicationELB", "ActiveConnectionCount", "Sum", map[string]string{"LoadBalancer": t.LoadBalancer}},
		{"appCPU", "AWS/ECS", "CPUUtilization", "Average", map[string]string{"ClusterName": t.Cluster, "ServiceName": t.AppService}},
		{"appMemory", "AWS/ECS", "MemoryUtilization", "Average", map[string]string{"ClusterName": t.Cluster, "ServiceName": t.AppService}},
	}
	for i, id := range t.DBInstances {
		q = append(q, query{fmt.Sprintf("dbConnections%d", i), "AWS/RDS", "DatabaseConnections", "Maximum", map[string]string{"DBInstanceIdentifier": id}})
		if i > 0 {
			q = append(q, query{fmt.Sprintf("dbLag%d", i), "AWS/RDS", "ReplicaLag", "Maximum", map[string]string{"DBInstanceIdentifier": id}})
		}
	}
	for i, id := range t.CacheNodes {
		dims := map[string]string{"CacheClusterId": id}
		q = append(q,
			query{fmt.Sprintf("redisMemory%d", i), "AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "Maximum", dims},
			query{fmt.Sprintf("redisEvictions%d", i), "AWS/ElastiCache", "Evictions", "Sum", dims},
			query{fmt.Sprintf("redisClients%d", i), "AWS/ElastiCache", "CurrConnections", "Maximum", dims})
	}
	return q
}

// metrics reads the latest point of every query; a metric without data is absent.
func (c Collector) metrics(ctx context.Context) (map[string]float64, error) {
	var in cloudwatch.GetMetricDataInput
	now := c.Now()
	in.StartTime, in.EndTime = aws.Time(now.Add(-window)), aws.Time(now)
	in.ScanBy = cwtypes.ScanByTimestampDescending
	for _, q := range c.queries() {
		var dims []cwtypes.Dimension
		keys := make([]string, 0, len(q.dims))
		for k := range q.dims {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			dims = append(dims, cwtypes.Dimension{Name: aws.String(k), Value: aws.String(q.dims[k])})
		}
		in.MetricDataQueries = append(in.MetricDataQueries, cwtypes.MetricDataQuery{
			Id: aws.String(q.id),
			MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String(q.namespace), MetricName: aws.String(q.metric), Dimensions: dims},
				Period: aws.Int32(period), Stat: aws.String(q.stat),
			},
		})
	}
	out := map[string]float64{}
	p := cloudwatch.NewGetMetricDataPaginator(c.CW, &in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("CloudWatch metrics: %w", err)
		}
		for _, res := range page.MetricDataResults {
			if len(res.Values) > 0 {
				// Newest first (ScanBy): the latest point.
				out[aws.ToString(res.Id)] = res.Values[0]
			}
		}
	}
	return out, nil
}

// tasks lists a service's running tasks.
func (c Collector) tasks(ctx context.Context, service string) ([]taskState, error) {
	list, err := c.ECS.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(c.Targets.Cluster), ServiceName: aws.String(service)})
	if err != nil {
		return nil, fmt.Errorf("ECS tasks of %s: %w", service, err)
	}
	if len(list.TaskArns) == 0 {
		return nil, nil
	}
	desc, err := c.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(c.Targets.Cluster), Tasks: list.TaskArns})
	if err != nil {
		return nil, fmt.Errorf("ECS tasks of %s: %w", service, err)
	}
	var out []taskState
	for _, t := range desc.Tasks {
		arn := aws.ToString(t.TaskArn)
		out = append(out, taskState{id: arn[strings.LastIndex(arn, "/")+1:], last: aws.ToString(t.LastStatus), health: string(t.HealthStatus)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out, nil
}

type taskState struct{ id, last, health string }

// lb reads the ALB's traffic and, for upstreams, each web task's health: the
// target group's health check and the container's are the same php-fpm ping.
func (c Collector) lb(ctx context.Context, m map[string]float64) (*status.LB, error) {
	lb := &status.LB{Requests: int64(m["lbRequests"]), Active: int64(m["lbActive"]), Period: "in the last 5 minutes"}
	tasks, err := c.tasks(ctx, c.Targets.AppService)
	if err != nil {
		return nil, err
	}
	for _, t := range tasks {
		healthy := t.last == "RUNNING" && t.health == "HEALTHY"
		lb.Upstreams = append(lb.Upstreams, status.Upstream{Name: "task " + t.id, Healthy: healthy, State: strings.ToLower(t.last + ", " + t.health)})
	}
	return lb, nil
}

func (c Collector) app(m map[string]float64) ([]status.Node, error) {
	return []status.Node{{Name: "service " + c.Targets.AppService, CPUPercent: m["appCPU"], MemoryPercent: m["appMemory"]}}, nil
}

func (c Collector) db(ctx context.Context, m map[string]float64) (*status.Database, error) {
	states := map[string]string{}
	for _, id := range c.Targets.DBInstances {
		out, err := c.RDS.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
		if err != nil {
			return nil, fmt.Errorf("RDS instance %s: %w", id, err)
		}
		for _, db := range out.DBInstances {
			states[aws.ToString(db.DBInstanceIdentifier)] = aws.ToString(db.DBInstanceStatus)
		}
	}
	if len(c.Targets.DBInstances) == 0 {
		return nil, fmt.Errorf("the stack's state names no RDS instance")
	}
	db := &status.Database{Connections: int(m["dbConnections0"]), Status: states[c.Targets.DBInstances[0]]}
	for i, id := range c.Targets.DBInstances[1:] {
		lag := time.Duration(m[fmt.Sprintf("dbLag%d", i+1)] * float64(time.Second))
		db.Replicas = append(db.Replicas, status.Replica{Name: id, Lag: lag, Status: states[id]})
	}
	return db, nil
}

// redis reports the fullest node: sessions live on the primary, and a replica
// that fills first is the one that fails over badly. ElastiCache publishes no
// count of writes refused for memory.
func (c Collector) redis(m map[string]float64) *status.Redis {
	r := &status.Redis{RejectedUnknown: true}
	for i := range c.Targets.CacheNodes {
		r.UsedPercent = max(r.UsedPercent, m[fmt.Sprintf("redisMemory%d", i)])
		r.Evictions += int64(m[fmt.Sprintf("redisEvictions%d", i)])
		r.Clients = max(r.Clients, int(m[fmt.Sprintf("redisClients%d", i)]))
	}
	return r
}

// cron reads the last finished run from the cron task's log and the runner
// from the cron service: exactly one task, which holds the lock.
func (c Collector) cron(ctx context.Context) (*status.Cron, error) {
	cr := &status.Cron{}
	tasks, err := c.tasks(ctx, c.Targets.CronService)
	if err != nil {
		return nil, err
	}
	var running []string
	for _, t := range tasks {
		if t.last == "RUNNING" {
			running = append(running, "task "+t.id)
		}
	}
	cr.LockHolder = strings.Join(running, ", ")
	out, err := c.Logs.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{
		LogGroupName:  aws.String(c.Targets.CronLogGroup),
		StartTime:     aws.Int64(c.Now().Add(-24 * time.Hour).UnixMilli()),
		FilterPattern: aws.String(status.CronPassPattern),
	})
	if err != nil {
		return nil, fmt.Errorf("cron log %s: %w", c.Targets.CronLogGroup, err)
	}
	for _, e := range out.Events {
		if took, ok := status.CronPass(aws.ToString(e.Message)); ok {
			at := time.UnixMilli(aws.ToInt64(e.Timestamp))
			if at.After(cr.LastRun) {
				cr.LastRun, cr.Duration = at, took
			}
		}
	}
	return cr, nil
}

// site asks the site's front page: Moodle answers 503 with its maintenance
// message in maintenance mode (and the web tasks answer 503 before the first
// install). The installed release is not readable from outside; the line shows
// the release the stack's image carries.
func (c Collector) site(ctx context.Context) (*status.Moodle, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Targets.SiteURL+"/", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return &status.Moodle{}, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	m := &status.Moodle{Reachable: resp.StatusCode < 500 || resp.StatusCode == http.StatusServiceUnavailable,
		Release: c.Spec.Moodle.Version + " (the image's)"}
	if resp.StatusCode == http.StatusServiceUnavailable {
		if strings.Contains(strings.ToLower(string(body)), "maintenance") {
			m.Maintenance = true
		} else {
			m.Release = ""
		}
	}
	return m, nil
}
