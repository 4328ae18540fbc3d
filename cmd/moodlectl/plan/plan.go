// Package plan sizes a stack for a site of a given number of users: the app
// nodes and their php-fpm pools, the database and its connections, Redis and
// storage, written as a stack file the program's own validator accepts.
//
// The figures it sizes from are of two kinds, each listed with its source in
// Plan.Assumptions: the project's own measurements (tests/bench/RESULTS.md, encoded in
// Measured) and published Moodle and PostgreSQL sizing figures. The pool and
// the connection budget come from components/topology's own functions, so a plan
// sizes exactly as the program will run it.
package plan

import (
	"errors"
	"fmt"
	"math"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// Request is what the operator asks for.
type Request struct {
	// Users is the number of registered users.
	Users int
	// Concurrent is the number of requests in flight at the peak; 0 derives it
	// from Users (PeakActiveShare, ConcurrentShare).
	Concurrent int
	Target     topology.Target
}

// Limits of a request: beyond MaxUsers the published shares stop meaning
// anything for one site, and no stack of this project serves more concurrent
// requests than MaxConcurrent (50 nodes of the largest shape).
const (
	MaxUsers      = 10_000_000
	MaxConcurrent = 20_000
)

// ErrInput marks a request the operator has to change.
var ErrInput = errors.New("invalid plan request")

// Published figures. Each is quoted in Assumptions with its source.
const (
	// PeakActiveShare of the registered users use the site at its peak: the
	// Performance FAQ's example, 1,000 of 10,000 registered users.
	PeakActiveShare = 0.10
	// ConcurrentShare of the active users have a request in flight: Moodle's
	// capacity rule of thumb, browser users = 5 × concurrent database users.
	ConcurrentShare = 0.20
	// workMemMB is PostgreSQL's default work_mem: what one connection may take
	// for a sort or hash on top of the shared buffers.
	workMemMB = 4
	// sessionKB is what one Moodle session is assumed to take in Redis.
	sessionKB = 100
)

// Sources of the published figures.
const (
	srcPerformanceFAQ = "https://docs.moodle.org/404/en/Performance_FAQ"
	srcCapacity       = "https://docs.moodle.org/311/de/index.php?oldid=8277&title=Nutzerkapazit%C3%A4ten"
	srcInstalling     = "https://docs.moodle.org/502/en/Installing_Moodle"
	srcWorkMem        = "https://www.postgresql.org/docs/17/runtime-config-resource.html"
	srcRDSFormula     = "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html#RDS_Limits.MaxConnections"
	srcBench          = "tests/bench/RESULTS.md, re-run of 2026-12-07, One pool saturated at its memory limit (bash tests/bench/run.sh)"
)

// Shape is one app node size a plan may choose.
type Shape struct {
	CPUs     float64
	MemoryMB int
}

// shapes are the node sizes of each target, smallest first. docker starts from
// the dev stack's node (Pulumi.dev.yaml, the one the bench measured) and aws from
// the prod stack's Fargate task (Pulumi.prod.yaml); each next shape doubles both,
// a valid Fargate size each.
var shapes = map[topology.Target][]Shape{
	topology.TargetDocker: {{2, 8192}, {4, 16384}, {8, 32768}},
	topology.TargetAWS:    {{4, 8192}, {8, 16384}, {16, 32768}},
}

// shapeSource names the stack file each target's first shape comes from.
var shapeSource = map[topology.Target]string{topology.TargetDocker: "Pulumi.dev.yaml", topology.TargetAWS: "Pulumi.prod.yaml"}

// nodesPerShape is how many nodes a plan runs before it moves to the next shape:
// the committed stacks' own ceilings (dev: app.maxReplicas 10; prod: 12).
var nodesPerShape = map[topology.Target]int{topology.TargetDocker: 10, topology.TargetAWS: 12}

// maxReplicas is validation's bound on app.replicas and app.maxReplicas.
const maxReplicas = 50

// rdsClasses are the RDS classes a plan picks from, smallest first: the
// classes cmd/moodlectl/cost prices.
var rdsClasses = []string{"db.r6g.large", "db.r6g.xlarge", "db.r6g.2xlarge", "db.r6g.4xlarge"}

// cacheNodes are the ElastiCache node types a plan picks from, with their memory
// in MB (the published node sizes: 13.07, 26.32, 52.82 GiB).
var cacheNodes = []struct {
	Type     string
	MemoryMB int
}{{"cache.r6g.large", 13384}, {"cache.r6g.xlarge", 26951}, {"cache.r6g.2xlarge", 54088}}

// Assumption is one figure the plan rests on.
type Assumption struct {
	What   string
	Value  string
	Source string
}

// Host is the Docker host a docker plan needs.
type Host struct {
	// CPUs and MemoryMB are the reservations of every container with the app at
	// app.maxReplicas: what the preflight asks the host for, at the ceiling.
	CPUs     float64
	MemoryMB int
	// LimitCPUs and LimitMemoryMB are every container at its limit: a host this
	// large never overcommits.
	LimitCPUs     float64
	LimitMemoryMB int
}

// LargestHost is the largest single Docker host a plan assumes exists: the
// largest container validation allows (64 CPUs, 256 GiB).
var LargestHost = Host{CPUs: 64, MemoryMB: 262144}

// Plan is a sized stack.
type Plan struct {
	Request
	// Active users at the peak, Concurrent requests in flight then (the request's
	// or derived).
	Active, Concurrent int
	Spec               topology.Spec
	// Workers is the php-fpm workers at app.replicas, HeavyRPS what they serve of
	// the bench's heavy requests a second.
	Workers  int
	HeavyRPS float64
	// Host is set for docker.
	Host        Host
	Assumptions []Assumption
	// Warnings are printed with the plan: it is valid, but needs care.
	Warnings []string
}

// Make sizes a stack for r.
func Make(r Request) (Plan, error) {
	p := Plan{Request: r}
	switch {
	case r.Target != topology.TargetDocker && r.Target != topology.TargetAWS:
		return p, fmt.Errorf("%w: --target %q: allowed: docker, aws", ErrInput, r.Target)
	case r.Users < 1 || r.Users > MaxUsers:
		return p, fmt.Errorf("%w: --users %d: allowed: 1..%d registered users", ErrInput, r.Users, MaxUsers)
	case r.Concurrent < 0 || r.Concurrent > MaxConcurrent:
		return p, fmt.Errorf("%w: --concurrent %d: allowed: 0 (derived from --users) or 1..%d requests in flight", ErrInput, r.Concurrent, MaxConcurrent)
	}
	p.Active = ceil(float64(r.Users) * PeakActiveShare)
	p.Concurrent = r.Concurrent
	if p.Concurrent == 0 {
		p.Concurrent = ceil(float64(p.Active) * ConcurrentShare)
	}
	s, err := topology.Defaults(r.Target)
	if err != nil {
		return p, err
	}
	// The pool sized by the heaviest worker the bench measured, not the average
	// the defaults assume: at the peak every worker may be serving a heavy page.
	s.App.PHPFPM.WorkerMemoryMB = Measured.WorkerRSSMB
	if err := sizeApp(&s, p.Concurrent); err != nil {
		return p, err
	}
	sizeDatabase(&s)
	if !sizeCache(&s, r.Users) {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%d sessions of %d KB outgrow the largest session node priced here (%s): shard the sessions or lower the session timeout",
			r.Users, sessionKB, s.Cache.NodeType))
	}
	p.Spec = s
	p.Workers = s.App.Replicas * s.App.Sizing().MaxChildren
	p.HeavyRPS = float64(p.Workers) * HeavyRequestsPerWorkerSecond()
	p.Assumptions = assumptions(s, r.Concurrent == 0)
	if s.App.MaxReplicas == s.App.Replicas {
		p.Warnings = append(p.Warnings, fmt.Sprintf(
			"no room to scale out: app.maxReplicas = app.replicas = %d, as one more node at the peak would pass the %d database connections (or the %d nodes) a stack may have",
			s.App.Replicas, maxServerConnections, maxReplicas))
	}
	if r.Target == topology.TargetDocker {
		p.Host = hostFor(s)
		if p.Host.CPUs > LargestHost.CPUs || p.Host.MemoryMB > LargestHost.MemoryMB {
			p.Warnings = append(p.Warnings, fmt.Sprintf(
				"no single Docker host of at most %g CPUs / %d GB holds this site: it reserves %g CPUs / %d GB at app.maxReplicas; use --target aws, or a host of that size",
				LargestHost.CPUs, LargestHost.MemoryMB/1024, tenths(p.Host.CPUs), gb(p.Host.MemoryMB)))
		}
	}
	return p, nil
}

