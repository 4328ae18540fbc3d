package render

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

func TestConfigPHPDatabaseOptionsFollowThePooler(t *testing.T) {
	cases := []struct {
		name, pooler, mode         string
		handlesOptions, noFetchBuf bool
		recordLocks                bool
	}{
		{name: "no pooler", pooler: topology.PoolerNone, mode: topology.PoolModeTransaction},
		{name: "pgbouncer session", pooler: topology.PoolerPgBouncer, mode: topology.PoolModeSession, handlesOptions: true},
		{name: "pgbouncer transaction", pooler: topology.PoolerPgBouncer, mode: topology.PoolModeTransaction,
			handlesOptions: true, noFetchBuf: true, recordLocks: true},
		{name: "rds proxy", pooler: topology.PoolerRDSProxy, mode: topology.PoolModeTransaction, handlesOptions: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := devSpec()
			s.Database.Pooler, s.Database.PoolMode = c.pooler, c.mode
			conf := ConfigPHP(s, devEndpoints())
			check := func(what, line string, want bool) {
				t.Helper()
				if got := strings.Contains(conf, line); got != want {
					t.Errorf("%s: present %v, want %v (%s)", what, got, want, line)
				}
			}
			check("dbhandlesoptions", "'dbhandlesoptions' => true,", c.handlesOptions)
			check("fetchbuffersize", "'fetchbuffersize' => 0,", c.noFetchBuf)
			check("lock_factory", `$CFG->lock_factory = '\\core\\lock\\db_record_lock_factory';`, c.recordLocks)
		})
	}
}

// With a CA bundle in the model (AWS) Moodle connects to the database with TLS and
// libpq verifies the certificate and the host name against that bundle; without one
// (the Docker host's internal network) the connection stays plain.
func TestConfigPHPVerifiesTheDatabaseCertificateWhereTheModelHasACA(t *testing.T) {
	aws, e := awsSpec()
	for _, c := range []struct {
		name   string
		spec   topology.Spec
		verify bool
	}{
		{"docker defaults", devSpec(), false},
		{"aws defaults", aws, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			conf := ConfigPHP(c.spec, e)
			for _, line := range []string{
				"'ssl' => 'verify-full',",
				"putenv('PGSSLROOTCERT=" + c.spec.Paths.DatabaseCA + "');",
			} {
				if got := strings.Contains(conf, line); got != c.verify {
					t.Errorf("%s: present %v, want %v", line, got, c.verify)
				}
			}
			if c.verify && strings.Index(conf, "putenv('PGSSLROOTCERT=") > strings.Index(conf, "require_once(") {
				t.Error("PGSSLROOTCERT is set after Moodle connects")
			}
		})
	}
}

func TestConfigPHPReadReplicasOnlyWhenTheStackHasThem(t *testing.T) {
	s := devSpec()
	e := devEndpoints()
	if conf := ConfigPHP(s, e); strings.Contains(conf, "'readonly'") {
		t.Error("readonly block without replicas")
	}
	e.ReadReplicas = []HostPort{{Host: "replica-a", Port: 5433}, {Host: "replica-b", Port: 5432}}
	conf := ConfigPHP(s, e)
	block := conf[strings.Index(conf, "$CFG->dboptions['readonly']"):]
	block = block[:strings.Index(block, "];\n")+3]
	assertContains(t, block,
		"['dbhost' => 'replica-a', 'dbport' => 5433, 'dbuser' => $CFG->dbuser, 'dbpass' => $CFG->dbpass],",
		"['dbhost' => 'replica-b', 'dbport' => 5432, 'dbuser' => $CFG->dbuser, 'dbpass' => $CFG->dbpass],",
		"'connecttimeout' => 2,",
		"'latency' => 0.5,",
		"'exclude_tables' => [],",
	)
}

