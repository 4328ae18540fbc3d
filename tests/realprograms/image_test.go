//go:build integration

package realprograms

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/appimage"
	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/tests/harness/loopback"
	"github.com/moodle-cluster/moodle-pulumi/tests/harness/probetree"
)

// imageLayout copies docker/'s scripts under root the way the Dockerfile installs
// them (appimage's paths), so a test runs them as the image does, and returns where
// the install hook is.
func imageLayout(t *testing.T, root string) string {
	t.Helper()
	docker := filepath.Join(loopback.RepoRoot(), "docker")
	for src, dst := range map[string]string{
		"moodle-install-upgrade":   appimage.InstallHook,
		"install-database.php":     appimage.LibDir + "/install-database.php",
		"site-installed.php":       appimage.LibDir + "/site-installed.php",
		"check-image.php":          appimage.LibDir + "/check-image.php",
		"configure-muc.php":        appimage.LibDir + "/configure-muc.php",
		"install-plugins.php":      appimage.LibDir + "/install-plugins.php",
		"install-database-ca":      appimage.LibDir + "/install-database-ca",
		"move-restored-moodledata": appimage.LibDir + "/move-restored-moodledata",
	} {
		b, err := os.ReadFile(filepath.Join(docker, src))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(root, dst), string(b))
		if err := os.Chmod(filepath.Join(root, dst), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(root, appimage.InstallHook)
}

// hookEnv is the cron container's environment as the components set it: the paths,
// the installer's settings, the secrets, PHP's ini files and a private TMPDIR (the
// image's /tmp).
func hookEnv(t *testing.T, root string, s topology.Spec, secrets map[string]string) []string {
	t.Helper()
	env := phpCLI(t, root, s, secrets)
	for k, v := range s.ImageEnv() {
		env = append(env, k+"="+v)
	}
	for k, v := range s.InstallerEnv() {
		env = append(env, k+"="+v)
	}
	return append(env, appimage.EnvAdminPassword+"=Admin-"+loopback.Password(t), "TMPDIR="+filepath.Join(root, "tmp"))
}

// TestInstallHookInstallsUpgradesAndPutsTheCacheInRedis runs the image's install/
// upgrade hook (docker/moodle-install-upgrade) as the cron runner does, against the
// probe code tree in Moodle 5.1's layout, a real PostgreSQL and a real Redis. The
// probe's CLI scripts take exactly the options Moodle 5.1's admin/cli scripts take
// and refuse others, so the hook's calls are proven against both. After each run
// the application cache is in Redis through Moodle's cache configuration
// (configure-muc.php), and a store built from that configuration reaches Redis with
// the password under the cache's own prefix.
func TestInstallHookInstallsUpgradesAndPutsTheCacheInRedis(t *testing.T) {
	root := loopback.NewRoot(t)
	as := loopback.ServiceAccount(t)
	pgPort, redisPort := loopback.FreePort(t), loopback.FreePort(t)
	loopback.ExpectPortsClosed(t, pgPort, redisPort)
	s := loopback.StackSpec(t, "dev", root)
	secrets := map[string]string{render.EnvDBPassword: loopback.Password(t), render.EnvRedisPassword: loopback.Password(t)}
	pg := loopback.StartPostgres(t, filepath.Join(root, "postgres"), pgPort, s.ServerConnections(), as)
	if _, err := pg.SQL(`CREATE ROLE :"user" LOGIN PASSWORD :'password';
CREATE DATABASE :"db" OWNER :"user";`, "user="+s.Database.User, "password="+secrets[render.EnvDBPassword], "db="+s.Database.Name); err != nil {
		t.Fatal(err)
	}
	redis := loopback.StartRedis(t, s, filepath.Join(root, "redis"), redisPort, secrets[render.EnvRedisPassword], as)

	loopback.CopyProbeApp(t, s.Paths.CodeDir)
	writeFile(t, filepath.Join(s.Paths.CodeDir, "config.php"), render.ConfigPHP(s, render.Endpoints{Database: pg.Addr, Redis: redis.Addr}))
	hook := imageLayout(t, filepath.Join(root, "image"))
	for _, d := range []string{s.Paths.DataRoot, filepath.Join(root, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	as.Own(t, s.Paths.DataRoot, filepath.Join(root, "tmp"))
	env := hookEnv(t, root, s, secrets)
	marker := filepath.Join(root, "tmp", filepath.Base(appimage.InstallOKMarker))
	muc := filepath.Join(s.Paths.DataRoot, "muc", "config.php")

	// What Moodle's cache API reads back: the store, its configuration and the
	// application mode's mapping; and a roundtrip through the store it describes.
	const readMUC = `define('CLI_SCRIPT', true); require getenv('MOODLE_DIRROOT') . '/config.php';
require_once($CFG->dirroot . '/cache/stores/redis/lib.php');
$w = \core_cache\config_writer::instance();
$app = array_values(array_filter($w->get_mode_mappings(), fn($m) => $m['mode'] === \core_cache\store::MODE_APPLICATION));
$store = $w->get_all_stores()[$app[0]['store']];
$redis = new cachestore_redis($store['name'], $store['configuration']);
echo json_encode(['store' => $store['name'], 'plugin' => $store['plugin'], 'application' => array_column($app, 'store'),
    'prefix' => $store['configuration']['prefix'], 'roundtrip' => $redis->is_ready() ? $redis->roundtrip('probe-key', 'v1') : null], JSON_THROW_ON_ERROR);`

	purges := filepath.Join(s.Paths.DataRoot, "probe-purges.log")
	steps := []struct {
		name    string
		prepare func(t *testing.T)
		// revision is the image the runner starts with (MOODLE_IMAGE_REVISION).
		revision string
		// logged is what the hook reports about the database.
		logged string
		// version is the site's version in the database afterwards.
		version string
		// purges is how many times Moodle's caches have been purged by then.
		purges int
	}{
		{"an empty database is installed", func(*testing.T) {}, "sha256:a1", "moodle-install-upgrade: installed", "2025100600.00", 0},
		{"an installed site of this code is left alone", func(*testing.T) {}, "sha256:a1", "moodle-install-upgrade: database is up to date", "2025100600.00", 0},
		{"a rebuilt image of the same version purges the caches once", func(*testing.T) {}, "sha256:b2", "moodle-install-upgrade: new image sha256:b2: caches purged", "2025100600.00", 1},
		{"the same image again purges nothing", func(*testing.T) {}, "sha256:b2", "moodle-install-upgrade: database is up to date", "2025100600.00", 1},
		{"newer code upgrades the database in maintenance mode", func(t *testing.T) {
			version := filepath.Join(s.WebRoot(), "version.php")
			b, err := os.ReadFile(version)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, version, strings.Replace(string(b), "2025100600.00", "2025100600.02", 1))
		}, "sha256:c3", "moodle-install-upgrade: upgraded", "2025100600.02", 1},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			step.prepare(t)
			out, err := loopback.Run(as, append(env, appimage.EnvImageRevision+"="+step.revision), hook)
			if err != nil || !strings.Contains(out, step.logged) {
				t.Fatalf("the hook (%v) did not log %q:\n%s", err, step.logged, out)
			}
			if _, err := os.Stat(marker); err != nil {
				t.Errorf("no marker for the health check after success: %v", err)
			}
			if _, err := os.Stat(filepath.Join(s.Paths.DataRoot, "climaintenance.html")); err == nil {
				t.Error("the site is left in maintenance mode")
			}
			got, err := pg.SQL(`\c ` + s.Database.Name + "\nSELECT value FROM mdl_config WHERE name = 'version';")
			if err != nil || got != step.version {
				t.Errorf("the database is at version %q (%v), want %s", got, err, step.version)
			}
			log, _ := os.ReadFile(purges)
			if n := strings.Count(string(log), " all\n"); n != step.purges {
				t.Errorf("Moodle's caches were purged %d times, want %d:\n%s", n, step.purges, log)
			}

			out, err = loopback.Run(as, env, loopback.PHPBin, "-r", readMUC)
			var cache struct {
				Store, Plugin, Prefix string
				Application           []string
				Roundtrip             *string
			}
			if err != nil || json.Unmarshal([]byte(out), &cache) != nil {
				t.Fatalf("read the cache configuration (%v): %q", err, out)
			}
			if cache.Store != "redis" || cache.Plugin != "redis" || len(cache.Application) != 1 || cache.Prefix != s.Cache.CachePrefix ||
				cache.Roundtrip == nil || *cache.Roundtrip != "v1" {
				t.Errorf("the application cache is %+v, want the redis store alone, prefix %s, reaching Redis", cache, s.Cache.CachePrefix)
			}
			// The cache's keys are under its prefix in the sessions' database 0, apart
			// from the sessions' own prefix.
			if ok, err := redis.Exists(0, s.Cache.CachePrefix+"probe-key"); err != nil || !ok {
				t.Errorf("no key %sprobe-key in Redis (%v)", s.Cache.CachePrefix, err)
			}
		})
	}

	// A run that finds the configuration as it wants it does not write it again.
	before, err := os.Stat(muc)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := loopback.Run(as, env, hook); err != nil || strings.Contains(out, "configure-muc:") {
		t.Errorf("a run with nothing to change (%v) changed the cache configuration:\n%s", err, out)
	}
	if after, err := os.Stat(muc); err != nil || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("muc/config.php was rewritten (%v)", err)
	}

	// Moodle's cron runs nothing under CLI maintenance or with an upgrade pending,
	// and exits 1 saying so (the cron runner logs it and tries again later).
	cron := filepath.Join(s.WebRoot(), "admin", "cli", "cron.php")
	maintenance := filepath.Join(s.Paths.DataRoot, "climaintenance.html")
	writeFile(t, maintenance, "<h1>Maintenance</h1>\n")
	if out, err := loopback.Run(as, env, loopback.PHPBin, cron); err == nil || !strings.Contains(out, "CLI maintenance mode active, cron execution suspended.") {
		t.Errorf("cron.php under CLI maintenance (%v):\n%s", err, out)
	}
	if err := os.Remove(maintenance); err != nil {
		t.Fatal(err)
	}
	version := filepath.Join(s.WebRoot(), "version.php")
	b, err := os.ReadFile(version)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, version, strings.Replace(string(b), "2025100600.02", "2025100600.03", 1))
	if out, err := loopback.Run(as, env, loopback.PHPBin, cron); err == nil || !strings.Contains(out, "Moodle upgrade pending, cron execution suspended.") {
		t.Errorf("cron.php with an upgrade pending (%v):\n%s", err, out)
	}

	// An option Moodle's script does not take is refused by the probe as by Moodle.
	if out, err := loopback.Run(as, env, loopback.PHPBin, filepath.Join(s.WebRoot(), "admin", "cli", "upgrade.php"), "--pending"); err == nil {
		t.Errorf("upgrade.php took an option Moodle's refuses:\n%s", out)
	}
}

