//go:build integration

// Command bench measures the rendered topology on loopback with wrk:
//
//  1. the load balancer (the dev stack's rendered nginx, least_conn over its php-fpm
//     pools) against a direct baseline: a bare nginx that passes each request
//     straight to one pool, one wrk thread per pool, so both runs use the same pools,
//     the same wrk threads and connections and the same page;
//  2. a dataroot file downloaded through the load balancer three ways: handed to
//     nginx with X-Accel-Redirect, relayed by PHP, and redirected to a presigned
//     URL (S3 mode with tool_objectfs);
//  3. one pool sized for a memory limit (topology Sizing), saturated with requests that
//     each make a worker as large as a heavy Moodle request does, against that limit:
//     the peak sum of the pool's RSS and PSS (RSS counts shared pages, OPcache and
//     libraries, once per process; PSS splits them, which is closer to what a cgroup
//     charges). The run fails when the pool's PSS, with the OPcache segment counted
//     full, exceeds the limit.
//
// Run it with tests/bench/run.sh (make bench); the flags are listed by -help.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/tests/bench/stats"
	"github.com/moodle-cluster/moodle-pulumi/tests/harness/loopback"
)

func main() {
	duration := flag.Duration("duration", 10*time.Second, "length of each wrk run")
	connections := flag.Int("connections", 24, "wrk connections (a multiple of the node count)")
	rounds := flag.Int("rounds", 3, "alternating rounds of the load balancer and direct runs")
	memoryMB := flag.Int("memory", 1024, "memory limit of the saturated app node, MB")
	workerMB := flag.Int("worker-rss", moodleWorkerRSSMB, "RSS one worker reaches serving a heavy Moodle request, MB")
	saturation := flag.Duration("saturation", 30*time.Second,
		"length of the saturated pool's run (each of its requests faults in its memory: slow on a busy machine)")
	flag.Parse()
	log.SetFlags(0)

	r := &run{}
	started := time.Now()
	results := benchmark(r, *duration, *connections, max(1, *rounds), *memoryMB, *workerMB, *saturation)
	r.close()
	fmt.Print(results)
	log.Printf("bench wall time %s", time.Since(started).Round(time.Second))
	if r.failed {
		os.Exit(1)
	}
}

// run gives the harness what a test would: cleanups, errors and fatal errors.
type run struct {
	cleanups []func()
	failed   bool
}

func (r *run) Helper()                 {}
func (r *run) Cleanup(f func())        { r.cleanups = append(r.cleanups, f) }
func (r *run) Logf(f string, a ...any) { log.Printf(f, a...) }
func (r *run) Errorf(f string, a ...any) {
	log.Printf(f, a...)
	r.failed = true
}
func (r *run) Fatalf(f string, a ...any) {
	r.Errorf(f, a...)
	r.close()
	os.Exit(1)
}

// close runs the cleanups, last registered first, once.
func (r *run) close() {
	cleanups := r.cleanups
	r.cleanups = nil
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
}

// wrkScript points each wrk thread at its own address (DIRECT_PORTS, one per thread)
// when set, and prints the totals and percentiles in one parseable line.
const wrkScript = `
local ports, n = {}, 0
for p in string.gmatch(os.getenv("DIRECT_PORTS") or "", "%d+") do ports[#ports + 1] = p end
function setup(thread)
  if #ports > 0 then
    thread.addr = wrk.lookup("127.0.0.1", ports[n % #ports + 1])[1]
    n = n + 1
  end
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.connect, e.read, e.write, e.timeout, e.status))
end
`

type wrkResult struct {
	requests int
	rps      float64
	p50, p99 time.Duration
	// errors by kind: connect, read, write, timeout, non-2xx status
	errors [5]int
}

func (w wrkResult) errorCount() int {
	n := 0
	for _, e := range w.errors {
		n += e
	}
	return n
}

// errorSummary names the kinds of errors wrk saw, e.g. "3 (read 2, status 1)".
func (w wrkResult) errorSummary() string {
	var kinds []string
	for i, name := range []string{"connect", "read", "write", "timeout", "status"} {
		if w.errors[i] > 0 {
			kinds = append(kinds, fmt.Sprintf("%s %d", name, w.errors[i]))
		}
	}
	if len(kinds) == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%s)", w.errorCount(), strings.Join(kinds, ", "))
}

// failed is an error when wrk saw a socket error (connect, read, write, timeout) or
// an answer of 400 or more: a rate measured over failing requests measures the
// failure.
func (w wrkResult) failed() error {
	if w.errorCount() == 0 {
		return nil
	}
	return fmt.Errorf("%s of %d requests failed", w.errorSummary(), w.requests)
}

