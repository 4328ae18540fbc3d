//go:build realdocker

package realdocker_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
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
