package awsstatus_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/inventory"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/status"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/status/awsstatus"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/tests/fakes/awsfake"
)

var now = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// world is what the fake AWS account holds; each test changes a part of it.
type world struct {
	metrics   map[string]float64 // by query id
	appTasks  map[string][2]string
	cronTasks map[string][2]string
	dbStates  map[string]string
	cronLog   []string // "seconds-ago|message"
	site      func(w http.ResponseWriter)
}

func healthyWorld() *world {
	return &world{
		metrics: map[string]float64{
			"lbRequests": 52000, "lbActive": 310, "appCPU": 41, "appMemory": 55,
			"dbConnections0": 310, "dbConnections1": 40, "dbLag1": 0.8,
			"redisMemory0": 22, "redisMemory1": 21, "redisEvictions0": 0, "redisClients0": 190, "redisClients1": 3,
		},
		appTasks:  map[string][2]string{"a1": {"RUNNING", "HEALTHY"}, "a2": {"RUNNING", "HEALTHY"}, "a3": {"RUNNING", "HEALTHY"}},
		cronTasks: map[string][2]string{"c1": {"RUNNING", "HEALTHY"}},
		dbStates:  map[string]string{"moodle-db-x": "available", "moodle-db-replica-1-x": "available"},
		cronLog:   []string{"300|Cron completed at 09:55:00 in 12.5 seconds. Memory used: 31.2 MB. Continuing to check for tasks for 160 more seconds.", "50|Cron completed at 09:59:10 in 4.25 seconds. Memory used: 31.4 MB."},
		site:      func(w http.ResponseWriter) { fmt.Fprint(w, "<html>Moodle</html>") },
	}
}

// serve answers the SDK's calls from w through the fake AWS endpoint.
func (w *world) serve(t *testing.T, fake *awsfake.Server) {
	fake.CBOR("GetMetricData", func(req cbor.Map) (cbor.Value, error) {
		var results cbor.List
		for _, q := range req["MetricDataQueries"].(cbor.List) {
			id := string(q.(cbor.Map)["Id"].(cbor.String))
			res := cbor.Map{"Id": cbor.String(id), "StatusCode": cbor.String("Complete"), "Values": cbor.List{}, "Timestamps": cbor.List{}}
			if v, ok := w.metrics[id]; ok {
				res["Values"] = cbor.List{cbor.Float64(v)}
				res["Timestamps"] = cbor.List{&cbor.Tag{ID: 1, Value: cbor.Float64(float64(now.Add(-time.Minute).Unix()))}}
			}
			results = append(results, res)
		}
		return cbor.Map{"MetricDataResults": results}, nil
	})
	fake.JSON("AmazonEC2ContainerServiceV20141113.ListTasks", func(req map[string]any) (any, error) {
		tasks := w.appTasks
		if req["serviceName"] == "moodle-cron-svc" {
			tasks = w.cronTasks
		}
		var arns []string
		for id := range tasks {
			arns = append(arns, "arn:aws:ecs:eu-west-1:123456789012:task/moodle/"+id)
		}
		sort.Strings(arns)
		return map[string]any{"taskArns": arns}, nil
	})
	fake.JSON("AmazonEC2ContainerServiceV20141113.DescribeTasks", func(req map[string]any) (any, error) {
		var out []map[string]any
		for _, a := range req["tasks"].([]any) {
			arn := a.(string)
			id := arn[strings.LastIndex(arn, "/")+1:]
			st, ok := w.appTasks[id]
			if !ok {
				st = w.cronTasks[id]
			}
			out = append(out, map[string]any{"taskArn": arn, "lastStatus": st[0], "healthStatus": st[1]})
		}
		return map[string]any{"tasks": out}, nil
	})
	fake.Query("DescribeDBInstances", func(form url.Values) (string, error) {
		id := form.Get("DBInstanceIdentifier")
		return fmt.Sprintf(`<DescribeDBInstancesResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><DescribeDBInstancesResult><DBInstances><DBInstance>`+
			`<DBInstanceIdentifier>%s</DBInstanceIdentifier><DBInstanceStatus>%s</DBInstanceStatus></DBInstance></DBInstances>`+
			`</DescribeDBInstancesResult></DescribeDBInstancesResponse>`, id, w.dbStates[id]), nil
	})
	fake.JSON("Logs_20140328.FilterLogEvents", func(req map[string]any) (any, error) {
		if req["logGroupName"] != "moodle-cron-lg" || req["filterPattern"] != `"Cron completed at"` {
			return nil, fmt.Errorf("unexpected request %v", req)
		}
		var events []map[string]any
		for i, l := range w.cronLog {
			ago, msg, _ := strings.Cut(l, "|")
			var secs int
			fmt.Sscan(ago, &secs)
			events = append(events, map[string]any{"eventId": fmt.Sprint(i), "timestamp": now.Add(-time.Duration(secs) * time.Second).UnixMilli(), "message": msg})
		}
		return map[string]any{"events": events}, nil
	})
}

