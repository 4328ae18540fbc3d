package render

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestNginxLoadBalancerHasOneServerLinePerBackend(t *testing.T) {
	for n := 1; n <= 10; n++ {
		t.Run(fmt.Sprintf("%d nodes", n), func(t *testing.T) {
			s := devSpec()
			s.App.Replicas = n
			conf := NginxLoadBalancer(s, devBackends(s))
			got := regexp.MustCompile(`(?m)^\s*server (\S+) max_fails=3 fail_timeout=30s;$`).FindAllStringSubmatch(conf, -1)
			if len(got) != n {
				t.Fatalf("got %d upstream server lines, want %d", len(got), n)
			}
			for i, m := range got {
				if want := fmt.Sprintf("app-%d:9000", i+1); m[1] != want {
					t.Errorf("server %d is %s, want %s", i+1, m[1], want)
				}
			}
			upstream := blockAfter(t, conf, "upstream moodle_backend {")
			assertContains(t, upstream, "least_conn;", "zone moodle_backend 64k;")
			// Reused FastCGI connections race php-fpm's recycling of children, and
			// every lost race counts against max_fails of a healthy node.
			if strings.Contains(upstream, "keepalive") {
				t.Errorf("upstream keeps FastCGI connections:\n%s", upstream)
			}
		})
	}
}

func TestNginxVariantsShareTheServerBlockAndDifferInFastCGITarget(t *testing.T) {
	s := devSpec()
	lb := NginxLoadBalancer(s, devBackends(s))
	node := NginxNode(s)
	if regexp.MustCompile(`(?m)^upstream `).MatchString(node) {
		t.Error("the per-node variant defines an upstream")
	}
	if !strings.Contains(node, "fastcgi_pass 127.0.0.1:9000;") || strings.Contains(node, "fastcgi_pass moodle_backend;") {
		t.Error("the per-node variant does not pass FastCGI to 127.0.0.1:9000 only")
	}
	if strings.Contains(lb, "fastcgi_pass 127.0.0.1:9000;") || !strings.Contains(lb, "fastcgi_pass moodle_backend;") {
		t.Error("the load balancer does not pass FastCGI to the upstream only")
	}
	// Apart from the upstream, the fastcgi_pass target, the X-Forwarded-For
	// handling of the edge and the node's keep-alive behind a load balancer, the two
	// server blocks are the same text.
	normalise := func(conf string) string {
		conf = conf[strings.Index(conf, "server {"):]
		conf = strings.ReplaceAll(conf, "fastcgi_pass moodle_backend;", "fastcgi_pass X;")
		conf = strings.ReplaceAll(conf, "fastcgi_pass 127.0.0.1:9000;", "fastcgi_pass X;")
		conf = regexp.MustCompile(`(?m)^.*(HTTP_X_FORWARDED_FOR|keepalive_timeout).*\n`).ReplaceAllString(conf, "")
		return regexp.MustCompile(`(?m)^\s*#.*\n`).ReplaceAllString(conf, "")
	}
	if a, b := normalise(lb), normalise(node); a != b {
		t.Errorf("server blocks differ beyond the FastCGI target:\n%s", firstDiff(a, b))
	}
}

func TestNginxServerBlockFollowsSpec(t *testing.T) {
	s := devSpec()
	for name, conf := range map[string]string{"lb": NginxLoadBalancer(s, devBackends(s)), "node": NginxNode(s)} {
		t.Run(name, func(t *testing.T) {
			assertContains(t, conf,
				"listen 8080 default_server;",
				"server_name localhost;",
				"root /var/www/moodle/public;",
				"index index.php;",
				"client_max_body_size 512m;",
				"fastcgi_read_timeout 300s;",
				"fastcgi_keep_conn off;",
				"fastcgi_split_path_info ^(.+?\\.php)(/.*)$;",
				"fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;",
				"fastcgi_param PATH_INFO $path_info;",
			)
		})
	}
}

func TestNginxFallsBackToMoodleRouterNotIndex(t *testing.T) {
	s := devSpec()
	for name, conf := range map[string]string{"lb": NginxLoadBalancer(s, devBackends(s)), "node": NginxNode(s)} {
		t.Run(name, func(t *testing.T) {
			root := blockAfter(t, conf, "location / {")
			if !strings.Contains(root, "try_files $uri $uri/ /r.php$is_args$args;") {
				t.Errorf("location / does not fall back to /r.php with the query string:\n%s", root)
			}
			if strings.Contains(conf, "/index.php$is_args") {
				t.Error("the seed's /index.php fallback is still there")
			}
		})
	}
}