// Moodle's installer checks the environment its release's admin/environment.xml
// asks for before it creates a table, and refuses with "!! info !!" lines and exit
// 1: the install hook then fails, and the runner tries again later, with the reason
// in its log. Debian's PostgreSQL is 15 here.
func TestInstallRefusesWhatMoodlesEnvironmentRefuses(t *testing.T) {
	root := loopback.NewRoot(t)
	as := loopback.ServiceAccount(t)
	pgPort := loopback.FreePort(t)
	loopback.ExpectPortsClosed(t, pgPort)
	base := loopback.StackSpec(t, "dev", root)
	password := loopback.Password(t)
	pg := loopback.StartPostgres(t, filepath.Join(root, "postgres"), pgPort, base.ServerConnections(), as)
	if _, err := pg.SQL(`CREATE ROLE :"user" LOGIN PASSWORD :'password';`, "user="+base.Database.User, "password="+password); err != nil {
		t.Fatal(err)
	}
	hook := imageLayout(t, filepath.Join(root, "image"))
	cases := []struct {
		name, release string
		maxInputVars  int
		refusal       string
	}{
		{"5.3 on PostgreSQL 15", "5.3", 5000, "!! database postgres !!\nversion 17 is required and you are running 15"},
		{"max_input_vars below 5000", "5.1", 1000, "!! php_setting max_input_vars !!\nPHP setting max_input_vars must be at least 5000"},
		{"5.1 on PostgreSQL 15 installs", "5.1", 5000, ""},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(root, fmt.Sprintf("case-%d", i))
			s := base
			s.Moodle.Version = c.release
			s.App.PHP.MaxInputVars = c.maxInputVars
			s.Paths.CodeDir = filepath.Join(dir, "code")
			s.Paths.DataRoot = filepath.Join(dir, "moodledata")
			s.Database.Name = fmt.Sprintf("env%d", i)
			if _, err := pg.SQL(`CREATE DATABASE :"db" OWNER :"user";`, "db="+s.Database.Name, "user="+s.Database.User); err != nil {
				t.Fatal(err)
			}
			if err := probetree.Copy(s.Paths.CodeDir, c.release); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(s.Paths.CodeDir, "config.php"), render.ConfigPHP(s, render.Endpoints{Database: pg.Addr, Redis: endpoints(s).Redis}))
			for _, d := range []string{s.Paths.DataRoot, filepath.Join(dir, "tmp")} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			as.Own(t, s.Paths.DataRoot, filepath.Join(dir, "tmp"))
			out, err := loopback.Run(as, hookEnv(t, dir, s, map[string]string{render.EnvDBPassword: password}), hook)
			if c.refusal == "" {
				// The install is all this case looks at (the hook goes on to the
				// MUC store, whose Redis this test does not run).
				if !strings.Contains(out, "moodle-install-upgrade: installed") {
					t.Errorf("the install failed (%v):\n%s", err, out)
				}
				return
			}
			if err == nil || !strings.Contains(out, c.refusal) || strings.Contains(out, "moodle-install-upgrade: installed") {
				t.Errorf("the hook (%v), want the installer's refusal %q:\n%s", err, c.refusal, out)
			}
			if got, _ := pg.SQL(`\c ` + s.Database.Name + "\nSELECT count(*) FROM pg_tables WHERE tablename = 'mdl_config';"); got != "0" {
				t.Errorf("a refused install created tables (%s)", got)
			}
		})
	}
}

