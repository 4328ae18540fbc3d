package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/automation"
)

func TestParse_RefusesFlagsTheCommandDoesNotTake(t *testing.T) {
	cases := []struct {
		args []string
		want string // "" when accepted
	}{
		{[]string{"cost", "--stack", "prod", "--json"}, ""},
		{[]string{"diagram", "--stack", "prod", "--svg", "x.svg", "--mermaid", "x.mmd"}, ""},
		{[]string{"status", "--stack", "dev", "--json"}, ""},
		{[]string{"cost", "--stack", "prod", "--svg", "x.svg"}, "cost does not take --svg"},
		{[]string{"up", "--stack", "dev", "--json"}, "up does not take --json"},
		{[]string{"status", "--stack", "dev", "--yes"}, "status does not take --yes"},
		{[]string{"inspect", "--stack", "dev"}, `unknown command "inspect"`},
		{[]string{"backup", "--stack", "dev", "--to", "/srv/backups"}, ""},
		{[]string{"restore", "--stack", "dev", "--from", "20261207T031500Z", "--yes"}, ""},
		{[]string{"upgrade", "--stack", "dev", "--to", "5.3"}, ""},
		{[]string{"backups", "--stack", "dev", "--to", "x"}, "backups does not take --to"},
		{[]string{"backup", "--stack", "dev", "--json"}, "backup does not take --json"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			_, _, err := parse(c.args, io.Discard, io.Discard)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case c.want != "" && (err == nil || !errors.Is(err, errUsage) || !strings.Contains(err.Error(), c.want)):
				t.Errorf("got %v, want a usage error saying %q", err, c.want)
			}
		})
	}
}

// Every command's --help prints what it does and exactly the flags it takes, on
// stdout, and is not an error (exit 0), as users of CLIs expect.
func TestHelp_EachCommandListsItsOwnFlagsAndSucceeds(t *testing.T) {
	all := flagSet("", &flags{})
	for _, c := range commands {
		for _, arg := range []string{"--help", "-h"} {
			t.Run(c.name+" "+arg, func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				err := run(context.Background(), []string{c.name, arg}, strings.NewReader(""), &stdout, &stderr)
				if code := report(context.Background(), err, &stderr); code != 0 || stderr.Len() > 0 {
					t.Fatalf("exit %d, stderr %q", code, stderr.String())
				}
				out := stdout.String()
				if !strings.HasPrefix(out, "usage: moodlectl "+c.name+" ") {
					t.Errorf("help starts %q", strings.SplitN(out, "\n", 2)[0])
				}
				all.VisitAll(func(fl *flag.Flag) {
					listed := strings.Contains(out, "  -"+fl.Name+" ") || strings.Contains(out, "  -"+fl.Name+"\n")
					if listed != c.takes(fl.Name) {
						t.Errorf("--%s listed: %v, taken: %v", fl.Name, listed, c.takes(fl.Name))
					}
				})
			})
		}
	}
	t.Run("moodlectl --help", func(t *testing.T) {
		var stdout bytes.Buffer
		err := run(context.Background(), []string{"--help"}, strings.NewReader(""), &stdout, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range commands {
			if !strings.Contains(stdout.String(), "\n  "+c.name+" ") {
				t.Errorf("the usage does not list %s", c.name)
			}
		}
	})
}

// TestReport_EndsAFailedStepWithOneLineAndExitsByKind checks what the user sees
// last and the status scripts read.
func TestReport_EndsAFailedStepWithOneLineAndExitsByKind(t *testing.T) {
	engineErr := errors.New("failed to run update: exit status 255\ncode: 255\nstdout: Updating (dev) ... the whole log ...\nstderr: ")
	cases := []struct {
		name string
		err  error
		want string
		code int
	}{
		{"a failed up: the summary only, not the log again",
			&automation.Error{Stack: "dev", Step: "up", First: "container moodle-dev-db: port is already allocated", Hint: "fix the cause and run moodlectl up --stack dev again", Err: engineErr},
			"moodlectl: stack dev: up failed: container moodle-dev-db: port is already allocated; fix the cause and run moodlectl up --stack dev again\n", 1},
		{"a bad stack file: every problem, then the summary",
			&automation.Error{Stack: "dev", Step: automation.StepCheckConfig, First: "moodle:app.replicas = 0: allowed: 1..50 (and 1 more)",
				Detail: "invalid stack config (2 problems):\n  - moodle:app.replicas = 0: allowed: 1..50\n  - moodle:storage.kind = \"efs\": allowed: volume, nfs", Hint: "correct Pulumi.dev.yaml"},
			"moodlectl: stack dev: check config: invalid stack config (2 problems):\n  - moodle:app.replicas = 0: allowed: 1..50\n  - moodle:storage.kind = \"efs\": allowed: volume, nfs\n" +
				"moodlectl: stack dev: check config failed: moodle:app.replicas = 0: allowed: 1..50 (and 1 more); correct Pulumi.dev.yaml\n", 1},
		{"a usage error", fmt.Errorf("%w: --stack is required (dev or prod)", errUsage), "moodlectl: --stack is required (dev or prod)\n", 2},
		{"status with a warning: nothing more to say", exitStatus(3), "", 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := report(context.Background(), c.err, &stderr)
			if stderr.String() != c.want || code != c.code {
				t.Errorf("exit %d, printed:\n%s\nwant exit %d:\n%s", code, stderr.String(), c.code, c.want)
			}
			if strings.Contains(stderr.String(), "the whole log") {
				t.Error("the engine's log was printed again")
			}
		})
	}
}
