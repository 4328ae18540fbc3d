//go:build integration

package realprograms

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/tests/harness/loopback"
)

// A new user clones the project into their home folder, which other users cannot
// enter (mode 0700). The programs the tests run as the service account must neither
// depend on entering the test's working directory nor hand a warning about it to the
// test as their answer, as psql's "could not change directory" once was.
func TestProgramsRunAsTheServiceAccountAnswerFromAFolderItCannotEnter(t *testing.T) {
	as := loopback.ServiceAccount(t)
	home := t.TempDir()
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Chdir(home)

	root := loopback.NewRoot(t)
	port := loopback.FreePort(t)
	loopback.ExpectPortsClosed(t, port)
	pg := loopback.StartPostgres(t, filepath.Join(root, "postgres"), port, 10, as)
	if got, err := pg.SQL("SELECT 41 + 1;"); err != nil || got != "42" {
		t.Errorf("psql as the service account answered %q (%v), want exactly 42", got, err)
	}
	if got, err := loopback.Run(as, nil, loopback.PHPBin, "-r", "echo getcwd();"); err != nil || got != "/" {
		t.Errorf("PHP as the service account ran in %q (%v), want /", got, err)
	}
}
