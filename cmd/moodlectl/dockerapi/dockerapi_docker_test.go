//go:build docker

package dockerapi_test

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/dockerapi"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/dockerapi/dockertest"
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

// A stopped container is not running, which status reports as down.
func TestExec_InAStoppedContainerIsNotRunning(t *testing.T) {
	name := dockertest.Container(t, "true")
	if out, err := exec.Command("docker", "wait", name).CombinedOutput(); err != nil {
		t.Fatalf("docker wait: %v: %s", err, out)
	}
	_, err := client(t).Exec(context.Background(), name, "true")
	if !errors.Is(err, dockerapi.ErrNotRunning) {
		t.Errorf("got %v, want not running", err)
	}
}

func TestHealth_IsTheRunStateWithoutAHealthCheck(t *testing.T) {
	name := dockertest.Container(t, "sleep 300")
	got, err := client(t).Health(context.Background(), name)
	if err != nil || got != "running" {
		t.Errorf("got %q, %v; want running", got, err)
	}
}

func TestLogs_TailsAndKeepsEachStreamsOrderWithTimes(t *testing.T) {
	name := dockertest.Container(t, "for i in $(seq 1 50); do echo line $i; done; echo to-stderr >&2")
	// Once the container has exited, the daemon has stored all of its output.
	if out, err := exec.Command("docker", "wait", name).CombinedOutput(); err != nil {
		t.Fatalf("docker wait: %v: %s", err, out)
	}
	c := client(t)
	last, err := c.Logs(context.Background(), name, 3)
	if err != nil || len(last) != 3 {
		t.Fatalf("tail 3: %+v, %v", last, err)
	}
	// The daemon copies stdout and stderr concurrently: the stderr line may be
	// stored before the last stdout lines, but each stream keeps its order.
	all, err := c.Logs(context.Background(), name, 100)
	if err != nil {
		t.Fatal(err)
	}
	var stdout []string
	stderr := false
	for _, l := range all {
		if l.Time.IsZero() {
			t.Errorf("no time on %q", l.Text)
		}
		if l.Text == "to-stderr" {
			stderr = true
		} else {
			stdout = append(stdout, l.Text)
		}
	}
	if len(all) != 51 || !stderr || stdout[0] != "line 1" || stdout[49] != "line 50" {
		t.Errorf("got %d lines (stderr's: %v), stdout from %q to %q", len(all), stderr, stdout[0], stdout[len(stdout)-1])
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