func TestConfigPHPSiteSettingsFollowTheSiteURL(t *testing.T) {
	for _, c := range []struct {
		url   string
		https bool
	}{{"http://localhost:8080", false}, {"https://moodle.example.org", true}} {
		t.Run(c.url, func(t *testing.T) {
			s := devSpec()
			s.SiteURL = c.url
			conf := ConfigPHP(s, devEndpoints())
			if !strings.Contains(conf, "$CFG->wwwroot = '"+c.url+"';") {
				t.Error("wwwroot is not the site URL")
			}
			if got := strings.Contains(conf, "$CFG->sslproxy = true;"); got != c.https {
				t.Errorf("sslproxy %v, want %v", got, c.https)
			}
			if !strings.Contains(conf, "$CFG->cookiesecure = "+phpBool(c.https)+";") {
				t.Errorf("cookiesecure is not %v", c.https)
			}
			if strings.Contains(conf, "HTTP_HOST") || strings.Contains(conf, "$_SERVER") {
				t.Error("config.php reads the request")
			}
		})
	}
}

func TestConfigPHPDirectoriesSharedAndLocal(t *testing.T) {
	conf := ConfigPHP(devSpec(), devEndpoints())
	assertContains(t, conf,
		"$CFG->dataroot      = '/var/www/moodledata';",
		"$CFG->cachedir      = '/var/www/moodledata/cache';",
		"$CFG->tempdir       = '/var/www/moodledata/temp';",
		"$CFG->backuptempdir = '/var/www/moodledata/temp/backup';",
		"$CFG->localcachedir = '/var/cache/moodle';",
		"$CFG->xsendfile = 'X-Accel-Redirect';",
		"$CFG->xsendfilealiases = ['/dataroot/' => $CFG->dataroot];",
		"$CFG->preventexecpath = true;",
		"$CFG->disableupdateautodeploy = true;",
		"$CFG->routerconfigured = true;",
		"require_once('/var/www/moodle/public/lib/setup.php');",
	)
	if !strings.HasSuffix(conf, "require_once('/var/www/moodle/public/lib/setup.php');\n") {
		t.Error("config.php does not end by loading Moodle")
	}
}

func TestConfigPHPRedisSessionsKeptApartFromCache(t *testing.T) {
	s := devSpec()
	conf := ConfigPHP(s, devEndpoints())
	assertContains(t, conf,
		`$CFG->session_handler_class = '\\core\\session\\redis';`,
		"$CFG->session_redis_host = 'redis';",
		"$CFG->session_redis_port = 6379;",
		"$CFG->session_redis_database = 0;",
		"$CFG->session_redis_auth = moodle_cluster_env('MOODLE_REDIS_PASSWORD');",
		"$CFG->session_redis_prefix = 'mdl_sess_';",
		"$CFG->session_redis_acquire_lock_timeout = 120;",
		"$CFG->session_redis_acquire_lock_warn = 10;",
		"'prefix' => 'mdl_muc_',",
	)
	s.Cache.CachePrefix = "site_muc_"
	if conf := ConfigPHP(s, devEndpoints()); !strings.Contains(conf, "'prefix' => 'site_muc_',") {
		t.Error("the MUC store does not use cache.cachePrefix")
	}
	if strings.Contains(conf, "session_redis_encrypt") {
		t.Error("TLS options without Cache.TLS")
	}
	s.Cache.TLS = true
	s.Paths.CacheCA = "/etc/ssl/certs/redis-ca.pem"
	tls := ConfigPHP(s, devEndpoints())
	assertContains(t, tls,
		"$CFG->session_redis_encrypt = ['verify_peer' => true, 'verify_peer_name' => true, 'cafile' => '/etc/ssl/certs/redis-ca.pem'];",
		"'encryption' => true,",
		"'cafile' => '/etc/ssl/certs/redis-ca.pem',",
	)
	if strings.Contains(tls, "'stream' =>") {
		t.Error("session_redis_encrypt is wrapped in 'stream': Moodle adds that itself")
	}
}

