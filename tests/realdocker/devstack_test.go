//go:build realdocker

package realdocker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/cost"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/diagram"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/dockerapi"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/installlog"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/inventory"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/status"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/status/devstatus"
	"github.com/moodle-cluster/moodle-pulumi/components/dockerhost"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/stacks"
	"github.com/moodle-cluster/moodle-pulumi/tests/harness/loadgen"
)

// The dev stack's nginx upstream settings the failover assertions derive their
// windows from (components/render/templates/nginx.conf.tmpl).
const failTimeout = 30 * time.Second

// TestDevStackOnARealDockerEngine deploys the committed dev stack (with the stand-in
// images) and walks it through what its users do: the first up, a preview that must
// plan nothing, the site's behaviour across nodes, scaling under load, a node
// crash, an interrupted up, a switch to a prebuilt image, and destroy. The steps
// share one deployment and run in order.
func TestDevStackOnARealDockerEngine(t *testing.T) {
	d := newDeployment(t)
	ctx := context.Background()
	nodes := func(n int) []string {
		s := topology.Spec{App: topology.App{Replicas: n}}
		return s.AppNodes()
	}

	t.Run("up from nothing shows the install and serves the site through the load balancer", func(t *testing.T) {
		// What `moodlectl up` prints while the provider waits for the install.
		var shown strings.Builder
		client, err := dockerapi.New("")
		if err != nil {
			t.Fatal(err)
		}
		watcher := installlog.NewDockerWatcher(ctx, client, dockerhost.CronContainerName(stacks.DockerClusterName(stackName)), func(start time.Time) *installlog.Printer {
			return installlog.NewPrinter(&lockedWriter{w: &shown}, start)
		}, time.Now)
		d.watch(watcher.Event)
		start := time.Now()
		res := d.up(ctx)
		d.watch(nil)
		watcher.Wait()
		t.Logf("up took %s: %v", since(start), res.Summary.ResourceChanges)
		if !strings.Contains(shown.String(), "moodle-install-upgrade: installed") {
			t.Errorf("the install was not shown while up waited for it:\n%s", shown.String())
		}
		b := newBrowser(t, d.url())
		if got := b.get("/probe.php?action=site").json(t); got["installed"] != got["code"] || got["installed"] == nil {
			t.Errorf("site = %v, want the code's version installed", got)
		}
		t.Logf("the first 200 through the load balancer %s after up started", since(start))
		// The admin password the stack generated is the one the install used.
		out, err := d.stack.Outputs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pw, _ := out["adminPassword"].Value.(string)
		if !out["adminPassword"].Secret || pw == "" {
			t.Fatalf("adminPassword output = %+v, want a secret", out["adminPassword"])
		}
		r, err := b.do(http.MethodPost, "/probe.php?action=admin-check&user=admin", pw)
		if err != nil || r.json(t)["ok"] != true {
			t.Errorf("the admin password output does not log in: %v %s", err, r.body)
		}
	})

	t.Run("a preview right after up plans no change", func(t *testing.T) {
		start := time.Now()
		if got := d.changes(); len(got) > 0 {
			t.Errorf("preview plans %v", got)
		}
		t.Logf("preview took %s", since(start))
	})

	t.Run("the daemon's own log options and ulimits are in every container, and plan nothing", func(t *testing.T) {
		// scripts/start-dockerd.sh configures the daemon it starts with
		// dockerd-test.json: both reach every container, and the preview above
		// planned no change against them. A daemon started otherwise may set
		// neither; CI's is always the script's.
		logs := inspect(t, "{{json .HostConfig.LogConfig.Config}}", prefix+"db")
		ulimits := inspect(t, "{{json .HostConfig.Ulimits}}", prefix+"db")
		t.Logf("db's log options %s, ulimits %s", logs, ulimits)
		configured := strings.Contains(logs, `"compress":"true"`) && strings.Contains(ulimits, `"Name":"nofile"`)
		if !configured && os.Getenv("CI") == "" {
			t.Skip("this daemon adds no log options or ulimits of its own (start it with scripts/start-dockerd.sh to test them)")
		}
		if !configured {
			t.Errorf("CI's daemon does not add its log options and ulimits (scripts/dockerd-test.json): logs %s, ulimits %s", logs, ulimits)
		}
		// The program's own options win over the daemon's.
		if !strings.Contains(logs, `"max-size":"10m"`) {
			t.Errorf("db's log options %s lost the program's max-size", logs)
		}
	})

	t.Run("diagram and cost read the deployed stack from its state", func(t *testing.T) {
		dep, err := d.stack.Deployment(ctx)
		if err != nil {
			t.Fatal(err)
		}
		inv := inventory.FromState(stackName, dep)
		if got := inv.Outputs["siteUrl"]; got != d.url() {
			t.Errorf("the state's siteUrl output = %v, want %s", got, d.url())
		}
		top, err := diagram.Build(inv, d.spec())
		if err != nil {
			t.Fatal(err)
		}
		var text strings.Builder
		if err := diagram.Mermaid(&text, top); err != nil {
			t.Fatal(err)
		}
		// The deployed site and as many containers as the engine runs.
		containers := len(dockerList(t, "ps", "-aq", "--filter", "name="+prefix))
		for _, want := range []string{d.url(), "app nodes × 3", "one Docker host: " + strconv.Itoa(containers) + " containers"} {
			if !strings.Contains(text.String(), want) {
				t.Errorf("the diagram of the deployed stack lacks %q:\n%s", want, text.String())
			}
		}
		est, err := cost.Of(inv, "")
		if err != nil {
			t.Fatal(err)
		}
		if est.Total != 0 || est.Free != len(inv.Resources) || est.Free == 0 {
			t.Errorf("cost of the deployed dev stack: total %.2f, %d of %d resources free; want all %d free",
				est.Total, est.Free, len(inv.Resources), len(inv.Resources))
		}
	})

	t.Run("a refresh reads back no drift and a preview after it plans no change", func(t *testing.T) {
		res, err := d.stack.Refresh(ctx)
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		for op, n := range *res.Summary.ResourceChanges {
			if op != string(apitype.OpSame) && n > 0 {
				t.Errorf("refresh found %d resources to %s", n, op)
			}
		}
		if got := d.changes(); len(got) > 0 {
			t.Errorf("preview after refresh plans %v", got)
		}
	})

	t.Run("status reads every tier of the running stack and finds it healthy", func(t *testing.T) {
		client, err := dockerapi.New("")
		if err != nil {
			t.Fatal(err)
		}
		spec := d.spec()
		// The cron runner's first run ends right after the install; give it one
		// interval to be in the log.
		var rep status.Report
		waitFor(t, "a cron run in the runner's log", time.Duration(spec.Cron.IntervalSeconds)*time.Second, func() bool {
			rep = status.Evaluate(stackName, spec, devstatus.Collector{Docker: client, Spec: spec, Prefix: stacks.DockerClusterName(stackName)}.Collect(ctx), time.Now())
			return slices.ContainsFunc(rep.Checks, func(c status.Check) bool {
				return c.Tier == status.TierCron && c.Name == "last run" && c.Verdict == status.OK
			})
		})
		var table strings.Builder
		if err := status.WriteTable(&table, rep); err != nil {
			t.Fatal(err)
		}
		t.Logf("moodlectl status:\n%s", table.String())
		for _, c := range rep.Checks {
			if c.Verdict != status.OK {
				t.Errorf("%s %s %s = %s: %s (%s)", c.Tier, c.Subject, c.Name, c.Value, c.Verdict, c.Rule)
			}
		}
		for _, tier := range []string{status.TierLB, status.TierApp, status.TierDatabase, status.TierRedis, status.TierFiles, status.TierCron, status.TierMoodle} {
			if !slices.ContainsFunc(rep.Checks, func(c status.Check) bool { return c.Tier == tier }) {
				t.Errorf("no check of the %s tier", tier)
			}
		}
	})

	t.Run("every app node serves through the load balancer", func(t *testing.T) {
		seen := nodesServing(t, d.url(), 60)
		for _, n := range nodes(3) {
			if seen[n] == 0 {
				t.Errorf("%s served none of 60 requests: %v", n, seen)
			}
		}
		if len(seen) != 3 {
			t.Errorf("answers came from %v, want the 3 app nodes", seen)
		}
	})

	t.Run("a session started on one node is seen by every node", func(t *testing.T) {
		b := newBrowser(t, d.url())
		b.get("/probe.php?action=session-set&value=kept")
		seen := map[string]bool{}
		for i := 0; i < 60 && len(seen) < 3; i++ {
			got := b.get("/probe.php?action=session-get").json(t)
			if got["value"] != "kept" {
				t.Fatalf("node %v lost the session: %v", got["node"], got)
			}
			seen[got["node"].(string)] = true
		}
		if len(seen) != 3 {
			t.Errorf("the session was read on %v only", seen)
		}
	})

	t.Run("a file written through one node is served by every node with X-Accel-Redirect", func(t *testing.T) {
		b := newBrowser(t, d.url())
		payload := strings.Repeat("moodledata is shared ", 4096)
		r, err := b.do(http.MethodPost, "/probe.php?action=file-write&name=shared.bin", payload)
		if err != nil || r.status != http.StatusOK {
			t.Fatalf("write: %v %d %s", err, r.status, r.body)
		}
		writer := r.header.Get("X-Probe-Node")
		seen := map[string]bool{}
		for i := 0; i < 60 && len(seen) < 3; i++ {
			r := b.get("/probe.php?action=file-send&name=shared.bin")
			if r.body != payload {
				t.Fatalf("node %s sent %d bytes, want the %d written on %s", r.header.Get("X-Probe-Node"), len(r.body), len(payload), writer)
			}
			// nginx streamed it: the X-Accel-Redirect header never reaches the client,
			// and of PHP's other headers only Content-Disposition (naming the node) does.
			if r.header.Get("X-Accel-Redirect") != "" || r.header.Get("X-Probe-Node") != "" {
				t.Fatalf("PHP's headers reached the client past X-Accel-Redirect: %v", r.header)
			}
			seen[r.header.Get("Content-Disposition")] = true
		}
		if len(seen) != 3 {
			t.Errorf("the file was sent through %v only", seen)
		}
	})

	t.Run("a routed URL reaches Moodle's router with its query string", func(t *testing.T) {
		b := newBrowser(t, d.url())
		got := b.get("/probe/echo?probe=42&name=a%20b").json(t)
		if q, _ := got["query"].(map[string]any); q["probe"] != "42" || q["name"] != "a b" {
			t.Errorf("the router got %v, want probe=42 and name=a b", got)
		}
		r, err := b.do(http.MethodGet, "/course/view/42?id=7", "")
		if err != nil || r.status != http.StatusNotFound || r.header.Get("X-Probe-Router") != "r.php" {
			t.Errorf("an unknown route: %d from %q (%v), want the router's 404", r.status, r.header.Get("X-Probe-Router"), err)
		}
	})

	t.Run("the web installer and the CLI scripts are refused", func(t *testing.T) {
		b := newBrowser(t, d.url())
		for _, path := range []string{"/install.php", "/admin/cli/cron.php", "/admin/cli/install_database.php", "/.git/config"} {
			r, err := b.do(http.MethodGet, path, "")
			if err != nil || r.status != http.StatusNotFound {
				t.Errorf("GET %s = %d %v, want 404", path, r.status, err)
			}
		}
	})

	t.Run("exactly one cron runner: a second one exits at once", func(t *testing.T) {
		runners := 0
		for _, c := range dockerList(t, "ps", "--format", "{{.Names}}", "--filter", "name="+prefix) {
			// The host's view of each container's processes.
			if strings.Contains(run(t, "docker", "top", c, "-eo", "pid,args"), "/usr/local/bin/moodle-cron") {
				runners++
				if c != prefix+"cron" {
					t.Errorf("a cron runner runs in %s", c)
				}
			}
		}
		if runners != 1 {
			t.Errorf("%d containers run a cron runner, want 1", runners)
		}
		start := time.Now()
		out, err := execIn(prefix+"cron", "/usr/local/bin/moodle-cron")
		if err != nil || !strings.Contains(out, "another cron runner holds") {
			t.Errorf("a second runner: %v\n%s", err, out)
		}
		t.Logf("the second runner exited after %s", since(start))
	})

	t.Run("an ad hoc task runs on the worker while cron.php keeps to the scheduled tasks", func(t *testing.T) {
		// The worker holds its runner slot (an advisory lock, as Moodle's PostgreSQL
		// lock factory takes it) while it waits for tasks; its "Waiting for more
		// adhoc tasks to be queued" has no line end until a task comes, so Docker's
		// log shows none of it yet.
		worker := strings.Fields(inspect(t, "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", prefix+"adhoc-1"))
		waitFor(t, "the worker to hold an ad hoc runner slot", time.Minute, func() bool {
			holders, err := execIn(prefix+"db", "psql", "-U", "moodle", "-d", "moodle", "-At", "-c",
				`SELECT DISTINCT host(a.client_addr) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted`)
			return err == nil && slices.ContainsFunc(strings.Fields(holders), func(ip string) bool { return slices.Contains(worker, ip) })
		})
		// The worker creates the probe's queue table right after it takes its slot.
		waitFor(t, "an ad hoc task queued", 10*time.Second, func() bool {
			_, err := execIn(prefix+"db", "psql", "-U", "moodle", "-d", "moodle", "-At", "-c",
				`INSERT INTO mdl_task_adhoc (classname, customdata) VALUES ('\probe\task\sleep', '{"seconds": 2, "name": "real-tier"}')`)
			return err == nil
		})
		var runs string
		waitFor(t, "the task to run", time.Minute, func() bool {
			var err error
			runs, err = execIn(prefix+"cron", "cat", d.spec().Paths.DataRoot+"/probe-adhoc-runs.log")
			return err == nil
		})
		if f := strings.Fields(runs); len(f) != 5 || f[0] != "real-tier" || f[4] != "adhoc-1" {
			t.Errorf("ad hoc runs %q, want the task run once on adhoc-1", runs)
		}
		if cron := run(t, "docker", "logs", prefix+"cron"); !strings.Contains(cron, "Skipping processing of adhoc tasks. Concurrency limit reached.") {
			t.Errorf("cron.php found a free ad hoc runner slot; its log:\n%s", cron)
		}
	})

	t.Run("a message the site sends arrives in the mail catcher, whose page only the host's loopback shows", func(t *testing.T) {
		subject := fmt.Sprintf("real tier %d", time.Now().UnixNano())
		data, err := json.Marshal(map[string]string{"to": "learner@example.edu", "subject": subject})
		if err != nil {
			t.Fatal(err)
		}
		// Sent as Moodle sends its notifications: by an ad hoc task, on the worker.
		if out, err := execIn(prefix+"db", "psql", "-U", "moodle", "-d", "moodle", "-At", "-c",
			`INSERT INTO mdl_task_adhoc (classname, customdata) VALUES ('\probe\task\mail', $json$`+string(data)+`$json$)`); err != nil {
			t.Fatalf("queue a mail task: %v\n%s", err, out)
		}
		web := fmt.Sprintf("http://127.0.0.1:%d", d.mailPort)
		type address struct{ Address string }
		type message struct {
			From    address
			To      []address
			Subject string
		}
		var got struct{ Messages []message }
		waitFor(t, "the message in the catcher", time.Minute, func() bool {
			resp, err := http.Get(web + "/api/v1/messages")
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			if json.NewDecoder(resp.Body).Decode(&got) != nil {
				return false
			}
			return slices.ContainsFunc(got.Messages, func(m message) bool { return m.Subject == subject })
		})
		for _, m := range got.Messages {
			if m.Subject == subject && (m.From.Address != d.spec().Mail.NoReplyAddress || len(m.To) != 1 || m.To[0].Address != "learner@example.edu") {
				t.Errorf("the message went from %s to %v, want from %s to learner@example.edu", m.From.Address, m.To, d.spec().Mail.NoReplyAddress)
			}
		}
		if page := newBrowser(t, web).get("/"); !strings.Contains(page.body, subject) {
			t.Errorf("the catcher's page does not list %q:\n%s", subject, page.body)
		}
		// Only the web page is published, and only on the loopback address.
		if ports := run(t, "docker", "port", prefix+"mailpit"); ports != fmt.Sprintf("8025/tcp -> 127.0.0.1:%d", d.mailPort) {
			t.Errorf("the catcher publishes %q", ports)
		}
	})

	t.Run("scaling 3 to 5 to 3 under load drops no request and touches no data", func(t *testing.T) {
		keep := []string{prefix + "db", prefix + "redis", prefix + "cron", prefix + "lb"}
		before := ids(t, keep)
		volumes := volumeIdentities(t)
		session := newBrowser(t, d.url())
		session.get("/probe.php?action=session-set&value=across-scaling")

		l := loadgen.Start(d.url()+"/probe.php?action=node", 4, 200_000, 10*time.Minute, requestTimeout)
		for _, n := range []int{5, 3} {
			d.set(map[string]any{"moodle:app.replicas": n})
			start := time.Now()
			res := d.up(ctx)
			t.Logf("scaled to %d in %s: %v", n, since(start), res.Summary.ResourceChanges)
			// A node nginx counted failures against under the load (a slow
			// answer while the host is busy) sits out fail_timeout: wait that
			// long for the answers to come from exactly the n nodes.
			got, deadline := keys(nodesServing(t, d.url(), 20*n)), time.Now().Add(2*failTimeout)
			for !slices.Equal(got, sorted(nodes(n))) && time.Now().Before(deadline) {
				time.Sleep(time.Second)
				got = keys(nodesServing(t, d.url(), 20*n))
			}
			if !slices.Equal(got, sorted(nodes(n))) {
				t.Errorf("%s after scaling to %d, answers came from %v", 2*failTimeout, n, got)
			}
		}
		load := loadgen.Summarize(l.Stop())
		t.Logf("load across the scaling: %s", load)
		if load.Failed > 0 || load.OK == 0 {
			t.Errorf("requests failed across the scaling: %s", load)
		}
		if after := ids(t, keep); !maps.Equal(before, after) {
			t.Errorf("containers replaced by scaling: before %v, after %v", before, after)
		}
		if after := volumeIdentities(t); !maps.Equal(volumes, after) {
			t.Errorf("volumes recreated by scaling: before %v, after %v", volumes, after)
		}
		if got := session.get("/probe.php?action=session-get").json(t)["value"]; got != "across-scaling" {
			t.Errorf("session after scaling = %v", got)
		}
		if got := d.changes(); len(got) > 0 {
			t.Errorf("preview after scaling plans %v", got)
		}
	})

	t.Run("a node killed under load fails no request once nginx marks it down, and rejoins", func(t *testing.T) {
		victim := prefix + "app-2"
		l := loadgen.Start(d.url()+"/probe.php?action=node", 4, 200_000, 5*time.Minute, requestTimeout)
		served := func() int { return loadgen.Summarize(l.Results()).ByNode["app-2"] }
		time.Sleep(2 * time.Second)
		pid, err := strconv.Atoi(inspect(t, "{{.State.Pid}}", victim))
		if err != nil {
			t.Fatal(err)
		}
		restarts := inspect(t, "{{.RestartCount}}", victim)
		killed := time.Now()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill php-fpm of %s: %v", victim, err)
		}
		// Docker restarts it (unless-stopped); nginx sends it requests again once
		// fail_timeout has passed and it answers.
		waitFor(t, "the node to restart", 2*failTimeout, func() bool {
			return inspect(t, "{{.RestartCount}}", victim) != restarts && inspect(t, "{{.State.Health.Status}}", victim) == "healthy"
		})
		before := served()
		waitFor(t, "the node to serve again", 2*failTimeout, func() bool { return served() > before })
		load := loadgen.Summarize(l.Stop())
		t.Logf("killed at %s; load: %s", killed.Format("15:04:05.000"), load)
		if load.Failed > 0 {
			t.Errorf("requests failed around the crash: %s", load)
		}
	})

	t.Run("an interrupted up followed by up converges", func(t *testing.T) {
		d.set(map[string]any{"moodle:app.replicas": 4})
		opCtx, cancel := context.WithCancel(ctx)
		d.watch(func(e events.EngineEvent) {
			if e.ResourcePreEvent != nil && strings.HasSuffix(e.ResourcePreEvent.Metadata.URN, "::"+prefix+"app-4") {
				cancel()
			}
		})
		_, err := d.stack.Up(opCtx)
		d.watch(nil)
		cancel()
		if err == nil {
			t.Fatal("the interrupted up succeeded")
		}
		t.Logf("interrupted: %v", err)
		d.up(ctx)
		if got := d.changes(); len(got) > 0 {
			t.Errorf("preview after the repeated up plans %v", got)
		}
		if seen := nodesServing(t, d.url(), 40); len(seen) != 4 {
			t.Errorf("after the repeated up, answers came from %v", seen)
		}
	})

	t.Run("a file edited in the build context rebuilds the image and every node runs it", func(t *testing.T) {
		keep := []string{prefix + "db", prefix + "redis"}
		before := ids(t, keep)
		entrypoint := filepath.Join(d.spec().Moodle.Build.Context, "entrypoint.sh")
		raw, err := os.ReadFile(entrypoint)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(entrypoint, append(raw, "# edited by the real Docker tier\n"...), 0o755); err != nil {
			t.Fatal(err)
		}
		oldImage := run(t, "docker", "image", "inspect", "--format", "{{.Id}}", appImage)
		start := time.Now()
		res := d.up(ctx)
		t.Logf("rebuilt and rolled out in %s: %v", since(start), res.Summary.ResourceChanges)
		newImage := run(t, "docker", "image", "inspect", "--format", "{{.Id}}", appImage)
		if newImage == oldImage {
			t.Fatalf("the app image %s was not rebuilt", appImage)
		}
		for _, c := range []string{"app-1", "app-2", "app-3", "app-4", "cron", "adhoc-1", "lb"} {
			if got := inspect(t, "{{.Image}}", prefix+c); got != newImage {
				t.Errorf("%s runs %s, want the rebuilt %s", c, got, newImage)
			}
		}
		if after := ids(t, keep); !maps.Equal(before, after) {
			t.Errorf("the database or Redis was replaced by an app image rebuild: %v, after %v", before, after)
		}
		if got := newBrowser(t, d.url()).get("/probe.php?action=site").json(t); got["installed"] != got["code"] {
			t.Errorf("site after the rebuild = %v", got)
		}
		// The same Moodle version on a new image: the runner purged Moodle's caches
		// once (the probe's purge_caches.php logs each purge).
		purges, err := execIn(prefix+"cron", "cat", d.spec().Paths.DataRoot+"/probe-purges.log")
		if err != nil || strings.Count(purges, " all\n") != 1 {
			t.Errorf("caches purged after the rebuild: %q (%v), want once", purges, err)
		}
		if got := d.changes(); len(got) > 0 {
			t.Errorf("preview after the rebuild plans %v", got)
		}
	})

	t.Run("the prebuilt image it built runs the same site and plans no change after up", func(t *testing.T) {
		d.set(map[string]any{"moodle:moodle.codeSource": topology.CodeImage, "moodle:moodle.build": nil})
		d.up(ctx)
		if got := d.changes(); len(got) > 0 {
			t.Errorf("preview after up with codeSource image plans %v", got)
		}
		if got := newBrowser(t, d.url()).get("/probe.php?action=site").json(t); got["installed"] != got["code"] {
			t.Errorf("site after the switch = %v", got)
		}
	})

	t.Run("a re-pulled database image reaches the database only through a refresh, and the data stays", func(t *testing.T) {
		// A host re-pull: a new image under the same tag. The containers run the
		// image id the RemoteImage read when it was created (images.go), and only a
		// refresh reads the new one (resource_docker_image_funcs.go:96-122).
		b := newBrowser(t, d.url())
		hits := b.get("/probe.php?action=db").json(t)["hits"]
		original := run(t, "docker", "image", "inspect", "--format", "{{.Id}}", postgres)
		t.Cleanup(func() { run(t, "docker", "tag", original, postgres) })
		build := exec.Command("docker", "build", "-q", "-t", postgres, "-")
		build.Stdin = strings.NewReader("FROM " + postgres + "\nLABEL org.moodle-cluster.test.repulled=1\n")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("re-tag %s: %v\n%s", postgres, err, out)
		}
		dbBefore := inspect(t, "{{.Id}}", prefix+"db")
		if got := d.changes(); len(got) > 0 {
			t.Errorf("preview after a re-pull plans %v, want nothing until a refresh", got)
		}
		if _, err := d.stack.Refresh(ctx); err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if got := d.changes(); !maps.Equal(got, map[apitype.OpType]int{apitype.OpReplace: 1}) {
			t.Errorf("preview after the refresh plans %v, want the database container replaced", got)
		}
		d.up(ctx)
		if inspect(t, "{{.Id}}", prefix+"db") == dbBefore {
			t.Error("the database container still runs the old image")
		}
		if got := b.get("/probe.php?action=db").json(t)["hits"]; got != hits.(float64)+1 {
			t.Errorf("hits after the database moved to the re-pulled image = %v, want %v + 1: data lost", got, hits)
		}
		if got := b.get("/probe.php?action=site").json(t); got["installed"] != got["code"] {
			t.Errorf("site after the database moved = %v", got)
		}
	})

	t.Run("destroy leaves no container, volume or network", func(t *testing.T) {
		start := time.Now()
		if _, err := d.stack.Destroy(ctx); err != nil {
			t.Fatalf("destroy: %v", err)
		}
		t.Logf("destroy took %s", since(start))
		for _, kind := range []string{"container", "volume", "network"} {
			args := []string{kind, "ls", "-q", "--filter", "name=" + prefix}
			if kind == "container" {
				args = []string{"ps", "-aq", "--filter", "name=" + prefix}
			}
			if left := dockerList(t, args...); len(left) > 0 {
				t.Errorf("destroy left %d %ss: %v", len(left), kind, left)
			}
		}
	})
}

