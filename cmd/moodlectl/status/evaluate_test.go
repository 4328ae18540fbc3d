package status_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/status"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

var now = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// devSpec is the docker defaults: 3 nodes of 83 workers, max_connections 862
// (10 nodes × 83 + cron 2 + ad hoc workers 20 + admin 10), Redis limited to
// 1024 MB, cron every 60 s.
func devSpec(t *testing.T) topology.Spec {
	t.Helper()
	s, err := topology.Defaults(topology.TargetDocker)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// healthy is a dev cluster with every reading well inside its limits.
func healthy() status.Readings {
	return status.Readings{
		LB: &status.LB{Requests: 1200, Period: "since start", Active: 40, Concurrent: true, Upstreams: []status.Upstream{
			{Name: "app-1", Healthy: true, State: "healthy"}, {Name: "app-2", Healthy: true, State: "healthy"}, {Name: "app-3", Healthy: true, State: "healthy"}}},
		Nodes:  []status.Node{{Name: "app-1", Pool: true, Active: 5, Idle: 9}, {Name: "app-2", Pool: true, Active: 3, Idle: 11}},
		DB:     &status.Database{Connections: 120, Replicas: nil},
		Redis:  &status.Redis{UsedBytes: 100 << 20, Clients: 50},
		Files:  &status.Files{FreeBytes: 50 << 30, TotalBytes: 100 << 30},
		Cron:   &status.Cron{LastRun: now.Add(-40 * time.Second), Duration: 3 * time.Second, LockHolder: "pid 7 on cron since 2026-12-01T09:00:00Z"},
		Moodle: &status.Moodle{Release: "5.3 (Build: 20261005)", Reachable: true},
	}
}

// find returns the verdict of one check.
func find(t *testing.T, r status.Report, subject, name string) status.Verdict {
	t.Helper()
	for _, c := range r.Checks {
		if c.Subject == subject && c.Name == name {
			return c.Verdict
		}
	}
	t.Fatalf("no check %s/%s in %+v", subject, name, r.Checks)
	return status.OK
}

func TestEvaluate_HealthyDevClusterIsAllOK(t *testing.T) {
	r := status.Evaluate("dev", devSpec(t), healthy(), now)
	for _, c := range r.Checks {
		if c.Verdict != status.OK {
			t.Errorf("%s %s %s = %s: %s (%s)", c.Tier, c.Subject, c.Name, c.Value, c.Verdict, c.Rule)
		}
	}
	if r.Verdict != status.OK || r.Verdict.ExitCode() != 0 {
		t.Errorf("verdict %s, exit %d", r.Verdict, r.Verdict.ExitCode())
	}
}

// TestEvaluate_EachTierVerdictFollowsItsThreshold changes one reading of a
// healthy cluster per case and checks the verdict of the line it moves.
func TestEvaluate_EachTierVerdictFollowsItsThreshold(t *testing.T) {
	cases := []struct {
		name          string
		change        func(*status.Readings)
		subject, line string
		want          status.Verdict
	}{
		{"one upstream unhealthy warns on its line", func(r *status.Readings) { r.LB.Upstreams[1] = status.Upstream{Name: "app-2", State: "unhealthy"} },
			"app-2", "upstream", status.Warn},
		{"fewer healthy upstreams than nodes warns", func(r *status.Readings) { r.LB.Upstreams[1] = status.Upstream{Name: "app-2", State: "unhealthy"} },
			"all", "healthy upstreams", status.Warn},
		{"no healthy upstream is critical", func(r *status.Readings) {
			for i := range r.LB.Upstreams {
				r.LB.Upstreams[i].Healthy = false
			}
		}, "all", "healthy upstreams", status.Crit},
		{"connections at 80 % of 3 × 83 workers warn", func(r *status.Readings) { r.LB.Active = 200 }, "all", "active connections", status.Warn},
		{"active workers at 95 % of pm.max_children are critical", func(r *status.Readings) { r.Nodes[0].Active = 79 }, "app-1", "workers active/idle", status.Crit},
		{"active workers at 80 % warn", func(r *status.Readings) { r.Nodes[0].Active = 67 }, "app-1", "workers active/idle", status.Warn},
		{"max children reached warns", func(r *status.Readings) { r.Nodes[1].MaxChildrenReached = 2 }, "app-2", "max children reached", status.Warn},
		{"a short listen queue warns", func(r *status.Readings) { r.Nodes[0].ListenQueue = 3 }, "app-1", "listen queue", status.Warn},
		{"a listen queue as long as the pool is critical", func(r *status.Readings) { r.Nodes[0].ListenQueue = 83 }, "app-1", "listen queue", status.Crit},
		{"a node whose pool does not answer is critical", func(r *status.Readings) { r.Nodes[1].Err = errors.New("connect: refused") }, "app-2", "php-fpm", status.Crit},
		{"connections at 80 % of max_connections 862 warn", func(r *status.Readings) { r.DB.Connections = 690 }, "primary", "connections", status.Warn},
		{"connections at 95 % of max_connections are critical", func(r *status.Readings) { r.DB.Connections = 819 }, "primary", "connections", status.Crit},
		{"connections below 80 % are fine", func(r *status.Readings) { r.DB.Connections = 689 }, "primary", "connections", status.OK},
		{"a replica a minute behind warns", func(r *status.Readings) { r.DB.Replicas = []status.Replica{{Name: "replica-1", Lag: 61 * time.Second}} },
			"replica-1", "replica lag", status.Warn},
		{"a replica five minutes behind is critical", func(r *status.Readings) { r.DB.Replicas = []status.Replica{{Name: "replica-1", Lag: 5 * time.Minute}} },
			"replica-1", "replica lag", status.Crit},
		{"a replica in sync is fine", func(r *status.Readings) {
			r.DB.Replicas = []status.Replica{{Name: "replica-1", Lag: 40 * time.Millisecond}}
		},
			"replica-1", "replica lag", status.OK},
		{"a database instance failing over is critical", func(r *status.Readings) { r.DB.Status = "rebooting" }, "primary", "state", status.Crit},
		{"Redis without maxmemory at 80 % of the container's 1024 MB warns", func(r *status.Readings) { r.Redis.UsedBytes = 820 << 20 }, "primary", "memory", status.Warn},
		{"Redis at 95 % of maxmemory is critical", func(r *status.Readings) { r.Redis.UsedBytes, r.Redis.MaxBytes = 490<<20, 512<<20 }, "primary", "memory", status.Crit},
		{"ElastiCache at 85 % memory warns", func(r *status.Readings) { r.Redis.UsedPercent = 85 }, "primary", "memory", status.Warn},
		{"any eviction is critical (noeviction keeps sessions)", func(r *status.Readings) { r.Redis.Evictions = 1 }, "primary", "evictions", status.Crit},
		{"any rejected write is critical", func(r *status.Readings) { r.Redis.RejectedWrites = 4 }, "primary", "rejected writes", status.Crit},
		{"more Redis clients than workers at the ceiling warn", func(r *status.Readings) { r.Redis.Clients = 700 }, "primary", "clients", status.Warn},
		{"moodledata below 10 % free warns", func(r *status.Readings) { r.Files.FreeBytes = 9 << 30 }, "shared", "free space", status.Warn},
		{"moodledata below 5 % free is critical", func(r *status.Readings) { r.Files.FreeBytes = 4 << 30 }, "shared", "free space", status.Crit},
		{"EFS has no size to fill", func(r *status.Readings) { r.Files = &status.Files{Elastic: true} }, "shared", "free space", status.OK},
		{"no cron run for 4 intervals warns", func(r *status.Readings) { r.Cron.LastRun = now.Add(-4 * time.Minute) }, "runner", "last run", status.Warn},
		{"no cron run for 11 intervals is critical", func(r *status.Readings) { r.Cron.LastRun = now.Add(-11 * time.Minute) }, "runner", "last run", status.Crit},
		{"no finished run yet warns", func(r *status.Readings) { r.Cron.LastRun = time.Time{} }, "runner", "last run", status.Warn},
		{"an hour-long run is fine: nothing cuts it short", func(r *status.Readings) { r.Cron.Duration = 50 * time.Minute }, "runner", "duration", status.OK},
		{"a run past Moodle's taskruntimewarn warns", func(r *status.Readings) { r.Cron.Duration = 13 * time.Hour }, "runner", "duration", status.Warn},
		{"a run past Moodle's taskruntimeerror is critical", func(r *status.Readings) { r.Cron.Duration = 25 * time.Hour }, "runner", "duration", status.Crit},
		{"nobody holding the runner lock is critical", func(r *status.Readings) { r.Cron.LockHolder = "" }, "runner", "lock holder", status.Crit},
		{"maintenance mode on warns", func(r *status.Readings) { r.Moodle.Maintenance = true }, "site", "maintenance mode", status.Warn},
		{"an older release than the stack deploys warns", func(r *status.Readings) { r.Moodle.Release = "5.0.2" }, "site", "release", status.Warn},
		{"a site that does not answer is critical", func(r *status.Readings) { r.Moodle.Reachable = false }, "site", "answers", status.Crit},
		{"a tier that cannot be read is unknown", func(r *status.Readings) { r.Redis, r.RedisErr = nil, errors.New("docker exec: no such container") }, "-", "readings", status.Unknown},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := healthy()
			c.change(&r)
			rep := status.Evaluate("dev", devSpec(t), r, now)
			if got := find(t, rep, c.subject, c.line); got != c.want {
				t.Errorf("%s/%s: got %s, want %s", c.subject, c.line, got, c.want)
			}
			if rep.Verdict < c.want {
				t.Errorf("report verdict %s is milder than the line's %s", rep.Verdict, c.want)
			}
		})
	}
}

