//go:build integration

package realprograms

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/tests/harness/loopback"
)

// archiveFile is one entry of a test archive; link makes it a symbolic link.
type archiveFile struct {
	name, body, link string
}

func plugin(top, component, version string, extra ...archiveFile) []archiveFile {
	return append([]archiveFile{
		{name: top + "/version.php", body: fmt.Sprintf("<?php\ndefined('MOODLE_INTERNAL') || die();\n\n"+
			"$plugin->version   = %s;\n$plugin->requires  = 2025100600;\n$plugin->component = '%s';\n", version, component)},
		{name: top + "/lib.php", body: "<?php\n// " + component + "\n"},
	}, extra...)
}

func zipOf(t *testing.T, files []archiveFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, f := range files {
		fw, err := w.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tarGzOf(t *testing.T, files []archiveFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	w := tar.NewWriter(gz)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg}
		if f.link != "" {
			h = &tar.Header{Name: f.name, Mode: 0o777, Linkname: f.link, Typeflag: tar.TypeSymlink}
		}
		if err := w.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// contentSHA256 is the content checksum of a plugin's files as the installer
// defines it: sha256 of `find . -type f | LC_ALL=C sort | xargs sha256sum`.
func contentSHA256(files []archiveFile, top string) string {
	var lines []string
	for _, f := range files {
		lines = append(lines, sha256Hex([]byte(f.body))+"  ./"+strings.TrimPrefix(f.name, top+"/")+"\n")
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i][66:] < lines[j][66:] })
	return sha256Hex([]byte(strings.Join(lines, "")))
}

// codeTree is a Moodle 5.1 code root with the plugin types the tests use, in the
// format of Moodle's public/lib/components.json, and one plugin already in the code.
func codeTree(t *testing.T, dir string) string {
	t.Helper()
	writeFile(t, filepath.Join(dir, "public", "lib", "components.json"),
		`{"plugintypes": {"mod": "mod", "tool": "admin\/tool", "theme": "theme", "local": "local"}, "subsystems": {}}`)
	writeFile(t, filepath.Join(dir, "public", "admin", "tool", "existing", "version.php"), "<?php\n")
	return dir
}

