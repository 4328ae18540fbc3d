// Package backup keeps the backups of a site: a folder per backup under
// <root>/<stack>/<id>/ holding its artefacts (dev: the database dump and the
// moodledata archive) and a manifest.json that says what the backup is, what it
// was taken from and, for every artefact, its size and sha256. A restore trusts a
// backup only when every checksum matches (Verify). Prod's backups live in AWS
// (snapshots, recovery points); their manifests name them.
package backup

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// DefaultRoot is where backups go unless --to names another folder: beside the
// project, git-ignored.
const DefaultRoot = ".backups"

// ManifestFile is the manifest's name in a backup's folder.
const ManifestFile = "manifest.json"

// Manifest describes one backup.
type Manifest struct {
	// ID names the backup: its start time, UTC, "20261207T031500Z".
	ID     string `json:"id"`
	Stack  string `json:"stack"`
	Target string `json:"target"`
	// Release is the Moodle release line the stack ran ("5.1"); Version the
	// site's version in its database ($CFG->version, "2025100600.00").
	Release string `json:"release"`
	Version string `json:"version"`
	// Image is the app image the site ran: reference and, when known, its id.
	Image string `json:"image"`
	// Config is the stack's configuration (secrets left out), so a restore knows
	// what ran.
	Config   map[string]any `json:"config,omitempty"`
	Started  time.Time      `json:"started"`
	Finished time.Time      `json:"finished"`
	// Artefacts are the files of the backup, in its folder.
	Artefacts []Artefact `json:"artefacts,omitempty"`
	// RecoveryPoints are backups kept by the cloud (an RDS snapshot, an AWS Backup
	// recovery point, an S3 versioning point in time).
	RecoveryPoints []RecoveryPoint `json:"recoveryPoints,omitempty"`
	// Note says why the backup was taken ("before upgrade to 5.3").
	Note string `json:"note,omitempty"`
}

// Artefact is one file of a backup.
type Artefact struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// RecoveryPoint is a backup the cloud keeps: Kind "rds-snapshot",
// "efs-recovery-point" or "s3-point-in-time", and its identifier (ARN or time).
type RecoveryPoint struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// NewID is the id of a backup started at t.
func NewID(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// Dir is the folder of backup id of stack under root.
func Dir(root, stack, id string) string { return filepath.Join(root, stack, id) }

// Size is the backup's size on disk: the sum of its artefacts.
func (m Manifest) Size() int64 {
	var n int64
	for _, a := range m.Artefacts {
		n += a.Bytes
	}
	return n
}

// Save writes m into dir, atomically: a backup without a manifest is an
// unfinished one, which List leaves out.
func Save(dir string, m Manifest) error {
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, ManifestFile+".tmp")
	if err := os.WriteFile(tmp, append(raw, '\n'), 0o600); err != nil {
		return fmt.Errorf("backup %s: write manifest: %w", m.ID, err)
	}
	return os.Rename(tmp, filepath.Join(dir, ManifestFile))
}

// Load reads the manifest of the backup in dir.
func Load(dir string) (Manifest, error) {
	var m Manifest
	raw, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return m, fmt.Errorf("backup in %s: %w", dir, err)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, fmt.Errorf("backup in %s: manifest: %w", dir, err)
	}
	return m, nil
}

// List returns the finished backups of stack under root, oldest first.
func List(root, stack string) ([]Manifest, error) {
	entries, err := os.ReadDir(filepath.Join(root, stack))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Manifest
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		m, err := Load(filepath.Join(root, stack, e.Name()))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Manifest) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Verify checks every artefact of the backup in dir against its manifest: present,
// of the recorded size and sha256. It names every artefact that differs.
func Verify(dir string, m Manifest) error {
	var bad []string
	for _, a := range m.Artefacts {
		n, sum, err := Checksum(filepath.Join(dir, a.Name))
		switch {
		case err != nil:
			bad = append(bad, fmt.Sprintf("%s: %v", a.Name, err))
		case n != a.Bytes || sum != a.SHA256:
			bad = append(bad, fmt.Sprintf("%s: %d bytes, sha256 %s; the manifest says %d bytes, sha256 %s", a.Name, n, sum, a.Bytes, a.SHA256))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("backup %s does not match its manifest: %s", m.ID, strings.Join(bad, "; "))
	}
	return nil
}

// Checksum is the size and hex sha256 of the file at path.
func Checksum(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
