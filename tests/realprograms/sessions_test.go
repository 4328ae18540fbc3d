//go:build integration

package realprograms

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/tests/harness/loopback"
	"github.com/moodle-cluster/moodle-pulumi/tests/harness/probetree"
)

// These tests run the probe's session pages through the rendered config.php, the
// rendered php-fpm pool and nginx, against the rendered Redis: the sessions are
// stored by the probe tree's stand-in of Moodle's own handler (\core\session\redis,
// lib/classes/session/redis.php), which config.php's session_handler_class names.
// They assert on what Moodle's handler leaves in Redis, so they fail if the
// stand-in stored sessions any other way, phpredis's session handler included (its
// keys are "PHPREDIS_SESSION:<id>" or the prefix + <id>, its lock "<key>_LOCK").

// sessionSite is one app node (php-fpm and nginx in front of it) with the sessions'
// Redis, the probe tree laid out for a release.
type sessionSite struct {
	spec  topology.Spec
	url   string
	redis *loopback.Redis
	node  *loopback.FPM
}

// startSessionSite renders the dev stack for release and runs it. extra are
// $CFG lines put into the rendered config.php just before it hands over to
// lib/setup.php, as an administrator overrides a setting there.
func startSessionSite(t *testing.T, release string, extra ...string) *sessionSite {
	t.Helper()
	root := loopback.NewRoot(t)
	as := loopback.ServiceAccount(t)
	webPort, redisPort, fpmPort := loopback.FreePort(t), loopback.FreePort(t), loopback.FreePort(t)
	loopback.ExpectPortsClosed(t, webPort, redisPort, fpmPort)
	spec := loopback.DevSpec(t, root, webPort)
	spec.Moodle.Version = release
	if err := probetree.Copy(spec.Paths.CodeDir, release); err != nil {
		t.Fatal(err)
	}
	config := render.ConfigPHP(spec, render.Endpoints{Database: render.HostPort{Host: "127.0.0.1", Port: 1},
		Redis: render.HostPort{Host: "127.0.0.1", Port: redisPort}})
	if len(extra) > 0 {
		at := strings.LastIndex(config, "require_once(")
		if at < 0 {
			t.Fatal("the rendered config.php does not hand over to lib/setup.php")
		}
		config = config[:at] + strings.Join(extra, "\n") + "\n\n" + config[at:]
	}
	writeFile(t, filepath.Join(spec.Paths.CodeDir, "config.php"), config)
	iniDir := filepath.Join(root, "php")
	writeFile(t, filepath.Join(iniDir, "zz-moodle.ini"), render.PHPIni(spec))
	as.OwnDataRoot(t, spec)
	writeFile(t, filepath.Join(spec.Paths.LocalCacheDir, ".keep"), "")
	as.Own(t, spec.Paths.LocalCacheDir)
	// What the cron runner leaves once the site is installed: PHP is served.
	writeFile(t, spec.ReleaseMarker(), "")

	password := loopback.Password(t)
	s := &sessionSite{spec: spec, url: spec.SiteURL}
	s.redis = loopback.StartRedis(t, spec, filepath.Join(root, "redis"), redisPort, password, as)
	env := []string{loopback.PHPEnv("fpm", iniDir), render.EnvRedisPassword + "=" + password,
		render.EnvDBPassword + "=unused", render.EnvUpgradeKey + "=unused"}
	backend := render.HostPort{Host: "127.0.0.1", Port: fpmPort}
	s.node = loopback.StartFPM(t, filepath.Join(root, "nodes", "app1"), "app1",
		render.PHPFPMPool(spec, backend.String()), fpmPort, env, as)
	loopback.StartNginx(t, filepath.Join(root, "lb"), "nginx-lb",
		render.NginxLoadBalancer(spec, []render.HostPort{backend}), webPort, as)
	return s
}

// browser is one visitor: its cookies carry its session.
func (s *sessionSite) browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

