package dockerapi

// The calls moodlectl's status and the install progress of up make: run a
// command in a container, read its health, read or follow its log.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// LogLine is one line of a container's output, with the time Docker received it.
type LogLine struct {
	Time time.Time
	Text string
}

// Exec runs cmd in container and returns its standard output. A non-zero exit is
// an error carrying the command's standard error.
func (c *Client) Exec(ctx context.Context, container string, cmd ...string) (string, error) {
	var stdout bytes.Buffer
	err := c.ExecTo(ctx, &stdout, container, cmd...)
	return stdout.String(), err
}

// ExecTo runs cmd in container with its standard output copied to stdout as it
// comes (a database dump, an archive). A non-zero exit is an error carrying the
// command's standard error. It runs as `docker exec` does (docker/cli v28.5.1,
// cli/command/container/exec.go and hijack.go): create, attach (which starts it),
// demultiplex the stream with stdcopy, then read the exit code.
func (c *Client) ExecTo(ctx context.Context, stdout io.Writer, name string, cmd ...string) error {
	created, err := c.api.ContainerExecCreate(ctx, name, container.ExecOptions{AttachStdout: true, AttachStderr: true, Cmd: cmd})
	if err != nil {
		return c.engineErr(err)
	}
	resp, err := c.api.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return c.engineErr(err)
	}
	var stderr bytes.Buffer
	_, err = stdcopy.StdCopy(stdout, &stderr, resp.Reader)
	resp.Close()
	if err != nil {
		return fmt.Errorf("docker exec in %s: %w", name, err)
	}
	inspect, err := c.api.ContainerExecInspect(ctx, created.ID)
	if err != nil {
		return c.engineErr(err)
	}
	if inspect.ExitCode != 0 {
		return &ExitError{Command: cmd[0], Container: name, Code: inspect.ExitCode, Stderr: strings.TrimSpace(stderr.String())}
	}
	return nil
}

// ExitError is a command that ran in a container and exited with a non-zero status.
type ExitError struct {
	Command, Container string
	Code               int
	Stderr             string
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("%s in %s exited %d: %s", e.Command, e.Container, e.Code, e.Stderr)
}

// Health is the container's health state (healthy, unhealthy, starting), or its
// run state (running, exited) when it has no health check.
func (c *Client) Health(ctx context.Context, container string) (string, error) {
	info, err := c.Inspect(ctx, container)
	return info.Health, err
}

// Logs returns the container's last tail lines.
func (c *Client) Logs(ctx context.Context, name string, tail int) ([]LogLine, error) {
	var lines []LogLine
	err := c.logs(ctx, name, container.LogsOptions{Tail: strconv.Itoa(tail)}, func(l LogLine) { lines = append(lines, l) })
	return lines, err
}

// Follow calls emit with every line the container writes from since on, until
// the container stops or ctx ends.
func (c *Client) Follow(ctx context.Context, name string, since time.Time, emit func(LogLine)) error {
	// In UTC, with its "Z": the client's timetypes.GetTimestamp reads a time
	// without a zone as the machine's local time.
	err := c.logs(ctx, name, container.LogsOptions{Follow: true, Since: since.UTC().Format(time.RFC3339Nano)}, emit)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// logs reads the container's log with each line's time. A container started with
// a TTY sends plain text, one without it stdout and stderr multiplexed; the
// container's config tells which, as `docker logs` asks it (docker/cli v28.5.1,
// cli/command/container/logs.go).
func (c *Client) logs(ctx context.Context, name string, opts container.LogsOptions, emit func(LogLine)) error {
	info, err := c.api.ContainerInspect(ctx, name)
	if err != nil {
		return c.engineErr(err)
	}
	opts.ShowStdout, opts.ShowStderr, opts.Timestamps = true, true, true
	body, err := c.api.ContainerLogs(ctx, name, opts)
	if err != nil {
		return c.engineErr(err)
	}
	defer body.Close()
	// Each stream is cut into lines of its own: a frame may hold several lines or
	// part of one.
	stdout, stderr := &lineWriter{emit: emit}, &lineWriter{emit: emit}
	if info.Config != nil && info.Config.Tty {
		_, err = io.Copy(stdout, body)
	} else {
		_, err = stdcopy.StdCopy(stdout, stderr, body)
	}
	stdout.flush()
	stderr.flush()
	return err
}

// lineWriter passes on each complete line written to it, parsed, and with flush
// what is left.
type lineWriter struct {
	pending []byte
	emit    func(LogLine)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.pending = append(w.pending, p...)
	for {
		i := bytes.IndexByte(w.pending, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.emit(parseLogLine(string(w.pending[:i])))
		w.pending = w.pending[i+1:]
	}
}

func (w *lineWriter) flush() {
	if len(w.pending) > 0 {
		w.emit(parseLogLine(string(w.pending)))
		w.pending = nil
	}
}

// parseLogLine splits Docker's "2026-12-01T09:58:03.122Z text" prefix.
func parseLogLine(s string) LogLine {
	ts, text, _ := strings.Cut(s, " ")
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return LogLine{Text: s}
	}
	return LogLine{Time: at, Text: strings.TrimRight(text, "\r")}
}
