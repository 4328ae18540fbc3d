//go:build integration

package realprograms

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moodle-cluster/moodle-pulumi/components/appimage"
	"github.com/moodle-cluster/moodle-pulumi/tests/harness/loopback"
)

// TestMoveRestoredMoodledata runs docker/move-restored-moodledata with /bin/sh, as
// the install hook does on a file system AWS Backup restored, on a temporary
// directory standing for the restored root: the site's files come out of the
// restore's recovery directory into the access point's moodledata once, and the
// script refuses to guess between several recovery directories.
func TestMoveRestoredMoodledata(t *testing.T) {
	script := filepath.Join(loopback.RepoRoot(), "docker", "move-restored-moodledata")
	const lock = ".install-upgrade.lock"
	for _, tc := range []struct {
		name string
		// files are created under the restored root before the run.
		files []string
		// wantErr is a line of the failure; "" for success.
		wantErr string
		// want are the entries of moodledata afterwards; gone the paths that must
		// no longer exist, kept those that must still.
		want []string
		gone []string
		kept []string
	}{
		{
			name: "one recovery directory is moved into moodledata and removed",
			files: []string{"moodledata/" + lock, "aws-backup-restore_2026-12-07T04-00-00-000Z/moodledata/filedir/ab/cd/abcd",
				"aws-backup-restore_2026-12-07T04-00-00-000Z/moodledata/.moodle-image-revision",
				"aws-backup-restore_2026-12-07T04-00-00-000Z/moodledata/muc/config.php",
				"aws-backup-restore_2026-12-07T04-00-00-000Z/moodledata/" + lock},
			want: []string{".install-upgrade.lock", ".moodle-image-revision", "filedir", "muc"},
			gone: []string{"aws-backup-restore_2026-12-07T04-00-00-000Z"},
		},
		{
			name:  "a moodledata already holding files is left alone, so a later start moves nothing again",
			files: []string{"moodledata/" + lock, "moodledata/filedir/ab/cd/abcd", "aws-backup-restore_2026-12-07T04-00-00-000Z/moodledata/filedir/ef/01/ef01"},
			want:  []string{".install-upgrade.lock", "filedir"},
			kept:  []string{"moodledata/filedir/ab/cd/abcd", "aws-backup-restore_2026-12-07T04-00-00-000Z/moodledata/filedir/ef/01/ef01"},
		},
		{
			name: "two recovery directories fail the run, naming both",
			files: []string{"moodledata/" + lock, "aws-backup-restore_2026-12-06T04-00-00-000Z/moodledata/filedir/ab",
				"aws-backup-restore_2026-12-07T04-00-00-000Z/moodledata/filedir/cd"},
			wantErr: "holds 2 recovery directories: ROOT/aws-backup-restore_2026-12-06T04-00-00-000Z/moodledata ROOT/aws-backup-restore_2026-12-07T04-00-00-000Z/moodledata",
			want:    []string{".install-upgrade.lock"},
			kept:    []string{"aws-backup-restore_2026-12-06T04-00-00-000Z/moodledata/filedir/ab", "aws-backup-restore_2026-12-07T04-00-00-000Z/moodledata/filedir/cd"},
		},
		{
			name:    "no recovery directory fails the run",
			files:   []string{"moodledata/" + lock},
			wantErr: "holds no aws-backup-restore_*/moodledata",
			want:    []string{".install-upgrade.lock"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for _, f := range tc.files {
				writeFile(t, filepath.Join(root, f), f)
			}
			out, err := exec.Command("/bin/sh", script, root).CombinedOutput()
			log := strings.ReplaceAll(string(out), root, "ROOT")
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(log, tc.wantErr)) {
				t.Fatalf("run: %v, want error %q:\n%s", err, tc.wantErr, log)
			}
			entries, err := os.ReadDir(filepath.Join(root, "moodledata"))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, e.Name())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("moodledata holds %v, want %v\n%s", got, tc.want, log)
			}
			for _, g := range tc.gone {
				if _, err := os.Stat(filepath.Join(root, g)); !os.IsNotExist(err) {
					t.Errorf("%s is still there (%v)\n%s", g, err, log)
				}
			}
			for _, k := range tc.kept {
				if _, err := os.Stat(filepath.Join(root, k)); err != nil {
					t.Errorf("%s was moved: %v\n%s", k, err, log)
				}
			}
			if tc.wantErr == "" && len(tc.gone) > 0 {
				// The moved files are the restored ones, not copies of names.
				b, err := os.ReadFile(filepath.Join(root, "moodledata/filedir/ab/cd/abcd"))
				if err != nil || !strings.HasSuffix(string(b), "filedir/ab/cd/abcd") {
					t.Errorf("moved file reads %q, %v", b, err)
				}
				// The hook's own lock stays the hook's, not the backed-up site's.
				if b, _ := os.ReadFile(filepath.Join(root, "moodledata", lock)); string(b) != "moodledata/"+lock {
					t.Errorf("the lock file was replaced by the restored one: %q", b)
				}
			}
		})
	}
}

// TestInstallHookStopsWhenTheRestoredFilesAreNotInPlace runs the image's install
// hook as the cron runner does on a restored file system (MOODLE_RESTORED_ROOT
// set) whose root holds two recovery directories: the hook fails at its first
// step, naming both, and goes no further (it never asks for the database).
func TestInstallHookStopsWhenTheRestoredFilesAreNotInPlace(t *testing.T) {
	root := t.TempDir()
	hook := imageLayout(t, filepath.Join(root, "image"))
	efs := filepath.Join(root, "efs")
	for _, f := range []string{"aws-backup-restore_2026-12-06T04-00-00-000Z/moodledata/filedir/ab", "aws-backup-restore_2026-12-07T04-00-00-000Z/moodledata/filedir/cd"} {
		writeFile(t, filepath.Join(efs, f), f)
	}
	if err := os.MkdirAll(filepath.Join(efs, "moodledata"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	// With the step, the hook stops at once; without it, it would wait minutes
	// for a database there is none of.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, hook)
	// The dataroot is the restored root's moodledata, as the two access points
	// of the restored file system make it in the cron task.
	cmd.Env = append(os.Environ(), appimage.EnvDataRoot+"="+filepath.Join(efs, "moodledata"), appimage.EnvWebRoot+"="+filepath.Join(root, "code"),
		appimage.EnvRestoredRoot+"="+efs, "TMPDIR="+filepath.Join(root, "tmp"))
	out, err := cmd.CombinedOutput()
	log := strings.ReplaceAll(string(out), root, "ROOT")
	for _, want := range []string{
		"moodle-install-upgrade: the restored file system's root is mounted at ROOT/efs: putting its moodledata in place",
		"holds 2 recovery directories: ROOT/efs/aws-backup-restore_2026-12-06T04-00-00-000Z/moodledata ROOT/efs/aws-backup-restore_2026-12-07T04-00-00-000Z/moodledata",
		"moodle-install-upgrade: the restored files are not in place; nothing else is done",
	} {
		if err == nil || !strings.Contains(log, want) {
			t.Errorf("hook (%v) does not say %q:\n%s", err, want, log)
		}
	}
	if strings.Contains(log, "database") {
		t.Errorf("the hook went on to the database:\n%s", log)
	}
}
