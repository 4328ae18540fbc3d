package automation

import (
	"errors"
	"strings"
	"testing"
)

func TestHint_SaysWhatToDoForTheFailure(t *testing.T) {
	cases := []struct {
		name, step, first, want string
	}{
		{"the preflight refused the stack's settings", "preview",
			`the Docker host unix:///var/run/docker.sock cannot run this stack: moodle:images.database = "postgres:16.6-bookworm": not on the Docker host`,
			"change the settings named above, or load the images they name"},
		{"the engine is not running", "up",
			"Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
			"start the Docker engine (or set DOCKER_HOST), then run moodlectl up --stack dev"},
		{"the wrong passphrase", "preview", "incorrect passphrase", "give the passphrase the stack was created with"},
		{"a resource failed", "up", "docker:index:Container moodle-dev-db: error",
			"the log above shows the failing resource; fix the cause and run moodlectl up --stack dev again"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := hint("dev", c.step, c.first, errors.New(c.first)); !strings.HasPrefix(got, c.want) {
				t.Errorf("hint = %q, want it to start with %q", got, c.want)
			}
		})
	}
}