// TestNginxRoutesEachPathToTheIntendedLocation selects locations the way nginx
// does (exact, longest prefix unless "^~", then regexes in order) over the
// rendered file, and runs the PHP location's check of the script (split from the
// path by its own fastcgi_split_path_info), so a deny rule placed after the PHP
// location, or one that reads slash arguments, would fail here.
func TestNginxRoutesEachPathToTheIntendedLocation(t *testing.T) {
	const (
		php      = "~ [^/]\\.php(/|$)"
		router   = "/"
		dataroot = "^~ /dataroot/"
		wellKnwn = "^~ /.well-known/"
	)
	cases := []struct {
		path, want string
		// script is the script php-fpm runs, for paths that reach PHP.
		script string
	}{
		{path: "/login/index.php", want: php, script: "/login/index.php"},
		{path: "/admin/index.php", want: php, script: "/admin/index.php"},
		{path: "/admin/tool/installaddon/index.php", want: php, script: "/admin/tool/installaddon/index.php"},
		{path: "/course/42/manage", want: router},
		{path: "/theme/boost/pix/favicon.ico", want: router},
		{path: "/theme/boost/pix/padlock.locked.png", want: router},
		{path: "/mod/forum/pix/myreadme.txt", want: router},
		// Slash arguments are a user's file: whatever they are called, PHP serves them.
		{path: "/pluginfile.php/1/mod_resource/content/0/a.pdf", want: php, script: "/pluginfile.php"},
		{path: "/pluginfile.php/1/mod_folder/content/0/README.txt", want: php, script: "/pluginfile.php"},
		{path: "/pluginfile.php/1/mod_folder/content/0/x.locked.pdf", want: php, script: "/pluginfile.php"},
		{path: "/pluginfile.php/1/mod_folder/content/0/fixtures/a.pdf", want: php, script: "/pluginfile.php"},
		{path: "/pluginfile.php/1/mod_folder/content/0/vendor/a.xlsx", want: php, script: "/pluginfile.php"},
		{path: "/pluginfile.php/1/mod_folder/content/0/behat/a.feature", want: php, script: "/pluginfile.php"},
		{path: "/pluginfile.php/1/mod_folder/content/0/db/install.xml", want: php, script: "/pluginfile.php"},
		{path: "/pluginfile.php/1/mod_folder/content/0/.hidden.txt", want: php, script: "/pluginfile.php"},
		{path: "/pluginfile.php/1/mod_folder/content/0/notes.php/report.pdf", want: php, script: "/pluginfile.php"},
		{path: "/pluginfile.php/1/mod_folder/content/0/admin/cli/cron.php", want: php, script: "/pluginfile.php"},
		{path: "/draftfile.php/5/user/draft/1/composer.json", want: php, script: "/draftfile.php"},
		{path: "/webservice/pluginfile.php/1/mod_folder/content/0/UPGRADING.md", want: php, script: "/webservice/pluginfile.php"},
		{path: "/tokenpluginfile.php/abc/1/mod_folder/content/0/node_modules/x.js", want: php, script: "/tokenpluginfile.php"},
		// Moodle's own files on the deny list: served as files or run as scripts.
		{path: "/vendor/autoload.php", want: refused},
		{path: "/lib/vendor/x.php", want: refused},
		{path: "/node_modules/x/index.js", want: refused},
		{path: "/composer.json", want: refused},
		{path: "/composer.lock", want: refused},
		{path: "/yarn.lock", want: refused},
		{path: "/README.md", want: refused},
		{path: "/readme.txt", want: refused},
		{path: "/lib/scssphp/readme_moodle.txt", want: refused},
		{path: "/mod/book/README.md", want: refused},
		{path: "/mod/forum/upgrade.txt", want: refused},
		{path: "/UPGRADING.md", want: refused},
		{path: "/UPGRADING-CURRENT.md", want: refused},
		{path: "/reportbuilder/UPGRADING.md", want: refused},
		{path: "/mod/forum/db/install.xml", want: refused},
		{path: "/lib/tests/fixtures/x.php", want: refused},
		{path: "/lib/tests/fixtures/x.php/extra", want: refused},
		{path: "/privacy/tests/fixtures/logo.png", want: refused},
		{path: "/lib/tests/behat/x.php", want: refused},
		{path: "/blog/tests/behat/delete.feature", want: refused},
		{path: "/phpunit.xml", want: refused},
		{path: "/phpunit.xml.dist", want: refused},
		{path: "/admin/environment.xml", want: refused},
		{path: "/.git/config", want: refused},
		{path: "/.env", want: refused},
		{path: "/admin/.htaccess.php", want: refused},
		{path: "/install.php", want: refused},
		{path: "/admin/cli/install_database.php", want: refused},
		{path: "/admin/cli/cron.php", want: refused},
		{path: "/.well-known/acme-challenge/token", want: wellKnwn},
		{path: "/dataroot/filedir/ab/cd/abcdef", want: dataroot},
		{path: "/dataroot/x.php", want: dataroot},
		{path: HealthPath, want: "= " + HealthPath},
		{path: FPMPingPath, want: "= " + FPMPingPath},
		{path: FPMStatusPath, want: "= " + FPMStatusPath},
		{path: NginxStatusPath, want: "= " + NginxStatusPath},
	}
	s := devSpec()
	for name, conf := range map[string]string{"lb": NginxLoadBalancer(s, devBackends(s)), "node": NginxNode(s)} {
		for _, c := range cases {
			t.Run(name+c.path, func(t *testing.T) {
				got, script := route(t, conf, c.path)
				if got != c.want || script != c.script {
					t.Errorf("%s goes to %q running %q, want %q running %q", c.path, got, script, c.want, c.script)
				}
			})
		}
	}
}