type pageAnswer struct {
	status int
	body   string
	took   time.Duration
	done   time.Time
}

func (s *sessionSite) page(t *testing.T, client *http.Client, query string) pageAnswer {
	start := time.Now()
	resp, err := client.Get(s.url + "/probe.php?" + query)
	if err != nil {
		t.Errorf("GET %s: %v", query, err)
		return pageAnswer{}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return pageAnswer{status: resp.StatusCode, body: string(body), took: time.Since(start), done: time.Now()}
}

// sessionID is the session cookie the site gave client.
func (s *sessionSite) sessionID(t *testing.T, client *http.Client) string {
	t.Helper()
	u, _ := url.Parse(s.url)
	for _, c := range client.Jar.Cookies(u) {
		if strings.HasPrefix(c.Name, "MoodleSession") {
			return c.Value
		}
	}
	t.Fatalf("no MoodleSession cookie")
	return ""
}

// query runs a Redis command in the sessions' database.
func (s *sessionSite) query(t *testing.T, args ...string) []string {
	t.Helper()
	reply, err := s.redis.Query(s.spec.Cache.SessionDB, args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return reply
}

func (s *sessionSite) ttl(t *testing.T, key string) int {
	t.Helper()
	n, err := strconv.Atoi(s.query(t, "TTL", key)[0])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSessionsAreStoredInMoodlesKeyLayout starts a session as a visitor and reads
// what Redis holds: exactly the keys Moodle's handler writes, under the rendered
// prefix in the rendered database: the hash "session_<sid>" with the fields of
// Moodle's session record, living the first-access timeout (180 s), the page's data
// PHP-serialized in sessdata; and, for 4.5 only, the visitor's user hash "user_0"
// mapping the sid to its creation time (5.x keeps none for userid 0).
func TestSessionsAreStoredInMoodlesKeyLayout(t *testing.T) {
	for _, c := range []struct {
		release      string
		visitorsHash bool
	}{
		{"4.5", true},
		{loopback.ProbeRelease, false},
	} {
		t.Run(c.release, func(t *testing.T) {
			s := startSessionSite(t, c.release)
			client := s.browser(t)
			value := loopback.Password(t)
			if p := s.page(t, client, "action=session-set&value="+value); p.status != http.StatusOK {
				t.Fatalf("session-set answered %d: %s\n%s", p.status, p.body, s.node.Log())
			}
			sid := s.sessionID(t, client)
			prefix := s.spec.Cache.SessionPrefix
			sessionKey, userKey := prefix+"session_"+sid, prefix+"user_0"
			want := []string{sessionKey}
			if c.visitorsHash {
				want = append(want, userKey)
			}
			keys := s.query(t, "KEYS", "*")
			slices.Sort(keys)
			slices.Sort(want)
			if !slices.Equal(keys, want) {
				t.Fatalf("Redis database %d holds %q, want %q", s.spec.Cache.SessionDB, keys, want)
			}
			if typ := s.query(t, "TYPE", sessionKey)[0]; typ != "hash" {
				t.Fatalf("%s is a %s, want Moodle's session hash", sessionKey, typ)
			}
			fields := map[string]string{}
			hash := s.query(t, "HGETALL", sessionKey)
			for i := 0; i+1 < len(hash); i += 2 {
				fields[hash[i]] = hash[i+1]
			}
			// phpredis serializes every value with PHP's serializer (Moodle's default).
			for field, want := range map[string]string{
				"id": phpString(sid), "sid": phpString(sid), "state": phpString("0"), "userid": "i:0;",
				"sessdata": phpString("probe|" + phpString(value)),
			} {
				if fields[field] != want {
					t.Errorf("%s[%s] = %q, want %q", sessionKey, field, fields[field], want)
				}
			}
			for _, field := range []string{"timecreated", "timemodified", "firstip", "lastip"} {
				if _, ok := fields[field]; !ok {
					t.Errorf("%s has no field %s: %q", sessionKey, field, hash)
				}
			}
			if ttl := s.ttl(t, sessionKey); ttl <= 170 || ttl > 180 {
				t.Errorf("%s expires in %d s, want the first-access timeout, 180 s", sessionKey, ttl)
			}
			if c.visitorsHash {
				if got := s.query(t, "HKEYS", userKey); !slices.Equal(got, []string{sid}) {
					t.Errorf("%s maps %q, want the session %q", userKey, got, sid)
				}
				if ttl := s.ttl(t, userKey); ttl <= 170 || ttl > 180 {
					t.Errorf("%s expires in %d s, want 180 s", userKey, ttl)
				}
			}
			p := s.page(t, client, "action=session-get")
			if !strings.Contains(p.body, `"value":"`+value+`"`) {
				t.Errorf("session-get answered %d %s, want the value %q", p.status, p.body, value)
			}
		})
	}
}

// phpString is serialize() of a string.
func phpString(v string) string { return fmt.Sprintf("s:%d:\"%s\";", len(v), v) }

// lockValue is what Moodle's handler writes into a lock, "[pid <pid>] <host>:<uri>",
// serialized by phpredis like every value (OPT_SERIALIZER applies to SET too).
var lockValue = regexp.MustCompile(`^s:\d+:"(\[pid \d+\] \S+:/probe\.php\?action=session-set[^"]*)";$`)

// lockHolder is the holder a lock's value names, or "".
func lockHolder(value string) string {
	if m := lockValue.FindStringSubmatch(value); m != nil {
		return m[1]
	}
	return ""
}

// TestSecondRequestWaitsForTheSessionLock sends two requests on one session: the
// first holds the session for 2 s. While it does, Redis holds the lock key
// "session_<sid>.lock" naming the holder, expiring after the rendered
// session_redis_lock_expire; the second request waits for it, then reads what the
// first wrote; at the end no lock is left.
func TestSecondRequestWaitsForTheSessionLock(t *testing.T) {
	s := startSessionSite(t, loopback.ProbeRelease)
	client := s.browser(t)
	if p := s.page(t, client, "action=session-set&value=before"); p.status != http.StatusOK {
		t.Fatalf("session-set answered %d: %s\n%s", p.status, p.body, s.node.Log())
	}
	lockKey := s.spec.Cache.SessionPrefix + "session_" + s.sessionID(t, client) + ".lock"

	const hold = 2 * time.Second
	first := make(chan pageAnswer, 1)
	go func() {
		first <- s.page(t, client, fmt.Sprintf("action=session-set&value=after&hold=%d", hold.Milliseconds()))
	}()
	if value := waitForKey(t, s, lockKey); lockHolder(value) == "" {
		t.Errorf("the lock holds %q, want Moodle's \"[pid N] host:uri\" of the first request", value)
	}
	if ttl, want := s.ttl(t, lockKey), s.spec.Web.FastCGIReadTimeout; ttl <= want-2 || ttl > want {
		t.Errorf("the lock expires in %d s, want session_redis_lock_expire, %d s", ttl, want)
	}
	second := s.page(t, client, "action=session-get")
	a := <-first
	if a.status != http.StatusOK || second.status != http.StatusOK {
		t.Fatalf("answers %d %s and %d %s", a.status, a.body, second.status, second.body)
	}
	if second.done.Before(a.done) {
		t.Errorf("the second request finished %v before the first, which held the session", a.done.Sub(second.done))
	}
	if !strings.Contains(second.body, `"value":"after"`) {
		t.Errorf("the second request read %s, want what the first wrote", second.body)
	}
	if got := s.query(t, "EXISTS", lockKey)[0]; got != "0" {
		t.Errorf("the lock %s is still there after both requests", lockKey)
	}
}

func waitForKey(t *testing.T, s *sessionSite, key string) string {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if v, err := s.redis.Query(s.spec.Cache.SessionDB, "GET", key); err == nil && len(v) == 1 {
			return v[0]
		}
	}
	t.Fatalf("no key %s within 5 s\n%s", key, s.node.Log())
	return ""
}

// TestSessionLockHeldTooLong runs a request that holds its session for 6 s and a
// second one on the same session, with the lock's settings lowered to seconds:
//   - held past session_redis_acquire_lock_timeout, the second fails the way
//     Moodle fails: the error logged, the exception sessioncannotobtainlock naming
//     the holder, a 503, after more than the timeout and while the first still runs;
//   - held past session_redis_lock_expire, the lock is gone from Redis and the
//     second gets the session while the first still runs.
func TestSessionLockHeldTooLong(t *testing.T) {
	for _, c := range []struct {
		name             string
		settings         []string
		wantStatus       int
		wantBody         string
		minWait, maxWait time.Duration
		wantLog          string
		lockExpire       int
	}{
		{
			name:       "past the acquire timeout the second fails",
			settings:   []string{"$CFG->session_redis_acquire_lock_timeout = 2;", "$CFG->session_redis_acquire_lock_warn = 1;"},
			wantStatus: http.StatusServiceUnavailable, wantBody: "error/sessioncannotobtainlock",
			minWait: 2 * time.Second, maxWait: 4 * time.Second,
			wantLog:    "Error: Cannot obtain session lock for sid: session_%s within 2 seconds.",
			lockExpire: 0,
		},
		{
			name:       "past the lock's expiry the second gets the session",
			settings:   []string{"$CFG->session_redis_lock_expire = 2;"},
			wantStatus: http.StatusOK, wantBody: `"value":"held"`,
			minWait: 1 * time.Second, maxWait: 4 * time.Second,
			lockExpire: 2,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := startSessionSite(t, loopback.ProbeRelease, c.settings...)
			client := s.browser(t)
			if p := s.page(t, client, "action=session-set&value=held"); p.status != http.StatusOK {
				t.Fatalf("session-set answered %d: %s\n%s", p.status, p.body, s.node.Log())
			}
			sid := s.sessionID(t, client)
			lockKey := s.spec.Cache.SessionPrefix + "session_" + sid + ".lock"
			first := make(chan pageAnswer, 1)
			go func() { first <- s.page(t, client, "action=session-set&value=held&hold=6000") }()
			holder := lockHolder(waitForKey(t, s, lockKey))
			if holder == "" {
				t.Errorf("the lock does not name the first request as Moodle's does")
			}
			if c.lockExpire > 0 {
				if ttl := s.ttl(t, lockKey); ttl <= 0 || ttl > c.lockExpire {
					t.Errorf("the lock expires in %d s, want session_redis_lock_expire, %d s", ttl, c.lockExpire)
				}
			}
			second := s.page(t, client, "action=session-get")
			a := <-first
			if a.status != http.StatusOK {
				t.Errorf("the holder answered %d %s", a.status, a.body)
			}
			if second.status != c.wantStatus || !strings.Contains(second.body, c.wantBody) {
				t.Errorf("the second answered %d %q, want %d with %q", second.status, second.body, c.wantStatus, c.wantBody)
			}
			if second.took < c.minWait || second.took > c.maxWait {
				t.Errorf("the second answered after %v, want %v to %v", second.took, c.minWait, c.maxWait)
			}
			if !second.done.Before(a.done) {
				t.Errorf("the second answered only after the holder finished")
			}
			if c.wantStatus == http.StatusServiceUnavailable && !strings.Contains(second.body, holder) {
				t.Errorf("the error %q does not name the lock's holder %q", second.body, holder)
			}
			if c.wantLog != "" {
				if log := s.node.Log(); !strings.Contains(log, fmt.Sprintf(c.wantLog, sid)) ||
					!strings.Contains(log, "Warning: Cannot obtain session lock for sid: session_"+sid+" within 1 seconds") {
					t.Errorf("the node logged no lock warning and error for %s:\n%s", sid, log)
				}
			}
		})
	}
}
