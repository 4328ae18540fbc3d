package ci_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The install script is the only thing a fresh machine has: whatever the tests run on
// the host (a PHP extension a script loads, a program a test starts) must come from a
// package it installs. A machine that had the package installed by hand passes the
// tests anyway, so the coverage is checked here, from the sources, on every machine.

// phpExtensions maps each PHP extension the host's PHP may load to the Debian 12
// package that ships it. "" marks the ones in every PHP the script installs: compiled
// into php8.2-cli and php8.2-fpm, or in php8.2-common, which both depend on (its
// Provides list in Debian 12). An extension missing here fails the test: look its
// package up (`apt-cache search php8.2-NAME`), add it to the script and to this table.
var phpExtensions = map[string]string{
	"core": "", "date": "", "filter": "", "hash": "", "json": "", "openssl": "", "pcre": "",
	"random": "", "reflection": "", "session": "", "sodium": "", "spl": "", "standard": "",
	"zlib": "", "pcntl": "",
	"calendar": "", "ctype": "", "exif": "", "ffi": "", "fileinfo": "", "ftp": "", "gettext": "",
	"iconv": "", "pdo": "", "phar": "", "posix": "", "shmop": "", "sockets": "", "sysvmsg": "",
	"sysvsem": "", "sysvshm": "", "tokenizer": "",
	"opcache":   "php8.2-opcache",
	"pgsql":     "php8.2-pgsql",
	"redis":     "php8.2-redis",
	"zip":       "php8.2-zip",
	"curl":      "php8.2-curl",
	"gd":        "php8.2-gd",
	"intl":      "php8.2-intl",
	"mbstring":  "php8.2-mbstring",
	"soap":      "php8.2-soap",
	"xml":       "php8.2-xml",
	"dom":       "php8.2-xml",
	"simplexml": "php8.2-xml",
	"xmlreader": "php8.2-xml",
	"igbinary":  "php8.2-igbinary",
}

// phpUses are the marks of an extension in PHP source: its classes and function
// prefixes. extension_loaded('x') and the like are read separately, so an extension
// the code only names is covered too.
var phpUses = []struct {
	ext  string
	mark *regexp.Regexp
}{
	{"zip", regexp.MustCompile(`\bZipArchive\b|\bzip_open\s*\(`)},
	{"pgsql", regexp.MustCompile(`\bpg_[a-z_]+\s*\(`)},
	{"redis", regexp.MustCompile(`\bnew\s+\\?Redis(Cluster)?\b|\\?\bRedis::`)},
	{"pcntl", regexp.MustCompile(`\bpcntl_[a-z_]+\s*\(`)},
	{"posix", regexp.MustCompile(`\bposix_[a-z_]+\s*\(`)},
	{"curl", regexp.MustCompile(`\bcurl_[a-z_]+\s*\(`)},
	{"mbstring", regexp.MustCompile(`\bmb_[a-z_]+\s*\(`)},
	{"intl", regexp.MustCompile(`\b(Collator|NumberFormatter|IntlChar|grapheme_[a-z]+)\b`)},
	{"xml", regexp.MustCompile(`\b(DOMDocument|SimpleXMLElement|simplexml_load_[a-z]+|xml_parser_create|XMLReader|XMLWriter)\b`)},
	{"gd", regexp.MustCompile(`\b(imagecreate[a-z]*|gd_info)\s*\(`)},
	{"opcache", regexp.MustCompile(`\bopcache_[a-z_]+\s*\(`)},
	{"soap", regexp.MustCompile(`\bSoap(Client|Server)\b`)},
	{"sockets", regexp.MustCompile(`\bsocket_create\s*\(`)},
}