// TestDevStackWithPgBouncerOnARealDockerEngine deploys the dev stack with PgBouncer
// (transaction pooling) between one app node and PostgreSQL: the cron runner
// installs through it, the site queries through it, and a second up plans nothing.
func TestDevStackWithPgBouncerOnARealDockerEngine(t *testing.T) {
	d := newDeployment(t)
	d.set(map[string]any{"moodle:database.pooler": "pgbouncer", "moodle:app.replicas": 1})
	ctx := context.Background()
	d.up(ctx)
	b := newBrowser(t, d.url())
	if got := b.get("/probe.php?action=site").json(t); got["installed"] != got["code"] || got["installed"] == nil {
		t.Errorf("site = %v, want the code's version installed", got)
	}
	for i := range 3 {
		if got := b.get("/probe.php?action=db").json(t); got["dbuser"] != "moodle" || got["hits"] != float64(i+1) {
			t.Errorf("query %d through PgBouncer = %v", i+1, got)
		}
	}
	// The site reaches PostgreSQL only through the pooler: every server connection
	// of the moodle database comes from PgBouncer's container.
	clients := run(t, "docker", "exec", prefix+"db", "psql", "-U", "moodle", "-d", "moodle", "-At", "-c",
		"SELECT DISTINCT host(client_addr) FROM pg_stat_activity WHERE datname = 'moodle' AND backend_type = 'client backend' AND client_addr IS NOT NULL")
	pooler := inspect(t, "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", prefix+"pgbouncer")
	if clients != pooler {
		t.Errorf("PostgreSQL's clients = %q, want only PgBouncer at %s", clients, pooler)
	}
	if got := d.changes(); len(got) > 0 {
		t.Errorf("preview after up plans %v", got)
	}
	if _, err := d.stack.Destroy(ctx); err != nil {
		t.Fatalf("destroy: %v", err)
	}
}