// A session lock must not outlive the request that holds it: php-fpm stops a
// request at request_terminate_timeout, which equals fastcgi_read_timeout.
func TestSessionLockExpiresWithTheRequest(t *testing.T) {
	s := devSpec()
	s.Web.FastCGIReadTimeout = 450
	if !strings.Contains(ConfigPHP(s, devEndpoints()), "$CFG->session_redis_lock_expire = 450;") {
		t.Error("session lock expiry is not the request timeout")
	}
	if !strings.Contains(PHPFPMPool(s, "9000"), "request_terminate_timeout = 450s") {
		t.Error("request_terminate_timeout is not fastcgi_read_timeout")
	}
	if !strings.Contains(NginxNode(s), "fastcgi_read_timeout 450s;") {
		t.Error("fastcgi_read_timeout does not follow the spec")
	}
}

// A request waiting for a session lock must give up the way Moodle does, with its
// "sessioncannotobtainlock" error naming the holder, before php-fpm kills it at
// request_terminate_timeout (= fastcgi_read_timeout) and nginx answers 504 instead.
// Moodle's handler (public/lib/classes/session/redis.php at 838ec452, lines
// 853-888) gives up only once more than session_redis_acquire_lock_timeout whole
// seconds have passed, polling about once a second after the first five: up to
// timeout + 2.1 s after it started waiting, which is after the request started.
// Where Moodle's default, 120 s, fits, it is kept.
func TestSessionLockWaitEndsBeforeTheRequest(t *testing.T) {
	acquire := regexp.MustCompile(`(?m)^\$CFG->session_redis_acquire_lock_timeout = (\d+);$`)
	warn := regexp.MustCompile(`(?m)^\$CFG->session_redis_acquire_lock_warn = (\d+);$`)
	for _, timeout := range []int{30, 60, 124, 125, 300, 450, 3600} {
		t.Run(fmt.Sprintf("fastcgi_read_timeout %d s", timeout), func(t *testing.T) {
			s := devSpec()
			s.Web.FastCGIReadTimeout = timeout
			conf := ConfigPHP(s, devEndpoints())
			m, w := acquire.FindStringSubmatch(conf), warn.FindStringSubmatch(conf)
			if m == nil || w == nil {
				t.Fatal("config.php sets no session_redis_acquire_lock_timeout or _warn")
			}
			n, _ := strconv.Atoi(m[1])
			warnAfter, _ := strconv.Atoi(w[1])
			if n+3 > timeout {
				t.Errorf("a waiter gives up after up to %d+2.1 s; php-fpm kills it at %d s", n, timeout)
			}
			if n <= warnAfter {
				t.Errorf("the acquire timeout %d s is not past the warning at %d s", n, warnAfter)
			}
			if want := 120; timeout >= 125 && n != want {
				t.Errorf("acquire timeout %d s, want Moodle's default %d s where it fits", n, want)
			}
		})
	}
}

func TestConfigPHPObjectFSOnlyForS3(t *testing.T) {
	s := devSpec()
	if strings.Contains(ConfigPHP(s, devEndpoints()), "objectfs") {
		t.Error("tool_objectfs settings for volume storage")
	}
	aws, e := awsSpec()
	aws.Storage.S3 = topology.S3Storage{SizeThresholdBytes: 102400, MinimumAgeSeconds: 600, DeleteLocal: true}
	conf := ConfigPHP(aws, e)
	assertContains(t, conf,
		`$CFG->alternative_file_system_class = '\\tool_objectfs\\s3_file_system';`,
		"'s3_usesdkcreds' => 1,",
		"'s3_bucket' => moodle_cluster_env('MOODLE_S3_BUCKET'),",
		"'s3_region' => moodle_cluster_env('MOODLE_S3_REGION'),",
		"'sizethreshold' => 102400,",
		"'minimumage' => 600,",
		"'deletelocal' => 1,",
	)
	if strings.Contains(conf, "file_exists") {
		t.Error("objectfs is switched on only when its code is there: an image without it would keep files on EFS unnoticed")
	}
}

