package dockerapi

// The calls moodlectl's status and the install progress of up make: run a
// command in a container, read its health, read or follow its log.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// LogLine is one line of a container's output, with the time Docker received it.
type LogLine struct {
	Time time.Time
	Text string
}

// send sends a request whose answer may stream for long (a log being followed,
// a command's output), so it has no timeout of its own; a missing container is
// ErrNotFound. body, when not nil, is sent as JSON.
func (c *Client) send(ctx context.Context, method, path string, body any) (*http.Response, error) {
	if body == nil {
		return c.sendRaw(ctx, method, path, "", nil)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	return c.sendRaw(ctx, method, path, "application/json", bytes.NewReader(b))
}

// sendRaw is send with a body of contentType read from body (a tar archive).
func (c *Client) sendRaw(ctx context.Context, method, path, contentType string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("docker engine at %s: %w", c.host, err)
	}
	// 304: the container already is in the state asked for (started, stopped).
	if resp.StatusCode < 300 || resp.StatusCode == http.StatusNotModified {
		return resp, nil
	}
	defer resp.Body.Close()
	var msg struct {
		Message string `json:"message"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if json.Unmarshal(raw, &msg) != nil || msg.Message == "" {
		msg.Message = strings.TrimSpace(string(raw))
	}
	if resp.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("%s: %w", msg.Message, ErrNotFound)
	}
	// The engine refuses to exec in a container that is not running with 409 and
	// "container <id> is not running" (moby daemon/exec.go, getActiveContainer;
	// daemon/errors.go, errNotRunning, a conflict; docker/docker v28.5.1).
	if resp.StatusCode == http.StatusConflict && strings.Contains(msg.Message, "is not running") {
		return nil, fmt.Errorf("%s: %w", msg.Message, ErrNotRunning)
	}
	return nil, fmt.Errorf("docker engine at %s: %s: %s", c.host, resp.Status, msg.Message)
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
// command's standard error.
func (c *Client) ExecTo(ctx context.Context, stdout io.Writer, container string, cmd ...string) error {
	resp, err := c.send(ctx, http.MethodPost, "/containers/"+url.PathEscape(container)+"/exec",
		map[string]any{"AttachStdout": true, "AttachStderr": true, "Cmd": cmd})
	if err != nil {
		return err
	}
	var created struct {
		ID string `json:"Id"`
	}
	err = json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("docker exec in %s: %w", container, err)
	}
	resp, err = c.send(ctx, http.MethodPost, "/exec/"+created.ID+"/start", map[string]any{"Detach": false, "Tty": false})
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	err = frames(bufio.NewReader(resp.Body), func(stream byte, payload []byte) error {
		if stream == 2 {
			_, err := stderr.Write(payload)
			return err
		}
		_, err := stdout.Write(payload)
		return err
	})
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("docker exec in %s: %w", container, err)
	}
	resp, err = c.send(ctx, http.MethodGet, "/exec/"+created.ID+"/json", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var inspect struct{ ExitCode int }
	if err := json.NewDecoder(resp.Body).Decode(&inspect); err != nil {
		return fmt.Errorf("docker exec in %s: %w", container, err)
	}
	if inspect.ExitCode != 0 {
		return &ExitError{Command: cmd[0], Container: container, Code: inspect.ExitCode, Stderr: strings.TrimSpace(stderr.String())}
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
func (c *Client) Logs(ctx context.Context, container string, tail int) ([]LogLine, error) {
	var lines []LogLine
	err := c.logs(ctx, container, url.Values{"tail": {strconv.Itoa(tail)}}, func(l LogLine) { lines = append(lines, l) })
	return lines, err
}

// Follow calls emit with every line the container writes from since on, until
// the container stops or ctx ends.
func (c *Client) Follow(ctx context.Context, container string, since time.Time, emit func(LogLine)) error {
	q := url.Values{"follow": {"1"}, "since": {strconv.FormatFloat(float64(since.UnixNano())/1e9, 'f', 9, 64)}}
	err := c.logs(ctx, container, q, emit)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (c *Client) logs(ctx context.Context, container string, q url.Values, emit func(LogLine)) error {
	q.Set("stdout", "1")
	q.Set("stderr", "1")
	q.Set("timestamps", "1")
	resp, err := c.send(ctx, http.MethodGet, "/containers/"+url.PathEscape(container)+"/logs?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// A container started with a TTY sends plain text, one without Docker's
	// multiplexed frames; API 1.41 labels both raw-stream, so look at the bytes.
	br := bufio.NewReader(resp.Body)
	if multiplexed(br) {
		return demux(br, func(_ byte, line []byte) { emit(parseLogLine(strings.TrimRight(string(line), "\n"))) })
	}
	sc := bufio.NewScanner(br)
	for sc.Scan() {
		emit(parseLogLine(sc.Text()))
	}
	return sc.Err()
}

// multiplexed reports whether the stream starts with a frame header: a stream
// type of 0, 1 or 2 and three zero bytes, which no text line starts with.
func multiplexed(br *bufio.Reader) bool {
	h, err := br.Peek(4)
	return err == nil && h[0] <= 2 && h[1] == 0 && h[2] == 0 && h[3] == 0
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

// frames reads Docker's multiplexed stream: frames of an 8-byte header (stream
// type, three zero bytes, big-endian length) and their payload, each passed on as
// it comes.
func frames(br *bufio.Reader, frame func(stream byte, payload []byte) error) error {
	var header [8]byte
	for {
		if _, err := io.ReadFull(br, header[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		payload := make([]byte, binary.BigEndian.Uint32(header[4:]))
		if _, err := io.ReadFull(br, payload); err != nil {
			return err
		}
		if err := frame(header[0], payload); err != nil {
			return err
		}
	}
}

// demux reads the multiplexed stream as lines: a frame may hold several lines or
// part of one; each complete line is passed on, and what is left at the end.
func demux(br *bufio.Reader, line func(stream byte, line []byte)) error {
	pending := map[byte][]byte{}
	err := frames(br, func(stream byte, payload []byte) error {
		buf := append(pending[stream], payload...)
		for {
			i := bytes.IndexByte(buf, '\n')
			if i < 0 {
				break
			}
			line(stream, buf[:i+1])
			buf = buf[i+1:]
		}
		pending[stream] = buf
		return nil
	})
	for stream, rest := range pending {
		if len(rest) > 0 {
			line(stream, rest)
		}
	}
	return err
}
