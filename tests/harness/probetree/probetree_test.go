package probetree

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCopyLaysTheTreeOutAsTheReleaseDoes(t *testing.T) {
	cases := []struct {
		release, webRoot, branch, version string
		loader                            bool
	}{
		{"4.5.2", "", "'405'", "2024100700.00", false},
		{"5.1", "public", "'501'", "2025100600.00", true},
		{"5.3", "public", "'503'", "2026100500.00", true},
	}
	for _, c := range cases {
		t.Run(c.release, func(t *testing.T) {
			dst := t.TempDir()
			if err := Copy(dst, c.release); err != nil {
				t.Fatal(err)
			}
			web := filepath.Join(dst, c.webRoot)
			raw, err := os.ReadFile(filepath.Join(web, "version.php"))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"$branch   = " + c.branch + ";", "$version  = " + c.version + ";"} {
				if !strings.Contains(string(raw), want) {
					t.Errorf("version.php lacks %q:\n%s", want, raw)
				}
			}
			for _, f := range []string{"admin/cli/cron.php", "lib/setup.php", "r.php", "probe.php"} {
				if _, err := os.Stat(filepath.Join(web, f)); err != nil {
					t.Errorf("no %s in the web root: %v", f, err)
				}
			}
			if _, err := os.Stat(filepath.Join(web, "config.php")); (err == nil) != c.loader {
				t.Errorf("the public/ layout's config.php loader there: %v, want %v", err == nil, c.loader)
			}
		})
	}
	if err := Copy(t.TempDir(), "5.0"); err == nil {
		t.Error("a tree for 5.0, a release the project does not deploy")
	}
}