// Moodle's setup.php ends every script, ABORT_AFTER_CONFIG ones included, whose
// user cannot write the dataroot or cannot find it, before anything else runs: a
// moodledata volume the app user does not own stops cron and the install hook
// with these lines, not with a later, stranger error.
func TestScriptsRefuseADatarootTheirUserCannotWrite(t *testing.T) {
	root := loopback.NewRoot(t)
	as := loopback.ServiceAccount(t)
	s := loopback.StackSpec(t, "dev", root)
	s.Paths.CodeDir = filepath.Join(root, "code")
	if err := probetree.Copy(s.Paths.CodeDir, s.Moodle.Version); err != nil {
		t.Fatal(err)
	}
	cron := filepath.Join(s.WebRoot(), "admin", "cli", "cron.php")
	cases := []struct {
		name    string
		prepare func(t *testing.T, s topology.Spec)
		refusal string
	}{
		{"a dataroot that does not exist", func(*testing.T, topology.Spec) {}, "Fatal error: $CFG->dataroot is not configured properly, directory does not exist or is not accessible! Exiting."},
		{"a dataroot owned by root", func(t *testing.T, s topology.Spec) {
			if err := os.MkdirAll(s.Paths.DataRoot, 0o755); err != nil {
				t.Fatal(err)
			}
		}, "Fatal error: $CFG->dataroot is not writable, admin has to fix directory permissions! Exiting."},
		{"a dataroot the user owns", func(t *testing.T, s topology.Spec) { as.OwnDataRoot(t, s) }, ""},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s.Paths.DataRoot = filepath.Join(root, fmt.Sprintf("moodledata-%d", i))
			c.prepare(t, s)
			writeFile(t, filepath.Join(s.Paths.CodeDir, "config.php"), render.ConfigPHP(s, endpoints(s)))
			out, err := loopback.Run(as, phpCLI(t, root, s, nil), loopback.PHPBin, cron)
			if c.refusal == "" {
				if strings.Contains(out, "Fatal error: $CFG->dataroot") {
					t.Errorf("cron.php refused a dataroot its user owns:\n%s", out)
				}
				return
			}
			if err == nil || !strings.Contains(out, c.refusal) {
				t.Errorf("cron.php (%v), want %q:\n%s", err, c.refusal, out)
			}
		})
	}
}