// sizeApp picks the smallest node shape that serves the concurrent requests
// within the target's node count, and the node count: one node more than the
// requests need, so that losing a node (a crash, a deployment) still leaves a
// worker for every request; and at least two.
func sizeApp(s *topology.Spec, concurrent int) error {
	for i, shape := range shapes[s.Target] {
		s.App.CPUs, s.App.MemoryMB = shape.CPUs, shape.MemoryMB
		if s.Target == topology.TargetAWS {
			// A Fargate task gets what it asks for.
			s.App.ReservedCPUs, s.App.ReservedMemoryMB = shape.CPUs, shape.MemoryMB
		} else {
			// Half reserved, as the dev stack's node.
			s.App.ReservedCPUs, s.App.ReservedMemoryMB = shape.CPUs/2, shape.MemoryMB/2
		}
		perNode := s.App.Sizing().MaxChildren
		nodes := max(2, ceilDiv(concurrent, perNode)+1)
		last := i == len(shapes[s.Target])-1
		if nodes > nodesPerShape[s.Target] && !last {
			continue
		}
		if nodes > maxReplicas {
			return fmt.Errorf("%w: %d requests in flight need %d app nodes of %g CPUs / %d MB (%d workers each); a stack runs at most %d (moodle:app.replicas 1..%d)",
				ErrInput, concurrent, nodes, shape.CPUs, shape.MemoryMB, perNode, maxReplicas, maxReplicas)
		}
		s.App.Replicas = nodes
		if s.Target == topology.TargetAWS {
			s.App.MinReplicas = nodes
		}
		// Twice the nodes as the ceiling: room to scale out for a peak above the
		// estimate (an exam) without a database restart on docker, within the
		// connection budget validation allows: every worker at the peak (on aws a
		// deployment's surge too) holds a connection. A pooler would not lift
		// it: validation counts RDS Proxy's clients, and PgBouncer's pool (at
		// most 1000 server connections, held per request in session mode) would
		// queue requests that the workers are there to serve.
		for s.App.MaxReplicas = min(maxReplicas, 2*nodes); s.ServerConnections() > maxServerConnections &&
			s.App.MaxReplicas > nodes; s.App.MaxReplicas-- {
		}
		if s.ServerConnections() > maxServerConnections {
			return fmt.Errorf("%w: %d requests in flight need %d app nodes of %d workers; %d of them at the peak open %d database connections, beyond the %d a stack may open",
				ErrInput, concurrent, nodes, perNode, s.PeakNodes(), s.ServerConnections(), maxServerConnections)
		}
		return nil
	}
	return nil
}

