package dockerapi

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
)

// A log's stream comes in frames that may hold several lines or part of one; each
// line is passed on whole, with its time, and what is left at the end too.
func TestLineWriter_PassesWholeLinesAcrossWrites(t *testing.T) {
	var got []LogLine
	w := &lineWriter{emit: func(l LogLine) { got = append(got, l) }}
	for _, chunk := range []string{"2026-12-01T09:58:03.122Z one\n2026-12-01T09:58:0", "4Z two\r\n", "no time\n2026-12-01T09:58:05Z last"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	w.flush()
	want := []LogLine{
		{time.Date(2026, 12, 1, 9, 58, 3, 122e6, time.UTC), "one"},
		{time.Date(2026, 12, 1, 9, 58, 4, 0, time.UTC), "two"},
		{Text: "no time"},
		{time.Date(2026, 12, 1, 9, 58, 5, 0, time.UTC), "last"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

func TestEngineErr_TellsAMissingContainerFromAStoppedOne(t *testing.T) {
	c := &Client{name: "unix:///var/run/docker.sock"}
	missing := c.engineErr(cerrdefs.ErrNotFound.WithMessage("No such container: moodle-dev-db"))
	stopped := c.engineErr(cerrdefs.ErrConflict.WithMessage("container 3f2a is not running"))
	other := c.engineErr(errors.New("connection refused"))
	if !errors.Is(missing, ErrNotFound) || !errors.Is(stopped, ErrNotRunning) || errors.Is(other, ErrNotFound) || errors.Is(other, ErrNotRunning) {
		t.Errorf("got %v; %v; %v", missing, stopped, other)
	}
	if !strings.Contains(other.Error(), "docker engine at unix:///var/run/docker.sock") {
		t.Errorf("got %v, want the engine named", other)
	}
}
