//go:build !windows

package automation

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup keeps a terminal's Ctrl-C from reaching the CLI directly: the
// caller decides, by cancelling its context, and the CLI gets exactly one
// interrupt (a second one would make it stop at once, mid-step).
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