// sizeDatabase sizes the database for the connection budget the app tier opens
// (topology's ServerConnections, the one the program configures).
func sizeDatabase(s *topology.Spec) {
	if s.Target == topology.TargetAWS {
		// The smallest class whose max_connections holds the budget; the
		// largest allows the 5000 sizeApp keeps the budget to.
		for _, class := range rdsClasses {
			s.Database.InstanceClass = class
			if limit, _ := topology.RDSMaxConnections(class); s.ServerConnections() <= limit {
				return
			}
		}
		return
	}
	// Each connection may take work_mem for a sort on top of the default's
	// memory (shared buffers and the OS cache it was sized for), rounded up to a
	// whole GB; CPUs in the dev stack's ratio, one database CPU to three of the
	// app nodes' (2 : 3 × 2).
	conns := s.ServerConnections()
	s.Database.MemoryMB = roundUp(s.Database.MemoryMB+conns*workMemMB, 1024)
	s.Database.ReservedMemoryMB = s.Database.MemoryMB / 2
	s.Database.CPUs = math.Max(2, math.Ceil(s.App.CPUs*float64(s.App.Replicas)/3))
	s.Database.CPUs = math.Min(s.Database.CPUs, LargestHost.CPUs)
	s.Database.ReservedCPUs = s.Database.CPUs / 2
}

// maxServerConnections is validation's bound on the connections PostgreSQL must
// accept.
const maxServerConnections = 5000

// sizeCache sizes the sessions' Redis for a session of every registered user:
// Moodle keeps a session until it times out, so the users of a day may all hold
// one. Redis's maxmemory is three quarters of its limit on docker.
// It reports false when no node type holds them.
func sizeCache(s *topology.Spec, users int) bool {
	needMB := ceilDiv(users*sessionKB, 1024)
	if s.Target == topology.TargetDocker {
		s.Cache.MemoryMB = max(s.Cache.MemoryMB, roundUp(needMB*4/3, 1024))
		s.Cache.ReservedMemoryMB = s.Cache.MemoryMB / 2
		return true
	}
	for _, n := range cacheNodes {
		s.Cache.NodeType = n.Type
		// ElastiCache's reserved memory defaults to a quarter of the node.
		if needMB <= n.MemoryMB*3/4 {
			return true
		}
	}
	return false
}

