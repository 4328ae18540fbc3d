//go:build realdocker

package realdocker_test

import (
	"fmt"
	"os/exec"
	"testing"
	"time"
)

// The catcher stand-in ends on the container's stop signal as Mailpit does
// (closes its database and exits 0: internal/storage/database.go, InitDB), not
// when Docker kills it after the stop timeout: a killed container ends 137, and
// every destroy of the dev stack would wait out backendStopGraceSeconds on it.
func TestMailCatcherStandInExitsOnTheStopSignal(t *testing.T) {
	name := fmt.Sprintf("moodle-standin-mailpit-%d", time.Now().UnixNano())
	run(t, "docker", "run", "-d", "--name", name, "--stop-timeout", "60", mailpit)
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", name).Run() })
	// The program's health check of the catcher.
	waitFor(t, "the catcher ready", time.Minute, func() bool {
		_, err := execIn(name, "/mailpit", "readyz")
		return err == nil
	})
	run(t, "docker", "stop", name)
	if code := inspect(t, "{{.State.ExitCode}}", name); code != "0" {
		t.Errorf("the stopped catcher exited %s, want 0 (137: killed after the stop timeout)", code)
	}
}
