package stack_test

import (
	"path/filepath"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/stacks"
)

// A user's own mock test runs stacks.Program as the pulumi CLI would, with no
// options and, on a CI runner, no Docker daemon: mocks stand in for the engine and
// its providers, so the program asks no daemon and resolves relative paths against
// the project (the nearest Pulumi.yaml), not the test's working directory.
func TestProgramRunsUnderMocksWithoutADockerDaemon(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-daemon.sock"))
	rec := &recorder{}
	cfg := stackConfig(t, "dev")
	if err := pulumi.RunErr(stacks.Program, pulumi.WithMocks("moodle", "dev", rec),
		func(ri *pulumi.RunInfo) { ri.Config = cfg }); err != nil {
		t.Fatalf("the dev stack under mocks, no daemon: %v", err)
	}
	if n := len(containers(t, rec)); n == 0 {
		t.Fatal("no containers registered")
	}
	imgs := rec.ofType(tImage)
	if len(imgs) != 1 {
		t.Fatalf("images built = %d, want 1", len(imgs))
	}
	project, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := str(field(imgs[0].Inputs, "build", "context")), filepath.Join(project, "docker"); got != want {
		t.Errorf("build context = %q, want %q (the project's, not the test's folder)", got, want)
	}
	// Nothing answered for the host's swap accounting: the common case is taken.
	for key, c := range containers(t, rec) {
		if swap, mem := field(c.Inputs, "memorySwap").NumberValue(), field(c.Inputs, "memory").NumberValue(); swap != mem {
			t.Errorf("%s memorySwap = %v, want its memory %v", key, swap, mem)
		}
	}
}

// Docker stores every swap limit as -1 on a host that cannot limit swap, and the
// provider reads that back: the containers ask for -1 there, or every up would
// update them (moby daemon/daemon_unix.go verifyPlatformContainerResources).
func TestDevContainersAskForNoSwapLimitWhereTheHostHasNone(t *testing.T) {
	host := roomyHost
	host.Capacity.SwapLimit = false
	rec := &recorder{}
	err := pulumi.RunErr(program(host), pulumi.WithMocks("moodle", "dev", rec),
		func(ri *pulumi.RunInfo) { ri.Config = stackConfig(t, "dev") })
	if err != nil {
		t.Fatal(err)
	}
	for key, c := range containers(t, rec) {
		if swap := field(c.Inputs, "memorySwap").NumberValue(); swap != -1 {
			t.Errorf("%s memorySwap = %v, want -1", key, swap)
		}
	}
}