func prodSpec(t *testing.T) topology.Spec {
	t.Helper()
	s, err := topology.Defaults(topology.TargetAWS)
	if err != nil {
		t.Fatal(err)
	}
	s.App.Replicas, s.Database.ReadReplicas = 3, 1
	return s
}

func collect(t *testing.T, w *world) status.Report {
	t.Helper()
	fake := awsfake.Start()
	t.Cleanup(fake.Close)
	w.serve(t, fake)
	site := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) { w.site(rw) }))
	t.Cleanup(site.Close)
	targets := awsstatus.Targets{SiteURL: site.URL, Cluster: "moodle-cluster", AppService: "moodle-app-svc", CronService: "moodle-cron-svc",
		LoadBalancer: "app/moodle-edge/50dc6c495c0c9188",
		DBInstances:  []string{"moodle-db-x", "moodle-db-replica-1-x"}, CacheNodes: []string{"moodle-redis-001", "moodle-redis-002"},
		CronLogGroup: "moodle-cron-lg"}
	spec := prodSpec(t)
	c := awsstatus.New(fake.Config("eu-west-1"), spec, targets, func() time.Time { return now })
	return status.Evaluate("prod", spec, c.Collect(t.Context()), now)
}

func verdictOf(t *testing.T, r status.Report, subject, check string) (status.Verdict, string) {
	t.Helper()
	for _, c := range r.Checks {
		if c.Subject == subject && c.Name == check {
			return c.Verdict, c.Value
		}
	}
	t.Fatalf("no %s/%s in %+v", subject, check, r.Checks)
	return 0, ""
}

// TestCollect_HealthyProdIsAllOK reads every tier through the SDK's clients
// against the fake API (CBOR, JSON 1.1, query/XML) and the site over HTTP.
func TestCollect_HealthyProdIsAllOK(t *testing.T) {
	r := collect(t, healthyWorld())
	for _, c := range r.Checks {
		if c.Verdict != status.OK {
			t.Errorf("%s %s %s = %s: %s (%s)", c.Tier, c.Subject, c.Name, c.Value, c.Verdict, c.Rule)
		}
	}
	for _, want := range []struct{ subject, check, value string }{
		// max_connections is what RDS's formula gives the class (db.r6g.large).
		{"primary", "connections", "310 of 1622 (19 %)"},
		{"moodle-db-replica-1-x", "replica lag", "800ms"},
		{"task a2", "upstream", "running, healthy"},
		{"runner", "lock holder", "task c1"},
		{"runner", "duration", "4.25s"},
		{"primary", "memory", "22 % of maxmemory"},
	} {
		if _, got := verdictOf(t, r, want.subject, want.check); got != want.value {
			t.Errorf("%s/%s = %q, want %q", want.subject, want.check, got, want.value)
		}
	}
}