// runWrk measures url and stops the run when any request failed.
func runWrk(r *run, dir, url string, threads, connections int, duration time.Duration, env ...string) wrkResult {
	out, err := wrk(r, dir, url, threads, connections, duration, env...)
	if err != nil {
		r.Fatalf("wrk %s: %v\n%s", url, err, out)
	}
	res, ok := parseWrk(out)
	if !ok {
		r.Fatalf("no requests measured by wrk:\n%s", out)
	}
	if err := res.failed(); err != nil {
		r.Fatalf("wrk %s: %v", url, err)
	}
	return res
}

// parseWrk reads the reporting script's line; ok is false when no request completed.
func parseWrk(out string) (wrkResult, bool) {
	for _, line := range strings.Split(out, "\n") {
		var res wrkResult
		var durationUS, p50, p99 int64
		e := &res.errors
		if _, err := fmt.Sscanf(line, "RESULT %d %d %d %d %d %d %d %d %d", &res.requests, &durationUS, &p50, &p99,
			&e[0], &e[1], &e[2], &e[3], &e[4]); err == nil && res.requests > 0 {
			res.rps = float64(res.requests) / (float64(durationUS) / 1e6)
			res.p50, res.p99 = time.Duration(p50)*time.Microsecond, time.Duration(p99)*time.Microsecond
			return res, true
		}
	}
	return wrkResult{}, false
}

// warm runs wrk for the warm-up and keeps nothing of it: wrk counts only the
// requests that completed, and slow ones may all still be in flight when it ends.
func warm(r *run, dir, url string, threads, connections int, env ...string) {
	if out, err := wrk(r, dir, url, threads, connections, warmup, env...); err != nil {
		r.Fatalf("wrk %s: %v\n%s", url, err, out)
	}
}

