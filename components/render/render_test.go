package render

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

func TestPHPFPMPoolSizedFromTheMemoryLimit(t *testing.T) {
	cases := []struct {
		name                           string
		memoryMB, maxChildrenOverride  int
		maxChildren, start, minS, maxS int
		derived                        bool
	}{
		// floor((8192 - 192) / 96) = 83; spares 83/10 = 8 and 83/4 = 20; start midway.
		{name: "seed app node 8 GB", memoryMB: 8192, maxChildren: 83, start: 14, minS: 8, maxS: 20, derived: true},
		{name: "fargate 4 GB", memoryMB: 4096, maxChildren: 40, start: 7, minS: 4, maxS: 10, derived: true},
		{name: "set in config", memoryMB: 8192, maxChildrenOverride: 50, maxChildren: 50, start: 8, minS: 5, maxS: 12},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := devSpec()
			s.App.MemoryMB = c.memoryMB
			s.App.PHPFPM.MaxChildren = c.maxChildrenOverride
			pool := PHPFPMPool(s, "127.0.0.1:9000")
			assertLines(t, pool,
				"[moodle]",
				"listen = 127.0.0.1:9000",
				"pm = dynamic",
				"pm.max_children = "+strconv.Itoa(c.maxChildren),
				"pm.start_servers = "+strconv.Itoa(c.start),
				"pm.min_spare_servers = "+strconv.Itoa(c.minS),
				"pm.max_spare_servers = "+strconv.Itoa(c.maxS),
				"pm.max_requests = 500",
				"pm.status_path = /fpm-status",
				"ping.path = /fpm-ping",
				"clear_env = no",
				"catch_workers_output = yes",
			)
			if got := strings.Contains(pool, "= floor(("+strconv.Itoa(c.memoryMB)+" MB - 192 MB) / 96 MB) = "+strconv.Itoa(c.maxChildren)); got != c.derived {
				t.Errorf("formula with numbers shown: %v, want %v", got, c.derived)
			}
			if strings.Contains(pool, "\nuser =") || strings.Contains(pool, "\ngroup =") {
				t.Error("the pool names a user or group")
			}
		})
	}
}

func TestPHPIniMatchesNginxAndMoodle(t *testing.T) {
	s := devSpec()
	s.Web.ClientMaxBodyMB = 1024
	ini := PHPIni(s)
	assertLines(t, ini,
		"upload_max_filesize = 1024M",
		"post_max_size = 1024M",
		"memory_limit = 256M",
		"max_input_vars = 5000",
		"max_execution_time = 300",
		"expose_php = Off",
		"opcache.memory_consumption = 128",
		"opcache.max_accelerated_files = 20000",
		"opcache.revalidate_freq = 60",
		"opcache.use_cwd = 1",
		// Moodle requires it: it rewrites PHP files in the shared dataroot.
		"opcache.validate_timestamps = 1",
		"opcache.save_comments = 1",
		"opcache.enable_file_override = 0",
		"session.gc_probability = 0",
	)
}