func TestVerdict_ExitCodesRankBySeverity(t *testing.T) {
	want := map[status.Verdict]int{status.OK: 0, status.Warn: 3, status.Unknown: 4, status.Crit: 5}
	for v, code := range want {
		if v.ExitCode() != code {
			t.Errorf("%s: exit %d, want %d", v, v.ExitCode(), code)
		}
	}
	r := healthy()
	r.Moodle.Maintenance = true                   // warn
	r.Redis, r.RedisErr = nil, errors.New("down") // unknown
	if rep := status.Evaluate("dev", devSpec(t), r, now); rep.Verdict != status.Unknown {
		t.Errorf("a warning and an unknown tier: verdict %s, want unknown", rep.Verdict)
	}
}

func TestRender_TableAndJSONCarryEveryCheck(t *testing.T) {
	r := healthy()
	r.Redis.Evictions = 3
	rep := status.Evaluate("dev", devSpec(t), r, now)
	var table, js bytes.Buffer
	if err := status.WriteTable(&table, rep); err != nil {
		t.Fatal(err)
	}
	if err := status.WriteJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	evictions := false
	for _, line := range strings.Split(table.String(), "\n") {
		f := strings.Fields(line)
		evictions = evictions || len(f) > 4 && f[0] == "CRIT" && f[1] == "redis" && f[3] == "evictions"
	}
	if !evictions || !strings.HasSuffix(table.String(), "dev: CRIT (exit 5)\n") {
		t.Errorf("table:\n%s", table.String())
	}
	var back struct {
		Verdict string
		Checks  []struct{ Tier, Verdict string }
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Verdict != "crit" || len(back.Checks) != len(rep.Checks) {
		t.Errorf("JSON verdict %q with %d checks, want crit with %d", back.Verdict, len(back.Checks), len(rep.Checks))
	}
}

// The lines of Moodle's own cron (\core\cron::run_main_process in
// public/lib/classes/cron.php) are what status reads a run from; the line the
// releases before 4.2 printed is not.
func TestCronPass_ReadsTheLinesMoodlePrints(t *testing.T) {
	cases := []struct {
		line string
		want time.Duration
		ok   bool
	}{
		{"Cron completed at 09:58:03 in 3.04 seconds. Memory used: 38.1 MB.", 3040 * time.Millisecond, true},
		{"Cron completed at 23:59:59 in 0.25 seconds. Memory used: 38.1 MB. Continuing to check for tasks for 57 more seconds.", 250 * time.Millisecond, true},
		{"Cron completed at 00:00:01 in 9.5367431640625E-5 seconds. Memory used: 30 MB.", 95367 * time.Nanosecond, true},
		{"Execution took 3.04 seconds", 0, false},
		{"Cron run completed correctly", 0, false},
	}
	for _, c := range cases {
		got, ok := status.CronPass(c.line)
		if ok != c.ok || got.Round(time.Microsecond) != c.want.Round(time.Microsecond) {
			t.Errorf("CronPass(%q) = %v, %v; want %v, %v", c.line, got, ok, c.want, c.ok)
		}
	}
}
