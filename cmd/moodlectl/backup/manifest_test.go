package backup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestVerifyRefusesAnArtefactThatChanged(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(dir string)
		want   string
	}{
		{"untouched", func(string) {}, ""},
		{"one byte changed", func(dir string) { os.WriteFile(filepath.Join(dir, "db.dump"), []byte("dump!"), 0o600) }, "db.dump: 5 bytes"},
		{"same size, other bytes", func(dir string) { os.WriteFile(filepath.Join(dir, "db.dump"), []byte("dumq"), 0o600) }, "db.dump: 4 bytes, sha256"},
		{"missing", func(dir string) { os.Remove(filepath.Join(dir, "db.dump")) }, "db.dump: open"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "db.dump"), []byte("dump"), 0o600); err != nil {
				t.Fatal(err)
			}
			n, sum, err := Checksum(filepath.Join(dir, "db.dump"))
			if err != nil {
				t.Fatal(err)
			}
			m := Manifest{ID: "20261207T031500Z", Artefacts: []Artefact{{Name: "db.dump", Kind: "database", Bytes: n, SHA256: sum}}}
			c.change(dir)
			err = Verify(dir, m)
			if c.want == "" {
				if err != nil {
					t.Fatalf("Verify = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Verify = %v, want an error with %q", err, c.want)
			}
		})
	}
}

func TestListShowsFinishedBackupsOldestFirst(t *testing.T) {
	root := t.TempDir()
	for _, id := range []string{NewID(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)), "20261201T000000Z"} {
		dir := Dir(root, "dev", id)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := Save(dir, Manifest{ID: id, Stack: "dev"}); err != nil {
			t.Fatal(err)
		}
	}
	// An unfinished backup: a folder without a manifest.
	if err := os.MkdirAll(Dir(root, "dev", "20261207T100000Z"), 0o700); err != nil {
		t.Fatal(err)
	}
	got, err := List(root, "dev")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range got {
		ids = append(ids, m.ID)
	}
	if strings.Join(ids, ",") != "20261201T000000Z,20261207T090000Z" {
		t.Fatalf("List = %v", ids)
	}
	if none, err := List(root, "prod"); err != nil || len(none) != 0 {
		t.Fatalf("List of a stack without backups = %v, %v", none, err)
	}
}
