//go:build integration

package realprograms

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/tests/harness/loadgen"
	"github.com/moodle-cluster/moodle-pulumi/tests/harness/loopback"
)

// TestLoopbackCluster runs the dev topology from the rendered files on 127.0.0.1 and
// checks the promises a horizontally scaled Moodle depends on, in one cluster: the
// steps run in order because several of them stop and start servers.
func TestLoopbackCluster(t *testing.T) {
	start := time.Now()
	defer func() { t.Logf("loopback cluster test wall time: %s", time.Since(start).Round(time.Millisecond)) }()

	c := loopback.StartCluster(t)
	if len(c.Nodes) < 2 {
		t.Fatalf("the dev stack runs %d app node(s): nothing to balance or fail over", len(c.Nodes))
	}
	t.Logf("cluster up in %s: load balancer %s, nodes %v", time.Since(start).Round(time.Millisecond), c.URL, c.Ports())

	// The cron runner goes first: until its install step has run, PHP is closed.
	t.Run("of two cron runners exactly one runs cron and opens the site", func(t *testing.T) { singleCronRunner(t, c) })
	t.Run("requests spread over every app node", func(t *testing.T) { requestsSpread(t, c) })
	t.Run("every node queries PostgreSQL with the secret password", func(t *testing.T) { databaseFromEveryNode(t, c) })
	t.Run("a session started on one node is read on another", func(t *testing.T) { sessionAcrossNodes(t, c) })
	t.Run("every pool reads a file another pool wrote under the configured dataroot", func(t *testing.T) { dataRootFileReadByEveryPool(t, c) })
	t.Run("nginx streams dataroot files and frees the worker", func(t *testing.T) { xAccelRedirect(t, c) })
	t.Run("denied paths answer 404", func(t *testing.T) { deniedPaths(t, c) })
	t.Run("a path without a file reaches the router with its query string", func(t *testing.T) { routerGetsTheQuery(t, c) })
	t.Run("users' files named like denied paths reach PHP", func(t *testing.T) { slashArgumentsReachPHP(t, c) })
	t.Run("a killed node drops out and comes back", func(t *testing.T) { nodeFailover(t, c) })
	t.Run("sessions survive a Redis restart", func(t *testing.T) { sessionsSurviveRedisRestart(t, c) })
}

// probe is the JSON every probe action answers with.
type probe struct {
	Node    string   `json:"node"`
	Session string   `json:"session"`
	Value   *string  `json:"value"`
	Bytes   int      `json:"bytes"`
	Active  int      `json:"active"`
	Busy    []string `json:"busy"`
	DBUser  string   `json:"dbuser"`
	Hits    int      `json:"hits"`
}

func newClient(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

// get asks the probe through the load balancer and decodes its answer.
func get(t *testing.T, client *http.Client, c *loopback.Cluster, query string) probe {
	t.Helper()
	return call(t, client, http.MethodGet, c.URL+"/probe.php?"+query, nil)
}

func call(t *testing.T, client *http.Client, method, url string, body io.Reader) probe {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s: %s", method, url, resp.Status, b)
	}
	var p probe
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("%s %s: %v: %s", method, url, err, b)
	}
	if p.Node == "" || resp.Header.Get("X-Probe-Node") != p.Node {
		t.Fatalf("%s %s: no node named in %s", method, url, b)
	}
	return p
}

func allNodes(c *loopback.Cluster) map[string]bool {
	nodes := map[string]bool{}
	for _, n := range c.Spec.AppNodes() {
		nodes[n] = true
	}
	return nodes
}

func requestsSpread(t *testing.T, c *loopback.Cluster) {
	client := newClient(t)
	served := map[string]int{}
	const requests = 30
	for range requests {
		served[get(t, client, c, "action=node").Node]++
	}
	for node := range allNodes(c) {
		if served[node] == 0 {
			t.Errorf("%s served none of %d requests: %v", node, requests, served)
		}
	}
	if len(served) != len(c.Nodes) {
		t.Errorf("requests were served by %v, want exactly the %d app nodes", served, len(c.Nodes))
	}
}

