package topology

import (
	"cmp"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Release is one Moodle release line the project deploys: what its code looks like
// and what it needs of PHP and PostgreSQL. Validation, the image build and its
// checks, the install/upgrade hook, the renderers (web root, CLI paths) and status
// all read it from here.
//
// Every requirement is read from Moodle's own files: admin/environment.xml's
// <MOODLE version="X.Y" requires="..."> block (public/admin/environment.xml of
// moodle/moodle at 12f97faa94a9, which carries every release's block), its
// $branch from version.php, and the layout from where version.php lives.
type Release struct {
	// Version is the release line, "5.3"; point releases ("5.3.2") belong to it.
	Version string
	// Branch is version.php's $branch: "503".
	Branch string
	// PublicWebRoot: the web root is the code's public/ folder (5.1 on, where
	// lib/, admin/ and every plugin moved; config.php stays in the code root),
	// else the code root itself.
	PublicWebRoot bool
	// PHPMin is the <PHP version> the release requires; PHPMax the newest minor it
	// runs on, "" where no RESTRICT refuses a newer one.
	PHPMin, PHPMax string
	// PostgresMin is the <VENDOR name="postgres" version> it requires.
	PostgresMin int
	// UpgradesFrom is the `requires` attribute: the oldest release a site can be
	// upgraded from to this one.
	UpgradesFrom string
}

// releases are the release lines the project deploys, oldest first. Adding the
// next one is one line here (and a check that its layout is one of the two).
var releases = []Release{
	// 4.5 LTS: PHP 8.1, restrict_php_version_84 refuses 8.4 and later.
	{Version: "4.5", Branch: "405", PHPMin: "8.1", PHPMax: "8.3", PostgresMin: 13, UpgradesFrom: "4.1.2"},
	{Version: "5.1", Branch: "501", PublicWebRoot: true, PHPMin: "8.2", PostgresMin: 15, UpgradesFrom: "4.2.3"},
	{Version: "5.2", Branch: "502", PublicWebRoot: true, PHPMin: "8.3", PostgresMin: 16, UpgradesFrom: "4.4"},
	// 5.3 LTS.
	{Version: "5.3", Branch: "503", PublicWebRoot: true, PHPMin: "8.3", PostgresMin: 17, UpgradesFrom: "4.4"},
}

// DefaultRelease is the release a stack runs unless it names one: the newest LTS.
const DefaultRelease = "5.3"

// Releases lists the release lines the project deploys, oldest first.
func Releases() []Release { return append([]Release(nil), releases...) }

// releaseVersion is a release line or one of its point releases: 5.3, 5.3.2.
var releaseVersion = regexp.MustCompile(`^(\d+)\.(\d+)(?:\.(\d+))?$`)

// ReleaseOf returns the release line of version ("5.3" or "5.3.2").
func ReleaseOf(version string) (Release, bool) {
	m := releaseVersion.FindStringSubmatch(version)
	if m == nil {
		return Release{}, false
	}
	for _, r := range releases {
		if r.Version == m[1]+"."+m[2] {
			return r, true
		}
	}
	return Release{}, false
}

// ReleaseVersions lists the release lines, for messages: "4.5, 5.1, 5.2, 5.3".
func ReleaseVersions() string {
	v := make([]string, len(releases))
	for i, r := range releases {
		v[i] = r.Version
	}
	return strings.Join(v, ", ")
}

// WebRoot is the folder of the code nginx serves and the CLI scripts live under.
func (r Release) WebRoot(codeDir string) string {
	if r.PublicWebRoot {
		return codeDir + "/public"
	}
	return codeDir
}

// SupportsPHP reports whether PHP major.minor is within the release's range.
func (r Release) SupportsPHP(minor string) bool {
	v, ok := minorNumber(minor)
	lo, _ := minorNumber(r.PHPMin)
	if !ok || v < lo {
		return false
	}
	hi, bounded := minorNumber(r.PHPMax)
	return !bounded || v <= hi
}

// PHPRange is the release's PHP range for messages: "8.1 to 8.3", "8.3 or later".
func (r Release) PHPRange() string {
	if r.PHPMax == "" {
		return r.PHPMin + " or later"
	}
	return r.PHPMin + " to " + r.PHPMax
}

// minorNumber makes "8.3" comparable: 803.
func minorNumber(v string) (int, bool) {
	major, minor, ok := strings.Cut(v, ".")
	a, err1 := strconv.Atoi(major)
	b, err2 := strconv.Atoi(minor)
	if !ok || err1 != nil || err2 != nil {
		return 0, false
	}
	return a*100 + b, true
}

// Release is the release line the Spec runs. Validation refuses a version without
// one; an unvalidated Spec gets the zero Release.
func (s Spec) Release() Release {
	r, _ := ReleaseOf(s.Moodle.Version)
	return r
}

// WebRoot is nginx's document root and where Moodle's lib/ and admin/cli/ are.
func (s Spec) WebRoot() string { return s.Release().WebRoot(s.Paths.CodeDir) }

// String names the release in messages.
func (r Release) String() string { return fmt.Sprintf("Moodle %s (branch %s)", r.Version, r.Branch) }

// CheckUpgrade refuses a move from the release line from to to that Moodle
// refuses: a downgrade (Moodle's upgrade.php stops when the code is older than
// the database: "Downgrade not supported"), or a site older than to's `requires`
// (admin/environment.xml), which has to pass through an intermediate release.
func CheckUpgrade(from, to string) error {
	f, ok := ReleaseOf(from)
	if !ok {
		return fmt.Errorf("unknown release %q; the releases are %s", from, ReleaseVersions())
	}
	t, ok := ReleaseOf(to)
	if !ok {
		return fmt.Errorf("unknown release %q; the releases are %s", to, ReleaseVersions())
	}
	switch c := compareVersions(f.Version, t.Version); {
	case c == 0:
		return fmt.Errorf("the site already runs Moodle %s", f.Version)
	case c > 0:
		return fmt.Errorf("Moodle %s cannot be downgraded to %s (Moodle refuses a downgrade); restore a backup taken on %s instead", f.Version, t.Version, t.Version)
	case compareVersions(f.Version, t.UpgradesFrom) < 0:
		return fmt.Errorf("Moodle %s upgrades only from %s or later (its admin/environment.xml requires it); upgrade %s to an intermediate release first", t.Version, t.UpgradesFrom, f.Version)
	}
	return nil
}

// compareVersions compares dotted versions numerically: "4.5" < "4.10", and
// "4.4" < "4.4.1".
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return cmp.Compare(x, y)
		}
	}
	return 0
}

// ReleaseOfBranch returns the release line whose version.php $branch is branch
// ("501"), as the image records it (MOODLE_BRANCH).
func ReleaseOfBranch(branch string) (Release, bool) {
	for _, r := range releases {
		if r.Branch == branch {
			return r, true
		}
	}
	return Release{}, false
}
