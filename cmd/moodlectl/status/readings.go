package status

import (
	"regexp"
	"strconv"
	"time"
)

// Readings are what the collectors saw, per tier. A tier whose readings failed
// has its error set instead; a tier a target cannot observe stays nil and is
// left out of the report (AWS does not expose the php-fpm pools, for example).
type Readings struct {
	LB     *LB
	LBErr  error
	Nodes  []Node
	AppErr error
	DB     *Database
	DBErr  error
	Redis  *Redis
	// RedisErr, FilesErr, CronErr and MoodleErr are the other tiers' failures.
	RedisErr  error
	Files     *Files
	FilesErr  error
	Cron      *Cron
	CronErr   error
	Moodle    *Moodle
	MoodleErr error
}

// LB is the load balancer: traffic and the state of each upstream.
type LB struct {
	// Requests is the count of requests: since start (nginx) or over the last
	// period (the ALB); Period says which.
	Requests int64
	Period   string
	// Active is the connections open now (nginx, Concurrent) or opened in the
	// period (the ALB's ActiveConnectionCount), which no pool size bounds.
	Active     int64
	Concurrent bool
	Upstreams  []Upstream
}

// Upstream is one app node as the load balancer sees it.
type Upstream struct {
	Name string
	// Healthy is false when the node fails its health check.
	Healthy bool
	// State is the target's own word for it ("healthy", "unhealthy", "draining").
	State string
}

// Node is one app node's php-fpm pool. Pool is false on a target that does not
// expose it; then only the node's health is known.
type Node struct {
	Name               string
	Pool               bool
	Active, Idle       int
	MaxChildrenReached int
	ListenQueue        int
	// CPUPercent and MemoryPercent, where the target reports them (ECS).
	CPUPercent, MemoryPercent float64
	Err                       error
}

// Database is the primary's connections and each replica's lag.
type Database struct {
	Connections int
	// Status is the instance's state where the target reports one ("available").
	Status   string
	Replicas []Replica
}

// Replica is one read replica.
type Replica struct {
	Name   string
	Lag    time.Duration
	Status string
}

// Redis is the cache server's memory and clients. MaxMemory 0 means no maxmemory
// is set; the container's memory limit then bounds it.
type Redis struct {
	UsedBytes, MaxBytes int64
	// UsedPercent is set instead of the bytes by a target that reports a share.
	UsedPercent    float64
	Evictions      int64
	RejectedWrites int64
	Clients        int
	// RejectedUnknown is true where the target cannot count rejected writes.
	RejectedUnknown bool
}

// Files is moodledata's space; Elastic is a file system without a size (EFS).
type Files struct {
	FreeBytes, TotalBytes int64
	Elastic               bool
}

// Cron is the cron runner: its last finished run and who holds the lock.
type Cron struct {
	LastRun    time.Time
	Duration   time.Duration
	LockHolder string
}

// Moodle is the installed site.
type Moodle struct {
	Release     string
	Maintenance bool
	// Reachable is false when the site did not answer (prod reads it over HTTP).
	Reachable bool
}

// CronPass parses the line Moodle's cron prints after each pass over the scheduled
// and ad hoc tasks, in every release the project deploys (4.2 and later):
// "Cron completed at 10:42:07 in 3.04 seconds. Memory used: 32.1 MB." and, while
// its keep-alive lasts, "... Continuing to check for tasks for 57 more seconds."
// (\core\cron::run_main_process, lib/classes/cron.php; public/lib/classes/cron.php
// of moodle/moodle from 5.1, read at 159259a3). It returns how long the pass took.
// Earlier releases ended with "Execution took N seconds", which 4.2 removed.
func CronPass(line string) (time.Duration, bool) {
	m := cronPassRe.FindStringSubmatch(line)
	if m == nil {
		return 0, false
	}
	secs, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(secs * float64(time.Second)), true
}

// CronPassPattern is a CloudWatch Logs filter pattern that selects those lines.
const CronPassPattern = `"Cron completed at"`

var cronPassRe = regexp.MustCompile(`Cron completed at [0-9]{2}:[0-9]{2}:[0-9]{2} in ([0-9.]+(?:E-?[0-9]+)?) seconds\.`)