func TestCronRunnerRunsCronOnceAtATime(t *testing.T) {
	s := devSpec()
	s.Cron.IntervalSeconds, s.Cron.KeepAliveSeconds = 90, 240
	sh := CronRunner(s)
	assertContains(t, sh,
		"#!/bin/sh\n",
		"CRON_SCRIPT='/var/www/moodle/public/admin/cli/cron.php'\n",
		"LOCK_FILE='/var/www/moodledata/.cron-runner.lock'\n",
		"INTERVAL=90\n",
		"KEEP_ALIVE=240\n",
		"PHP_BIN=${PHP_BIN:-php}\n",
		"INSTALL_HOOK=${MOODLE_INSTALL_HOOK:-'/usr/local/bin/moodle-install-upgrade'}\n",
		"if ! flock -n 9; then",
		`"$PHP_BIN" "$CRON_SCRIPT" --keep-alive="$KEEP_ALIVE" 9>&- &`,
		"trap on_signal TERM INT HUP",
		"INSTALLED_MARKER='/var/www/moodledata/.moodle-installed'\n",
		"RELEASE_MARKER='"+s.ReleaseMarker()+"'\n",
	)
	// The runner takes the lock before it runs anything, and exits 0 without
	// running anything when another runner holds it.
	lock := strings.Index(sh, "if ! flock -n 9; then")
	if hook := strings.Index(sh, `"$INSTALL_HOOK" 9>&-`); hook < lock {
		t.Error("the install hook can run before the lock is taken")
	}
	if !strings.Contains(sh[lock:], "not running cron\"\n    exit 0\n") {
		t.Error("a runner that cannot lock does not exit 0")
	}
	// The site opens only once the hook has succeeded: a failed hook exits before
	// the marker is written, and cron starts only after it.
	failed := strings.Index(sh, `log "the install/upgrade hook failed`)
	marker := strings.Index(sh, `touch "$RELEASE_MARKER"`)
	loop := strings.Index(sh, `while [ "$stopping" -eq 0 ]; do`)
	if !(failed < marker && marker < loop) {
		t.Errorf("marker written at %d, want after the hook's failure exit (%d) and before the cron loop (%d)", marker, failed, loop)
	}
	// A new release closes PHP on the nodes of every other release before the hook
	// upgrades the database.
	if closed := strings.Index(sh, `[ "$marker" = "$RELEASE_MARKER" ] || rm -f "$marker"`); closed < 0 || closed > strings.Index(sh, `"$INSTALL_HOOK" 9>&-`) {
		t.Errorf("the markers of other releases are removed at %d, not before the hook", closed)
	}
	// Only a run that exited 0 is logged as completed, and one that did not as
	// failed: the AWS alarms count both.
	completed := strings.Index(sh, `log "cron.php completed in`)
	if branch := strings.LastIndex(sh[:max(completed, 0)], "if "); completed < 0 || !strings.HasPrefix(sh[branch:], `if [ "$status" -eq 0 ]; then`) {
		t.Errorf("the runner does not log %q after a run that exited 0 only", CronCompleted)
	}
	if failed := strings.Index(sh, `log "cron.php failed with status $status"`); failed < completed {
		t.Errorf("the runner does not log %q after a run that failed", CronFailed)
	}
	// No run is cut short: a backup may take hours.
	for _, limit := range []string{"timeout -", "timeout \"", "kill -KILL", "kill -9"} {
		if strings.Contains(sh, limit) {
			t.Errorf("the runner still bounds a run (%q)", limit)
		}
	}
}

func TestAdhocWorkerRunsAdhocTasksOnceTheReleaseIsInstalled(t *testing.T) {
	s := devSpec()
	s.Cron.Adhoc.KeepAliveSeconds, s.Cron.Adhoc.ConcurrencyLimit = 300, 4
	sh := AdhocWorker(s)
	assertContains(t, sh,
		"#!/bin/sh\n",
		"ADHOC_SCRIPT='/var/www/moodle/public/admin/cli/adhoc_task.php'\n",
		"RELEASE_MARKER='"+s.ReleaseMarker()+"'\n",
		"RESTART_AFTER=5\n",
		"KEEP_ALIVE=300\n",
		"(config.php forces it to 4)",
		`"$PHP_BIN" "$ADHOC_SCRIPT" --execute --keep-alive="$KEEP_ALIVE" &`,
		"trap on_signal TERM INT HUP",
	)
	// A worker never takes the runner's lock nor installs anything.
	for _, not := range []string{"flock", "INSTALL_HOOK", "touch "} {
		if strings.Contains(sh, not) {
			t.Errorf("the worker script contains %q", not)
		}
	}
	wait, run := strings.Index(sh, `if [ ! -e "$RELEASE_MARKER" ]; then`), strings.Index(sh, `"$PHP_BIN" "$ADHOC_SCRIPT"`)
	if wait < 0 || wait > run {
		t.Error("the worker does not wait for this release's marker before it runs adhoc_task.php")
	}
}

func TestPHPStringRoundTripsThroughPHPSingleQuotes(t *testing.T) {
	cases := map[string]string{
		"plain":                  "'plain'",
		"it's":                   `'it\'s'`,
		`back\slash`:             `'back\\slash'`,
		`trailing\`:              `'trailing\\'`,
		`\'`:                     `'\\\''`,
		"$var {$x} \"quoted\"\n": "'$var {$x} \"quoted\"\n'",
		"":                       "''",
	}
	for in, want := range cases {
		got := phpString(in)
		if got != want {
			t.Errorf("phpString(%q) = %s, want %s", in, got, want)
		}
		if back := unquotePHP(t, got); back != in {
			t.Errorf("PHP reads %s as %q, want %q", got, back, in)
		}
	}
}

func TestShStringRoundTripsThroughShellSingleQuotes(t *testing.T) {
	for in, want := range map[string]string{
		"/var/www/moodle": "'/var/www/moodle'",
		"o'brien":         `'o'\''brien'`,
		`$HOME "x"`:       `'$HOME "x"'`,
	} {
		if got := shString(in); got != want {
			t.Errorf("shString(%q) = %s, want %s", in, got, want)
		}
	}
}

