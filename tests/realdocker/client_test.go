//go:build realdocker

package realdocker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// requestTimeout bounds one request through the load balancer: well under the
// FastCGI timeout, far above what the probe takes.
const requestTimeout = 10 * time.Second

// browser is one visitor: its own cookies (its Moodle session), no connection reuse
// across visitors.
type browser struct {
	t      *testing.T
	base   string
	client *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, base: base, client: &http.Client{Jar: jar, Timeout: requestTimeout}}
}

// reply is one response, read whole.
type reply struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path, body string) (reply, error) {
	req, err := http.NewRequest(method, b.base+path, strings.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: string(data)}, nil
}

// get fails the test unless path answers 200.
func (b *browser) get(path string) reply {
	b.t.Helper()
	r, err := b.do(http.MethodGet, path, "")
	if err != nil {
		b.t.Fatalf("GET %s: %v", path, err)
	}
	if r.status != http.StatusOK {
		b.t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	return r
}

// json decodes a probe answer.
func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("probe answer %q: %v", r.body, err)
	}
	return m
}

// nodesServing asks the probe for its node n times and counts the answers per node.
func nodesServing(t *testing.T, base string, n int) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for range n {
		seen[newBrowser(t, base).get("/probe.php?action=node").header.Get("X-Probe-Node")]++
	}
	return seen
}

// load is a bounded stream of requests through the load balancer from several
// visitors at once, counting every answer that is not a 200.
type load struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	failures   []string
	byNode     map[string]int64
	cancel     context.CancelFunc
	done       sync.WaitGroup
}

// startLoad runs visitors in parallel until stopped, maxRequests have been sent or
// maxDuration has passed, whichever comes first.
func startLoad(base, path string, visitors int, maxRequests int64, maxDuration time.Duration) *load {
	ctx, cancel := context.WithTimeout(context.Background(), maxDuration)
	l := &load{cancel: cancel, byNode: map[string]int64{}}
	var sent atomic.Int64
	client := &http.Client{Timeout: requestTimeout}
	for range visitors {
		l.done.Add(1)
		go func() {
			defer l.done.Done()
			for ctx.Err() == nil && sent.Add(1) <= maxRequests {
				l.one(ctx, client, base+path)
			}
		}()
	}
	return l
}

func (l *load) one(ctx context.Context, client *http.Client, url string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		l.fail(err.Error())
		return
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			l.fail(err.Error())
		}
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		l.fail(fmt.Sprintf("%s %d", time.Now().Format("15:04:05.000"), resp.StatusCode))
		return
	}
	l.ok.Add(1)
	l.mu.Lock()
	l.byNode[resp.Header.Get("X-Probe-Node")]++
	l.mu.Unlock()
}

func (l *load) fail(msg string) {
	l.failed.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.failures) < 20 {
		l.failures = append(l.failures, msg)
	}
}

// served is how many requests node has answered so far.
func (l *load) served(node string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byNode[node]
}

// stop ends the load and waits for the requests in flight.
func (l *load) stop() {
	l.cancel()
	l.done.Wait()
}

func (l *load) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("%d answered 200, %d failed %v, by node %v", l.ok.Load(), l.failed.Load(), l.failures, l.byNode)
}