// TestDevStackWithAReadReplicaOnARealDockerEngine deploys the dev stack with a
// PostgreSQL streaming replica: what the site writes on the primary reaches the
// replica, which takes the reads config.php sends it and refuses writes; a replica
// that lags or stops does not break the site, which falls back to the primary.
func TestDevStackWithAReadReplicaOnARealDockerEngine(t *testing.T) {
	d := newDeployment(t)
	d.set(map[string]any{"moodle:database.readReplicas": 1, "moodle:app.replicas": 1})
	ctx := context.Background()
	d.up(ctx)
	replica := prefix + "db-replica-1"
	replicaIP := inspect(t, "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", replica)
	b := newBrowser(t, d.url())
	psql := func(container, sql string) (string, error) {
		return execIn(container, "psql", "-U", "moodle", "-d", "moodle", "-At", "-c", sql)
	}
	read := func() map[string]any { return b.get("/probe.php?action=db-read").json(t) }

	t.Run("writes go to the primary and reach the replica, which takes the reads", func(t *testing.T) {
		for range 3 {
			b.get("/probe.php?action=db")
		}
		var got map[string]any
		defer func() {
			if t.Failed() {
				t.Logf("the last read: %v (the replica is at %s)", got, replicaIP)
			}
		}()
		waitFor(t, "the replica to replay the writes", 30*time.Second, func() bool {
			got = read()
			return got["standby"] == true && got["server"] == replicaIP && got["hits"] == float64(3)
		})
		if got := run(t, "docker", "exec", prefix+"db", "psql", "-U", "moodle", "-d", "moodle", "-At", "-c",
			"SELECT application_name || ' ' || state FROM pg_stat_replication"); got != replica+" streaming" {
			t.Errorf("the primary's replication = %q, want %s streaming", got, replica)
		}
		if out, err := psql(replica, "INSERT INTO mdl_probe_hits (node) VALUES ('replica')"); err == nil || !strings.Contains(out, "read-only transaction") {
			t.Errorf("a write on the replica: %v %s, want refused as read-only", err, out)
		}
	})

	t.Run("a lagging replica serves stale reads and the site still answers", func(t *testing.T) {
		if out, err := psql(replica, "SELECT pg_wal_replay_pause()"); err != nil {
			t.Fatalf("pause the replay: %v %s", err, out)
		}
		b.get("/probe.php?action=db")
		if got := read(); got["standby"] != true || got["hits"] != float64(3) {
			t.Errorf("read from the paused replica = %v, want the 3 hits it had", got)
		}
		spec := d.spec()
		client, err := dockerapi.New("")
		if err != nil {
			t.Fatal(err)
		}
		rep := status.Evaluate(stackName, spec, devstatus.Collector{Docker: client, Spec: spec, Prefix: stacks.DockerClusterName(stackName)}.Collect(ctx), time.Now())
		if !slices.ContainsFunc(rep.Checks, func(c status.Check) bool { return c.Subject == replica && c.Name == "replica lag" }) {
			t.Errorf("status does not show the replica's lag: %+v", rep.Checks)
		}
		if out, err := psql(replica, "SELECT pg_wal_replay_resume()"); err != nil {
			t.Fatalf("resume the replay: %v %s", err, out)
		}
		waitFor(t, "the replica to catch up", 30*time.Second, func() bool { return read()["hits"] == float64(4) })
	})

	t.Run("a stopped replica sends the reads to the primary", func(t *testing.T) {
		run(t, "docker", "stop", replica)
		got := read()
		if got["fallback"] != true || got["standby"] != false || got["hits"] != float64(4) {
			t.Errorf("read with the replica stopped = %v, want the primary's", got)
		}
		run(t, "docker", "start", replica)
		waitFor(t, "the replica to serve again", 60*time.Second, func() bool {
			got := read()
			return got["standby"] == true && got["fallback"] == false
		})
	})

	t.Run("a preview after all that plans no change", func(t *testing.T) {
		if got := d.changes(); len(got) > 0 {
			t.Errorf("preview plans %v", got)
		}
	})

	if _, err := d.stack.Destroy(ctx); err != nil {
		t.Fatalf("destroy: %v", err)
	}
}