// untilEveryNode repeats a probe call until each app node has answered once (bounded),
// handing every answer to check.
func untilEveryNode(t *testing.T, c *loopback.Cluster, call func() probe, check func(probe)) {
	t.Helper()
	missing := allNodes(c)
	for i := 0; len(missing) > 0; i++ {
		if i == 60 {
			t.Fatalf("no answer from %v after %d requests", missing, i)
		}
		p := call()
		check(p)
		delete(missing, p.Node)
	}
}

func databaseFromEveryNode(t *testing.T, c *loopback.Cluster) {
	client := newClient(t)
	last := 0
	untilEveryNode(t, c, func() probe { return get(t, client, c, "action=db") }, func(p probe) {
		if p.DBUser != c.Spec.Database.User {
			t.Errorf("%s connected as %q, want %q", p.Node, p.DBUser, c.Spec.Database.User)
		}
		// One table on one primary: every node's insert is counted by the next one.
		if p.Hits != last+1 {
			t.Errorf("%s counted %d hits after %d, want one more", p.Node, p.Hits, last)
		}
		last = p.Hits
	})
}

func sessionAcrossNodes(t *testing.T, c *loopback.Cluster) {
	client := newClient(t)
	value := loopback.Password(t)
	set := get(t, client, c, "action=session-set&value="+value)
	readElsewhere := false
	untilEveryNode(t, c, func() probe { return get(t, client, c, "action=session-get") }, func(p probe) {
		if p.Session != set.Session {
			t.Errorf("%s sees session %q, want %q started on %s", p.Node, p.Session, set.Session, set.Node)
		}
		if p.Value == nil || *p.Value != value {
			t.Errorf("%s reads %v from the session %s wrote %q into", p.Node, p.Value, set.Node, value)
		}
		readElsewhere = readElsewhere || p.Node != set.Node
	})
	if !readElsewhere {
		t.Errorf("the session was never read on a node other than %s", set.Node)
	}
	// Where Moodle's handler keeps it: the session database, under the session
	// prefix, as the hash "session_<sid>" (lib/classes/session/redis.php).
	key := c.Spec.Cache.SessionPrefix + "session_" + set.Session
	if ok, err := c.Redis.Exists(c.Spec.Cache.SessionDB, key); err != nil || !ok {
		t.Errorf("no key %q in Redis database %d (%v)", key, c.Spec.Cache.SessionDB, err)
	}
	if strings.HasPrefix(key, c.Spec.Cache.CachePrefix) {
		t.Errorf("session key %q falls under the MUC cache prefix %q: a cache purge would drop it", key, c.Spec.Cache.CachePrefix)
	}
}

// dataRootFileReadByEveryPool writes a file through one node's PHP and reads it
// through every node's. On loopback the pools share one directory by construction,
// so this proves what config.php and the pools add: every node is given the same
// dataroot, and what PHP writes there (a temporary name, then a rename) every other
// pool's workers can read. That a volume reaches every container is the Docker
// tier's to prove.
func dataRootFileReadByEveryPool(t *testing.T, c *loopback.Cluster) {
	client := newClient(t)
	content := "written on one node, read on all: " + loopback.Password(t)
	w := call(t, client, http.MethodPost, c.URL+"/probe.php?action=file-write&name=shared.txt", strings.NewReader(content))
	if w.Bytes != len(content) {
		t.Fatalf("%s wrote %d bytes, want %d", w.Node, w.Bytes, len(content))
	}
	missing := allNodes(c)
	for i := 0; len(missing) > 0 && i < 60; i++ {
		resp, err := client.Get(c.URL + "/probe.php?action=file-read&name=shared.txt")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		node := resp.Header.Get("X-Probe-Node")
		if resp.StatusCode != http.StatusOK || string(b) != content {
			t.Errorf("%s read %s %q, want the %q %s wrote", node, resp.Status, b, content, w.Node)
		}
		delete(missing, node)
	}
	if len(missing) > 0 {
		t.Errorf("nodes %v never read the file", missing)
	}
}

