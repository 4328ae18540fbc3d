package devsite

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/backup"
)

const (
	// restoreStaging is the folder of moodledata a restore unpacks into, beside
	// the live files, before it swaps them.
	restoreStaging = ".restore-"
	// replacedData is where a restore moves the files it replaced; they stay
	// until the operator removes them.
	replacedData = ".pre-restore-"
)

// Restored says where a restore kept the data it replaced.
type Restored struct {
	// Database is the database the site used before, renamed and kept.
	Database string
	// Files is the folder in moodledata holding the files the site had before.
	Files string
}

// Replace puts the backup in dir in place of a quiesced site's database and
// moodledata. It first checks every artefact against the manifest, restores the
// database into a new database and checks the site's version there, unpacks the
// files beside the live ones; only then does it swap both. Nothing is deleted:
// the previous database is renamed, the previous files moved into a folder of
// moodledata, and both are named in what it returns.
func (s Site) Replace(ctx context.Context, dir string, m backup.Manifest) (Restored, error) {
	var kept Restored
	if err := backup.Verify(dir, m); err != nil {
		return kept, err
	}
	s.step("backup %s: every artefact matches its sha256", m.ID)
	tag := strings.ToLower(m.ID) + "_" + strings.ToLower(backup.NewID(s.now()))
	staged, err := s.stageDatabase(ctx, filepath.Join(dir, DatabaseDump), "restore_"+tag, m.Version)
	if err != nil {
		return kept, err
	}
	folder := restoreStaging + tag
	if err := s.stageFiles(ctx, filepath.Join(dir, FilesArchive), folder); err != nil {
		return kept, err
	}
	kept.Database = s.Spec.Database.Name + "_before_" + tag
	if err := s.swapDatabase(ctx, staged, kept.Database); err != nil {
		return kept, err
	}
	s.step("database: %s is now the site's; the previous one is kept as %s", staged, kept.Database)
	kept.Files = s.Spec.Paths.DataRoot + "/" + replacedData + tag
	if err := s.swapFiles(ctx, folder, kept.Files); err != nil {
		return kept, err
	}
	s.step("moodledata: restored; the previous files are kept in %s", kept.Files)
	return kept, nil
}

// stageDatabase restores the dump into a new database of the primary and checks
// that it holds the site at version.
func (s Site) stageDatabase(ctx context.Context, dump, suffix, version string) (string, error) {
	d := s.Spec.Database
	name := d.Name + "_" + suffix
	begin := s.now()
	remote := "/tmp/moodle-" + suffix + ".dump"
	if err := s.upload(ctx, s.Database(), dump, remote); err != nil {
		return name, fmt.Errorf("copy the dump to %s: %w", s.Database(), err)
	}
	// A dump left in the container's /tmp would only take space until it is replaced.
	defer func() { _, _ = s.Docker.Exec(context.WithoutCancel(ctx), s.Database(), "rm", "-f", remote) }()
	if _, err := s.Docker.Exec(ctx, s.Database(), "createdb", "-U", d.User, "-T", "template0", name); err != nil {
		return name, fmt.Errorf("create the database to restore into: %w", err)
	}
	if _, err := s.Docker.Exec(ctx, s.Database(), "pg_restore", "-U", d.User, "-d", name, "--exit-on-error", "--no-owner", remote); err != nil {
		return name, fmt.Errorf("restore the dump into %s (left for inspection; the site's database is untouched): %w", name, err)
	}
	got, err := s.Version(ctx, name)
	if err != nil {
		return name, err
	}
	if got != version {
		return name, fmt.Errorf("the restored database %s holds version %q, the backup's manifest says %q; the site's database is untouched", name, got, version)
	}
	s.step("database: restored into %s in %s, version %s", name, s.now().Sub(begin).Round(100*time.Millisecond), got)
	return name, nil
}