// TestCollect_EachTiersFaultGivesItsVerdict changes the fake account per case.
func TestCollect_EachTiersFaultGivesItsVerdict(t *testing.T) {
	cases := []struct {
		name           string
		change         func(*world)
		subject, check string
		want           status.Verdict
	}{
		{"a web task failing its health check", func(w *world) { w.appTasks["a2"] = [2]string{"RUNNING", "UNHEALTHY"} }, "task a2", "upstream", status.Warn},
		{"no web task running", func(w *world) { w.appTasks = nil }, "all", "healthy upstreams", status.Crit},
		{"connections near max_connections", func(w *world) { w.metrics["dbConnections0"] = 1600 }, "primary", "connections", status.Crit},
		{"a replica minutes behind", func(w *world) { w.metrics["dbLag1"] = 400 }, "moodle-db-replica-1-x", "replica lag", status.Crit},
		{"the primary failing over", func(w *world) { w.dbStates["moodle-db-x"] = "rebooting" }, "primary", "state", status.Crit},
		{"the replica being modified", func(w *world) { w.dbStates["moodle-db-replica-1-x"] = "modifying" }, "moodle-db-replica-1-x", "state", status.Warn},
		{"a Redis node near full", func(w *world) { w.metrics["redisMemory1"] = 96 }, "primary", "memory", status.Crit},
		{"evictions on a node", func(w *world) { w.metrics["redisEvictions0"] = 12 }, "primary", "evictions", status.Crit},
		{"app service CPU high", func(w *world) { w.metrics["appCPU"] = 85 }, "service moodle-app-svc", "cpu", status.Warn},
		{"no cron task running", func(w *world) { w.cronTasks = nil }, "runner", "lock holder", status.Crit},
		{"no cron run for an hour", func(w *world) {
			w.cronLog = []string{"3600|Cron completed at 09:00:00 in 3 seconds. Memory used: 30 MB."}
		}, "runner", "last run", status.Crit},
		{"the site in maintenance mode", func(w *world) {
			w.site = func(rw http.ResponseWriter) {
				rw.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprint(rw, "This site is undergoing maintenance and is currently not available")
			}
		}, "site", "maintenance mode", status.Warn},
		{"the site not installed yet", func(w *world) {
			w.site = func(rw http.ResponseWriter) { rw.WriteHeader(http.StatusServiceUnavailable) }
		}, "site", "release", status.Warn},
		{"the site down", func(w *world) { w.site = func(rw http.ResponseWriter) { rw.WriteHeader(http.StatusBadGateway) } }, "site", "answers", status.Crit},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := healthyWorld()
			c.change(w)
			r := collect(t, w)
			if got, value := verdictOf(t, r, c.subject, c.check); got != c.want {
				t.Errorf("%s/%s = %s: %s, want %s", c.subject, c.check, value, got, c.want)
			}
		})
	}
}

func TestCollect_AnAPIErrorMakesTheTiersUnknown(t *testing.T) {
	fake := awsfake.Start()
	defer fake.Close()
	// Nothing answers: every call fails with the fake's error.
	spec := prodSpec(t)
	c := awsstatus.New(fake.Config("eu-west-1"), spec, awsstatus.Targets{Cluster: "c", AppService: "a", CronService: "b",
		DBInstances: []string{"d"}, CronLogGroup: "g", SiteURL: "http://127.0.0.1:1"}, func() time.Time { return now })
	r := status.Evaluate("prod", spec, c.Collect(t.Context()), now)
	if r.Verdict != status.Crit {
		t.Errorf("verdict %s", r.Verdict)
	}
	unknown := 0
	for _, ch := range r.Checks {
		if ch.Verdict == status.Unknown && strings.Contains(ch.Rule, "CloudWatch metrics") {
			unknown++
		}
	}
	if unknown != 4 {
		t.Errorf("%d tiers unknown for the metrics call, want 4: %+v", unknown, r.Checks)
	}
}

