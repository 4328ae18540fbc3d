package devsite

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/backup"
)

// The artefacts of a dev backup, in its folder.
const (
	// DatabaseDump is pg_dump's custom format: compressed, restored table by table
	// by pg_restore, whatever PostgreSQL minor release runs.
	DatabaseDump = "database.dump"
	// FilesArchive is moodledata as a gzip'd tar, entries relative to the dataroot
	// ("./", "./filedir/..."), owners and modes kept.
	FilesArchive = "moodledata.tar.gz"
)

// Folders and files of moodledata a backup leaves out, relative to the dataroot.
// Moodle rebuilds the caches (cache/, localcache/: admin/cli/purge_caches.php,
// which a restore runs), temp/ holds only what a running request or task works
// on (nothing, with the site in maintenance and its tasks drained), sessions/ is
// unused (sessions are in Redis) and trashdir/ holds files Moodle has already
// deleted (lib/filestorage/file_system_filedir.php, deleted_file_cleanup moves
// them there; cron empties it). climaintenance.html is the maintenance switch
// the backup itself turned on; .restore-* and .pre-restore-* are a restore's
// staging and the data a restore replaced.
var excluded = []string{"cache", "localcache", "temp", "sessions", "trashdir", "climaintenance.html"}

func skipped(rel string) bool {
	first, _, _ := strings.Cut(rel, "/")
	if strings.HasPrefix(first, restoreStaging) || strings.HasPrefix(first, replacedData) {
		return true
	}
	for _, e := range excluded {
		if first == e {
			return true
		}
	}
	return false
}

// Backup takes a consistent backup of the site into dir: maintenance mode on
// (unless it already is), the cron runner and workers drained, the copy
// (Copy), then both back as they were. m carries what the caller knows (id,
// stack, release, config, note); the returned manifest adds the rest.
func (s Site) Backup(ctx context.Context, dir string, m backup.Manifest) (backup.Manifest, error) {
	release, err := s.Quiesce(ctx)
	if err != nil {
		return m, errors.Join(err, release(ctx))
	}
	m, err = s.Copy(ctx, dir, m)
	return m, errors.Join(err, release(ctx))
}

// Quiesce puts the site in maintenance mode and drains its background
// containers; release undoes exactly what Quiesce did.
func (s Site) Quiesce(ctx context.Context) (release func(context.Context) error, err error) {
	was, err := s.InMaintenance(ctx)
	if err != nil {
		return func(context.Context) error { return nil }, err
	}
	if !was {
		if err := s.Maintenance(ctx, true); err != nil {
			return func(context.Context) error { return nil }, err
		}
		s.step("maintenance mode on")
	}
	resume, err := s.Drain(ctx)
	release = func(ctx context.Context) error {
		err := resume(ctx)
		if !was {
			err = errors.Join(err, s.Maintenance(ctx, false))
			s.step("maintenance mode off")
		}
		return err
	}
	return release, err
}

// Copy writes the database dump and the moodledata archive of a quiesced site
// into dir and returns m completed: the artefacts with their sizes and sha256,
// the site's version, the image the cron runner was created from, the times.
func (s Site) Copy(ctx context.Context, dir string, m backup.Manifest) (backup.Manifest, error) {
	m.Started = s.now().UTC()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return m, err
	}
	version, err := s.Version(ctx, s.Spec.Database.Name)
	if err != nil {
		return m, err
	}
	m.Version = version
	if m.Release == "" {
		if m.Release, err = s.Running(ctx); err != nil {
			return m, err
		}
	}
	if c, err := s.Docker.Inspect(ctx, s.Cron()); err == nil {
		m.Image = c.Image + "@" + c.ImageID
	}

	d := s.Spec.Database
	db, err := writeArtefact(dir, DatabaseDump, "database", func(w io.Writer) error {
		return s.Docker.ExecTo(ctx, w, s.Database(), "pg_dump", "-U", d.User, "-d", d.Name, "--format=custom")
	})
	if err != nil {
		return m, fmt.Errorf("dump the database: %w", err)
	}
	s.step("database %s: %s, %s in %s", d.Name, db.Name, FormatSize(db.Bytes), s.now().Sub(m.Started).Round(100*time.Millisecond))

	var files, bytes int64
	filesStart := s.now()
	archive, err := writeArtefact(dir, FilesArchive, "files", func(w io.Writer) error {
		files, bytes, err = s.archiveDataRoot(ctx, w)
		return err
	})
	if err != nil {
		return m, fmt.Errorf("archive moodledata: %w", err)
	}
	s.step("moodledata: %d files, %s, archived as %s (%s) in %s", files, FormatSize(bytes), archive.Name, FormatSize(archive.Bytes), s.now().Sub(filesStart).Round(100*time.Millisecond))

	m.Artefacts = []backup.Artefact{db, archive}
	m.Finished = s.now().UTC()
	return m, backup.Save(dir, m)
}

