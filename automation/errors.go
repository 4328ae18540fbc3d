package automation

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/moodle-cluster/moodle-pulumi/stacks/config"
)

// Steps an Error can name besides the engine operations (preview, up, refresh,
// destroy, outputs).
const (
	StepCheckConfig = "check config"
	StepSelect      = "select"
)

// Error is a failed step of a stack. Its text names the stack, the step and the
// first error the engine reported, on one line: the engine's log was already
// streamed to the progress writer, and the Automation API's own error repeats all
// of it (its stdout and stderr), which Unwrap still gives to callers who want it.
type Error struct {
	Stack string
	Step  string
	// First is the first error, on one line, without the engine's wrappers
	// ("an unhandled error occurred", "1 error occurred").
	First string
	// Detail is the whole message when it says more than First and was not part
	// of a streamed log: every problem of an invalid stack config.
	Detail string
	// Hint says what to do next.
	Hint string
	Err  error
}

func (e *Error) Error() string {
	msg := e.First
	if e.Detail != "" {
		msg = e.Detail
	}
	return fmt.Sprintf("stack %s: %s: %s", e.Stack, e.Step, msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Summary is the one line a command line ends with: the stack, the step, the
// first error and what to do.
func (e *Error) Summary() string {
	return fmt.Sprintf("stack %s: %s failed: %s; %s", e.Stack, e.Step, e.First, e.Hint)
}

// configError reports an invalid stack config before the engine starts, with the
// program's own message (the one the config tests assert).
func configError(stack, stackFile string, err error) *Error {
	e := &Error{Stack: stack, Step: StepCheckConfig, First: firstLine(err.Error()), Err: err,
		Hint: fmt.Sprintf("correct %s (docs/config.md lists every key and what it allows)", stackFile)}
	var cfgErr *config.Error
	if errors.As(err, &cfgErr) {
		e.First = cfgErr.Problems[0]
		if n := len(cfgErr.Problems); n > 1 {
			e.First += fmt.Sprintf(" (and %d more)", n-1)
		}
		e.Detail = err.Error()
	}
	return e
}

// opError describes a failed engine operation from the error diagnostics the
// engine sent (diags, in order) or, when it failed before sending any, from the
// CLI's error output.
func opError(stack, step string, diags []string, err error) *Error {
	first := ""
	for _, d := range diags {
		if first = cleanDiagnostic(d); first != "" {
			break
		}
	}
	if first == "" {
		first = cliError(err.Error())
	}
	return &Error{Stack: stack, Step: step, First: first, Hint: hint(stack, step, first, err), Err: err}
}

// wrappers are the engine's and the SDK's prefixes around a program's own error.
var wrappers = regexp.MustCompile(`^(error: |an unhandled error occurred: |program failed: |\d+ errors? occurred: |\* |waiting for RPCs: |rpc error: code = Unknown desc = )+`)

// cleanDiagnostic joins a diagnostic's lines into one and drops the wrappers, so
// "an unhandled error occurred: 1 error occurred:\n\t* invalid stack config: ..."
// reads "invalid stack config: ...". Diagnostics that only point at another one
// ("update failed", "one or more errors") give "".
func cleanDiagnostic(msg string) string {
	line := strings.Join(strings.Fields(msg), " ")
	for {
		next := wrappers.ReplaceAllString(line, "")
		if next == line {
			break
		}
		line = next
	}
	switch strings.TrimSuffix(line, ".") {
	case "", "update failed", "preview failed", "destroy failed", "refresh failed":
		return ""
	}
	return line
}

// cliError picks the CLI's "error: ..." line out of the Automation API's error
// text (which holds the whole stdout and stderr), else its first line.
func cliError(text string) string {
	if _, stderr, ok := strings.Cut(text, "\nstderr: "); ok {
		for _, l := range strings.Split(stderr, "\n") {
			if c := cleanDiagnostic(l); c != "" && strings.HasPrefix(strings.TrimSpace(l), "error:") {
				return c
			}
		}
	}
	return firstLine(text)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

// hint says what to do after a failed operation. The engine keeps what it
// created before the failure in the state, so running the step again resumes.
func hint(stack, step, first string, err error) string {
	retry := fmt.Sprintf("moodlectl %s --stack %s", step, stack)
	switch {
	case auto.IsConcurrentUpdateError(err):
		return "another operation holds the stack's lock: wait for it, or if it was interrupted, remove the lock with `pulumi cancel` and run " + retry
	case strings.Contains(first, "cannot run this stack"):
		// The preflight (preflight.Error) names each key, its value and what the
		// host has: the engine is running, the stack's settings or images are not right.
		return "change the settings named above, or load the images they name (README: offline sites and private registries), then run " + retry
	case strings.Contains(first, "Cannot connect to the Docker daemon"), strings.Contains(first, "docker.sock"):
		return "start the Docker engine (or set DOCKER_HOST), then run " + retry
	case strings.Contains(first, "passphrase"):
		return "give the passphrase the stack was created with (PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE)"
	case strings.Contains(first, "NoCredentialProviders"), strings.Contains(first, "no valid credential"),
		strings.Contains(first, "ExpiredToken"):
		return "refresh the AWS credentials (aws sso login, AWS_PROFILE), then run " + retry
	case step == "up" || step == "destroy" || step == "refresh":
		return "the log above shows the failing resource; fix the cause and run " + retry + " again (what was already done is kept in the state)"
	}
	return "the log above has the details; fix the cause and run " + retry + " again"
}