// With objectfs, Moodle no longer hands files to nginx: files in the bucket leave
// through URLs S3 signs (tool_objectfs's settings, read by its
// object_file_system::xsendfile_file), so no php-fpm worker relays them.
func TestConfigPHPServesS3FilesThroughPresignedURLs(t *testing.T) {
	aws, e := awsSpec()
	aws.Storage.Kind = topology.StorageS3
	assertContains(t, ConfigPHP(aws, e),
		"'enablepresignedurls' => 1,",
		"'signingmethod' => 's3',",
		"'presignedminfilesize' => 0,",
		"'expirationtime' => 3600,",
		"'signingwhitelist' => '.pdf ",
	)
	for _, kept := range []string{".html", ".htm", ".js", ".css", ".svg", ".xml"} {
		if strings.Contains(presignedTypes+" ", kept+" ") {
			t.Errorf("%s files are redirected to S3: content packages load them relative to the site", kept)
		}
	}
}

// The MUC store config.php describes is what the image's install step writes into
// Moodle's cache configuration (docker/configure-muc.php): cachestore_redis's own
// keys, the password read at run time, TLS verified where Redis speaks it.
func TestConfigPHPDescribesTheMUCStoreForTheInstallStep(t *testing.T) {
	dev := ConfigPHP(devSpec(), devEndpoints())
	assertContains(t, dev,
		"$CFG->moodle_cluster_muc = [\n    'name' => 'redis',",
		"'prefix' => 'mdl_muc_',",
		"'password' => $CFG->session_redis_auth,",
	)
	aws, e := awsSpec()
	assertContains(t, ConfigPHP(aws, e), "'encryption' => true,", "'cafile' => '/etc/ssl/certs/ca-certificates.crt',")
	if strings.Contains(dev, "forcedcache") || strings.Contains(dev, "alternative_cache_factory_class") {
		t.Error("config.php still configures tool_forcedcache, which declares support up to Moodle 4.5 only")
	}
}

// Renderers take no secret, and they do not read the environment either: a value
// set in the environment of the process that renders never reaches the text.
func TestNoSecretValueInRenderedFiles(t *testing.T) {
	sentinels := map[string]string{
		EnvDBPassword:    "db-sentinel-4f1d",
		EnvRedisPassword: "redis-sentinel-9a2c",
		EnvUpgradeKey:    "upgrade-sentinel-77e0",
		EnvAdminPassword: "admin-sentinel-03bb",
	}
	for name, value := range sentinels {
		t.Setenv(name, value)
		t.Setenv(name+FileSuffix, "/run/secrets/"+value)
	}
	aws, awsE := awsSpec()
	dev := devSpec()
	files := map[string]string{
		"lb":         NginxLoadBalancer(dev, devBackends(dev)),
		"node":       NginxNode(aws),
		"pool":       PHPFPMPool(dev, "9000"),
		"ini":        PHPIni(dev),
		"config dev": ConfigPHP(dev, devEndpoints()),
		"config aws": ConfigPHP(aws, awsE),
		"cron":       CronRunner(dev),
	}
	for file, text := range files {
		for name, value := range sentinels {
			if strings.Contains(text, value) {
				t.Errorf("%s contains the value of %s", file, name)
			}
		}
	}
	conf := files["config aws"]
	assertContains(t, conf,
		"$CFG->dbpass    = moodle_cluster_env('MOODLE_DB_PASSWORD');",
		"$CFG->session_redis_auth = moodle_cluster_env('MOODLE_REDIS_PASSWORD');",
		"$CFG->upgradekey = moodle_cluster_env('MOODLE_UPGRADE_KEY');",
		"if (!function_exists('moodle_cluster_env')) {",
		"getenv($name . '_FILE')",
		"throw new RuntimeException(",
	)
}

func TestConfigPHPEscapesSpecValues(t *testing.T) {
	s := devSpec()
	s.Database.Name = `it's`
	s.Database.User = `back\slash`
	s.Paths.DataRoot = `/data/o'brien\`
	conf := ConfigPHP(s, devEndpoints())
	for _, want := range []string{
		`$CFG->dbname    = 'it\'s';`,
		`$CFG->dbuser    = 'back\\slash';`,
		`$CFG->dataroot      = '/data/o\'brien\\';`,
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("missing %s", want)
		}
	}
}