// xAccelRedirect streams a large dataroot file to a client that stops reading after the
// first megabyte. While the rest waits in nginx, every node's pool reports no busy
// worker but the one answering: PHP sent a header and was done. The body carries the
// ETag and byte ranges of nginx's static file handler, which the probe cannot produce.
func xAccelRedirect(t *testing.T, c *loopback.Cluster) {
	const size = 64 << 20
	path := filepath.Join(c.Spec.Paths.DataRoot, "probe", "large.bin")
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	c.As.Own(t, filepath.Dir(path))
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}

	url := c.URL + "/probe.php?action=file-send&name=large.bin"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if want := fmt.Sprintf("%q", fmt.Sprintf("%x-%x", info.ModTime().Unix(), info.Size())); resp.Header.Get("ETag") != want {
		t.Errorf("ETag %q, want nginx's %s for the file on disk", resp.Header.Get("ETag"), want)
	}
	if resp.ContentLength != size {
		t.Errorf("Content-Length %d, want %d", resp.ContentLength, size)
	}
	head := make([]byte, 1<<20)
	if _, err := io.ReadFull(resp.Body, head); err != nil {
		t.Fatalf("read the first megabyte: %v", err)
	}

	client := newClient(t)
	untilEveryNode(t, c, func() probe { return get(t, client, c, "action=fpm-status") }, func(p probe) {
		if p.Active != 1 {
			t.Errorf("%s has %d busy workers (%q) while nginx streams the file, want only the one answering", p.Node, p.Active, p.Busy)
		}
	})

	h := sha256.New()
	h.Write(head)
	if _, err := io.Copy(h, resp.Body); err != nil {
		t.Fatalf("read the rest: %v", err)
	}
	if got, want := h.Sum(nil), sha256.Sum256(data); string(got) != string(want[:]) {
		t.Errorf("the streamed body differs from the file on disk")
	}

	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Range", "bytes=1000-1009")
	ranged, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(ranged.Body)
	ranged.Body.Close()
	if ranged.StatusCode != http.StatusPartialContent || string(part) != string(data[1000:1010]) {
		t.Errorf("range request: %s %x, want 206 %x", ranged.Status, part, data[1000:1010])
	}
}

// deniedURIs hit every rule of the deny list Moodle asks web servers to enforce
// (MDL-69333), with the paths Moodle's own check of a site requests and expects 404
// for (core\check\environment\publicpaths in public/lib/classes/check/environment/
// publicpaths.php): code, dependencies, build and test files, documentation,
// dot-files; PHP scripts among them are refused, not run. Then the web installer and
// CLI scripts, which only the cron runner runs.
var deniedURIs = []string{
	"/vendor/autoload.php",
	"/vendor/bin/behat",
	"/lib/vendor/x.php",
	"/node_modules/pkg/index.js",
	"/node_modules/cli/cli.js",
	"/composer.json",
	"/composer.lock",
	"/yarn.lock",
	"/README.md",
	"/readme.txt",
	"/mod/README.txt",
	"/mod/book/README.md",
	"/mod/resource/readme.txt",
	"/lib/scssphp/readme_moodle.txt",
	"/mod/forum/upgrade.txt",
	"/auth/manual/upgrade.txt",
	"/UPGRADING.md",
	"/UPGRADING-CURRENT.md",
	"/reportbuilder/UPGRADING.md",
	"/lib/db/install.xml",
	"/mod/assign/db/install.xml",
	"/lib/tests/fixtures/sample.php",
	"/privacy/tests/fixtures/logo.png",
	"/enrol/lti/tests/fixtures/input.xml",
	"/lib/tests/behat/behat_sample.php",
	"/blog/tests/behat/delete.feature",
	"/phpunit.xml",
	"/phpunit.xml.dist",
	"/admin/environment.xml",
	"/.git/config",
	"/.git/HEAD",
	"/.github/FUNDING.yml",
	"/.stylelintrc",
	"/.upgradenotes/MDL-1.yml",
	"/.env",
	"/.htaccess",
	"/mod/forum/.hidden.php",
	"/install.php",
	"/admin/cli/cron.php",
	"/admin/cli/upgrade.php",
}

