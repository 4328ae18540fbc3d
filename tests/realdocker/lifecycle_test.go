//go:build realdocker

package realdocker_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/backup"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/devsite"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/dockerapi"
	"github.com/moodle-cluster/moodle-pulumi/stacks"
)

// tierDeployer applies devsite's config edits to the tier's stack and updates it,
// as moodlectl's does with the stack file.
type tierDeployer struct{ d *deployment }

func (td tierDeployer) Up(ctx context.Context, edits map[string]any) error {
	values := map[string]any{}
	for k, v := range edits {
		values["moodle:"+k] = v
	}
	td.d.set(values)
	_, err := td.d.stack.Up(ctx)
	return err
}

func (td tierDeployer) Refresh(ctx context.Context) error {
	_, err := td.d.stack.Refresh(ctx)
	return err
}

// siteData is what a site holds that an upgrade, a rollback or a restore must
// keep: its users' rows and its files, as digests.
type siteData struct {
	users int
	rows  string
	files string
}

// query runs sql on the site's database and returns its unaligned output.
func query(t *testing.T, d *deployment, sql string) string {
	t.Helper()
	db := d.spec().Database
	out, err := execIn(prefix+"db", "psql", "-X", "-q", "-tA", "-U", db.User, "-d", db.Name, "-c", sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

func readSiteData(t *testing.T, d *deployment) siteData {
	t.Helper()
	out := query(t, d, "SELECT count(*) || ' ' || md5(string_agg(username || ':' || email, ',' ORDER BY username)) FROM mdl_user")
	var s siteData
	if _, err := fmt.Sscanf(strings.TrimSpace(out), "%d %s", &s.users, &s.rows); err != nil {
		t.Fatalf("read the users: %q: %v", out, err)
	}
	files, err := execIn(prefix+"app-1", "sh", "-c", "cd "+d.spec().Paths.DataRoot+"/probe && sha256sum * | sort")
	if err != nil {
		t.Fatalf("read the files: %v", err)
	}
	s.files = files
	return s
}

// columnExists reports whether mdl_user has the column the stand-in's upgrade adds.
func columnExists(t *testing.T, d *deployment) bool {
	t.Helper()
	return strings.TrimSpace(query(t, d, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'mdl_user' AND column_name = 'upgraded_to'")) == "1"
}

// TestUpgradeRollbackBackupAndRestoreOnARealDockerEngine rehearses the operations
// of a site's life on the real tier with the probe trees of two releases: a site
// installed on 4.5 with rows and files; an upgrade to 5.1 that fails halfway
// (the stand-in's upgrade.php changes the schema, then exits 1) is rolled back to
// 4.5 with the same rows, the same file checksums and the old schema; the same
// upgrade without the fault moves the site to 5.1 with its data; a backup of it
// restored into an emptied stack gives the same site; a backup whose dump changed
// is refused and the site stays as it was.
func TestUpgradeRollbackBackupAndRestoreOnARealDockerEngine(t *testing.T) {
	ctx := context.Background()
	d := newDeploymentOf(t, "4.5")
	d.set(map[string]any{"moodle:app.replicas": 1})
	start := time.Now()
	d.up(ctx)
	t.Logf("4.5 installed in %s", since(start))
	b := newBrowser(t, d.url())

	// 40 users beside the admin, 20 files of 256 KiB of random bytes (files as
	// Moodle keeps them are mostly compressed already); LIFECYCLE_FILES asks for
	// more, to measure backup and restore times on a bigger site.
	files := 20
	if n, err := strconv.Atoi(os.Getenv("LIFECYCLE_FILES")); err == nil && n > 0 {
		files = n
	}
	query(t, d, "INSERT INTO mdl_user (username, password, email) SELECT 'student' || i, 'x', 'student' || i || '@example.org' FROM generate_series(1, 40) i")
	for i := range files {
		buf := make([]byte, 256<<10)
		if _, err := rand.Read(buf); err != nil {
			t.Fatal(err)
		}
		r, err := b.do("POST", fmt.Sprintf("/probe.php?action=file-write&name=f%04d.bin", i), string(buf))
		if err != nil || r.status != 200 {
			t.Fatalf("write file %d: %v %d %s", i, err, r.status, r.body)
		}
	}
	before := readSiteData(t, d)
	if before.users != 41 || strings.Count(before.files, "\n") != files {
		t.Fatalf("the site holds %d users and %d files, want 41 and %d", before.users, strings.Count(before.files, "\n"), files)
	}

	client, err := dockerapi.New("")
	if err != nil {
		t.Fatal(err)
	}
	site := func() devsite.Site {
		return devsite.Site{Docker: client, Spec: d.spec(), Prefix: stacks.DockerClusterName(stackName), Progress: testWriter{t}}
	}
	backups := t.TempDir()
	context45 := d.cfg["moodle:moodle"].(map[string]any)["build"].(map[string]any)["context"]
	// The stack keeps building from this tree after the subtest that upgrades to it.
	context51 := siteContext(t, "5.1")

	t.Run("an upgrade that fails halfway is rolled back to the old release with the same data", func(t *testing.T) {
		failing := siteContext(t, "5.1")
		if err := os.WriteFile(filepath.Join(failing, "moodle", "public", "admin", "cli", "probe-upgrade-fails"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := site().Upgrade(ctx, tierDeployer{d}, client, devsite.UpgradeRequest{
			To: "5.1", Edits: map[string]any{"moodle.build.context": failing}, Undo: map[string]any{"moodle.build.context": context45},
			Backups: backups, Manifest: backup.Manifest{Stack: stackName, Target: "docker"},
		})
		if err == nil || !res.RolledBack {
			t.Fatalf("Upgrade = %+v, %v; want a failure rolled back", res, err)
		}
		t.Logf("failed upgrade: %v; rolled back in %s (whole operation %s)", err, res.RollbackDuration.Round(time.Second), res.Duration.Round(time.Second))
		if !strings.Contains(res.Failure, "UPGRADE FAILED") && !strings.Contains(res.Failure, "hook failed") {
			t.Errorf("the failure named is %q, want the runner's line", res.Failure)
		}
		if got := b.get("/probe.php?action=site").json(t); got["installed"] != "2024100700.00" || got["code"] != "2024100700.00" {
			t.Errorf("after the rollback the site is %v, want 4.5's 2024100700.00 installed and running", got)
		}
		if got := readSiteData(t, d); got != before {
			t.Errorf("after the rollback the site holds %+v, want %+v", got, before)
		}
		if columnExists(t, d) {
			t.Error("after the rollback mdl_user still has the failed upgrade's column")
		}
		if got := d.changes(); len(got) > 0 {
			t.Errorf("preview after the rollback plans %v", got)
		}
	})

	t.Run("the upgrade without the fault moves the site to the new release with its data", func(t *testing.T) {
		res, err := site().Upgrade(ctx, tierDeployer{d}, client, devsite.UpgradeRequest{
			To: "5.1", Edits: map[string]any{"moodle.build.context": context51},
			Backups: backups, Manifest: backup.Manifest{Stack: stackName, Target: "docker"},
		})
		if err != nil {
			t.Fatalf("Upgrade: %v", err)
		}
		t.Logf("upgraded 4.5 -> 5.1 in %s (backup %s, %d bytes)", res.Duration.Round(time.Second), res.Backup.ID, res.Backup.Size())
		if got := b.get("/probe.php?action=site").json(t); got["installed"] != "2025100600.00" || got["code"] != "2025100600.00" {
			t.Errorf("after the upgrade the site is %v, want 5.1's 2025100600.00", got)
		}
		if got := readSiteData(t, d); got != before {
			t.Errorf("after the upgrade the site holds %+v, want %+v", got, before)
		}
		if !columnExists(t, d) {
			t.Error("the upgrade's schema change is missing")
		}
	})

	t.Run("a backup restored into an emptied stack gives the same site", func(t *testing.T) {
		begin := time.Now()
		dir := backup.Dir(backups, stackName, backup.NewID(begin))
		m, err := site().Backup(ctx, dir, backup.Manifest{ID: filepath.Base(dir), Stack: stackName, Target: "docker"})
		if err != nil {
			t.Fatalf("Backup: %v", err)
		}
		t.Logf("backup of %d users and %d files of 256 KiB: %d bytes in %s", before.users, files, m.Size(), m.Finished.Sub(m.Started).Round(100*time.Millisecond))
		if m.Release != "5.1" || m.Version != "2025100600.00" || len(m.Artefacts) != 2 {
			t.Fatalf("manifest = %+v", m)
		}

		// A backup whose dump changed is refused, and the site is left in service.
		tampered := filepath.Join(t.TempDir(), m.ID)
		run(t, "cp", "-a", dir, tampered)
		f, err := os.OpenFile(filepath.Join(tampered, devsite.DatabaseDump), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte{0})
		f.Close()
		if _, err := site().Restore(ctx, tierDeployer{d}, tampered, m); err == nil || !strings.Contains(err.Error(), "does not match its manifest") {
			t.Fatalf("restoring a changed backup: %v, want a refusal", err)
		}
		if r, err := b.do("GET", "/probe.php?action=site", ""); err != nil || r.status != 200 {
			t.Fatalf("after a refused restore the site answers %v %d, want 200", err, r.status)
		}

		if _, err := d.stack.Destroy(ctx); err != nil {
			t.Fatalf("destroy: %v", err)
		}
		d.up(ctx)
		if got := readSiteDataOrEmpty(t, d); got == before {
			t.Fatal("the emptied stack already holds the site's data")
		}
		begin = time.Now()
		kept, err := site().Restore(ctx, tierDeployer{d}, dir, m)
		if err != nil {
			t.Fatalf("Restore: %v", err)
		}
		t.Logf("restored in %s; kept %+v", since(begin), kept)
		if got := readSiteData(t, d); got != before {
			t.Errorf("the restored site holds %+v, want %+v", got, before)
		}
		if got := b.get("/probe.php?action=site").json(t); got["installed"] != "2025100600.00" {
			t.Errorf("the restored site is %v", got)
		}
		if got := d.changes(); len(got) > 0 {
			t.Errorf("preview after the restore plans %v", got)
		}
	})
	if _, err := d.stack.Destroy(ctx); err != nil {
		t.Fatalf("destroy: %v", err)
	}
}

// readSiteDataOrEmpty is readSiteData for a site that may have no files yet.
func readSiteDataOrEmpty(t *testing.T, d *deployment) siteData {
	t.Helper()
	if _, err := execIn(prefix+"app-1", "test", "-d", d.spec().Paths.DataRoot+"/probe"); err != nil {
		return siteData{}
	}
	return readSiteData(t, d)
}
