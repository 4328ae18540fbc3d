//go:build integration

package realprograms

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/tests/harness/loopback"
)

// TestAdhocWorkersKeepLongTasksOffTheCronRunner queues a long ad hoc task (a backup,
// a restore) on a site whose rendered cron runner runs the probe's cron.php and,
// with workers, whose rendered worker runs its adhoc_task.php; both stand in for
// Moodle's, whose \core\cron they mirror: the runner slots of
// task_adhoc_concurrency_limit, the keep-alive and the passes of the main process.
//
// Without workers cron.php runs the task itself, between its scheduled tasks, and no
// pass completes until the task ends: every scheduled task waits. With one worker
// and the one slot config.php forces, the worker runs it and cron.php, finding no
// slot free, keeps completing passes meanwhile.
func TestAdhocWorkersKeepLongTasksOffTheCronRunner(t *testing.T) {
	sites := newCLISites(t)
	const taskSeconds = 6
	cases := []struct {
		name    string
		workers int
		// passes is whether cron.php completes passes while the task runs.
		passes bool
	}{
		{"without workers cron.php runs the task and no pass completes until it ends", 0, false},
		{"with a worker the worker runs the task and cron.php keeps completing passes", 1, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec := sites.base
			spec.Cron.KeepAliveSeconds = 120
			spec.Cron.Adhoc.Workers, spec.Cron.Adhoc.ConcurrencyLimit, spec.Cron.Adhoc.KeepAliveSeconds = c.workers, c.workers, 120
			s, dir := sites.site(t, fmt.Sprintf("adhoc%d", c.workers), spec)
			cronScript := writeFile(t, filepath.Join(dir, "cron-runner.sh"), render.CronRunner(s))
			workerScript := writeFile(t, filepath.Join(dir, "adhoc-worker.sh"), render.AdhocWorker(s))
			sites.as.Own(t, s.Paths.DataRoot, dir)

			cron := sites.start(t, s, dir, "cron", cronScript, loopback.PHPBin)
			runner := cron
			ready := func() error { return logged(cron, "Cron completed at") }
			if c.workers > 0 {
				runner = sites.start(t, s, dir, "adhoc-1", workerScript, loopback.PHPBin)
				ready = func() error { return logged(runner, "Waiting for more adhoc tasks to be queued") }
			}
			// The queue table exists once a runner has looked for a task.
			runner.WaitFor(t, time.Minute, "a runner to look for ad hoc tasks", ready)
			if _, err := sites.pg.SQL(`\c `+s.Database.Name+`
INSERT INTO mdl_task_adhoc (classname, customdata) VALUES ('\probe\task\sleep', :'data');`,
				fmt.Sprintf(`data={"seconds": %d, "name": "backup"}`, taskSeconds)); err != nil {
				t.Fatal(err)
			}
			cron.WaitFor(t, 10*time.Second, "the task to start", func() error {
				out, err := sites.pg.SQL(`\c ` + s.Database.Name + "\nSELECT count(*) FROM mdl_task_adhoc WHERE timestarted IS NOT NULL;")
				if err == nil && out != "1" {
					err = fmt.Errorf("%s tasks started", out)
				}
				return err
			})
			runs := filepath.Join(s.Paths.DataRoot, "probe-adhoc-runs.log")
			cron.WaitFor(t, 3*taskSeconds*time.Second, "the task to end", func() error {
				if len(lines(runs)) == 0 {
					return fmt.Errorf("no run in %s", runs)
				}
				return nil
			})
			run := strings.Fields(lines(runs)[0])
			during := passesBetween(t, cron.Log(), run[2], run[3])
			t.Logf("cron.php completed %d passes during the %d s task (run by session %s)", during, taskSeconds, run[1])
			if want := fmt.Sprint(runner.Pid()); run[1] != want {
				t.Errorf("the task ran under session %s, want %s (%s)", run[1], want, runner.Name)
			}
			switch {
			case c.passes && during < 2:
				t.Errorf("cron.php completed %d passes during a %d s ad hoc task, want it to keep passing:\n%s", during, taskSeconds, cron.Log())
			case !c.passes && during != 0:
				t.Errorf("cron.php completed %d passes while it ran the task itself:\n%s", during, cron.Log())
			}
			if skipped := strings.Contains(cron.Log(), "Skipping processing of adhoc tasks. Concurrency limit reached."); skipped != c.passes {
				t.Errorf("cron.php said it found no runner slot: %v, want %v:\n%s", skipped, c.passes, cron.Log())
			}
			for _, p := range []*loopback.Process{cron, runner} {
				if err := p.Stop(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestCronRunsKeepAliveThenStartsAgain runs the rendered runner with a short
// keep-alive: one cron.php process completes several passes, says how long it keeps
// checking as Moodle does, exits when its keep-alive is over, and the runner logs
// the completed run; nothing stops it early.
func TestCronRunsKeepAliveThenStartsAgain(t *testing.T) {
	sites := newCLISites(t)
	spec := sites.base
	spec.Cron.KeepAliveSeconds = 3
	s, dir := sites.site(t, "keepalive", spec)
	script := writeFile(t, filepath.Join(dir, "cron-runner.sh"), render.CronRunner(s))
	sites.as.Own(t, s.Paths.DataRoot, dir)
	cron := sites.start(t, s, dir, "cron", script, loopback.PHPBin)
	cron.WaitFor(t, 30*time.Second, "a completed cron.php run", func() error { return logged(cron, render.CronCompleted) })
	if err := cron.Stop(); err != nil {
		t.Fatal(err)
	}
	log := cron.Log()
	if n := len(lines(filepath.Join(s.Paths.DataRoot, "probe-cron-runs.log"))); n != 1 {
		t.Errorf("cron.php started %d times, want once", n)
	}
	if passes := strings.Count(log, "Cron completed at"); passes < 2 {
		t.Errorf("one cron.php run completed %d passes in a 3 s keep-alive, want several:\n%s", passes, log)
	}
	if !strings.Contains(log, "more seconds.") {
		t.Errorf("no pass said how long cron.php keeps checking for tasks:\n%s", log)
	}
}

// passesCompleted finds the time of day of cron.php's pass lines (Moodle prints
// date('H:i:s'), UTC in the rendered php.ini).
var passesCompleted = regexp.MustCompile(`Cron completed at ([0-9]{2}:[0-9]{2}:[0-9]{2}) in`)

// passesBetween counts the passes log says completed in the whole seconds strictly
// inside the task run from start to end (Unix times with fractions), so that the
// pass that ends with the task is not counted.
func passesBetween(t *testing.T, log, start, end string) int {
	t.Helper()
	from, err1 := strconv.ParseFloat(start, 64)
	to, err2 := strconv.ParseFloat(end, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("task run times %q, %q", start, end)
	}
	day := time.Unix(int64(from), 0).UTC().Truncate(24 * time.Hour)
	n := 0
	for _, m := range passesCompleted.FindAllStringSubmatch(log, -1) {
		clock, err := time.Parse("15:04:05", m[1])
		if err != nil {
			t.Fatal(err)
		}
		at := day.Add(time.Duration(clock.Hour())*time.Hour + time.Duration(clock.Minute())*time.Minute + time.Duration(clock.Second())*time.Second)
		if at.Unix() > int64(from) && at.Unix() < int64(to) {
			n++
		}
	}
	return n
}

// logged reports whether p's log holds text yet.
func logged(p *loopback.Process, text string) error {
	if !strings.Contains(p.Log(), text) {
		return fmt.Errorf("%s has not logged %q", p.Name, text)
	}
	return nil
}