// hostFor sums what every container of a docker stack asks the host for.
func hostFor(s topology.Spec) Host {
	var h Host
	add := func(r topology.Resources, n int) {
		h.CPUs += r.ReservedCPUs * float64(n)
		h.MemoryMB += r.ReservedMemoryMB * n
		h.LimitCPUs += r.CPUs * float64(n)
		h.LimitMemoryMB += r.MemoryMB * n
	}
	add(s.Web.Resources, 1)
	add(s.App.Resources, s.App.MaxReplicas)
	add(s.Database.Resources, 1+s.Database.ReadReplicas)
	add(s.Cache.Resources, 1)
	add(s.Cache.MUC.Resources, 1)
	add(s.Cron.Resources, 1)
	add(s.Cron.Adhoc.Resources, s.Cron.Adhoc.Workers)
	if s.Mail.Enabled && s.Mail.Host == "" {
		add(s.Mail.Catcher.Resources, 1)
	}
	return h
}

func assumptions(s topology.Spec, derived bool) []Assumption {
	var a []Assumption
	if derived {
		a = append(a,
			Assumption{"registered users active at the peak", pct(PeakActiveShare),
				srcPerformanceFAQ + " (\"10,000 registered users ... about 1,000 of those users will be using the system\")"},
			Assumption{"active users with a request in flight", pct(ConcurrentShare),
				srcCapacity + " (browser users = concurrent database users × 5)"})
	}
	pool := s.App.Sizing()
	first := shapes[s.Target][0]
	a = append(a,
		Assumption{"memory of one php-fpm worker at its peak", fmt.Sprintf("%d MB RSS (the pool's PSS: %d MB for %d workers and the master)",
			Measured.WorkerRSSMB, Measured.PoolPSSMB, Measured.PoolWorkers), srcBench},
		Assumption{"heavy requests one worker serves", fmt.Sprintf("%.2f/s (28.4/s over 8 workers, each request holding 83 MB for 200 ms)",
			HeavyRequestsPerWorkerSecond()), srcBench},
		Assumption{"php-fpm pool per node", fmt.Sprintf("(%d - %d reserve) / %d = %d workers",
			s.App.MemoryMB, s.App.PHPFPM.ReserveMemoryMB, s.App.PHPFPM.WorkerMemoryMB, pool.MaxChildren),
			"components/topology MaxChildrenFor; docs/config.md#moodleappphpfpm"},
		Assumption{"one worker and one database connection per request in flight", "concurrent users = web server processes = database connections",
			srcPerformanceFAQ + " (\"How do you define concurrent users?\")"},
		Assumption{"node shape", fmt.Sprintf("the committed stack's node first (%g CPUs / %d MB), both doubled past %d nodes",
			first.CPUs, first.MemoryMB, nodesPerShape[s.Target]), shapeSource[s.Target]},
		Assumption{"memory of an app node", "8 GB plus on a large production server (a plan's nodes start at 8192 MB)", srcInstalling},
	)
	if s.Target == topology.TargetAWS {
		a = append(a, Assumption{"RDS max_connections", "LEAST({DBInstanceClassMemory/9531392},5000)", srcRDSFormula})
	} else {
		a = append(a, Assumption{"database memory per connection", fmt.Sprintf("work_mem %d MB (PostgreSQL's default) on top of the default's 4096 MB", workMemMB), srcWorkMem})
	}
	a = append(a, Assumption{"Redis memory per session", fmt.Sprintf("%d KB for every registered user (this project's assumption, no published figure: check with moodlectl status, Redis memory)", sessionKB), "-"})
	return a
}

func ceil(v float64) int       { return int(math.Ceil(v)) }
func ceilDiv(a, b int) int     { return (a + b - 1) / b }
func roundUp(v, step int) int  { return ceilDiv(v, step) * step }
func gb(mb int) int            { return ceilDiv(mb, 1024) }
func tenths(v float64) float64 { return math.Round(v*10) / 10 }
func pct(v float64) string     { return fmt.Sprintf("%g %%", v*100) }
