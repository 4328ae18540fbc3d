// Package loadgen is the stream of requests the real-program tiers send through a
// load balancer while they scale or break what is behind it. Every answer is
// recorded with when its request was sent, the app node that answered (the probe's
// X-Probe-Node header) and why it failed, so a test can count answers around an
// event. A load is bounded in requests and in time.
package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Result is one request's outcome.
type Result struct {
	// At is when the request was sent.
	At time.Time
	// Node is the app node that answered.
	Node string
	// Err is why the request failed: the transport's error, or a status other
	// than 200.
	Err error
}

// Load is a running stream of requests.
type Load struct {
	mu      sync.Mutex
	results []Result
	cancel  context.CancelFunc
	ended   chan struct{}
}

// Start sends GET url from clients at once until Stop, until maxRequests have been
// sent or until maxDuration has passed, whichever comes first. Each request may
// take timeout. A request cut short by the end of the load is not recorded: it
// says nothing about what answered it.
func Start(url string, clients int, maxRequests int64, maxDuration, timeout time.Duration) *Load {
	ctx, cancel := context.WithTimeout(context.Background(), maxDuration)
	l := &Load{cancel: cancel, ended: make(chan struct{})}
	var sent atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: timeout}
			for ctx.Err() == nil && sent.Add(1) <= maxRequests {
				if r, ok := one(ctx, client, url); ok {
					l.mu.Lock()
					l.results = append(l.results, r)
					l.mu.Unlock()
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(l.ended)
	}()
	return l
}

func one(ctx context.Context, client *http.Client, url string) (Result, bool) {
	r := Result{At: time.Now()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		r.Err = err
		return r, true
	}
	resp, err := client.Do(req)
	if err != nil {
		r.Err = err
		return r, ctx.Err() == nil
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	r.Node = resp.Header.Get("X-Probe-Node")
	if resp.StatusCode != http.StatusOK {
		r.Err = fmt.Errorf("%s", resp.Status)
	}
	return r, true
}

// Results are the answers so far.
func (l *Load) Results() []Result {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.results)
}

// Ended is closed once the load has sent its last request, by Stop or by one of
// its bounds.
func (l *Load) Ended() <-chan struct{} { return l.ended }

// Stop ends the load, waits for the requests in flight and returns every answer.
func (l *Load) Stop() []Result {
	l.cancel()
	<-l.ended
	return l.Results()
}

// Summary counts results: the answers, the failures (the first few of them
// described) and the answers by node.
type Summary struct {
	OK, Failed int
	Failures   []string
	ByNode     map[string]int
}

// Summarize counts rs.
func Summarize(rs []Result) Summary {
	s := Summary{ByNode: map[string]int{}}
	for _, r := range rs {
		if r.Err != nil {
			s.Failed++
			if len(s.Failures) < 20 {
				s.Failures = append(s.Failures, r.At.Format("15:04:05.000")+" "+r.Err.Error())
			}
			continue
		}
		s.OK++
		s.ByNode[r.Node]++
	}
	return s
}

func (s Summary) String() string {
	return fmt.Sprintf("%d answered 200, %d failed %v, by node %v", s.OK, s.Failed, s.Failures, s.ByNode)
}
