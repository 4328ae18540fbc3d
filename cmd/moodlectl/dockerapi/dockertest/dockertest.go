// Package dockertest gives the tests that need a Docker daemon a container to
// work with, from an image made on the spot out of Debian's busybox-static (no
// image can be pulled on the machines these tests run on).
package dockertest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const image = "moodle-pulumi-test/busybox:1"

// busyboxImage imports a rootfs of /bin/busybox and its applets once.
func busyboxImage(t testing.TB) {
	t.Helper()
	if exec.Command("docker", "image", "inspect", image).Run() == nil {
		return
	}
	root := t.TempDir()
	bin := filepath.Join(root, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("%v (install busybox-static)", err)
	}
	if err := os.WriteFile(filepath.Join(bin, "busybox"), raw, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, applet := range []string{"sh", "cat", "echo", "sleep", "seq", "date"} {
		if err := os.Symlink("busybox", filepath.Join(bin, applet)); err != nil {
			t.Fatal(err)
		}
	}
	tar := exec.Command("tar", "-C", root, "-c", ".")
	imp := exec.Command("docker", "import", "-", image)
	imp.Stdin, _ = tar.StdoutPipe()
	if err := imp.Start(); err != nil {
		t.Fatal(err)
	}
	if err := tar.Run(); err != nil {
		t.Fatal(err)
	}
	if err := imp.Wait(); err != nil {
		t.Fatalf("docker import: %v", err)
	}
}

// Container runs script in a new container named after the test, removed after.
func Container(t testing.TB, script string) string {
	t.Helper()
	busyboxImage(t)
	name := "moodle-pulumi-test-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	_ = exec.Command("docker", "rm", "-f", name).Run()
	out, err := exec.Command("docker", "run", "-d", "--name", name, image, "/bin/sh", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("docker run: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", name).Run() })
	return name
}
