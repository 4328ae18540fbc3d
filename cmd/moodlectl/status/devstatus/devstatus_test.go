package devstatus

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/dockerapi"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/status"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// The outputs under testdata are in the exact formats the commands print (nginx
// stub_status, php-fpm's JSON status behind cgi-fcgi's headers, psql -At, redis-cli
// info with CRLF, df -P, the cron runner's log with Docker's timestamps).

func testdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// recorded answers each container's commands from testdata and records what was run.
type recorded struct {
	t       *testing.T
	outputs map[string]string // "<container> <argv[0]>" -> output
	fail    map[string]error  // container -> error of every exec
	health  map[string]string
	logs    []dockerapi.LogLine
	ran     []string
}

func (d *recorded) Exec(_ context.Context, container string, cmd ...string) (string, error) {
	d.ran = append(d.ran, container+" "+strings.Join(cmd, " "))
	if err := d.fail[container]; err != nil {
		return "", err
	}
	key := container + " " + cmd[0]
	if cmd[0] == "php" {
		key += " " + cmd[len(cmd)-1]
	}
	out, ok := d.outputs[key]
	if !ok {
		return "", fmt.Errorf("no recorded output for %q", key)
	}
	return out, nil
}

func (d *recorded) Health(_ context.Context, container string) (string, error) {
	if h, ok := d.health[container]; ok {
		return h, nil
	}
	return "", errors.New("no such container")
}

func (d *recorded) Logs(context.Context, string, int) ([]dockerapi.LogLine, error) {
	return d.logs, nil
}

func devCluster(t *testing.T) (*recorded, Collector) {
	t.Helper()
	spec, err := topology.Defaults(topology.TargetDocker)
	if err != nil {
		t.Fatal(err)
	}
	var logs []dockerapi.LogLine
	for _, l := range strings.Split(strings.TrimSpace(testdata(t, "cron.log")), "\n") {
		ts, text, _ := strings.Cut(l, " ")
		at, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, dockerapi.LogLine{Time: at, Text: text})
	}
	d := &recorded{t: t, logs: logs,
		outputs: map[string]string{
			"moodle-dev-lb curl":                             testdata(t, "nginx_status.txt"),
			"moodle-dev-db psql":                             testdata(t, "psql.txt"),
			"moodle-dev-redis sh":                            testdata(t, "redis_info.txt"),
			"moodle-dev-app-1 df":                            testdata(t, "df.txt"),
			"moodle-dev-cron cat":                            "pid 9 on cron since 2026-12-01T08:00:00Z\n",
			"moodle-dev-cron php --name=release":             "5.3 (Build: 20261005)\n",
			"moodle-dev-cron php --name=maintenance_enabled": "\n",
		},
		health: map[string]string{"moodle-dev-app-1": "healthy", "moodle-dev-app-2": "healthy", "moodle-dev-app-3": "unhealthy"},
	}
	for _, n := range spec.AppNodes() {
		d.outputs["moodle-dev-"+n+" sh"] = testdata(t, "fpm_status.txt")
	}
	return d, Collector{Docker: d, Spec: spec, Prefix: "moodle-dev"}
}

// TestCollect_ReadsEveryTierFromRecordedOutputs proves each parser on the
// commands' real output formats, end to end into the readings.
func TestCollect_ReadsEveryTierFromRecordedOutputs(t *testing.T) {
	_, c := devCluster(t)
	r := c.Collect(context.Background())
	for tier, err := range map[string]error{"lb": r.LBErr, "db": r.DBErr, "redis": r.RedisErr, "files": r.FilesErr, "cron": r.CronErr, "moodle": r.MoodleErr} {
		if err != nil {
			t.Fatalf("%s: %v", tier, err)
		}
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"nginx active connections", r.LB.Active, int64(17)},
		{"nginx requests", r.LB.Requests, int64(48213)},
		{"upstream app-3", r.LB.Upstreams[2], status.Upstream{Name: "app-3", Healthy: false, State: "unhealthy"}},
		{"app nodes", len(r.Nodes), 3},
		{"app-1 pool", r.Nodes[0], status.Node{Name: "app-1", Pool: true, Active: 3, Idle: 11}},
		{"database connections", r.DB.Connections, 57},
		{"replica lag", r.DB.Replicas[0].Lag.Round(time.Millisecond), 4 * time.Millisecond},
		{"redis used", r.Redis.UsedBytes, int64(24871296)},
		{"redis maxmemory", r.Redis.MaxBytes, int64(0)},
		{"redis rejected writes (errorstat_OOM)", r.Redis.RejectedWrites, int64(3)},
		{"redis clients", r.Redis.Clients, 44},
		{"moodledata free", r.Files.FreeBytes, int64(56353520) << 10},
		{"cron last run", r.Cron.LastRun, time.Date(2026, 12, 1, 9, 58, 3, 122e6, time.UTC)},
		{"cron duration", r.Cron.Duration, 3040 * time.Millisecond},
		{"cron lock holder", r.Cron.LockHolder, "pid 9 on cron since 2026-12-01T08:00:00Z"},
		{"release", r.Moodle.Release, "5.3 (Build: 20261005)"},
		{"maintenance", r.Moodle.Maintenance, false},
	}
	for _, c := range checks {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
		}
	}
	rep := status.Evaluate("dev", c.Spec, r, time.Date(2026, 12, 1, 9, 59, 0, 0, time.UTC))
	if rep.Verdict != status.Crit {
		t.Errorf("verdict %s: want crit for the rejected writes", rep.Verdict)
	}
}