func TestFromState_NamesTheResourcesStatusReads(t *testing.T) {
	inv := inventory.Inventory{Stack: "prod", Deployed: true,
		Outputs: withServices(map[string]any{"siteUrl": "https://moodle.example.edu", "ecsClusterName": "moodle-cluster-1"}),
		Resources: []inventory.Resource{
			{Type: "aws:rds/instance:Instance", Name: "moodle-db-replica-1", Inputs: map[string]any{"replicateSourceDb": "moodle-db-1"}, Outputs: map[string]any{"identifier": "moodle-db-replica-1-1"}},
			{Type: "aws:rds/instance:Instance", Name: "moodle-db", Inputs: map[string]any{}, Outputs: map[string]any{"identifier": "moodle-db-1"}},
			{Type: "aws:elasticache/replicationGroup:ReplicationGroup", Name: "moodle-redis", Outputs: map[string]any{"memberClusters": []any{"moodle-redis-001", "moodle-redis-002"}}},
			{Type: "aws:lb/loadBalancer:LoadBalancer", Name: "moodle-edge", Outputs: map[string]any{"arnSuffix": "app/moodle-edge/1"}},
		}}
	got, err := awsstatus.FromState(inv)
	if err != nil {
		t.Fatal(err)
	}
	want := awsstatus.Targets{SiteURL: "https://moodle.example.edu", Cluster: "moodle-cluster-1", AppService: "moodle-app-1", CronService: "moodle-cron-1",
		LoadBalancer: "app/moodle-edge/1", DBInstances: []string{"moodle-db-1", "moodle-db-replica-1-1"},
		CacheNodes: []string{"moodle-redis-001", "moodle-redis-002"}, CronLogGroup: "moodle-cron-lg"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if _, err := awsstatus.FromState(inventory.Inventory{Stack: "prod"}); err == nil {
		t.Error("a stack that is not deployed was accepted")
	}
	// Renamed in the program, the services are still found: by their outputs.
	for i := range inv.Resources {
		inv.Resources[i].Name += "-renamed"
	}
	if again, err := awsstatus.FromState(inv); err != nil || again.AppService != want.AppService || again.CronLogGroup != want.CronLogGroup {
		t.Errorf("after a rename: %+v, %v", again, err)
	}
}

// withServices adds the outputs that name the services and the cron log group.
func withServices(outputs map[string]any) map[string]any {
	outputs["appServiceName"], outputs["cronServiceName"], outputs["cronLogGroupName"] = "moodle-app-1", "moodle-cron-1", "moodle-cron-lg"
	return outputs
}

// A state written before the stack exported the names is refused with what to
// do, not read as a stack without services.
func TestFromState_AStateWithoutTheNamesAsksForAnUp(t *testing.T) {
	inv := inventory.Inventory{Stack: "prod", Deployed: true,
		Outputs: map[string]any{"ecsClusterName": "moodle-cluster-1", "databaseInstanceId": "moodle-db-1"},
		Resources: []inventory.Resource{
			{Type: "aws:ecs/service:Service", Name: "moodle-app", Outputs: map[string]any{"name": "moodle-app-1"}},
			{Type: "aws:rds/instance:Instance", Name: "moodle-db", Inputs: map[string]any{}, Outputs: map[string]any{"identifier": "moodle-db-1"}},
		}}
	_, err := awsstatus.FromState(inv)
	if err == nil || !strings.Contains(err.Error(), "appServiceName") || !strings.Contains(err.Error(), "run up once") {
		t.Errorf("error %v, want one naming the outputs and asking for an up", err)
	}
}

// After a restore the state holds two primaries, each with its replicas: status
// reads the pair the site uses, which the stack exports.
func TestFromState_AfterARestoreReadsTheDatabaseTheSiteUses(t *testing.T) {
	inv := inventory.Inventory{Stack: "prod", Deployed: true,
		Outputs: withServices(map[string]any{"ecsClusterName": "moodle-cluster-1", "databaseInstanceId": "moodle-db-restored-1"}),
		Resources: []inventory.Resource{
			{Type: "aws:rds/instance:Instance", Name: "moodle-db", Inputs: map[string]any{}, Outputs: map[string]any{"identifier": "moodle-db-1"}},
			{Type: "aws:rds/instance:Instance", Name: "moodle-db-replica-1", Inputs: map[string]any{"replicateSourceDb": "moodle-db-1"}, Outputs: map[string]any{"identifier": "moodle-db-replica-1-1"}},
			{Type: "aws:rds/instance:Instance", Name: "moodle-db-restored-replica-1", Inputs: map[string]any{"replicateSourceDb": "moodle-db-restored-1"}, Outputs: map[string]any{"identifier": "moodle-db-restored-replica-1-1"}},
			{Type: "aws:rds/instance:Instance", Name: "moodle-db-restored", Inputs: map[string]any{}, Outputs: map[string]any{"identifier": "moodle-db-restored-1"}},
		}}
	got, err := awsstatus.FromState(inv)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"moodle-db-restored-1", "moodle-db-restored-replica-1-1"}; fmt.Sprint(got.DBInstances) != fmt.Sprint(want) {
		t.Errorf("DB instances %v, want %v", got.DBInstances, want)
	}
}
