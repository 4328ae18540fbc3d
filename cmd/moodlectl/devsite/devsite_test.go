package devsite

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/dockerapi"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

func TestBackupLeavesOutWhatMoodleRebuildsAndTheRestoresOwnFolders(t *testing.T) {
	for rel, want := range map[string]bool{
		"filedir/ab/cd/abcd1234":       false,
		"filedir":                      false,
		"lang/de/langconfig.php":       false,
		".moodle-installed-0a1b2c3d4e": false,
		"cache/theme/boost/css":        true,
		"localcache/mustache":          true,
		"temp/backup/123":              true,
		"sessions/sess_1":              true,
		"trashdir/ab/cd/abcd":          true,
		"climaintenance.html":          true,
		".restore-x_y/filedir":         true,
		".pre-restore-x_y":             true,
		"cachefile":                    false,
	} {
		if got := skipped(rel); got != want {
			t.Errorf("skipped(%q) = %v, want %v", rel, got, want)
		}
	}
}

func TestRenameMovesEveryEntryUnderTheStagingFolder(t *testing.T) {
	var in bytes.Buffer
	tw := tar.NewWriter(&in)
	for _, h := range []*tar.Header{
		{Name: "./", Typeflag: tar.TypeDir, Mode: 0o770, Uid: 33},
		{Name: "./filedir/", Typeflag: tar.TypeDir, Mode: 0o770, Uid: 33},
		{Name: "./filedir/f", Typeflag: tar.TypeReg, Mode: 0o660, Uid: 33, Size: 3},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write([]byte("abc"))
		}
	}
	tw.Close()
	var out bytes.Buffer
	if err := rename(&in, &out, ".restore-x"); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&out)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 33 {
			t.Errorf("%s lost its owner: uid %d", h.Name, h.Uid)
		}
		body, _ := io.ReadAll(tr)
		if h.Typeflag == tar.TypeReg && string(body) != "abc" {
			t.Errorf("%s holds %q", h.Name, body)
		}
		names = append(names, h.Name)
	}
	if want := []string{".restore-x/", ".restore-x/filedir/", ".restore-x/filedir/f"}; !slices.Equal(names, want) {
		t.Fatalf("entries = %v, want %v", names, want)
	}
}

// The swap runs with the image's /bin/sh; here it runs with this machine's.
func TestSwapScriptKeepsTheReplacedFilesAndTheMaintenanceSwitch(t *testing.T) {
	root := t.TempDir()
	write := func(rel, body string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("filedir/old", "live")
	write(".moodle-installed", "live")
	write("climaintenance.html", "on")
	write(".pre-restore-earlier/filedir/x", "earlier")
	write(".restore-new/filedir/restored", "backup")
	write(".restore-new/.moodle-installed", "backup")
	out, err := exec.Command("/bin/sh", "-c", swapScript, root, ".restore-new", ".pre-restore-new").CombinedOutput()
	if err != nil {
		t.Fatalf("swap: %v: %s", err, out)
	}
	for rel, want := range map[string]string{
		"filedir/restored":                   "backup",
		".moodle-installed":                  "backup",
		"climaintenance.html":                "on",
		".pre-restore-new/filedir/old":       "live",
		".pre-restore-new/.moodle-installed": "live",
		".pre-restore-earlier/filedir/x":     "earlier",
	} {
		got, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", rel, got, err, want)
		}
	}
	for _, gone := range []string{"filedir/old", ".restore-new", ".pre-restore-new/climaintenance.html"} {
		if _, err := os.Stat(filepath.Join(root, gone)); !os.IsNotExist(err) {
			t.Errorf("%s is still there", gone)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{512: "512 B", 2048: "2.0 KiB", 2763555: "2.6 MiB", 5 << 30: "5.0 GiB"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// fakeDocker answers Inspect from a table and records starts; the site's other
// calls are not used by the tests that take it.
type fakeDocker struct {
	Docker
	containers map[string]dockerapi.Container
	started    []string
}

func (f *fakeDocker) Inspect(_ context.Context, name string) (dockerapi.Container, error) {
	c, ok := f.containers[name]
	if !ok {
		return c, fmt.Errorf("no such container %s: %w", name, dockerapi.ErrNotFound)
	}
	c.Name = name
	return c, nil
}

func (f *fakeDocker) Start(_ context.Context, name string) error {
	f.started = append(f.started, name)
	return nil
}

func TestRunningReadsTheReleaseTheContainersRun(t *testing.T) {
	spec := topology.Spec{App: topology.App{Replicas: 2}}
	for _, c := range []struct {
		name       string
		containers map[string]dockerapi.Container
		want       string
	}{
		{"not deployed", nil, ""},
		{"the cron runner's branch", map[string]dockerapi.Container{"moodle-dev-cron": {Env: []string{"PATH=/bin", "MOODLE_BRANCH=405"}}}, "4.5"},
		{"an app node's when the runner is gone", map[string]dockerapi.Container{"moodle-dev-app-1": {Env: []string{"MOODLE_BRANCH=501"}}}, "5.1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := Site{Docker: &fakeDocker{containers: c.containers}, Spec: spec, Prefix: "moodle-dev"}
			got, err := s.Running(context.Background())
			if err != nil || got != c.want {
				t.Fatalf("Running = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func TestNodeIsARunningAppNodeOrAStoppedOneStarted(t *testing.T) {
	spec := topology.Spec{App: topology.App{Replicas: 3}}
	for _, c := range []struct {
		name        string
		containers  map[string]dockerapi.Container
		want, start string
	}{
		{"the first running", map[string]dockerapi.Container{"moodle-dev-app-1": {}, "moodle-dev-app-2": {Running: true}}, "moodle-dev-app-2", ""},
		{"app-1 gone mid-replacement", map[string]dockerapi.Container{"moodle-dev-app-3": {Running: true}}, "moodle-dev-app-3", ""},
		{"none running", map[string]dockerapi.Container{"moodle-dev-app-2": {}}, "moodle-dev-app-2", "moodle-dev-app-2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := &fakeDocker{containers: c.containers}
			got, err := Site{Docker: d, Spec: spec, Prefix: "moodle-dev"}.node(context.Background())
			if err != nil || got != c.want {
				t.Fatalf("node = %q, %v; want %q", got, err, c.want)
			}
			if c.start != "" && !slices.Equal(d.started, []string{c.start}) {
				t.Errorf("started %v, want %s", d.started, c.start)
			}
		})
	}
	if _, err := (Site{Docker: &fakeDocker{}, Spec: spec, Prefix: "moodle-dev"}).node(context.Background()); err == nil {
		t.Error("node found one with no app node at all")
	}
}

// A refused path touches nothing: the fake panics on any call but Inspect.
func TestUpgradeRefusesADowngradeBeforeTouchingTheSite(t *testing.T) {
	d := &fakeDocker{containers: map[string]dockerapi.Container{"moodle-dev-cron": {Env: []string{"MOODLE_BRANCH=501"}}}}
	s := Site{Docker: d, Spec: topology.Spec{App: topology.App{Replicas: 1}}, Prefix: "moodle-dev"}
	_, err := s.Upgrade(context.Background(), nil, nil, UpgradeRequest{To: "4.5"})
	if err == nil || !strings.Contains(err.Error(), "cannot be downgraded") {
		t.Fatalf("Upgrade 5.1 -> 4.5 = %v, want a refusal", err)
	}
}
