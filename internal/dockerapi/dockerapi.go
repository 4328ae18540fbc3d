// Package dockerapi is the little of the Docker Engine API that moodlectl needs:
// run a command in a container, read its health, and read or follow its log. It
// speaks HTTP over the daemon's socket with the standard library, so that no
// Docker SDK (and its dependency tree) is linked for four calls.
package dockerapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// apiVersion is the oldest API the commands need: Debian 12's docker.io (20.10)
// speaks 1.41, and newer engines still accept it.
const apiVersion = "v1.41"

// Client talks to one Docker daemon.
type Client struct {
	http *http.Client
	base string
}

// LogLine is one line of a container's output, with the time Docker received it.
type LogLine struct {
	Time time.Time
	Text string
}

// New connects to host: a unix:// socket or a tcp:// address; "" means
// DOCKER_HOST, else the default socket.
func New(host string) (*Client, error) {
	if host == "" {
		host = os.Getenv("DOCKER_HOST")
	}
	if host == "" {
		host = "unix:///var/run/docker.sock"
	}
	u, err := url.Parse(host)
	if err != nil {
		return nil, fmt.Errorf("docker host %q: %w", host, err)
	}
	switch u.Scheme {
	case "unix":
		socket := u.Path
		tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}}
		return &Client{http: &http.Client{Transport: tr}, base: "http://docker/" + apiVersion}, nil
	case "tcp", "http":
		return &Client{http: &http.Client{}, base: "http://" + u.Host + "/" + apiVersion}, nil
	}
	return nil, fmt.Errorf("docker host %q: only unix:// and tcp:// are supported", host)
}

// do sends a request and fails on an error status with the daemon's message.
func (c *Client) do(ctx context.Context, method, path string, body any) (*http.Response, error) {
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
		return nil, fmt.Errorf("docker %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		var msg struct{ Message string }
		raw, _ := io.ReadAll(resp.Body)
		if json.Unmarshal(raw, &msg) != nil || msg.Message == "" {
			msg.Message = strings.TrimSpace(string(raw))
		}
		return nil, &Error{Status: resp.StatusCode, Message: msg.Message}
	}
	return resp, nil
}

// Error is the daemon's answer to a failed call.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("docker: %s (HTTP %d)", e.Message, e.Status) }

// IsNotFound reports a missing container.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// Exec runs cmd in container and returns its standard output. A non-zero exit is
// an error carrying the command's standard error.
func (c *Client) Exec(ctx context.Context, container string, cmd ...string) (string, error) {
	resp, err := c.do(ctx, http.MethodPost, "/containers/"+url.PathEscape(container)+"/exec",
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
	resp, err = c.do(ctx, http.MethodPost, "/exec/"+created.ID+"/start", map[string]any{"Detach": false, "Tty": false})
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
	resp, err = c.do(ctx, http.MethodGet, "/exec/"+created.ID+"/json", nil)
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
	resp, err := c.do(ctx, http.MethodGet, "/containers/"+url.PathEscape(container)+"/json", nil)
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
	resp, err := c.do(ctx, http.MethodGet, "/containers/"+url.PathEscape(container)+"/logs?"+q.Encode(), nil)
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
