package main

import (
	"context"
	"strings"
	"testing"
)

// The tools ask the engine the stack file's docker:* keys name, as the program's
// preflight and the Docker provider do, not the environment's.
func TestDevDocker_AsksTheEngineTheStackDeploysTo(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	t.Setenv("DOCKER_CONTEXT", "")
	docker, err := devDocker(map[string]string{"moodle:target": "docker", "docker:host": "tcp://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = docker.Inspect(context.Background(), "moodle-dev-cron")
	if err == nil || !strings.Contains(err.Error(), "tcp://127.0.0.1:1") {
		t.Errorf("got %v, want the stack's docker:host asked", err)
	}
	if _, err := devDocker(map[string]string{"docker:sshOpts": "-oPort=2222"}); err == nil || !strings.Contains(err.Error(), "docker:sshOpts") {
		t.Errorf("got %v, want the bad docker:sshOpts named", err)
	}
}