// TestPluginInstallerInstallsOnlyWhatItsChecksumPins runs the image's plugin
// installer (docker/install-plugins.php, the build's MOODLE_PLUGINS step) with PHP
// and its zip extension, as the image has them, against archives served from
// 127.0.0.1: each plugin lands in the folder its Frankenstyle type belongs in (from
// the code's components.json, subplugin types from db/subplugins.json), and anything
// that is not exactly what the entry pins is refused with nothing installed.
func TestPluginInstallerInstallsOnlyWhatItsChecksumPins(t *testing.T) {
	root := loopback.NewRoot(t)
	installer := filepath.Join(loopback.RepoRoot(), "docker", "install-plugins.php")

	demo := plugin("moodle-tool_demo-1a2b", "tool_demo", "2025010100")
	theme := plugin("demo", "theme_demo", "2025020100.01", archiveFile{name: "demo/style/all.css", body: "body {}\n"})
	mod := plugin("demo", "mod_demo", "2025030100", archiveFile{name: "demo/db/subplugins.json", body: `{"subplugintypes": {"demosub": "sub"}}`})
	sub := plugin("one", "demosub_one", "2025030101")
	files := map[string][]byte{
		"/demo.zip":      zipOf(t, demo),
		"/theme.tar.gz":  tarGzOf(t, theme),
		"/mod.zip":       zipOf(t, mod),
		"/sub.zip":       zipOf(t, sub),
		"/other.zip":     zipOf(t, plugin("demo", "tool_other", "2025010100")),
		"/newer.zip":     zipOf(t, plugin("demo", "tool_demo", "2025060100")),
		"/unknown.zip":   zipOf(t, plugin("bar", "foo_bar", "2025010100")),
		"/existing.zip":  zipOf(t, plugin("existing", "tool_existing", "2025010100")),
		"/link.tar.gz":   tarGzOf(t, plugin("demo", "tool_demo", "2025010100", archiveFile{name: "demo/secret", link: "/etc/shadow"})),
		"/escape.zip":    zipOf(t, plugin("demo", "tool_demo", "2025010100", archiveFile{name: "demo/../../escape.php", body: "<?php\n"})),
		"/two.zip":       zipOf(t, append(plugin("demo", "tool_demo", "2025010100"), archiveFile{name: "other/readme.txt", body: "x"})),
		"/tampered.zip":  zipOf(t, plugin("moodle-tool_demo-1a2b", "tool_demo", "2025010100", archiveFile{name: "moodle-tool_demo-1a2b/extra.php", body: "<?php\n"})),
		"/tampered2.zip": zipOf(t, plugin("moodle-tool_demo-9z9z", "tool_demo", "2025010100")),
	}
	url := serve(t, files)
	entry := func(component, version, sum, path string) string {
		return strings.Join([]string{component, version, sum, url + path}, ",")
	}
	zipSum := "sha256:" + sha256Hex(files["/demo.zip"])

	cases := []struct {
		name    string
		entries []string
		// installed are the folders (under public/) the plugins must end up in, with
		// one file each must hold.
		installed map[string]archiveFile
		// refused is part of the refusal, "" when the install succeeds.
		refused string
	}{
		{"a zip pinned by its sha256 lands in its type's folder",
			[]string{entry("tool_demo", "2025010100", zipSum, "/demo.zip")},
			map[string]archiveFile{"admin/tool/demo": demo[1]}, ""},
		{"a tar.gz pinned by the checksum of its files",
			[]string{entry("theme_demo", "2025020100.01", "content-sha256:"+contentSHA256(theme, "demo"), "/theme.tar.gz")},
			map[string]archiveFile{"theme/demo": theme[2]}, ""},
		{"a subplugin of a plugin listed before it",
			[]string{entry("mod_demo", "2025030100", "sha256:"+sha256Hex(files["/mod.zip"]), "/mod.zip"),
				entry("demosub_one", "2025030101", "sha256:"+sha256Hex(files["/sub.zip"]), "/sub.zip")},
			map[string]archiveFile{"mod/demo": mod[0], "mod/demo/sub/one": sub[1]}, ""},
		{"another archive than the pinned one",
			[]string{entry("tool_demo", "2025010100", zipSum, "/tampered2.zip")}, nil,
			"has sha256 " + sha256Hex(files["/tampered2.zip"]) + ", want " + sha256Hex(files["/demo.zip"])},
		{"other files than the pinned ones",
			[]string{entry("tool_demo", "2025010100", "content-sha256:"+contentSHA256(demo, "moodle-tool_demo-1a2b"), "/tampered.zip")}, nil,
			"have content-sha256"},
		{"a release of another version",
			[]string{entry("tool_demo", "2025010100", "sha256:"+sha256Hex(files["/newer.zip"]), "/newer.zip")}, nil,
			`version.php declares version "2025060100", want 2025010100`},
		{"the archive of another component",
			[]string{entry("tool_demo", "2025010100", "sha256:"+sha256Hex(files["/other.zip"]), "/other.zip")}, nil,
			`version.php declares component "tool_other"`},
		{"a type this Moodle does not have",
			[]string{entry("foo_bar", "2025010100", "sha256:"+sha256Hex(files["/unknown.zip"]), "/unknown.zip")}, nil,
			"this Moodle code has no plugin type foo; it has mod, tool, theme, local"},
		{"a component already in the code",
			[]string{entry("tool_existing", "2025010100", "sha256:"+sha256Hex(files["/existing.zip"]), "/existing.zip")}, nil,
			"already exists (core code, or the plugin is listed twice)"},
		{"a link in the archive",
			[]string{entry("tool_demo", "2025010100", "sha256:"+sha256Hex(files["/link.tar.gz"]), "/link.tar.gz")}, nil,
			"secret is neither a regular file nor a folder"},
		{"a path out of the archive's folder",
			[]string{entry("tool_demo", "2025010100", "sha256:"+sha256Hex(files["/escape.zip"]), "/escape.zip")}, nil,
			"the archive holds a path outside its folder"},
		{"an archive of two folders",
			[]string{entry("tool_demo", "2025010100", "sha256:"+sha256Hex(files["/two.zip"]), "/two.zip")}, nil,
			"the archive does not hold one folder with version.php"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code := codeTree(t, filepath.Join(root, fmt.Sprintf("code-%d", i)))
			out, err := loopback.Run(loopback.Account{}, nil, loopback.PHPBin, append([]string{installer, "install", filepath.Join(code, "public")}, c.entries...)...)
			if c.refused != "" {
				if err == nil || !strings.Contains(out, c.refused) {
					t.Errorf("installed (%v), want a refusal with %q:\n%s", err, c.refused, out)
				}
				for _, dir := range []string{"admin/tool/demo", "theme/demo", "escape.php", "../escape.php"} {
					if _, err := os.Stat(filepath.Join(code, "public", dir)); err == nil {
						t.Errorf("a refused install left public/%s behind", dir)
					}
				}
			} else if err != nil {
				t.Fatalf("refused (%v):\n%s", err, out)
			}
			for dir, f := range c.installed {
				_, rel, _ := strings.Cut(f.name, "/")
				got, err := os.ReadFile(filepath.Join(code, "public", dir, rel))
				if err != nil || string(got) != f.body {
					t.Errorf("public/%s/%s = %q (%v), want the archive's", dir, rel, got, err)
				}
			}
			if left, _ := filepath.Glob(filepath.Join(code, "public", ".install-*")); len(left) > 0 {
				t.Errorf("work folders left in the code: %v", left)
			}
		})
	}
}

// The content checksum is what sha256sum and sort print for the folder, so anyone
// can compute it from a plugin's files, and this project did for the plugins S3
// storage installs, from their git repositories.
func TestPluginContentChecksumIsWhatCoreutilsPrint(t *testing.T) {
	dir := filepath.Join(loopback.NewRoot(t), "plugin")
	for _, name := range []string{"version.php", "lang/en/x.php", "a b/c.txt", "tests/fixtures/😀.txt", "Z.txt", "a.txt", "a/b.txt"} {
		writeFile(t, filepath.Join(dir, name), name+"\n")
	}
	want, err := loopback.Run(loopback.Account{}, nil, "/bin/sh", "-c",
		`cd "$1" && find . -type f | LC_ALL=C sort | xargs -d '\n' sha256sum | sha256sum | cut -d' ' -f1`, "sh", dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := loopback.Run(loopback.Account{}, nil, loopback.PHPBin, filepath.Join(loopback.RepoRoot(), "docker", "install-plugins.php"), "digest", dir)
	if err != nil || strings.TrimSpace(got) != strings.TrimSpace(want) {
		t.Errorf("install-plugins.php digest = %q (%v), coreutils %q", got, err, want)
	}
	// The build installs what the model pins for S3 storage through the same entry
	// format (topology.Plugin.Entry).
	for _, p := range topology.S3Plugins {
		if fields := strings.Split(p.Entry(), ","); len(fields) != 4 || fields[2] != "content-sha256:"+p.ContentSHA256 {
			t.Errorf("%s's entry %q is not component,version,content-sha256:<hex>,url", p.Component, p.Entry())
		}
	}
}