// A container the engine says is stopped or gone is down (crit); any other
// failure to read it leaves its tier unknown.
func TestCollect_AStoppedContainerIsDownAndAnUnreadOneUnknown(t *testing.T) {
	cases := []struct {
		name      string
		container string
		err       error
		tier      string
		verdict   status.Verdict
	}{
		{"a stopped Redis is down", "moodle-dev-redis",
			fmt.Errorf("container 3f2a is not running: %w", dockerapi.ErrNotRunning), status.TierRedis, status.Crit},
		{"a removed database is down", "moodle-dev-db",
			fmt.Errorf("No such container: moodle-dev-db: %w", dockerapi.ErrNotFound), status.TierDatabase, status.Crit},
		{"a Redis that does not answer is unknown", "moodle-dev-redis",
			errors.New("redis-cli: connection refused"), status.TierRedis, status.Unknown},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, col := devCluster(t)
			d.fail = map[string]error{c.container: c.err}
			rep := status.Evaluate("dev", col.Spec, col.Collect(context.Background()), time.Now())
			found := false
			for _, ch := range rep.Checks {
				found = found || ch.Tier == c.tier && ch.Verdict == c.verdict && strings.Contains(ch.Rule, c.err.Error())
			}
			if !found {
				t.Errorf("no %s %s line naming the cause: %+v", c.verdict, c.tier, rep.Checks)
			}
		})
	}
}

// A stopped app node is down: its php-fpm is crit, as a node that fails to answer is.
func TestCollect_AStoppedNodeIsCrit(t *testing.T) {
	d, col := devCluster(t)
	d.fail = map[string]error{"moodle-dev-app-2": fmt.Errorf("container 9c1 is not running: %w", dockerapi.ErrNotRunning)}
	rep := status.Evaluate("dev", col.Spec, col.Collect(context.Background()), time.Now())
	for _, ch := range rep.Checks {
		if ch.Subject == "app-2" && ch.Name == "php-fpm" {
			if ch.Verdict != status.Crit || !strings.Contains(ch.Rule, "not running") {
				t.Errorf("app-2: %+v, want crit, naming the cause", ch)
			}
			return
		}
	}
	t.Errorf("no line for app-2: %+v", rep.Checks)
}

// TestCommands_AreWhatTheRealDockerTierRuns pins the commands the lead's real
// Docker tier runs against a deployed dev stack.
func TestCommands_AreWhatTheRealDockerTierRuns(t *testing.T) {
	d, c := devCluster(t)
	c.Collect(context.Background())
	want := []string{
		"moodle-dev-lb curl -fsS --max-time 4 http://127.0.0.1:8080/nginx_status",
		"moodle-dev-app-1 sh -c SCRIPT_NAME=/fpm-status SCRIPT_FILENAME=/fpm-status QUERY_STRING=json REQUEST_METHOD=GET cgi-fcgi -bind -connect 127.0.0.1:9000",
		"moodle-dev-redis sh -c REDISCLI_AUTH=\"$(cat \"$REDIS_PASSWORD_FILE\")\" redis-cli info",
		"moodle-dev-app-1 df -P -k /var/www/moodledata",
		"moodle-dev-cron cat /var/www/moodledata/.cron-runner.lock",
		"moodle-dev-cron php /var/www/moodle/public/admin/cli/cfg.php --name=release",
	}
	ran := strings.Join(d.ran, "\n")
	for _, w := range want {
		if !strings.Contains(ran, w) {
			t.Errorf("not run: %s\nran:\n%s", w, ran)
		}
	}
}

func TestParsers_RefuseOutputThatIsNotTheirs(t *testing.T) {
	html := "<html><body>502 Bad Gateway</body></html>"
	if _, err := parseStubStatus(html); err == nil {
		t.Error("stub_status accepted an error page")
	}
	if _, err := parseFPMStatus("app-1", "Primary script unknown"); err == nil {
		t.Error("php-fpm status accepted a text error")
	}
	if _, err := parseDB("psql: error: connection refused"); err == nil {
		t.Error("psql rows accepted an error")
	}
	if _, err := parseRedisInfo("NOAUTH Authentication required."); err == nil {
		t.Error("redis info accepted NOAUTH")
	}
	if _, err := parseDF("df: /var/www/moodledata: No such file or directory"); err == nil {
		t.Error("df accepted an error")
	}
}