// phpNamed finds an extension named by its code: extension_loaded('x'),
// get_extension_funcs('x'); phpNamedList a list of them, an array assigned to a
// variable whose name holds "extensions" ($requiredextensions = ['iconv', ...]).
var (
	phpNamed     = regexp.MustCompile(`\b(?:extension_loaded|get_extension_funcs)\(\s*['"]([A-Za-z0-9_]+)['"]`)
	phpNamedList = regexp.MustCompile(`(?i)\$\w*extensions\w*\s*=\s*\[([^\]]*)\]`)
	phpString    = regexp.MustCompile(`['"]([A-Za-z0-9_]+)['"]`)
)

// hostCommands maps each program the tests start on the host to the package of the
// install script that brings it (directly or as a dependency), "" for Debian's
// essential set. A program missing here fails the test.
var hostCommands = map[string]string{
	"/bin/sh":                    "",
	"tar":                        "",
	"cp":                         "",
	"/usr/sbin/nginx":            "nginx-light",
	"/usr/sbin/php-fpm8.2":       "php8.2-fpm",
	"/usr/bin/php8.2":            "php8.2-cli",
	"/usr/bin/redis-server":      "redis-server",
	"/usr/lib/postgresql/15/bin": "postgresql-15",
	"wrk":                        "wrk",
	"docker":                     "docker.io",
	"dockerd":                    "docker.io",
	"/usr/sbin/sshd":             "openssh-server",
	"ssh-keygen":                 "openssh-server",
	"ip":                         "iproute2",
	"/bin/busybox":               "busybox-static",
	"docker-registry":            "docker-registry",
	"htpasswd":                   "apache2-utils",
	// The Pulumi CLI is built by the Makefile (bin/pulumi), not installed.
	"pulumi": "",
	// tests/bench/compare builds a baseline worktree: what runs `make` in a checkout at
	// all (the README's requirements), not a package the tests bring.
	"go":   "",
	"make": "",
	"git":  "",
}

// hostProgram finds a program a Go test or the bench starts: exec.Command's and
// LookPath's literal names, and the absolute paths of the loopback servers.
var hostProgram = regexp.MustCompile(`exec\.(?:Command|CommandContext|LookPath)\((?:ctx, )?"([^"]+)"|"(/(?:usr/)?s?bin/[a-z0-9._-]+|/usr/lib/postgresql/[0-9]+/bin)"`)

func TestInstallScriptCoversWhatTheTestsLoad(t *testing.T) {
	installed := installScriptPackages(t)

	need := map[string][]string{} // package -> where the need was found
	var unknown []string
	// packagesFor adds the packages of what was found, by table.
	packagesFor := func(what string, found map[string][]string, table map[string]string) {
		for name, where := range found {
			pkg, ok := table[name]
			switch {
			case !ok:
				unknown = append(unknown, what+" "+name+" ("+strings.Join(where, ", ")+")")
			case pkg != "":
				need[pkg] = append(need[pkg], where...)
			}
		}
	}
	packagesFor("PHP extension", phpExtensionsUsed(t), phpExtensions)
	packagesFor("program", programsStarted(t), hostCommands)
	packagesFor("PHP library", phpLibrariesLoaded(t), phpLibraries)
	sort.Strings(unknown)
	for _, u := range unknown {
		t.Errorf("%s: no package known for it; add it to scripts/install-test-deps.sh and to the tables in this file", u)
	}
	for pkg, where := range need {
		if !slices.Contains(installed, pkg) {
			t.Errorf("scripts/install-test-deps.sh does not install %s, needed by %s", pkg, strings.Join(dedupe(where), ", "))
		}
	}
}

// The scan must see what it claims to: the extensions and programs the suite is known
// to need today. A scan that found nothing would pass the test above for any script.
func TestInstallScriptCoverageScanFindsKnownNeeds(t *testing.T) {
	exts := phpExtensionsUsed(t)
	for _, ext := range []string{"zip", "pgsql", "redis", "pcntl"} {
		if _, ok := exts[ext]; !ok {
			t.Errorf("the scan did not find PHP extension %s (found %v)", ext, keys(exts))
		}
	}
	if _, ok := phpLibrariesLoaded(t)["libphp-phpmailer"]; !ok {
		t.Errorf("the scan did not find the PHP library libphp-phpmailer (found %v)", keys(phpLibrariesLoaded(t)))
	}
	progs := programsStarted(t)
	for _, p := range []string{"/usr/sbin/nginx", "/usr/lib/postgresql/15/bin", "docker", "wrk"} {
		if _, ok := progs[p]; !ok {
			t.Errorf("the scan did not find program %s (found %v)", p, keys(progs))
		}
	}
}

