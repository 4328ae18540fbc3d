package automation

import "os/exec"

// ownProcessGroup: Windows delivers a console's Ctrl-C as the caller decides.
func ownProcessGroup(*exec.Cmd) {}
