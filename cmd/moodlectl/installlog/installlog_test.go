package installlog_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/dockerapi"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/installlog"
	"github.com/moodle-cluster/moodle-pulumi/tests/fakes/awsfake"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// scripted is a container log: it emits its lines, tells the test, then runs
// until the watcher stops following.
type scripted struct {
	mu        sync.Mutex
	lines     []dockerapi.LogLine
	followed  []string
	emitted   chan struct{}
	notFounds int // answers "no such container" this many times first
}

// Follow answers as Docker's GET /containers/{id}/logs does: only the lines
// at or after since ("Only return logs since this time, as a UNIX timestamp",
// Docker Engine API v1.41, ContainerLogs).
func (s *scripted) Follow(ctx context.Context, container string, since time.Time, emit func(dockerapi.LogLine)) error {
	s.mu.Lock()
	s.followed = append(s.followed, container)
	if s.notFounds > 0 {
		s.notFounds--
		s.mu.Unlock()
		return fmt.Errorf("No such container: %s: %w", container, dockerapi.ErrNotFound)
	}
	s.mu.Unlock()
	for _, l := range s.lines {
		if !l.Time.Before(since) {
			emit(l)
		}
	}
	close(s.emitted)
	<-ctx.Done()
	return nil
}

func pre(op apitype.OpType, typ, urn, name string) events.EngineEvent {
	return events.EngineEvent{EngineEvent: apitype.EngineEvent{ResourcePreEvent: &apitype.ResourcePreEvent{
		Metadata: apitype.StepEventMetadata{Op: op, Type: typ, URN: urn,
			New: &apitype.StepEventStateMetadata{Inputs: map[string]any{"name": name}}}}}}
}

func outputs(urn string) events.EngineEvent {
	return events.EngineEvent{EngineEvent: apitype.EngineEvent{ResOutputsEvent: &apitype.ResOutputsEvent{
		Metadata: apitype.StepEventMetadata{URN: urn}}}}
}

// ticking is a clock that moves on by step each time it is read.
func ticking(start time.Time, step time.Duration) func() time.Time {
	var mu sync.Mutex
	now := start
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t := now
		now = now.Add(step)
		return t
	}
}

const cronURN = "urn:pulumi:dev::moodle::moodle:docker:Cluster$docker:index/container:Container::moodle-dev-cron"

// TestDockerWatcher_FollowsTheCronContainerWhileTheEngineCreatesIt replays the
// engine's events of an up: the cron container's step starts, the provider has
// not created it yet (404) and creates it while the watcher waits to ask
// again, then its log arrives, then the step ends. A line the container wrote
// during that wait is shown too: on a real engine a stand-in install finishes
// within it.
func TestDockerWatcher_FollowsTheCronContainerWhileTheEngineCreatesIt(t *testing.T) {
	docker := &scripted{notFounds: 1, emitted: make(chan struct{}), lines: []dockerapi.LogLine{
		{Time: t0.Add(500 * time.Millisecond), Text: "2026-12-01T10:00:00Z cron-runner: waiting for the database"},
		{Time: t0.Add(2 * time.Second), Text: "2026-12-01T10:00:02Z cron-runner: running the install/upgrade hook /usr/local/bin/moodle-install-upgrade"},
		{Time: t0.Add(95 * time.Second), Text: "moodle-install-upgrade: empty database: installing Moodle"},
		{Time: t0.Add(7*time.Minute + 3*time.Second), Text: "moodle-install-upgrade: installed"},
	}}
	var out bytes.Buffer
	w := installlog.NewDockerWatcher(context.Background(), docker, "moodle-dev-cron",
		func(start time.Time) *installlog.Printer { return installlog.NewPrinter(&out, start) },
		ticking(t0, time.Second))

	w.Event(pre(apitype.OpSame, "docker:index/container:Container", cronURN, "moodle-dev-cron"))
	w.Event(pre(apitype.OpCreate, "docker:index/container:Container", "urn:...::moodle-dev-app-1", "moodle-dev-app-1"))
	w.Event(pre(apitype.OpCreate, "docker:index/container:Container", cronURN, "moodle-dev-cron"))
	<-docker.emitted
	w.Event(outputs(cronURN))
	w.Wait()

	want := "  install [0s] waiting for moodle-dev-cron to install or upgrade Moodle (its log follows)\n" +
		"  install [1s] 2026-12-01T10:00:00Z cron-runner: waiting for the database\n" +
		"  install [2s] 2026-12-01T10:00:02Z cron-runner: running the install/upgrade hook /usr/local/bin/moodle-install-upgrade\n" +
		"  install [1m35s] moodle-install-upgrade: empty database: installing Moodle\n" +
		"  install [7m3s] moodle-install-upgrade: installed\n"
	if out.String() != want {
		t.Errorf("printed:\n%s\nwant:\n%s", out.String(), want)
	}
	if strings.Join(docker.followed, ",") != "moodle-dev-cron,moodle-dev-cron" {
		t.Errorf("followed %v: want the cron container only, again after the 404", docker.followed)
	}
}

