//go:build integration

package loopback

import (
	"fmt"
	"path/filepath"
	"runtime"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/stacks/config"
	"github.com/moodle-cluster/moodle-pulumi/stacks/config/stackfile"
)

// RepoRoot is the root of this repository (the harness is run from source).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// StackSpec is the Spec the program deploys for a committed stack file
// (Pulumi.<stack>.yaml), loaded by the program's own config loader, with its
// directories moved under root: the same app nodes, limits, pools and settings, on
// loopback. The CA bundles keep their paths in the image. The release is the probe
// tree's (ProbeRelease), whatever the stack deploys: the tree is what runs.
func StackSpec(t T, stack, root string) topology.Spec {
	t.Helper()
	path := filepath.Join(RepoRoot(), "Pulumi."+stack+".yaml")
	values, err := stackfile.Read(path)
	if err != nil {
		t.Fatalf("read the %s stack: %v", stack, err)
	}
	s, err := config.Load(stackfile.Getter(values))
	if err != nil {
		t.Fatalf("load the %s stack (%s): %v", stack, path, err)
	}
	s.Moodle.Version = ProbeRelease
	s.Paths.CodeDir = filepath.Join(root, "code")
	s.Paths.DataRoot = filepath.Join(root, "moodledata")
	s.Paths.LocalCacheDir = filepath.Join(root, "localcache")
	return s
}

// ProbeRelease is the release whose layout the probe tree (tests/fixtures/moodle)
// has: its version.php declares branch 501, its code is under public/.
const ProbeRelease = "5.1"

// DevSpec is the dev stack with nginx listening on webPort of 127.0.0.1 and the
// site URL pointing there: on loopback the load balancer is reached directly, not
// through a published container port.
func DevSpec(t T, root string, webPort int) topology.Spec {
	t.Helper()
	s := StackSpec(t, "dev", root)
	s.Web.Port, s.Docker.HTTPPort = webPort, webPort
	s.SiteURL = fmt.Sprintf("http://127.0.0.1:%d", webPort)
	return s
}
