//go:build realdocker

package realdocker_test

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/moodle-cluster/moodle-pulumi/tests/harness/benchcfg"
	"github.com/moodle-cluster/moodle-pulumi/tests/harness/loadgen"
)

// benchStack keeps the benchmark's containers (moodle-bench-*) and its app image
// apart from the tier's tests and a developer's dev stack on the same engine.
const (
	benchStack = "bench"
	benchImage = "moodle-bench/app:5.1"
)

// BenchmarkLifecycle times, on the real Docker engine with the real plugins, the
// operations an operator waits on over one dev stack of small app nodes: up from
// nothing (the app image's layers already in the build cache) and the first 200
// through the load balancer, a preview and an up with nothing to change, scaling
// out by two nodes and back in under load, an edited build context rebuilt and
// rolled out, and destroy. Each is a metric in seconds; the log says where each
// operation's time went (see timeline). tests/bench/compare.sh runs one node count at a
// time, alternately on two commits.
func BenchmarkLifecycle(b *testing.B) {
	for _, nodes := range []int{3, 10, 25} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			benchcfg.SkipWhenListing(b)
			for range b.N {
				lifecycle(b, nodes)
			}
		})
	}
}

func lifecycle(b *testing.B, nodes int) {
	ctx := context.Background()
	d := newNamedDeployment(b, benchStack, "5.1")
	settings := benchcfg.SmallAppNodes(nodes)
	settings["moodle:images.app"] = benchImage
	d.set(settings)
	var tl timeline
	d.watch(tl.record)
	defer d.watch(nil)
	// timed runs op as the operation called name and reports its seconds.
	timed := func(name string, op func()) {
		tl.begin()
		op()
		b.ReportMetric(tl.end(b, name).Seconds(), name+"-s")
	}

	start := time.Now()
	timed("up", func() { d.up(ctx) })
	waitFor(b, "the first 200 through the load balancer", time.Minute, func() bool {
		resp, err := http.Get(d.url() + "/probe.php?action=node")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	b.ReportMetric(time.Since(start).Seconds(), "first200-s")

	timed("preview", func() {
		if got := d.changes(); len(got) > 0 {
			b.Logf("a preview right after up plans %v", got)
		}
	})
	timed("up-nochange", func() { d.up(ctx) })

	l := loadgen.Start(d.url()+"/probe.php?action=node", 4, 1_000_000, 20*time.Minute, requestTimeout)
	d.set(map[string]any{"moodle:app.replicas": nodes + 2})
	timed("scale-out", func() { d.up(ctx) })
	d.set(map[string]any{"moodle:app.replicas": nodes})
	timed("scale-in", func() { d.up(ctx) })
	load := loadgen.Summarize(l.Stop())
	b.Logf("load across the scaling: %s", load)
	b.ReportMetric(float64(load.Failed), "scale-failed-requests")

	entrypoint := filepath.Join(d.spec().Moodle.Build.Context, "entrypoint.sh")
	raw, err := os.ReadFile(entrypoint)
	if err != nil {
		b.Fatal(err)
	}
	stamp := fmt.Sprintf("# edited by the benchmark at %s\n", time.Now().Format(time.RFC3339Nano))
	if err := os.WriteFile(entrypoint, append(raw, stamp...), 0o755); err != nil {
		b.Fatal(err)
	}
	timed("rebuild", func() { d.up(ctx) })

	timed("destroy", func() {
		if _, err := d.stack.Destroy(ctx); err != nil {
			b.Fatalf("destroy: %v", err)
		}
	})
}

// timeline records when each resource step of an operation began and ended, as
// the engine's events arrive, to say where the operation's time went: before the
// first step (the program and the engine starting, the plugins loading), in the
// steps (the provider's work: image builds, container starts and their health
// checks' start periods), and after the last (the engine saving the state).
type timeline struct {
	mu           sync.Mutex
	start        time.Time
	first        time.Time
	last         time.Time
	begun, ended map[string]time.Time
	ops          map[string]apitype.OpType
}

func (tl *timeline) begin() {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.start, tl.first, tl.last = time.Now(), time.Time{}, time.Time{}
	tl.begun, tl.ended, tl.ops = map[string]time.Time{}, map[string]time.Time{}, map[string]apitype.OpType{}
}

func (tl *timeline) record(e events.EngineEvent) {
	now := time.Now()
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if tl.begun == nil {
		return
	}
	switch {
	case e.ResourcePreEvent != nil:
		m := e.ResourcePreEvent.Metadata
		// A component's step spans its children's: only a provider's work counts.
		if m.Op == apitype.OpSame || m.Op == apitype.OpRead || m.Provider == "" {
			return
		}
		tl.begun[m.URN], tl.ops[m.URN] = now, m.Op
		if tl.first.IsZero() {
			tl.first = now
		}
	case e.ResOutputsEvent != nil:
		tl.finish(e.ResOutputsEvent.Metadata.URN, now)
	case e.ResOpFailedEvent != nil:
		tl.finish(e.ResOpFailedEvent.Metadata.URN, now)
	}
}

func (tl *timeline) finish(urn string, now time.Time) {
	if _, ok := tl.begun[urn]; ok {
		tl.ended[urn] = now
		tl.last = now
	}
}

// end logs where the operation's time went and returns its wall time.
func (tl *timeline) end(b *testing.B, name string) time.Duration {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	wall := time.Since(tl.start)
	if tl.first.IsZero() {
		b.Logf("timeline %s: %s, no resource step", name, wall.Round(10*time.Millisecond))
		tl.begun = nil
		return wall
	}
	type span struct {
		name string
		d    time.Duration
	}
	var spans []span
	for urn, began := range tl.begun {
		if ended, ok := tl.ended[urn]; ok {
			spans = append(spans, span{fmt.Sprintf("%s %s", tl.ops[urn], urn[strings.LastIndex(urn, "::")+2:]), ended.Sub(began)})
		}
	}
	slices.SortFunc(spans, func(a, c span) int { return cmp.Compare(c.d, a.d) })
	var slowest []string
	for _, s := range spans[:min(len(spans), 6)] {
		slowest = append(slowest, fmt.Sprintf("%s %s", s.name, s.d.Round(10*time.Millisecond)))
	}
	r := func(d time.Duration) time.Duration { return d.Round(10 * time.Millisecond) }
	b.Logf("timeline %s: %s = %s before the first step + %s of %d steps + %s after the last; slowest: %s",
		name, r(wall), r(tl.first.Sub(tl.start)), r(tl.last.Sub(tl.first)), len(tl.begun), r(time.Since(tl.last)),
		strings.Join(slowest, ", "))
	tl.begun = nil
	return wall
}