// refused is where route sends a path a deny rule answers 404 for.
const refused = "404"

// The PHP location refuses scripts by the same list as the location for every
// other file, so the two cannot drift apart.
func TestNginxDenyListIsOneListForScriptsAndFiles(t *testing.T) {
	conf := NginxNode(devSpec())
	m := scriptCheck.FindStringSubmatch(conf)
	if m == nil {
		t.Fatalf("the PHP location does not check the script against a deny list:\n%s", conf)
	}
	for _, l := range parseLocations(t, conf) {
		if l.modifier == "~" && l.pattern == m[1] && strings.TrimSpace(l.body) == "return 404;" {
			return
		}
	}
	t.Errorf("no location refuses the files of the PHP location's deny list %q", m[1])
}

// Until the cron runner has installed the site for this node's release, PHP
// answers 503 (no web installer for the first visitor, no code serving a database
// of another release) while the health endpoints keep answering, so the ALB and
// Docker do not kill nodes that wait for the install.
func TestNginxClosesPHPUntilTheSiteIsInstalled(t *testing.T) {
	s := devSpec()
	guard := "if (!-f " + s.ReleaseMarker() + ") {\n            return 503;\n        }"
	for name, conf := range map[string]string{"lb": NginxLoadBalancer(s, devBackends(s)), "node": NginxNode(s)} {
		t.Run(name, func(t *testing.T) {
			if php := blockAfter(t, conf, "location ~ [^/]\\.php(/|$) {"); !strings.Contains(php, guard) {
				t.Errorf("the PHP location has no install guard:\n%s", php)
			}
			for _, path := range []string{HealthPath, FPMPingPath} {
				if body := blockAfter(t, conf, "location = "+path+" {"); strings.Contains(body, ".moodle-installed") {
					t.Errorf("%s waits for the install; health checks would fail during it", path)
				}
			}
		})
	}
}

// The marker check costs a lookup of the marker per worker every
// lookupRecheckSeconds, not a stat per request (on NFS in the nfs mode); a missing
// marker is never cached, so the site still opens at the first request after the
// install.
func TestNginxLooksUpTheInstalledMarkerThroughACache(t *testing.T) {
	s := devSpec()
	for name, conf := range map[string]string{"lb": NginxLoadBalancer(s, devBackends(s)), "node": NginxNode(s)} {
		t.Run(name, func(t *testing.T) {
			php := blockAfter(t, conf, "location ~ [^/]\\.php(/|$) {")
			assertLines(t, php,
				"open_file_cache max=1000 inactive=60s;",
				"open_file_cache_valid "+strconv.Itoa(lookupRecheckSeconds)+"s;",
				"open_file_cache_errors off;",
			)
			if strings.Contains(conf, "open_file_cache_errors on") {
				t.Error("failed lookups are cached: the site would stay closed after the install")
			}
		})
	}
}

func TestNginxStatusEndpointsAreRestricted(t *testing.T) {
	s := devSpec()
	s.Web.StatusAllow = []string{"127.0.0.1", "10.0.0.0/8"}
	conf := NginxLoadBalancer(s, devBackends(s))
	for _, path := range []string{NginxStatusPath, FPMStatusPath, FPMPingPath} {
		t.Run(path, func(t *testing.T) {
			body := blockAfter(t, conf, "location = "+path+" {")
			assertContains(t, body, "allow 127.0.0.1;", "allow 10.0.0.0/8;", "deny all;", "if ($http_x_forwarded_for)")
			if strings.Index(body, "deny all;") < strings.Index(body, "allow 10.0.0.0/8;") {
				t.Error("deny all comes before the allow rules")
			}
		})
	}
	if !strings.Contains(blockAfter(t, conf, "location = "+NginxStatusPath+" {"), "stub_status;") {
		t.Error("no stub_status")
	}
	health := blockAfter(t, conf, "location = "+HealthPath+" {")
	if !strings.Contains(health, `return 200 "ok\n";`) || strings.Contains(health, "deny all") {
		t.Errorf("health endpoint is not an unrestricted nginx answer:\n%s", health)
	}
}

