package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/backup"
)

func TestBackups_ListsTheStacksBackupsOldestFirst(t *testing.T) {
	root := t.TempDir()
	for i, note := range []string{"before the upgrade from 4.5 to 5.1", ""} {
		start := time.Date(2026, 12, 7, 3, i, 0, 0, time.UTC)
		m := backup.Manifest{ID: backup.NewID(start), Stack: "dev", Release: "4.5", Version: "2024100700.00",
			Started: start, Finished: start.Add(1500 * time.Millisecond), Note: note,
			Artefacts: []backup.Artefact{{Name: "database.dump", Bytes: 4 << 10}, {Name: "moodledata.tar.gz", Bytes: 5 << 20}}}
		dir := backup.Dir(root, "dev", m.ID)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := backup.Save(dir, m); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"backups", "--stack", "dev", "--backups", root}, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "20261207T030000Z  4.5") || !strings.Contains(lines[1], "5.0 MiB  1.5s") ||
		!strings.Contains(lines[1], "before the upgrade") || !strings.HasPrefix(lines[2], "20261207T030100Z") {
		t.Fatalf("backups printed:\n%s", out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"backups", "--stack", "prod", "--backups", root}, nil, &out, io.Discard); err != nil || !strings.Contains(out.String(), "no backups of stack prod") {
		t.Fatalf("backups of a stack without any: %v, %q", err, out.String())
	}
}

func TestRestoreAndUpgrade_RefuseWithoutWhatTheyNeed(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"restore", "--stack", "dev", "--yes"}, "restore needs --from <backup id>"},
		{[]string{"upgrade", "--stack", "dev"}, "upgrade needs --to <release>"},
	} {
		err := run(context.Background(), c.args, nil, io.Discard, io.Discard)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want a usage error saying %q", c.args, err, c.want)
		}
	}
}
