//go:build docker

package dockerapi_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moodle-cluster/moodle-pulumi/internal/dockerapi"
	"github.com/moodle-cluster/moodle-pulumi/internal/dockerapi/dockertest"
)

// These tests run against the Docker daemon of the machine (DOCKER_HOST or the
// default socket), in containers of dockertest's busybox image.

func client(t *testing.T) *dockerapi.Client {
	t.Helper()
	c, err := dockerapi.New("")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestExec_ReturnsStdoutAndFailsWithStderrOnANonZeroExit(t *testing.T) {
	name := dockertest.Container(t, "sleep 300")
	c := client(t)
	out, err := c.Exec(context.Background(), name, "sh", "-c", "echo one; echo two; echo ignored >&2")
	if err != nil || out != "one\ntwo\n" {
		t.Errorf("got %q, %v; want two lines on stdout", out, err)
	}
	_, err = c.Exec(context.Background(), name, "sh", "-c", "echo 'no such table' >&2; exit 3")
	if err == nil || !strings.Contains(err.Error(), "exited 3: no such table") {
		t.Errorf("got %v, want the exit status and stderr", err)
	}
	_, err = c.Exec(context.Background(), "moodle-pulumi-test-missing", "true")
	if !errors.Is(err, dockerapi.ErrNotFound) {
		t.Errorf("got %v, want not found", err)
	}
}

func TestHealth_IsTheRunStateWithoutAHealthCheck(t *testing.T) {
	name := dockertest.Container(t, "sleep 300")
	got, err := client(t).Health(context.Background(), name)
	if err != nil || got != "running" {
		t.Errorf("got %q, %v; want running", got, err)
	}
}

func TestLogs_ReturnsTheLastLinesWithTheirTimes(t *testing.T) {
	name := dockertest.Container(t, "for i in $(seq 1 50); do echo line $i; done; echo to-stderr >&2; sleep 300")
	c := client(t)
	var lines []dockerapi.LogLine
	// The script's output is written at once, but the daemon may not have
	// stored all of it when the first call comes: ask until the last line is there.
	for range 50 {
		var err error
		if lines, err = c.Logs(context.Background(), name, 3); err != nil {
			t.Fatal(err)
		}
		if len(lines) == 3 && lines[2].Text == "to-stderr" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(lines) != 3 || lines[0].Text != "line 49" || lines[2].Text != "to-stderr" || lines[0].Time.IsZero() {
		t.Errorf("got %+v; want lines 49, 50 and stderr's, with times", lines)
	}
}

// TestFollow_PassesEachLineUntilTheContainerStops follows a container that
// writes a line at a time and exits: every line arrives, then Follow returns.
func TestFollow_PassesEachLineUntilTheContainerStops(t *testing.T) {
	name := dockertest.Container(t, "for i in 1 2 3 4 5; do echo step $i; sleep 0.2; done")
	var mu sync.Mutex
	var got []string
	err := client(t).Follow(context.Background(), name, time.Unix(0, 0), func(l dockerapi.LogLine) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, l.Text)
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "step 1,step 2,step 3,step 4,step 5" {
		t.Errorf("followed %q", got)
	}
}
