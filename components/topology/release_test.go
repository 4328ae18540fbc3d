package topology

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/appimage"
)

func TestReleaseOf_PointReleasesBelongToTheirLine(t *testing.T) {
	cases := []struct {
		version, branch, webRoot string
		ok                       bool
	}{
		{"4.5", "405", "/var/www/moodle", true},
		{"4.5.7", "405", "/var/www/moodle", true},
		{"5.1.3", "501", "/var/www/moodle/public", true},
		{"5.2", "502", "/var/www/moodle/public", true},
		{"5.3.12", "503", "/var/www/moodle/public", true},
		{"5.0", "", "", false},
		{"4.4.9", "", "", false},
		{"5.3-beta", "", "", false},
		{"5", "", "", false},
	}
	for _, c := range cases {
		r, ok := ReleaseOf(c.version)
		if ok != c.ok || r.Branch != c.branch || (ok && r.WebRoot("/var/www/moodle") != c.webRoot) {
			t.Errorf("ReleaseOf(%q) = %+v, %v; want branch %q, web root %q, %v", c.version, r, ok, c.branch, c.webRoot, c.ok)
		}
	}
	if _, ok := ReleaseOf(DefaultRelease); !ok {
		t.Errorf("the default release %s is not in the table", DefaultRelease)
	}
}

// Each row's PHP range as environment.xml gives it: <PHP version> the minimum, and
// 4.5's RESTRICT restrict_php_version_84 the only maximum.
func TestRelease_SupportsPHPWithinItsRange(t *testing.T) {
	cases := []struct {
		release, php string
		want         bool
	}{
		{"4.5", "8.0", false}, {"4.5", "8.1", true}, {"4.5", "8.3", true}, {"4.5", "8.4", false},
		{"5.1", "8.1", false}, {"5.1", "8.2", true}, {"5.1", "8.4", true},
		{"5.2", "8.2", false}, {"5.2", "8.3", true},
		{"5.3", "8.2", false}, {"5.3", "8.3", true}, {"5.3", "8.5", true}, {"5.3", "x", false},
	}
	for _, c := range cases {
		r, _ := ReleaseOf(c.release)
		if got := r.SupportsPHP(c.php); got != c.want {
			t.Errorf("%s supports PHP %s = %v, want %v (range %s)", c.release, c.php, got, c.want, r.PHPRange())
		}
	}
}

// docker/Dockerfile builds the releases of the table and defaults to the default
// one: its MOODLE_RELEASES lists the table's lines, and its MOODLE_VERSION,
// MOODLE_BRANCH and MOODLE_WEBROOT defaults are the default release's.
func TestDockerfileBuildsTheReleasesOfTheTable(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docker", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	arg := func(name string) string {
		m := regexp.MustCompile(`(?m)^ARG ` + name + `=("?)([^"\n]*)("?)$`).FindStringSubmatch(string(raw))
		if m == nil {
			t.Fatalf("docker/Dockerfile has no ARG %s with a default", name)
		}
		return m[2]
	}
	def, _ := ReleaseOf(DefaultRelease)
	for name, want := range map[string]string{
		"MOODLE_RELEASES": strings.ReplaceAll(ReleaseVersions(), ", ", " "),
		"MOODLE_VERSION":  DefaultRelease,
		"MOODLE_BRANCH":   def.Branch,
		"MOODLE_WEBROOT":  def.WebRoot(appimage.DefaultCodeDir),
	} {
		if got := arg(name); got != want {
			t.Errorf("ARG %s=%q, want %q", name, got, want)
		}
	}
}

func TestCheckUpgradeRefusesWhatMoodleRefuses(t *testing.T) {
	for _, c := range []struct {
		from, to, want string
	}{
		{"4.5", "5.1", ""},
		{"4.5", "5.3", ""},
		{"5.1", "5.3.2", ""},
		{"5.1", "5.1.4", "already runs Moodle 5.1"},
		{"5.3", "5.1", "cannot be downgraded"},
		{"4.5", "4.4", "unknown release"},
		{"5.1", "6.0", "unknown release"},
	} {
		t.Run(c.from+"->"+c.to, func(t *testing.T) {
			err := CheckUpgrade(c.from, c.to)
			if (err == nil) != (c.want == "") || (err != nil && !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("CheckUpgrade(%s, %s) = %v, want %q", c.from, c.to, err, c.want)
			}
		})
	}
}

func TestCompareVersionsIsNumeric(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"4.5", "4.10", -1}, {"4.4", "4.4.1", -1}, {"4.2.3", "4.2.3", 0}, {"5.1", "4.2.3", 1}} {
		if got := compareVersions(c.a, c.b); got != c.want {
			t.Errorf("compareVersions(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