// swapDatabase gives the staged database the site's name and keeps the site's
// current one as kept. No session may use a database being renamed, so
// connections to it are refused and the open ones ended first (the site is in
// maintenance mode, its tasks drained: what is left are idle connections of the
// app nodes and of PgBouncer).
func (s Site) swapDatabase(ctx context.Context, staged, kept string) error {
	live := s.Spec.Database.Name
	steps := []string{
		fmt.Sprintf(`ALTER DATABASE %s WITH ALLOW_CONNECTIONS false`, ident(live)),
		fmt.Sprintf(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '%s' AND pid <> pg_backend_pid()`, live),
		fmt.Sprintf(`ALTER DATABASE %s RENAME TO %s`, ident(live), ident(kept)),
		fmt.Sprintf(`ALTER DATABASE %s RENAME TO %s`, ident(staged), ident(live)),
		fmt.Sprintf(`ALTER DATABASE %s WITH ALLOW_CONNECTIONS true`, ident(kept)),
	}
	for i, sql := range steps {
		var err error
		// An ended backend leaves pg_stat_activity a moment after it was told to.
		for try := 0; try < 20; try++ {
			if _, err = s.psql(ctx, "postgres", sql); err == nil || i != 2 {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if err != nil {
			// Put the site's database back as it was: its name, then connections.
			undo := context.WithoutCancel(ctx)
			if i > 2 {
				_, _ = s.psql(undo, "postgres", fmt.Sprintf(`ALTER DATABASE %s RENAME TO %s`, ident(kept), ident(live)))
			}
			_, _ = s.psql(undo, "postgres", fmt.Sprintf(`ALTER DATABASE %s WITH ALLOW_CONNECTIONS true`, ident(live)))
			return fmt.Errorf("swap the databases (the site's database is left as it was): %w", err)
		}
	}
	return nil
}

// ident quotes a PostgreSQL identifier.
func ident(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// stageFiles unpacks the archive into folder of moodledata, owners kept.
func (s Site) stageFiles(ctx context.Context, archive, folder string) error {
	begin := s.now()
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", archive, err)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(rename(zr, pw, folder)) }()
	node, err := s.node(ctx)
	if err != nil {
		return err
	}
	if err := s.Docker.CopyTo(ctx, node, s.Spec.Paths.DataRoot, pr); err != nil {
		pr.CloseWithError(err)
		return fmt.Errorf("unpack moodledata: %w", err)
	}
	s.step("moodledata: unpacked beside the live files in %s", s.now().Sub(begin).Round(100*time.Millisecond))
	return nil
}

// rename copies the tar archive r to w with every entry moved under folder.
func rename(r io.Reader, w io.Writer, folder string) error {
	tr := tar.NewReader(r)
	tw := tar.NewWriter(w)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return tw.Close()
		}
		if err != nil {
			return err
		}
		h.Name = joinRel(folder, h.Name)
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
}

// swapScript moves the live files of moodledata into $2 (all but the
// maintenance switch and other restores' folders) and the staged ones from $1
// into their place, as the image's user. Each move is a rename within the
// volume: no file is copied, none deleted.
const swapScript = `set -eu
cd "$0"
staged="$1"; kept="$2"
mkdir "$kept"
for e in .[!.]* ..?* *; do
    [ -e "$e" ] || [ -L "$e" ] || continue
    case "$e" in
    climaintenance.html|.restore-*|.pre-restore-*) continue ;;
    esac
    mv "$e" "$kept/"
done
for e in "$staged"/.[!.]* "$staged"/..?* "$staged"/*; do
    [ -e "$e" ] || [ -L "$e" ] || continue
    mv "$e" .
done
rmdir "$staged"
`

func (s Site) swapFiles(ctx context.Context, folder, kept string) error {
	node, err := s.node(ctx)
	if err != nil {
		return err
	}
	if _, err := s.Docker.Exec(ctx, node, "sh", "-c", swapScript, s.Spec.Paths.DataRoot, folder, filepath.Base(kept)); err != nil {
		return fmt.Errorf("swap moodledata: %w", err)
	}
	return nil
}

// upload copies the local file src to the path dst in container.
func (s Site) upload(ctx context.Context, container, src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := tw.WriteHeader(&tar.Header{Name: filepath.Base(dst), Mode: 0o644, Size: st.Size(), ModTime: st.ModTime(), Typeflag: tar.TypeReg})
		if err == nil {
			_, err = io.Copy(tw, f)
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	return s.Docker.CopyTo(ctx, container, filepath.Dir(dst), pr)
}

// PurgeCaches empties every cache Moodle keeps (admin/cli/purge_caches.php
// with no option): after a restore they hold what the replaced site built.
func (s Site) PurgeCaches(ctx context.Context) error {
	_, err := s.cli(ctx, "purge_caches.php")
	if err == nil {
		s.step("caches purged")
	}
	return err
}

// Restore brings the site back to the backup in dir: maintenance mode on, tasks
// drained, the data replaced (Replace), the stack switched to the release the
// backup was taken on when it runs another one (through d, so the stack file
// records it), caches purged, the site back in service.
func (s Site) Restore(ctx context.Context, d Deployer, dir string, m backup.Manifest) (Restored, error) {
	release, err := s.Quiesce(ctx)
	if err != nil {
		return Restored{}, errors.Join(err, release(ctx))
	}
	kept, err := s.Replace(ctx, dir, m)
	if err != nil {
		return kept, errors.Join(err, release(ctx))
	}
	running, err := s.Running(ctx)
	if err != nil {
		return kept, errors.Join(err, release(ctx))
	}
	if m.Release != "" && m.Release != running {
		s.step("the backup was taken on Moodle %s, the stack runs %s: switching the stack to %s", m.Release, running, m.Release)
		if err := d.Up(ctx, map[string]any{"moodle.version": m.Release}); err != nil {
			return kept, fmt.Errorf("the data is restored, but switching the stack to Moodle %s failed: %w; the site stays in maintenance mode", m.Release, err)
		}
	}
	if err := s.PurgeCaches(ctx); err != nil {
		return kept, errors.Join(err, release(ctx))
	}
	return kept, release(ctx)
}