// installScriptPackages reads the package list of scripts/install-test-deps.sh.
func installScriptPackages(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "scripts", "install-test-deps.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)\npackages="([^"]*)"`).FindSubmatch(raw)
	if m == nil {
		t.Fatal(`scripts/install-test-deps.sh: no packages="..." list`)
	}
	return strings.Fields(string(m[1]))
}

// phpExtensionsUsed scans the PHP the host runs in the tests (the image's scripts,
// the stand-in Moodle trees, the rendered config.php) for the extensions it uses.
func phpExtensionsUsed(t *testing.T) map[string][]string {
	t.Helper()
	found := map[string][]string{}
	walk(t, []string{"docker", "tests/fixtures", "components/render/templates"}, func(rel string, text string) {
		if !strings.HasSuffix(rel, ".php") && !strings.HasSuffix(rel, ".php.tmpl") && !strings.HasPrefix(text, "#!/usr/bin/env php") {
			return
		}
		for _, u := range phpUses {
			if u.mark.MatchString(text) {
				found[u.ext] = append(found[u.ext], rel)
			}
		}
		for _, m := range phpNamed.FindAllStringSubmatch(text, -1) {
			ext := strings.ToLower(m[1])
			found[ext] = append(found[ext], rel)
		}
		for _, list := range phpNamedList.FindAllStringSubmatch(text, -1) {
			for _, m := range phpString.FindAllStringSubmatch(list[1], -1) {
				ext := strings.ToLower(m[1])
				found[ext] = append(found[ext], rel)
			}
		}
	})
	return found
}

// phpLibraries maps each PHP library the probe tree loads from Debian's PHP include
// folder (/usr/share/php/<folder>/) to the package that ships it.
var phpLibraries = map[string]string{
	// PHPMailer, which Moodle bundles; the probe's get_mailer() loads Debian's.
	"libphp-phpmailer": "libphp-phpmailer",
}

// phpLibrary finds a file of Debian's PHP include folder named in PHP code.
var phpLibrary = regexp.MustCompile(`['"]/usr/share/php/([A-Za-z0-9._-]+)/`)

// phpLibrariesLoaded scans the probe tree and the image's PHP for the libraries
// they load from /usr/share/php.
func phpLibrariesLoaded(t *testing.T) map[string][]string {
	t.Helper()
	found := map[string][]string{}
	walk(t, []string{"docker", "tests/fixtures"}, func(rel string, text string) {
		if !strings.HasSuffix(rel, ".php") {
			return
		}
		for _, m := range phpLibrary.FindAllStringSubmatch(text, -1) {
			found[m[1]] = append(found[m[1]], rel)
		}
	})
	return found
}

// programsStarted scans the Go code of the tests, the tools and the program for the
// programs they start on the host.
func programsStarted(t *testing.T) map[string][]string {
	t.Helper()
	found := map[string][]string{}
	walk(t, []string{"tests", "cmd", "stacks", "components"}, func(rel string, text string) {
		if !strings.HasSuffix(rel, ".go") || rel == "tests/ci/deps_test.go" {
			return
		}
		for _, m := range hostProgram.FindAllStringSubmatch(text, -1) {
			prog := m[1] + m[2]
			found[prog] = append(found[prog], rel)
		}
	})
	return found
}

func walk(t *testing.T, dirs []string, visit func(rel, text string)) {
	t.Helper()
	for _, dir := range dirs {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			raw, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			visit(filepath.ToSlash(rel), string(raw))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func dedupe(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

func keys(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