// wrk runs wrk with the reporting script and returns its output.
func wrk(r *run, dir, url string, threads, connections int, duration time.Duration, env ...string) (string, error) {
	script := filepath.Join(dir, "report.lua")
	if err := os.WriteFile(script, []byte(wrkScript), 0o644); err != nil {
		r.Fatalf("write wrk script: %v", err)
	}
	// A request queued behind a full pool is slow, not failed: wrk's 2 s default
	// timeout would count it as an error.
	cmd := exec.Command("wrk", "-t", strconv.Itoa(threads), "-c", strconv.Itoa(connections),
		"-d", duration.String(), "--timeout", "30s", "-s", script, url)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// directSite is the baseline's nginx: per pool a server that passes every request
// straight to it, with nothing of the rendered configuration in between and, like
// the load balancer, a new FastCGI connection per request.
func directSite(public string, ports []int, pools []render.HostPort) string {
	var b strings.Builder
	for i, p := range pools {
		fmt.Fprintf(&b, `upstream direct_%d {
    server %s;
}
server {
    listen 127.0.0.1:%d;
    location / {
        include fastcgi_params;
        fastcgi_param SCRIPT_FILENAME %s$fastcgi_script_name;
        fastcgi_pass direct_%d;
    }
}
`, i, p, ports[i], public, i)
	}
	return b.String()
}

// warmup precedes every measured run.
const warmup = 3 * time.Second

// median is the median of each metric over the rounds, taken metric by metric: the
// round with the median requests/s need not have the median latencies.
func median(results []wrkResult) wrkResult {
	of := func(metric func(wrkResult) float64) float64 {
		values := make([]float64, len(results))
		for i, r := range results {
			values[i] = metric(r)
		}
		return stats.Median(values)
	}
	return wrkResult{
		rps: of(func(r wrkResult) float64 { return r.rps }),
		p50: time.Duration(of(func(r wrkResult) float64 { return float64(r.p50) })),
		p99: time.Duration(of(func(r wrkResult) float64 { return float64(r.p99) })),
	}
}

func benchmark(r *run, duration time.Duration, connections, rounds, memoryMB, workerMB int, saturation time.Duration) string {
	var out strings.Builder
	fmt.Fprintf(&out, "## Load balancer against direct FastCGI\n\n")
	c := loopback.StartCluster(r)
	c.MarkInstalled()
	pools := make([]render.HostPort, len(c.Nodes))
	ports := make([]int, len(c.Nodes))
	var portList []string
	for i, n := range c.Nodes {
		pools[i], ports[i] = n.Addr, loopback.FreePort(r)
		portList = append(portList, strconv.Itoa(ports[i]))
	}
	loopback.ExpectPortsClosed(r, ports...)
	loopback.StartNginx(r, filepath.Join(c.Root, "direct"), "nginx-direct",
		directSite(c.Spec.WebRoot(), ports, pools), ports[len(ports)-1], c.As)

	const page = "/probe.php?action=node"
	threads := len(c.Nodes)
	// Each path is warmed before it is measured: OPcache, and the dynamic pools
	// spawning the workers the load needs (they start with pm.start_servers).
	measure := func(url string, env ...string) wrkResult {
		warm(r, c.Root, url, threads, connections, env...)
		return runWrk(r, c.Root, url, threads, connections, duration, env...)
	}
	// The paths alternate, round after round, so that a noisy neighbour on a shared
	// machine hits both alike; the ratio is taken between the median rounds.
	var lb, direct []wrkResult
	for range rounds {
		lb = append(lb, measure(c.URL+page))
		direct = append(direct, measure("http://127.0.0.1:"+portList[0]+page, "DIRECT_PORTS="+strings.Join(portList, ",")))
	}
	fmt.Fprintf(&out, "page %s, %d pools of at most %d workers, wrk -t%d -c%d -d%s after a %s warm-up, "+
		"%d alternating rounds\n\n", page, len(c.Nodes), c.Spec.App.Sizing().MaxChildren, threads, connections,
		duration, warmup, rounds)
	fmt.Fprintf(&out, "| path | round | requests/s | p50 | p99 | errors |\n|---|---|---|---|---|---|\n")
	for _, path := range []struct {
		name    string
		results []wrkResult
	}{{"load balancer (rendered nginx)", lb}, {"direct (bare nginx per pool)", direct}} {
		for i, res := range path.results {
			fmt.Fprintf(&out, "| %s | %d | %.0f | %s | %s | %s of %d |\n", path.name, i+1, res.rps, res.p50, res.p99,
				res.errorSummary(), res.requests)
		}
	}
	mlb, mdirect := median(lb), median(direct)
	fmt.Fprintf(&out, "\nMedians over the rounds, each metric on its own, LB/direct: requests/s %.0f/%.0f = %.2f; "+
		"p50 %s/%s; p99 %s/%s = %.2f\n\n",
		mlb.rps, mdirect.rps, mlb.rps/mdirect.rps, mlb.p50.Round(time.Microsecond), mdirect.p50.Round(time.Microsecond),
		mlb.p99.Round(time.Microsecond), mdirect.p99.Round(time.Microsecond), float64(mlb.p99)/float64(mdirect.p99))

	out.WriteString(downloads(r, c, duration, connections))
	out.WriteString(saturate(r, c, saturation, memoryMB, workerMB))
	return out.String()
}

// downloadSize is the file the download runs fetch: a typical course PDF or slide
// deck.
const downloadSize = 4 << 20

// downloads fetches one dataroot file through the load balancer the three ways a
// Moodle file can leave the site: X-Accel-Redirect (EFS mode: PHP sends a header,
// nginx the body), relayed by PHP (S3 mode without presigned URLs: objectfs reads
// the object and PHP writes every byte; here from local disk, so the cost measured
// is a lower bound of relaying from S3), and a redirect to a presigned URL (S3 mode
// as configured: PHP signs a URL and answers 302; the body comes from S3, which this
// loopback run does not fetch, so only the site's share is measured).
func downloads(r *run, c *loopback.Cluster, duration time.Duration, connections int) string {
	path := filepath.Join(c.Spec.Paths.DataRoot, "probe", "download.bin")
	data := make([]byte, downloadSize)
	for i := range data {
		data[i] = byte(i * 13)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		r.Fatalf("create %s: %v", filepath.Dir(path), err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		r.Fatalf("write %s: %v", path, err)
	}
	c.As.Own(r, filepath.Dir(path))

	var out strings.Builder
	fmt.Fprintf(&out, "## Downloads: X-Accel-Redirect, relayed by PHP, presigned redirect\n\n"+
		"one %d MB dataroot file through the load balancer, wrk -t%d -c%d -d%s after a %s warm-up\n\n",
		downloadSize>>20, len(c.Nodes), connections, duration, warmup)
	fmt.Fprintf(&out, "| how the body leaves | requests/s | p50 | p99 | MB/s through the site | errors |\n|---|---|---|---|---|---|\n")
	for _, mode := range []struct {
		name, action string
		// body is whether the site sends the file (not a redirect).
		body bool
	}{
		{"X-Accel-Redirect (nginx reads the file)", "file-send", true},
		{"relayed by PHP (objectfs without presigned URLs)", "file-read", true},
		{"302 to a presigned URL (objectfs as configured)", "file-redirect", false},
	} {
		url := c.URL + "/probe.php?action=" + mode.action + "&name=download.bin"
		runWrk(r, c.Root, url, len(c.Nodes), connections, warmup)
		res := runWrk(r, c.Root, url, len(c.Nodes), connections, duration)
		mbps := 0.0
		if mode.body {
			mbps = res.rps * downloadSize / (1 << 20)
		}
		fmt.Fprintf(&out, "| %s | %.0f | %s | %s | %.0f | %s of %d |\n", mode.name, res.rps, res.p50, res.p99, mbps,
			res.errorSummary(), res.requests)
	}
	out.WriteString("\n")
	return out.String()
}

// moodleWorkerRSSMB is how large a worker grows serving a heavy Moodle request:
// measured Moodle processes averaged 50 MB and reached 100 MB of RSS, PHP runtime
// included (Frédéric Nevers, "Optimizing a Moodle server, step 1: fine-tune Apache",
// 2014). Moodle itself lets a standard page use up to 128 MB of PHP heap on 64-bit
// (raise_memory_limit(MEMORY_STANDARD), lib/setuplib.php).
const moodleWorkerRSSMB = 100

// saturate runs one more pool, sized for memoryMB, behind its own bare nginx and
// keeps twice as many requests in flight as it has workers. Each request holds, for
// holdMS, what brings its worker from the probe page's own RSS to workerMB, while
// /proc is sampled. The limit must hold for every worker at its peak at once, which
// the scheduler of a busy machine may never line up: the worst case is the sum of
// each process's own peak. The probe's code fills almost none of the OPcache
// segment, which Moodle's code fills, so the segment is counted full on top; the
// run fails when that exceeds the limit.
func saturate(r *run, c *loopback.Cluster, duration time.Duration, memoryMB, workerMB int) string {
	// PSS splits a shared page among every process that maps it: the cluster's
	// pools, left running, would take their share of the measured pool's PHP
	// binary and libraries and hide it. Only the measured pool runs from here on.
	for _, n := range c.Nodes {
		if err := n.Stop(); err != nil {
			r.Fatalf("stop pool %s before measuring another alone: %v", n.Node, err)
		}
		if syscall.Kill(n.Pid(), 0) == nil {
			r.Fatalf("pool %s (pid %d) still runs beside the pool measured alone", n.Node, n.Pid())
		}
	}
	spec := c.Spec
	spec.App.MemoryMB = memoryMB
	pool := spec.App.Sizing()
	fpmPort, webPort := loopback.FreePort(r), loopback.FreePort(r)
	loopback.ExpectPortsClosed(r, fpmPort, webPort)
	addr := render.HostPort{Host: "127.0.0.1", Port: fpmPort}
	fpm := loopback.StartFPM(r, filepath.Join(c.Root, "saturated"), "saturated",
		render.PHPFPMPool(spec, addr.String()), fpmPort, c.PHPEnv("fpm"), c.As)
	loopback.StartNginx(r, filepath.Join(c.Root, "saturated-web"), "nginx-saturated",
		directSite(spec.WebRoot(), []int{webPort}, []render.HostPort{addr}), webPort, c.As)

	// Long enough for the sampler to see each worker at its peak.
	const holdMS, every = 200, 50 * time.Millisecond
	site := fmt.Sprintf("http://127.0.0.1:%d/probe.php?action=alloc&ms=%d", webPort, holdMS)
	// The probe page's own cost: the largest worker after a warm-up that holds
	// nothing, which also starts every worker the load will use.
	warm(r, c.Root, site+"&mb=0", 1, 2*pool.MaxChildren)
	var baseKB int
	for pid, m := range sample(fpm.Tree()) {
		if pid != fpm.Pid() {
			baseKB = max(baseKB, m.rssKB)
		}
	}
	allocMB := max(0, workerMB-baseKB>>10)

	stop := make(chan struct{})
	var together rss       // the largest simultaneous total
	byPID := map[int]rss{} // each process's own largest sample
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			now := sample(fpm.Tree())
			together = together.max(total(now))
			for pid, m := range now {
				byPID[pid] = byPID[pid].max(m)
			}
			select {
			case <-stop:
				return
			case <-time.After(every):
			}
		}
	}()
	out, err := wrk(r, c.Root, fmt.Sprintf("%s&mb=%d", site, allocMB), 1, 2*pool.MaxChildren, duration)
	close(stop)
	wg.Wait()
	rate := "none completed (each request faults in its memory: slow on a busy machine)"
	if res, ok := parseWrk(out); ok {
		if err := res.failed(); err != nil {
			r.Fatalf("wrk on the saturated pool: %v", err)
		}
		rate = fmt.Sprintf("%.1f (p50 %s, p99 %s)", res.rps, res.p50, res.p99)
	} else if err != nil {
		r.Fatalf("wrk: %v\n%s", err, out)
	}
	worst := total(byPID)
	reached := 0
	for pid, m := range byPID {
		if pid != fpm.Pid() && m.rssKB>>10 >= workerMB*95/100 {
			reached++
		}
	}
	if reached < pool.MaxChildren {
		r.Errorf("only %d of %d workers grew to %d MB in %s: the worst case is not measured (lengthen -saturation)",
			reached, pool.MaxChildren, workerMB, duration)
	}

	opcacheMB := spec.App.PHP.OPcacheMemoryMB
	chargedMB := worst.pssKB>>10 + opcacheMB
	if chargedMB > memoryMB {
		r.Errorf("the saturated pool's PSS, every process at its peak and the OPcache segment full, is %d MB: above its %d MB limit",
			chargedMB, memoryMB)
	}
	percent := func(mb int) string {
		return fmt.Sprintf("%d MB (%.0f%% of %d MB)", mb, 100*float64(mb)/float64(memoryMB), memoryMB)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## One pool saturated at its memory limit\n\n")
	fmt.Fprintf(&b, "limit %d MB, reserve %d MB, assumed average worker %d MB -> pm.max_children = %d; "+
		"%d requests in flight, each growing its worker to a heavy Moodle request's %d MB RSS "+
		"(the probe page's worker is %d MB, so each holds %d MB for %d ms); wrk -t1 -c%d -d%s after a %s warm-up "+
		"with the probe page, "+
		"sampled every %s\n\n",
		memoryMB, spec.App.PHPFPM.ReserveMemoryMB, spec.App.PHPFPM.WorkerMemoryMB, pool.MaxChildren,
		2*pool.MaxChildren, workerMB, baseKB>>10, allocMB, holdMS, 2*pool.MaxChildren, duration, warmup, every)
	fmt.Fprintf(&b, "| measure | value |\n|---|---|\n")
	fmt.Fprintf(&b, "| requests/s | %s |\n", rate)
	fmt.Fprintf(&b, "| processes (master + workers) | %d |\n", worst.processes)
	fmt.Fprintf(&b, "| workers grown to %d MB | %d of %d; the largest %d MB RSS |\n",
		workerMB, reached, pool.MaxChildren, largestWorker(byPID, fpm.Pid()).rssKB>>10)
	fmt.Fprintf(&b, "| peak total seen at once | %s RSS, %s PSS |\n", percent(together.rssKB>>10), percent(together.pssKB>>10))
	fmt.Fprintf(&b, "| every process at its own peak | %s RSS, %s PSS |\n", percent(worst.rssKB>>10), percent(worst.pssKB>>10))
	fmt.Fprintf(&b, "| that PSS + the OPcache segment full (%d MB) | %s |\n", opcacheMB, percent(chargedMB))
	return b.String()
}

// rss is the memory of one process, or the sum over several.
type rss struct {
	processes    int
	rssKB, pssKB int
}

func (a rss) max(b rss) rss {
	return rss{processes: max(a.processes, b.processes), rssKB: max(a.rssKB, b.rssKB), pssKB: max(a.pssKB, b.pssKB)}
}

// total sums the processes' memory.
func total(byPID map[int]rss) rss {
	var t rss
	for _, m := range byPID {
		t.processes++
		t.rssKB += m.rssKB
		t.pssKB += m.pssKB
	}
	return t
}

// largestWorker is the largest of the processes other than the master.
func largestWorker(byPID map[int]rss, master int) rss {
	var largest rss
	for pid, m := range byPID {
		if pid != master && m.rssKB > largest.rssKB {
			largest = m
		}
	}
	return largest
}

// sample reads VmRSS and Pss of each pid from /proc/<pid>/smaps_rollup.
func sample(pids []int) map[int]rss {
	out := map[int]rss{}
	for _, pid := range pids {
		f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		if err != nil {
			continue // the worker was recycled between listing and reading
		}
		m := rss{processes: 1}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 2 {
				continue
			}
			kb, _ := strconv.Atoi(fields[1])
			switch fields[0] {
			case "Rss:":
				m.rssKB = kb
			case "Pss:":
				m.pssKB = kb
			}
		}
		f.Close()
		out[pid] = m
	}
	return out
}
