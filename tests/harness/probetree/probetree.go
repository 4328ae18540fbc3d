// Package probetree lays out the probe code tree (tests/fixtures/moodle), the
// tests' stand-in for Moodle's code, the way a release of the table lays out its
// code: under public/ from 5.1 (as the tree is kept), or in the code root for 4.5,
// with the release's branch in version.php.
package probetree

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// Dir is the probe tree in this repository, laid out as 5.1 lays out its code.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "fixtures", "moodle")
}

// versions are the $version and $release the probe declares for each line: those
// of the line's first release where it was read (5.3.0's public/version.php:
// 2026100500.00), of its development version for 5.2 (2026021000.00, public/
// version.php at 746815af), and the probe's own for 4.5 and 5.1. Its CLI scripts
// compare $version with the database.
var versions = map[string][2]string{
	"4.5": {"2024100700.00", "4.5 (probe)"},
	"5.1": {"2025100600.00", "5.1 (probe)"},
	"5.2": {"2026021000.00", "5.2 (probe)"},
	"5.3": {"2026100500.00", "5.3 (probe)"},
}

// Copy writes the probe tree to dst as release lays out its code, files 0644 and
// folders 0755.
func Copy(dst, release string) error {
	r, ok := topology.ReleaseOf(release)
	v, known := versions[r.Version]
	if !ok || !known {
		return fmt.Errorf("probetree: no probe tree for release %q", release)
	}
	src := filepath.Join(Dir(), "public")
	webRoot := r.WebRoot(dst)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		// The public/ layout's configuration loader has no place in 4.5's: there
		// the code root's config.php is the web root's.
		if rel == "config.php" && !r.PublicWebRoot {
			return nil
		}
		out := filepath.Join(webRoot, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if rel == "version.php" {
			raw = versionPHP.ReplaceAllFunc(raw, func(line []byte) []byte {
				m := versionPHP.FindSubmatch(line)
				switch string(m[1]) {
				case "version":
					return []byte(fmt.Sprintf("$version  = %s;", v[0]))
				case "release":
					return []byte(fmt.Sprintf("$release  = '%s';", v[1]))
				}
				return []byte(fmt.Sprintf("$branch   = '%s';", r.Branch))
			})
		}
		return os.WriteFile(out, raw, 0o644)
	})
	if err != nil {
		return fmt.Errorf("probetree: lay out %s for %s: %w", dst, release, err)
	}
	return nil
}

var versionPHP = regexp.MustCompile(`(?m)^\$(version|release|branch)\s*=\s*[^;]+;`)
