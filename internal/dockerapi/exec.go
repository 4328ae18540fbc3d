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
// ErrNotFound.
func (c *Client) send(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("docker engine at %s: %w", c.host, err)
	}
	if resp.StatusCode < 300 {
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
	resp, err := c.send(ctx, http.MethodPost, "/containers/"+url.PathEscape(container)+"/exec",
		map[string]any{"AttachStdout": true, "AttachStderr": true, "Cmd": cmd})
	if err != nil {
		return "", err
	}
	var created struct {
		ID string `json:"Id"`
	}
	err = json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if err != nil {
		return "", fmt.Errorf("docker exec in %s: %w", container, err)
	}
	resp, err = c.send(ctx, http.MethodPost, "/exec/"+created.ID+"/start", map[string]any{"Detach": false, "Tty": false})
	if err != nil {
		return "", err
	}
	var stdout, stderr bytes.Buffer
	err = demux(bufio.NewReader(resp.Body), func(stream byte, line []byte) {
		if stream == 2 {
			stderr.Write(line)
		} else {
			stdout.Write(line)
		}
	})
	resp.Body.Close()
	if err != nil {
		return "", fmt.Errorf("docker exec in %s: %w", container, err)
	}
	resp, err = c.send(ctx, http.MethodGet, "/exec/"+created.ID+"/json", nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var inspect struct{ ExitCode int }
	if err := json.NewDecoder(resp.Body).Decode(&inspect); err != nil {
		return "", fmt.Errorf("docker exec in %s: %w", container, err)
	}
	if inspect.ExitCode != 0 {
		return stdout.String(), fmt.Errorf("%s in %s exited %d: %s", cmd[0], container, inspect.ExitCode, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Health is the container's health state (healthy, unhealthy, starting), or its
// run state (running, exited) when it has no health check.
func (c *Client) Health(ctx context.Context, container string) (string, error) {
	resp, err := c.send(ctx, http.MethodGet, "/containers/"+url.PathEscape(container)+"/json", nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var inspect struct {
		State struct {
			Status string
			Health *struct{ Status string }
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&inspect); err != nil {
		return "", fmt.Errorf("inspect %s: %w", container, err)
	}
	if inspect.State.Health != nil {
		return inspect.State.Health.Status, nil
	}
	return inspect.State.Status, nil
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

// demux reads Docker's multiplexed stream: frames of an 8-byte header (stream
// type, three zero bytes, big-endian length) and their payload. A frame may hold
// several lines or part of one; each complete line is passed on.
func demux(br *bufio.Reader, line func(stream byte, line []byte)) error {
	pending := map[byte][]byte{}
	var header [8]byte
	for {
		if _, err := io.ReadFull(br, header[:]); err != nil {
			for stream, rest := range pending {
				if len(rest) > 0 {
					line(stream, rest)
				}
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		size := binary.BigEndian.Uint32(header[4:])
		payload := make([]byte, size)
		if _, err := io.ReadFull(br, payload); err != nil {
			return err
		}
		buf := append(pending[header[0]], payload...)
		for {
			i := bytes.IndexByte(buf, '\n')
			if i < 0 {
				break
			}
			line(header[0], buf[:i+1])
			buf = buf[i+1:]
		}
		pending[header[0]] = buf
	}
}
