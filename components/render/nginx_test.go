package render

import (
	"fmt"
	"regexp"
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
				"fastcgi_split_path_info ^(.+\\.php)(/.+)$;",
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
			if !strings.Contains(root, "try_files $uri $uri/ /r.php;") {
				t.Errorf("location / does not fall back to /r.php:\n%s", root)
			}
			if strings.Contains(conf, "/index.php$is_args") {
				t.Error("the seed's /index.php fallback is still there")
			}
		})
	}
}

// TestNginxRoutesEachPathToTheIntendedLocation selects locations the way nginx
// does (exact, longest prefix unless "^~", then regexes in order) over the
// rendered file, so a deny rule placed after the PHP location would fail here.
func TestNginxRoutesEachPathToTheIntendedLocation(t *testing.T) {
	const (
		php      = "~ [^/]\\.php(/|$)"
		router   = "/"
		dotfile  = "~ /\\."
		dataroot = "^~ /dataroot/"
		wellKnwn = "^~ /.well-known/"
		install  = "~ ^/(install\\.php|admin/cli/)"
	)
	deny := "~ (/vendor/|/node_modules/|composer\\.json|/readme|/README|readme\\.txt|/upgrade\\.txt|/UPGRADING\\.md|db/install\\.xml|/fixtures/|/behat/|phpunit\\.xml|\\.lock|environment\\.xml)"
	cases := []struct{ path, want string }{
		{"/login/index.php", php},
		{"/pluginfile.php/1/mod_resource/content/0/a.pdf", php},
		{"/course/42/manage", router},
		{"/theme/boost/pix/favicon.ico", router},
		{"/vendor/autoload.php", deny},
		{"/lib/vendor/x.php", deny},
		{"/node_modules/x/index.js", deny},
		{"/composer.json", deny},
		{"/composer.lock", deny},
		{"/yarn.lock", deny},
		{"/README.md", deny},
		{"/readme.txt", deny},
		{"/mod/forum/upgrade.txt", deny},
		{"/UPGRADING.md", deny},
		{"/mod/forum/db/install.xml", deny},
		{"/lib/tests/fixtures/x.php", deny},
		{"/lib/tests/behat/x.php", deny},
		{"/phpunit.xml", deny},
		{"/environment.xml", deny},
		{"/install.php", install},
		{"/admin/cli/install_database.php", install},
		{"/admin/cli/cron.php", install},
		{"/admin/index.php", php},
		{"/admin/tool/installaddon/index.php", php},
		{"/.git/config", dotfile},
		{"/.env", dotfile},
		{"/admin/.htaccess.php", dotfile},
		{"/.well-known/acme-challenge/token", wellKnwn},
		{"/dataroot/filedir/ab/cd/abcdef", dataroot},
		{"/dataroot/x.php", dataroot},
		{HealthPath, "= " + HealthPath},
		{FPMPingPath, "= " + FPMPingPath},
		{FPMStatusPath, "= " + FPMStatusPath},
		{NginxStatusPath, "= " + NginxStatusPath},
	}
	s := devSpec()
	for name, conf := range map[string]string{"lb": NginxLoadBalancer(s, devBackends(s)), "node": NginxNode(s)} {
		locs := parseLocations(t, conf)
		for _, c := range cases {
			t.Run(name+c.path, func(t *testing.T) {
				if got := selectLocation(t, locs, c.path); got.header != c.want {
					t.Errorf("%s goes to location %q, want %q", c.path, got.header, c.want)
				}
			})
		}
	}
	for _, denied := range []string{deny, dotfile, install} {
		body := blockAfter(t, NginxNode(s), "location "+denied+" {")
		if strings.TrimSpace(body) != "return 404;" {
			t.Errorf("location %s does not answer 404: %q", denied, body)
		}
	}
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

type location struct{ modifier, pattern, header string }

// parseLocations lists the location blocks of the server block in file order.
func parseLocations(t *testing.T, conf string) []location {
	t.Helper()
	var locs []location
	re := regexp.MustCompile(`(?m)^\s*location (?:(=|\^~|~\*|~) )?(\S+) \{$`)
	for _, m := range re.FindAllStringSubmatch(conf, -1) {
		l := location{modifier: m[1], pattern: m[2], header: m[2]}
		if m[1] != "" {
			l.header = m[1] + " " + m[2]
		}
		locs = append(locs, l)
	}
	if len(locs) == 0 {
		t.Fatal("no location blocks")
	}
	return locs
}

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
