package plan

import "time"

// Bench is what `make bench` recorded in tests/bench/RESULTS.md, encoded once here so
// that the plan sizes from the project's own measurements rather than from
// numbers typed again wherever they are used. The command that measured them:
//
//	bash tests/bench/run.sh   # = go run -tags integration ./tests/bench -duration 10s -connections 24
//	                    #   -rounds 3 -memory 1024 -worker-rss 100 -saturation 30s
//
// on a 2-vCPU machine (Debian 12, nginx 1.22.1, PHP 8.2 FPM, wrk 4.1.0).
type Bench struct {
	// WorkerRSSMB is the RSS a php-fpm worker reached serving a heavy Moodle-sized
	// request: RESULTS.md, "Re-run of 2026-12-07", table "One pool saturated at its
	// memory limit", row "workers grown to 100 MB | 8 of 8; the largest 100 MB RSS".
	WorkerRSSMB int
	// The same table: the pool of PoolWorkers workers sized for a PoolLimitMB node
	// (reserve PoolReserveMB), every process at its own peak: PoolPSSMB of PSS
	// (row "every process at its own peak"), PoolChargedMB with the OPcache
	// segment counted full (row "that PSS + the OPcache segment full (128 MB)").
	PoolWorkers, PoolLimitMB, PoolReserveMB, PoolPSSMB, PoolChargedMB int
	// Runs are the recorded wrk runs whose requests/s the plan's model predicts
	// (Check).
	Runs []Run
}

// Run is one recorded wrk run: Connections requests kept in flight (wrk -c, no
// think time) against Workers php-fpm workers in all, the median p50 latency
// and the requests/s recorded.
type Run struct {
	Name        string
	Where       string // the RESULTS.md section and table it is read from
	Connections int
	Workers     int
	P50         time.Duration
	RPS         float64
}

// Measured is the recording of tests/bench/RESULTS.md. The first recording (load
// average 8 to 10) and the quiet re-run of 2026-12-07 are both kept: rates
// differ threefold between them with the machine's load, and the model has to
// predict each from its own latencies.
var Measured = Bench{
	WorkerRSSMB:   100,
	PoolWorkers:   8,
	PoolLimitMB:   1024,
	PoolReserveMB: 192,
	PoolPSSMB:     707,
	PoolChargedMB: 835,
	Runs: []Run{
		{Name: "load balancer, 3 pools", Where: "first recording, Load balancer against direct FastCGI, medians",
			Connections: 24, Workers: 3 * 83, P50: 13255 * time.Microsecond, RPS: 1590},
		{Name: "direct, 3 pools", Where: "first recording, Load balancer against direct FastCGI, medians",
			Connections: 24, Workers: 3 * 83, P50: 13744 * time.Microsecond, RPS: 1598},
		{Name: "one saturated pool", Where: "first recording, One pool saturated at its memory limit",
			Connections: 16, Workers: 8, P50: 14560569 * time.Microsecond, RPS: 0.9},
		{Name: "load balancer, 3 pools", Where: "re-run of 2026-12-07, Load balancer against direct FastCGI, medians",
			Connections: 24, Workers: 3 * 83, P50: 4468 * time.Microsecond, RPS: 4875},
		{Name: "direct, 3 pools", Where: "re-run of 2026-12-07, Load balancer against direct FastCGI, medians",
			Connections: 24, Workers: 3 * 83, P50: 4820 * time.Microsecond, RPS: 4519},
		quietSaturated,
	},
}

// quietSaturated is the saturated pool of the quiet re-run: the heavy requests
// the plan quotes its app tier's rate in.
var quietSaturated = Run{Name: "one saturated pool", Where: "re-run of 2026-12-07, One pool saturated at its memory limit",
	Connections: 16, Workers: 8, P50: 532244 * time.Microsecond, RPS: 28.4}

// HeavyRequestsPerWorkerSecond is what one worker served of the heavy requests in
// the quiet re-run's saturated pool (28.4 requests/s over its 8 workers): the
// rate the plan quotes for its app tier. A request there holds 83 MB for 200 ms;
// a real Moodle page's time is its own, so the figure is an order of magnitude,
// not a promise.
func HeavyRequestsPerWorkerSecond() float64 {
	return quietSaturated.RPS / float64(min(quietSaturated.Workers, quietSaturated.Connections))
}