// archiveDataRoot writes moodledata, without what a backup leaves out, as a
// gzip'd tar to w and returns the number of regular files and their bytes.
func (s Site) archiveDataRoot(ctx context.Context, w io.Writer) (files, bytes int64, err error) {
	node, err := s.node(ctx)
	if err != nil {
		return 0, 0, err
	}
	rc, err := s.Docker.CopyFrom(ctx, node, s.Spec.Paths.DataRoot)
	if err != nil {
		return 0, 0, err
	}
	defer rc.Close()
	return repack(w, rc, archiveLevel)
}

// archiveLevel is the gzip level of the moodledata archive. Most of moodledata
// is filedir, files users uploaded (images, PDFs, videos, archives) which are
// compressed already: BenchmarkRepack shows the default level spending 4 to 6
// times as long on them for no gain. On text BestSpeed is 5 to 7 times as fast
// and its archive half as large again (0.19 of the text against 0.13), a small
// price on a dataroot that is mostly uploads.
const archiveLevel = gzip.BestSpeed

// repack copies the tar stream the engine gives of the dataroot (entries named
// "moodledata/...") to w as a gzip'd tar at level, entries relative to the
// dataroot, without what skipped leaves out.
func repack(w io.Writer, r io.Reader, level int) (files, bytes int64, err error) {
	zw, err := gzip.NewWriterLevel(w, level)
	if err != nil {
		return 0, 0, err
	}
	tw := tar.NewWriter(zw)
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return files, bytes, err
		}
		// The engine names entries from the folder's own name: "moodledata/...".
		_, rel, _ := strings.Cut(strings.TrimSuffix(h.Name, "/"), "/")
		if rel != "" && skipped(rel) {
			continue
		}
		h.Name = "./" + rel
		if h.Typeflag == tar.TypeDir && !strings.HasSuffix(h.Name, "/") {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return files, bytes, err
		}
		if h.Typeflag == tar.TypeReg {
			n, err := io.Copy(tw, tr)
			if err != nil {
				return files, bytes, err
			}
			files++
			bytes += n
		}
	}
	if err := tw.Close(); err != nil {
		return files, bytes, err
	}
	return files, bytes, zw.Close()
}

// writeArtefact creates dir/name, lets write fill it, and returns its size and
// sha256, computed while it is written.
func writeArtefact(dir, name, kind string, write func(io.Writer) error) (backup.Artefact, error) {
	a := backup.Artefact{Name: name, Kind: kind}
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return a, err
	}
	h := sha256.New()
	cw := &counter{w: io.MultiWriter(f, h)}
	err = write(cw)
	err = errors.Join(err, f.Sync(), f.Close())
	a.Bytes, a.SHA256 = cw.n, hexSum(h)
	return a, err
}

type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// FormatSize prints n bytes for people: "12.3 MiB".
func FormatSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// joinRel is path.Join for archive entry names, which keeps a folder's slash.
func joinRel(prefix, rel string) string {
	j := path.Join(prefix, rel)
	if strings.HasSuffix(rel, "/") {
		j += "/"
	}
	return j
}