func TestJudge_NamesTheLinesThatEndTheStep(t *testing.T) {
	cases := map[string]installlog.Outcome{
		"moodle-install-upgrade: installed":                                                    installlog.Succeeded,
		"moodle-install-upgrade: upgraded":                                                     installlog.Succeeded,
		"moodle-install-upgrade: database is up to date":                                       installlog.Succeeded,
		"moodle-install-upgrade: UPGRADE FAILED: the site stays in maintenance mode":           installlog.Failed,
		"moodle-install-upgrade: giving up: the database never answered":                       installlog.Failed,
		"2026-12-01T10:00:00Z cron-runner: the install/upgrade hook failed with status 1; ...": installlog.Failed,
		"moodle-install-upgrade: database not reachable yet (attempt 3 of 30)":                 installlog.Running,
	}
	for line, want := range cases {
		if got := installlog.Judge(line); got != want {
			t.Errorf("%q: got %v, want %v", line, got, want)
		}
	}
}

// TestFollowCloudWatch_PrintsEachEventOnceUntilTheInstallEnds serves the cron
// task's log group from a fake CloudWatch Logs API (JSON 1.1, the SDK's own
// client): a page with a next token, then a poll that brings the end.
func TestFollowCloudWatch_PrintsEachEventOnceUntilTheInstallEnds(t *testing.T) {
	fake := awsfake.Start()
	defer fake.Close()
	event := func(id string, after time.Duration, msg string) map[string]any {
		return map[string]any{"eventId": id, "timestamp": t0.Add(after).UnixMilli(), "message": msg, "logStreamName": "moodle-cron/cron/abc"}
	}
	polls := [][]map[string]any{
		{event("1", time.Second, "cron-runner: running the install/upgrade hook"), event("2", 30*time.Second, "moodle-install-upgrade: empty database: installing Moodle")},
		{event("2", 30*time.Second, "moodle-install-upgrade: empty database: installing Moodle")},
		{event("3", 6*time.Minute, "moodle-install-upgrade: installed"), event("4", 7*time.Minute, "Cron run completed")},
	}
	var mu sync.Mutex
	var asked []string
	fake.JSON("Logs_20140328.FilterLogEvents", func(req map[string]any) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, fmt.Sprintf("%v from %.0f token %v", req["logGroupName"], req["startTime"], req["nextToken"]))
		if len(polls) == 0 {
			return map[string]any{"events": []any{}}, nil
		}
		page := polls[0]
		polls = polls[1:]
		out := map[string]any{"events": page}
		if len(polls) == 2 {
			out["nextToken"] = "page-2"
		}
		return out, nil
	})
	api := cloudwatchlogs.NewFromConfig(fake.Config("eu-west-1"))
	var out bytes.Buffer
	outcome, line, err := installlog.FollowCloudWatch(context.Background(), api, "moodle-cron-a1b2", t0, time.Millisecond, installlog.NewPrinter(&out, t0))
	if err != nil || outcome != installlog.Succeeded || line != "moodle-install-upgrade: installed" {
		t.Fatalf("outcome %v, line %q, %v", outcome, line, err)
	}
	want := "  install [1s] cron-runner: running the install/upgrade hook\n" +
		"  install [30s] moodle-install-upgrade: empty database: installing Moodle\n" +
		"  install [6m0s] moodle-install-upgrade: installed\n"
	if out.String() != want {
		t.Errorf("printed:\n%s\nwant:\n%s", out.String(), want)
	}
	if len(asked) != 3 || !strings.HasSuffix(asked[1], "token page-2") || !strings.HasPrefix(asked[0], "moodle-cron-a1b2 from "+fmt.Sprint(t0.UnixMilli())) {
		t.Errorf("asked %q", asked)
	}
}

func TestAWSWatcher_FollowsOnlyWhenTheUpDeployedANewCronTask(t *testing.T) {
	done := func(op apitype.OpType, typ, name string, out map[string]any) events.EngineEvent {
		return events.EngineEvent{EngineEvent: apitype.EngineEvent{ResOutputsEvent: &apitype.ResOutputsEvent{
			Metadata: apitype.StepEventMetadata{Op: op, Type: typ, URN: "urn:pulumi:prod::moodle::x$" + typ + "::" + name,
				New: &apitype.StepEventStateMetadata{Outputs: out}}}}}
	}
	group := done(apitype.OpSame, "aws:cloudwatch/logGroup:LogGroup", "moodle-cron", map[string]any{"name": "moodle-cron-a1b2"})
	cases := []struct {
		name   string
		events []events.EngineEvent
		want   bool
	}{
		{"an unchanged cron service", []events.EngineEvent{group, done(apitype.OpSame, "aws:ecs/service:Service", "moodle-cron", nil)}, false},
		{"an updated cron service", []events.EngineEvent{group, done(apitype.OpUpdate, "aws:ecs/service:Service", "moodle-cron", nil)}, true},
		{"only the app service changed", []events.EngineEvent{group, done(apitype.OpUpdate, "aws:ecs/service:Service", "moodle-app", nil)}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := installlog.NewAWSWatcher("moodle-cron", func() time.Time { return t0 })
			for _, e := range c.events {
				w.Event(e)
			}
			g, since, ok := w.Pending()
			if ok != c.want || ok && (g != "moodle-cron-a1b2" || !since.Equal(t0)) {
				t.Errorf("pending %q since %v: %v, want %v", g, since, ok, c.want)
			}
		})
	}
}