// deniedPaths puts a file at every denied path, where nginx would otherwise serve it
// or hand it to PHP, and expects 404 without the file's content.
// routerGetsTheQuery sends paths with no file behind them through the rendered
// nginx: they reach r.php (the stand-in answers its one route with the query
// parameters PHP parsed into $_GET, and every other path 404, as Moodle's router
// does), and the query string comes along.
func routerGetsTheQuery(t *testing.T, c *loopback.Cluster) {
	resp, err := http.Get(c.URL + "/probe/echo?probe=42&name=a%20b")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Query map[string]string `json:"query"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /probe/echo: %s, %v", resp.Status, err)
	}
	if want := map[string]string{"probe": "42", "name": "a b"}; !maps.Equal(got.Query, want) {
		t.Errorf("the router got the query %v, want %v", got.Query, want)
	}
	unknown, err := http.Get(c.URL + "/course/view/42?id=7")
	if err != nil {
		t.Fatal(err)
	}
	unknown.Body.Close()
	if unknown.StatusCode != http.StatusNotFound || unknown.Header.Get("X-Probe-Router") != "r.php" {
		t.Errorf("an unknown route: %s from %q, want the router's 404", unknown.Status, unknown.Header.Get("X-Probe-Router"))
	}
}

func deniedPaths(t *testing.T, c *loopback.Cluster) {
	const secret = "must never be served"
	public := c.Spec.WebRoot()
	put := func(uri string) {
		file := filepath.Join(public, filepath.FromSlash(uri))
		if _, err := os.Stat(file); err == nil {
			return // the probe app's own file (admin/cli/cron.php) stays as it is
		}
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte("<?php echo '"+secret+"';\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	check := func(uri string, wantStatus int, wantSecret bool) {
		if status, body := fetch(t, c.URL+uri); status != wantStatus || strings.Contains(body, secret) != wantSecret {
			t.Errorf("GET %s: %d %q, want %d", uri, status, body, wantStatus)
		}
	}
	for _, uri := range deniedURIs {
		put(uri)
		check(uri, http.StatusNotFound, false)
	}
	// Dataroot is reachable only through X-Accel-Redirect.
	stored := filepath.Join(c.Spec.Paths.DataRoot, "filedir", "stored.txt")
	if err := os.MkdirAll(filepath.Dir(stored), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stored, []byte(secret+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	check("/dataroot/filedir/stored.txt", http.StatusNotFound, false)
	// The controls: files of the same kinds outside the deny list are served, names
	// that only contain a denied word too.
	for _, uri := range []string{"/.well-known/security.txt", "/theme/styles.css", "/mod/forum/view.php",
		"/theme/boost/pix/padlock.locked.png", "/mod/forum/pix/myreadme.txt"} {
		put(uri)
		check(uri, http.StatusOK, true)
	}
}

// slashArgumentScripts serve files by slash arguments: the file's path, chosen by
// users (a course file's name, a folder's name), follows the script as PATH_INFO.
var slashArgumentScripts = map[string]string{
	"/pluginfile.php":            "/1/mod_folder/content/0",
	"/draftfile.php":             "/5/user/draft/123456",
	"/webservice/pluginfile.php": "/1/mod_folder/content/0",
	"/tokenpluginfile.php":       "/0123456789abcdef/1/mod_folder/content/0",
}

// userFileNames look like what the deny list refuses in Moodle's own code, but here
// they are a user's files and folders, which PHP serves.
var userFileNames = []string{
	"README.txt",
	"readme.md",
	"x.locked.pdf",
	"composer.lock",
	"composer.json",
	"fixtures/worksheet.pdf",
	"tests/fixtures/data.csv",
	"vendor/price-list.xlsx",
	"node_modules/notes.txt",
	"behat/scenario.feature",
	"db/install.xml",
	"upgrade.txt",
	"UPGRADING.md",
	"phpunit.xml",
	"environment.xml",
	".hidden.txt",
	".git/notes.txt",
	"notes.php/report.pdf",
	"admin/cli/cron.php",
}

// slashArgumentsReachPHP asks every slash-argument script for every user file name and
// expects PHP to answer with exactly that path, on every name the deny list would
// refuse in the code itself.
func slashArgumentsReachPHP(t *testing.T, c *loopback.Cluster) {
	const script = "<?php header('Content-Type: text/plain'); echo $_SERVER['SCRIPT_NAME'], ' ', $_SERVER['PATH_INFO'] ?? '';\n"
	for name, prefix := range slashArgumentScripts {
		writeFile(t, filepath.Join(c.Spec.WebRoot(), filepath.FromSlash(name)), script)
		for _, file := range userFileNames {
			pathInfo := prefix + "/" + file
			uri := name + pathInfo
			if status, body := fetch(t, c.URL+uri); status != http.StatusOK || body != name+" "+pathInfo {
				t.Errorf("GET %s: %d %q, want 200 %q", uri, status, body, name+" "+pathInfo)
			}
		}
	}
}

// loadLimit bounds how many requests a test waits through for a state of the load.
const loadLimit = 20000

// startLoad is a steady stream of the probe's cheapest page from clients at once,
// bounded well above what the waits below take.
func startLoad(c *loopback.Cluster, clients int) *loadgen.Load {
	return loadgen.Start(c.URL+"/probe.php?action=node", clients, 3*loadLimit, 10*time.Minute, 5*time.Second)
}

// waitUntil reports whether the results came to satisfy done before limit requests
// had completed, or the load ended; each request completes, answered or failed,
// within the clients' timeout.
func waitUntil(l *loadgen.Load, limit int, done func([]loadgen.Result) bool) bool {
	for {
		rs := l.Results()
		if done(rs) {
			return true
		}
		if len(rs) >= limit {
			return false
		}
		select {
		case <-l.Ended():
			return done(l.Results())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// nodeFailover kills one app node under a steady load from 8 clients: its php-fpm
// master and workers together, as a crashed or OOM-killed container goes (a master
// killed alone leaves its workers serving). The windows are the rendered upstream's:
// nginx takes a server out once it failed max_fails times within fail_timeout, and
// tries it again when fail_timeout has passed. Requests in flight on the killed node
// may fail; once every nginx worker has logged the node failed, none may. After a
// restart the node must get requests again.
func nodeFailover(t *testing.T, c *loopback.Cluster) {
	failTimeout := upstreamFailTimeout(t, c.LBSite)
	victim := c.Nodes[1]
	l := startLoad(c, 8)
	// A steady state before the crash: every node has answered the load.
	steady := waitUntil(l, loadLimit, func(rs []loadgen.Result) bool {
		served := map[string]int{}
		for _, r := range rs {
			served[r.Node]++
		}
		for node := range allNodes(c) {
			if served[node] < 10 {
				return false
			}
		}
		return true
	})
	if !steady {
		l.Stop()
		t.Fatalf("not every node answered 10 of %d requests before the crash", loadLimit)
	}
	killed := time.Now()
	if err := victim.Kill(); err != nil {
		l.Stop()
		t.Fatalf("kill %s: %v", victim.Node, err)
	}
	settled, marked := markedFailed(c, victim.Addr.String(), killed.Add(failTimeout))
	if !marked {
		l.Stop()
		t.Fatalf("within fail_timeout (%s) of the kill nginx did not mark %s failed:\n%s", failTimeout, victim.Addr, readFile(c.LBErrorLog))
	}
	// The window after the marking is counted in requests, not seconds.
	const settledRequests = 300
	waitUntil(l, loadLimit, func(rs []loadgen.Result) bool {
		n := 0
		for _, r := range rs {
			if r.At.After(settled) {
				n++
			}
		}
		return n >= settledRequests
	})
	results := l.Stop()

	var after, errs, errsSettled, fromVictim, sinceSettled int
	before := map[string]int{}
	for _, r := range results {
		if r.At.Before(killed) {
			before[r.Node]++
			continue
		}
		after++
		if r.At.After(settled) {
			sinceSettled++
		}
		if r.Err != nil {
			errs++
			if r.At.After(settled) {
				errsSettled++
			}
			continue
		}
		if r.Node == victim.Node && r.At.After(settled) {
			fromVictim++
		}
	}
	t.Logf("before the kill: %v; after: %d requests, %d errors; nginx marked %s failed %s after the kill; since then %d requests, %d errors",
		before, after, errs, victim.Node, settled.Sub(killed).Round(time.Millisecond), sinceSettled, errsSettled)
	if sinceSettled < settledRequests {
		t.Errorf("only %d requests after nginx marked %s failed, want %d: the load stalled", sinceSettled, victim.Node, settledRequests)
	}
	if errs*100 >= after {
		t.Errorf("%d errors in %d requests after the kill, want under 1%%", errs, after)
	}
	if errsSettled != 0 {
		t.Errorf("%d errors after nginx marked %s failed, want 0", errsSettled, victim.Node)
	}
	if fromVictim != 0 {
		t.Errorf("%d answers from the killed %s", fromVictim, victim.Node)
	}

	restarted := time.Now()
	victim.Restart()
	client := newClient(t)
	// nginx tries the node once fail_timeout has passed since it last failed; a try
	// that still found it down started one more fail_timeout, so within two of the
	// restart it must be back.
	deadline := restarted.Add(2 * failTimeout)
	for get(t, client, c, "action=node").Node != victim.Node {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not return to rotation within twice fail_timeout (%s) of its restart", victim.Node, 2*failTimeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%s back in rotation %s after its restart", victim.Node, time.Since(restarted).Round(100*time.Millisecond))
}

// upstreamFailTimeout is the fail_timeout the rendered load balancer gives its app
// nodes (one value for all of them).
func upstreamFailTimeout(t *testing.T, site string) time.Duration {
	t.Helper()
	values := map[string]bool{}
	for _, m := range regexp.MustCompile(`fail_timeout=(\S+?);`).FindAllStringSubmatch(site, -1) {
		values[m[1]] = true
	}
	if len(values) != 1 {
		t.Fatalf("the load balancer's servers set fail_timeout %v, want one value", values)
	}
	for v := range values {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("fail_timeout=%s: %v", v, err)
		}
		return d
	}
	return 0
}

// markedFailed waits until nginx has taken the server at addr out of rotation and
// returns when: some worker has logged it disabled, and so has every worker that
// failed to reach it (without a shared zone each worker counts failures alone).
func markedFailed(c *loopback.Cluster, addr string, deadline time.Time) (time.Time, bool) {
	for {
		failed, disabled := map[string]bool{}, map[string]bool{}
		for _, line := range strings.Split(readFile(c.LBErrorLog), "\n") {
			// "2006/01/02 15:04:05 [error] 1234#1234: *5 connect() failed ..., upstream: "fastcgi://addr", ..."
			f := strings.Fields(line)
			if len(f) < 4 || !strings.Contains(line, "//"+addr+"\"") {
				continue
			}
			worker := strings.Split(f[3], "#")[0]
			switch {
			case strings.Contains(line, "upstream server temporarily disabled"):
				disabled[worker] = true
			case strings.Contains(line, "connect() failed"):
				failed[worker] = true
			}
		}
		all := len(disabled) > 0
		for w := range failed {
			all = all && disabled[w]
		}
		if all {
			return time.Now(), true
		}
		if time.Now().After(deadline) {
			return deadline, false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func sessionsSurviveRedisRestart(t *testing.T, c *loopback.Cluster) {
	client := newClient(t)
	value := loopback.Password(t)
	set := get(t, client, c, "action=session-set&value="+value)
	c.Redis.Restart()
	p := get(t, client, c, "action=session-get")
	if p.Session != set.Session || p.Value == nil || *p.Value != value {
		t.Errorf("after the restart %s reads session %q value %v, want %q value %q", p.Node, p.Session, p.Value, set.Session, value)
	}
}

// singleCronRunner starts two runners at once on the shared dataroot. One holds the
// lock, runs the install hook once and cron.php; the other exits 0 at once. Before
// that, on the fresh cluster, PHP answers 503 while the health endpoints answer;
// after the hook it answers.
func singleCronRunner(t *testing.T, c *loopback.Cluster) {
	for path, want := range map[string]int{
		"/probe.php?action=node": http.StatusServiceUnavailable,
		"/install.php":           http.StatusNotFound,
		render.HealthPath:        http.StatusOK,
		render.FPMPingPath:       http.StatusOK,
	} {
		if got := statusOf(t, c.URL+path); got != want {
			t.Errorf("before the install: GET %s answers %d, want %d", path, got, want)
		}
	}
	dir := filepath.Join(c.Root, "cron")
	hookLog := filepath.Join(c.Spec.Paths.DataRoot, "probe-install-hook.log")
	cronLog := filepath.Join(c.Spec.Paths.DataRoot, "probe-cron-runs.log")
	runner := writeRunnerFiles(t, c, dir, hookLog)

	// The winner runs the hook and cron.php at once, then every interval; the loser
	// exits at once. Both happen within one interval of the start, or the lock failed.
	interval := time.Duration(c.Spec.Cron.IntervalSeconds) * time.Second
	var runners []*loopback.Process
	for _, name := range []string{"cron-a", "cron-b"} {
		runners = append(runners, c.StartCronRunner(name, runner, dir))
	}
	deadline := time.Now().Add(interval)
	var exited, running *loopback.Process
	var runs []string
	for exited == nil || len(runs) == 0 {
		switch {
		case done(runners[0]) && done(runners[1]):
			t.Fatalf("both cron runners exited:\n%s\n%s", runners[0].Log(), runners[1].Log())
		case done(runners[0]):
			exited, running = runners[0], runners[1]
		case done(runners[1]):
			exited, running = runners[1], runners[0]
		}
		runs = lines(cronLog)
		if time.Now().After(deadline) {
			t.Fatalf("one cron interval (%s) after two runners started: %d exited, cron.php ran %d times\n%s\n%s",
				interval, count(done(runners[0]), done(runners[1])), len(runs), runners[0].Log(), runners[1].Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code := exited.ExitCode(); code != 0 {
		t.Errorf("%s exited %d, want 0:\n%s", exited.Name, code, exited.Log())
	}

	// The runner logs each run that completed (on AWS a log metric filter counts
	// these lines to tell a dead cron): the first one too arrives within the interval.
	for !strings.Contains(running.Log(), render.CronCompleted) {
		select {
		case <-running.Done():
			t.Fatalf("%s exited (%d) before its run completed:\n%s", running.Name, running.ExitCode(), running.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the completed run was not logged within one interval (%s):\n%s", interval, running.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := running.Stop(); err != nil {
		t.Fatal(err)
	}
	runs = lines(cronLog)
	if len(runs) != 1 {
		t.Errorf("cron.php ran %d times within one interval, want once: %q", len(runs), runs)
	}
	for _, r := range runs {
		if sid := strings.Fields(r)[0]; sid != strconv.Itoa(running.Pid()) {
			t.Errorf("cron.php ran under runner %s, want %s (%s)", sid, strconv.Itoa(running.Pid()), running.Name)
		}
	}
	if hooks := lines(hookLog); len(hooks) != 1 || hooks[0] != strconv.Itoa(running.Pid()) {
		t.Errorf("the install hook ran as %q, want once by %d", hooks, running.Pid())
	}
	if got := statusOf(t, c.URL+"/probe.php?action=node"); got != http.StatusOK {
		t.Errorf("after the install: GET /probe.php answers %d, want 200", got)
	}
}

// done reports whether p has exited.
func done(p *loopback.Process) bool {
	select {
	case <-p.Done():
		return true
	default:
		return false
	}
}

// count is the number of true values.
func count(values ...bool) int {
	n := 0
	for _, v := range values {
		if v {
			n++
		}
	}
	return n
}

// statusOf returns the status a plain GET of url answers with.
func statusOf(t *testing.T, url string) int {
	t.Helper()
	status, _ := fetch(t, url)
	return status
}

// fetch returns the status and body a plain GET of url answers with.
func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read the body: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// writeRunnerFiles writes the rendered runner and an install hook that records the
// runner (its session) that ran it.
func writeRunnerFiles(t *testing.T, c *loopback.Cluster, dir, hookLog string) string {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	runner := filepath.Join(dir, "cron-runner.sh")
	// A keep-alive shorter than the interval: the run completes, and the runner
	// logs it, within the interval the test waits.
	s := c.Spec
	s.Cron.KeepAliveSeconds = 5
	if err := os.WriteFile(runner, []byte(render.CronRunner(s)), 0o755); err != nil {
		t.Fatal(err)
	}
	hook := "#!/bin/sh\ncut -d' ' -f6 /proc/$$/stat >> " + hookLog + "\n"
	if err := os.WriteFile(filepath.Join(dir, "install-hook.sh"), []byte(hook), 0o755); err != nil {
		t.Fatal(err)
	}
	return runner
}

func lines(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if l := strings.TrimSpace(s.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}
