//go:build integration

package realprograms

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/tests/harness/loopback"
)

// The rendered runner split in two, as the AWS cron task runs it: "upgrade" runs
// the install/upgrade hook, writes this release's marker and exits 0 only then, so
// the cron container, which ECS starts on that success alone, starts on an
// upgraded database; "cron" never runs the hook. Under sh, with flock and a hook
// and a PHP that only leave a trace.
func TestCronRunnerUpgradeAndCronModes(t *testing.T) {
	for _, c := range []struct {
		name, mode, hook string
		exit             int
		hookRuns, marker bool
		oldMarkerKept    bool
	}{
		{"upgrade runs the hook, writes the release's marker and exits 0", "upgrade", "exit 0", 0, true, true, false},
		{"upgrade whose hook fails exits 1 without the marker", "upgrade", "exit 3", 1, true, false, false},
		{"cron never runs the hook nor touches the markers", "cron", "exit 0", -1, false, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := loopback.NewRoot(t)
			s := loopback.StackSpec(t, "dev", root)
			dir := filepath.Join(root, "bin")
			trace := filepath.Join(root, "trace")
			hook := writeFile(t, filepath.Join(dir, "hook"), "#!/bin/sh\necho hook >>"+trace+"\n"+c.hook+"\n")
			php := writeFile(t, filepath.Join(dir, "php"), "#!/bin/sh\necho cron >>"+trace+"\n")
			for _, f := range []string{hook, php} {
				if err := os.Chmod(f, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			oldMarker := writeFile(t, s.Paths.InstalledMarker()+"-0123456789ab", "")
			runner := writeFile(t, filepath.Join(dir, "cron-runner.sh"), render.CronRunner(s))

			cmd := exec.Command("/bin/sh", runner, c.mode)
			cmd.Env = append(os.Environ(), render.EnvInstallHook+"="+hook, render.EnvPHPBin+"="+php)
			var log strings.Builder
			cmd.Stdout, cmd.Stderr = &log, &log
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			if c.exit < 0 {
				// cron runs until stopped: stop it once it ran cron.php.
				deadline := time.Now().Add(30 * time.Second)
				for !strings.Contains(readOrEmpty(trace), "cron") && time.Now().Before(deadline) {
					time.Sleep(50 * time.Millisecond)
				}
				_ = cmd.Process.Signal(syscall.SIGTERM)
			}
			select {
			case <-done:
			case <-time.After(time.Minute):
				_ = cmd.Process.Kill()
				t.Fatalf("the runner did not end:\n%s", log.String())
			}
			if c.exit >= 0 && cmd.ProcessState.ExitCode() != c.exit {
				t.Errorf("exit %d, want %d:\n%s", cmd.ProcessState.ExitCode(), c.exit, log.String())
			}
			if ran := strings.Contains(readOrEmpty(trace), "hook"); ran != c.hookRuns {
				t.Errorf("the hook ran %v, want %v:\n%s", ran, c.hookRuns, log.String())
			}
			if _, err := os.Stat(s.ReleaseMarker()); (err == nil) != c.marker {
				t.Errorf("the release's marker exists %v, want %v:\n%s", err == nil, c.marker, log.String())
			}
			if _, err := os.Stat(oldMarker); (err == nil) != c.oldMarkerKept {
				t.Errorf("another release's marker kept %v, want %v", err == nil, c.oldMarkerKept)
			}
		})
	}
}

func readOrEmpty(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}
