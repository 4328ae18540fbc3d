// Package installlog shows what the cron runner's install or upgrade step is doing
// while `moodlectl up` waits for it: on the Docker target it follows the cron
// container's log from the moment the engine starts creating it, on AWS the cron
// task's CloudWatch log stream after the update. Each line is printed with the
// time elapsed since the step began.
package installlog

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Printer writes the step's lines with the elapsed time.
type Printer struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

// NewPrinter prints to w, counting from start.
func NewPrinter(w io.Writer, start time.Time) *Printer { return &Printer{w: w, start: start} }

// Line prints one line the runner wrote at at.
func (p *Printer) Line(at time.Time, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	elapsed := at.Sub(p.start).Round(time.Second)
	if elapsed < 0 {
		elapsed = 0
	}
	fmt.Fprintf(p.w, "  install [%s] %s\n", elapsed, strings.TrimRight(text, "\r\n"))
}

// Outcome is what a line says about the step.
type Outcome int

// Outcomes of a line of the runner's log.
const (
	Running Outcome = iota
	Succeeded
	Failed
)

// Judge reads a line of the runner's log: the install/upgrade hook
// (docker/moodle-install-upgrade) and the runner (render's cron-runner) end the
// step with one of these.
func Judge(text string) Outcome {
	switch {
	case strings.HasSuffix(text, "moodle-install-upgrade: installed"),
		strings.HasSuffix(text, "moodle-install-upgrade: upgraded"),
		strings.HasSuffix(text, "moodle-install-upgrade: database is up to date"):
		return Succeeded
	case strings.Contains(text, "UPGRADE FAILED"),
		strings.Contains(text, "moodle-install-upgrade: giving up"),
		strings.Contains(text, "the install/upgrade hook failed"):
		return Failed
	}
	return Running
}