func TestNginxDataRootIsInternalAlias(t *testing.T) {
	s := devSpec()
	body := blockAfter(t, NginxNode(s), "location ^~ /dataroot/ {")
	assertContains(t, body, "internal;", "alias /var/www/moodledata/;")
}

func TestNginxFastCGIParamsFollowTheSiteURL(t *testing.T) {
	cases := []struct {
		url, port, name, wantSched string
		https                      bool
	}{
		{url: "http://localhost:8080", port: "8080", name: "localhost", wantSched: "http"},
		{url: "http://moodle.school.example", port: "80", name: "moodle.school.example", wantSched: "http"},
		{url: "https://moodle.example.org", port: "443", https: true, name: "moodle.example.org", wantSched: "https"},
		{url: "https://moodle.example.org:8443", port: "8443", https: true, name: "moodle.example.org", wantSched: "https"},
	}
	for _, c := range cases {
		t.Run(c.url, func(t *testing.T) {
			s := devSpec()
			s.SiteURL = c.url
			lb, node := NginxLoadBalancer(s, devBackends(s)), NginxNode(s)
			for _, conf := range []string{lb, node} {
				php := blockAfter(t, conf, "location ~ [^/]\\.php(/|$) {")
				assertContains(t, php,
					"fastcgi_param SERVER_PORT "+c.port+";",
					"fastcgi_param SERVER_NAME "+c.name+";",
					"fastcgi_param REQUEST_SCHEME "+c.wantSched+";",
					`fastcgi_param HTTP_PROXY "";`,
				)
				if got := strings.Contains(php, "fastcgi_param HTTPS on;"); got != c.https {
					t.Errorf("HTTPS on: %v, want %v", got, c.https)
				}
			}
			// The edge overwrites X-Forwarded-For with the peer; behind a load
			// balancer its header passes through.
			if !strings.Contains(lb, "fastcgi_param HTTP_X_FORWARDED_FOR $remote_addr;") {
				t.Error("the load balancer passes a client's X-Forwarded-For on")
			}
			if strings.Contains(node, "HTTP_X_FORWARDED_FOR") {
				t.Error("the per-node variant overwrites the load balancer's X-Forwarded-For")
			}
		})
	}
}

func TestNginxQuotesUnusualValues(t *testing.T) {
	s := devSpec()
	s.Paths.CodeDir = "/srv/my moodle"
	conf := NginxNode(s)
	if !strings.Contains(conf, `root "/srv/my moodle/public";`) {
		t.Errorf("a root with a space is not quoted:\n%s", conf)
	}
}

type location struct{ modifier, pattern, header, body string }

// parseLocations lists the location blocks of the server block in file order.
func parseLocations(t *testing.T, conf string) []location {
	t.Helper()
	var locs []location
	re := regexp.MustCompile(`(?m)^\s*location (?:(=|\^~|~\*|~) )?(\S+) \{$`)
	for _, m := range re.FindAllStringSubmatch(conf, -1) {
		l := location{modifier: m[1], pattern: strings.Trim(m[2], `"`), header: m[2]}
		if m[1] != "" {
			l.header = m[1] + " " + m[2]
		}
		l.body = blockAfter(t, conf, "location "+l.header+" {")
		locs = append(locs, l)
	}
	if len(locs) == 0 {
		t.Fatal("no location blocks")
	}
	return locs
}

// route is what nginx does with a request for path: refused when the location it
// selects answers 404 and nothing else (a deny rule), or when that location checks
// the script against a regex and refuses it; else the header of the location and,
// for one that passes to PHP, the script php-fpm runs, split from path by the
// location's own fastcgi_split_path_info as nginx does.
func route(t *testing.T, conf, path string) (where, script string) {
	t.Helper()
	l := selectLocation(t, parseLocations(t, conf), path)
	if strings.TrimSpace(l.body) == "return 404;" {
		return refused, ""
	}
	if strings.HasPrefix(l.header, "= ") || !strings.Contains(l.body, "fastcgi_pass ") {
		return l.header, ""
	}
	script = path
	if m := regexp.MustCompile(`fastcgi_split_path_info (\S+);`).FindStringSubmatch(l.body); m != nil {
		if parts := regexp.MustCompile(m[1]).FindStringSubmatch(path); parts != nil {
			script = parts[1]
		}
	}
	if m := scriptCheck.FindStringSubmatch(l.body); m != nil && regexp.MustCompile(m[1]).MatchString(script) {
		return refused, ""
	}
	return l.header, script
}