// unquotePHP reads a PHP single-quoted literal the way PHP does: \\ and \' are
// escapes, every other byte (a lone backslash too) stands for itself.
func unquotePHP(t *testing.T, lit string) string {
	t.Helper()
	if len(lit) < 2 || lit[0] != '\'' || lit[len(lit)-1] != '\'' {
		t.Fatalf("%s is not single-quoted", lit)
	}
	var b strings.Builder
	body := lit[1 : len(lit)-1]
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c == '\'' {
			t.Fatalf("unescaped quote in %s", lit)
		}
		if c == '\\' && i+1 < len(body) && (body[i+1] == '\\' || body[i+1] == '\'') {
			i++
			c = body[i]
		}
		b.WriteByte(c)
	}
	return b.String()
}

func TestNgxValueQuotesOnlyWhatNginxWouldSplit(t *testing.T) {
	for in, want := range map[string]string{
		"/var/www/moodle/public": "/var/www/moodle/public",
		"10.0.0.0/16":            "10.0.0.0/16",
		"/srv/my moodle":         `"/srv/my moodle"`,
		`/srv/a"b;c`:             `"/srv/a\"b;c"`,
		`C:\moodle`:              `"C:\\moodle"`,
		"":                       `""`,
	} {
		if got := ngxValue(in); got != want {
			t.Errorf("ngxValue(%q) = %s, want %s", in, got, want)
		}
	}
}

// assertContains reports every wanted fragment that text lacks, then the text.
func assertContains(t *testing.T, text string, wants ...string) {
	t.Helper()
	assertEach(t, text, wants, "")
}

// assertLines reports every wanted line (a fragment ending the line) that text
// lacks, then the text.
func assertLines(t *testing.T, text string, wants ...string) {
	t.Helper()
	assertEach(t, text, wants, "\n")
}

func assertEach(t *testing.T, text string, wants []string, suffix string) {
	t.Helper()
	missing := false
	for _, want := range wants {
		if !strings.Contains(text, want+suffix) {
			t.Errorf("missing %q", want)
			missing = true
		}
	}
	if missing {
		t.Logf("in:\n%s", text)
	}
}

// firstDiff shows the first line where want and got part ways.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n  want: %s\n  got:  %s", i+1, w, g)
		}
	}
	return ""
}

// The release's layout decides every path the rendered files give Moodle's code:
// 4.5 serves the code root and keeps lib/ and admin/cli/ there, 5.1 and later
// serve public/ and keep them under it.
func TestRenderedPathsFollowTheReleaseLayout(t *testing.T) {
	for _, c := range []struct {
		version, webRoot string
	}{{"4.5", "/var/www/moodle"}, {"5.1.3", "/var/www/moodle/public"}, {"5.3", "/var/www/moodle/public"}} {
		t.Run(c.version, func(t *testing.T) {
			s := devSpec()
			s.Moodle.Version = c.version
			if got := CronRunner(s); !strings.Contains(got, "CRON_SCRIPT='"+c.webRoot+"/admin/cli/cron.php'\n") {
				t.Errorf("the cron runner does not run %s/admin/cli/cron.php", c.webRoot)
			}
			if got := ConfigPHP(s, Endpoints{}); !strings.Contains(got, "require_once('"+c.webRoot+"/lib/setup.php')") {
				t.Errorf("config.php does not require %s/lib/setup.php:\n%s", c.webRoot, got)
			}
			if got := NginxLoadBalancer(s, []HostPort{{Host: "app-1", Port: 9000}}); !strings.Contains(got, "root "+c.webRoot+";") {
				t.Errorf("nginx does not serve %s", c.webRoot)
			}
		})
	}
}

// The sessions' Redis never evicts and keeps an append-only file; the MUC cache's
// evicts the least recently used key and keeps nothing on disk.
func TestRedisConfKeepsSessionsAndEvictsTheCache(t *testing.T) {
	s := devSpec()
	s.Cache.MemoryMB, s.Cache.MUC.MemoryMB = 1024, 512
	assertLines(t, RedisConf(s, 6379, "/data"),
		"port 6379", "dir /data", "appendonly yes", "maxmemory 768mb", "maxmemory-policy noeviction")
	muc := MUCRedisConf(s, 6379)
	assertLines(t, muc, "port 6379", `save ""`, "appendonly no", "maxmemory 384mb", "maxmemory-policy allkeys-lru")
	if strings.Contains(muc, "dir ") {
		t.Errorf("the MUC Redis names a data folder:\n%s", muc)
	}
}