// TestDevStackOfEachLayoutOnARealDockerEngine deploys the other layout and the
// newest release through the project's own Dockerfile: Moodle 4.5's (the code root
// is the web root, admin/cli/ and lib/ in it) on Debian 12's PHP 8.2 and
// PostgreSQL 15, and Moodle 5.3's (public/) on Debian 13's PHP 8.4 and
// PostgreSQL 17. For each, the image checks the code's branch where the release
// keeps version.php, the cron runner installs it with the release's CLI paths and
// Moodle's environment check passes, nginx serves the release's web root and routes
// with the query string, status reads cron's lines, and a second up plans nothing.
func TestDevStackOfEachLayoutOnARealDockerEngine(t *testing.T) {
	for _, c := range []struct {
		release, version string
		public           bool
	}{
		{"4.5", "2024100700.00", false},
		{"5.3", "2026100500.00", true},
	} {
		t.Run(c.release, func(t *testing.T) {
			d := newDeploymentOf(t, c.release)
			d.set(map[string]any{"moodle:app.replicas": 1})
			ctx := context.Background()
			d.up(ctx)
			b := newBrowser(t, d.url())
			if got := b.get("/probe.php?action=site").json(t); got["installed"] != c.version || got["installed"] != got["code"] {
				t.Errorf("site = %v, want %s's probe version %s installed", got, c.release, c.version)
			}
			_, err := execIn(prefix+"app-1", "test", "-d", d.spec().Paths.CodeDir+"/public")
			if (err == nil) != c.public {
				t.Errorf("the %s image has a public/ folder: %v, want %v", c.release, err == nil, c.public)
			}
			if q, _ := b.get("/probe/echo?probe=" + c.release).json(t)["query"].(map[string]any); q["probe"] != c.release {
				t.Errorf("the router got %v, want probe=%s", q, c.release)
			}
			client, err := dockerapi.New("")
			if err != nil {
				t.Fatal(err)
			}
			spec := d.spec()
			waitFor(t, "a cron run in the runner's log", time.Duration(spec.Cron.IntervalSeconds)*time.Second, func() bool {
				rep := status.Evaluate(stackName, spec, devstatus.Collector{Docker: client, Spec: spec, Prefix: stacks.DockerClusterName(stackName)}.Collect(ctx), time.Now())
				return slices.ContainsFunc(rep.Checks, func(c status.Check) bool {
					return c.Tier == status.TierCron && c.Name == "last run" && c.Verdict == status.OK
				})
			})
			if got := d.changes(); len(got) > 0 {
				t.Errorf("preview after up plans %v", got)
			}
			if _, err := d.stack.Destroy(ctx); err != nil {
				t.Fatalf("destroy: %v", err)
			}
		})
	}
}