// scriptCheck is a PHP location's refusal of scripts by a regex.
var scriptCheck = regexp.MustCompile(`if \(\$fastcgi_script_name ~ "([^"]+)"\) \{\s*return 404;\s*\}`)

// selectLocation is nginx's location selection for a request path.
func selectLocation(t *testing.T, locs []location, path string) location {
	t.Helper()
	var prefix *location
	for i, l := range locs {
		switch l.modifier {
		case "=":
			if path == l.pattern {
				return l
			}
		case "", "^~":
			if strings.HasPrefix(path, l.pattern) && (prefix == nil || len(l.pattern) > len(prefix.pattern)) {
				prefix = &locs[i]
			}
		}
	}
	if prefix != nil && prefix.modifier == "^~" {
		return *prefix
	}
	for _, l := range locs {
		if l.modifier != "~" && l.modifier != "~*" {
			continue
		}
		expr := l.pattern
		if l.modifier == "~*" {
			expr = "(?i)" + expr
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			t.Fatalf("location %s: %v", l.header, err)
		}
		if re.MatchString(path) {
			return l
		}
	}
	if prefix == nil {
		t.Fatalf("no location for %s", path)
	}
	return *prefix
}

// blockAfter returns the body of the block whose opening line is header.
func blockAfter(t *testing.T, conf, header string) string {
	t.Helper()
	i := strings.Index(conf, header)
	if i < 0 {
		t.Fatalf("no %q in:\n%s", header, conf)
	}
	body := conf[i+len(header):]
	depth := 1
	for j, r := range body {
		switch r {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return body[:j]
			}
		}
	}
	t.Fatalf("block %q is not closed", header)
	return ""
}

// The ALB reuses its connections to a node until its idle timeout; a node that
// closes an idle connection first races the next request on it (a 502). The load
// balancer of the dev stack faces browsers and keeps nginx's default.
func TestNginxNodeKeepsConnectionsLongerThanTheLoadBalancer(t *testing.T) {
	for _, timeout := range []int{30, 300, 3600} {
		s := devSpec()
		s.Web.FastCGIReadTimeout = timeout
		want := fmt.Sprintf("keepalive_timeout %ds;", s.Web.KeepaliveTimeout())
		if !strings.Contains(NginxNode(s), want) {
			t.Errorf("fastcgi_read_timeout %d: the node's nginx lacks %q", timeout, want)
		}
		if s.Web.KeepaliveTimeout() <= s.Web.LoadBalancerIdleTimeout() {
			t.Errorf("fastcgi_read_timeout %d: keepalive %d s does not outlast the idle timeout %d s",
				timeout, s.Web.KeepaliveTimeout(), s.Web.LoadBalancerIdleTimeout())
		}
		if strings.Contains(NginxLoadBalancer(s, devBackends(s)), "keepalive_timeout") {
			t.Error("the dev load balancer changes nginx's keep-alive for browsers")
		}
	}
}

// Behind CloudFront the node's nginx hands PHP the viewer's address from
// CloudFront-Viewer-Address as the X-Forwarded-For Moodle reads; without
// CloudFront, or at the load balancer, nothing of it is rendered.
func TestNginxHandsPHPTheViewerAddressBehindCloudFront(t *testing.T) {
	s, _ := awsSpec()
	s.AWS.CloudFront.Enabled = true
	node := NginxNode(s)
	for _, want := range []string{
		"map $http_cloudfront_viewer_address $moodle_client_address {",
		`"~^(?<viewer>.+):[0-9]+$" $viewer;`,
		"default $http_x_forwarded_for;",
		"fastcgi_param HTTP_X_FORWARDED_FOR $moodle_client_address;",
	} {
		if !strings.Contains(node, want) {
			t.Errorf("the node's nginx behind CloudFront lacks %q", want)
		}
	}
	s.AWS.CloudFront.Enabled = false
	if got := NginxNode(s); strings.Contains(got, "cloudfront") {
		t.Error("the node's nginx reads CloudFront's header without CloudFront in front")
	}
	if got := NginxLoadBalancer(devSpec(), devBackends(devSpec())); strings.Contains(got, "cloudfront") {
		t.Error("the dev load balancer reads CloudFront's header")
	}
}
