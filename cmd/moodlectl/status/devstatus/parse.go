package devstatus

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/dockerapi"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/status"
)

// parseStubStatus reads nginx's stub_status page:
//
//	Active connections: 2
//	server accepts handled requests
//	 10 10 25
//	Reading: 0 Writing: 1 Waiting: 1
func parseStubStatus(text string) (*status.LB, error) {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "Active connections:") {
		return nil, fmt.Errorf("not a stub_status page: %q", firstLine(text))
	}
	active, err := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(lines[0], "Active connections:")), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("stub_status active connections: %w", err)
	}
	counts := strings.Fields(lines[2])
	if len(counts) != 3 {
		return nil, fmt.Errorf("stub_status counters: %q", lines[2])
	}
	requests, err := strconv.ParseInt(counts[2], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("stub_status requests: %w", err)
	}
	return &status.LB{Requests: requests, Period: "since nginx started", Active: active, Concurrent: true}, nil
}

// parseFPMStatus reads php-fpm's status page in JSON, after the FastCGI headers
// cgi-fcgi prints.
func parseFPMStatus(node, out string) (status.Node, error) {
	n := status.Node{Name: node, Pool: true}
	i := strings.Index(out, "{")
	if i < 0 {
		return n, fmt.Errorf("php-fpm status: no JSON in %q", firstLine(out))
	}
	var page struct {
		Active      int `json:"active processes"`
		Idle        int `json:"idle processes"`
		MaxReached  int `json:"max children reached"`
		ListenQueue int `json:"listen queue"`
	}
	if err := json.Unmarshal([]byte(out[i:]), &page); err != nil {
		return n, fmt.Errorf("php-fpm status: %w", err)
	}
	n.Active, n.Idle, n.MaxChildrenReached, n.ListenQueue = page.Active, page.Idle, page.MaxReached, page.ListenQueue
	return n, nil
}

// parseDB reads dbQuery's rows: "connections|N", then "replica|lag seconds".
func parseDB(out string) (*status.Database, error) {
	db := &status.Database{}
	seen := false
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		name, value, ok := strings.Cut(line, "|")
		if !ok {
			return nil, fmt.Errorf("psql: unexpected row %q", line)
		}
		n, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return nil, fmt.Errorf("psql: row %q: %w", line, err)
		}
		if name == "connections" && !seen {
			db.Connections, seen = int(n), true
			continue
		}
		db.Replicas = append(db.Replicas, status.Replica{Name: name, Lag: time.Duration(n * float64(time.Second))})
	}
	if !seen {
		return nil, fmt.Errorf("psql: no connection count in %q", firstLine(out))
	}
	return db, nil
}

// parseRedisInfo reads `redis-cli info`: memory, evictions, clients, and the
// OOM errors that noeviction answers writes with (errorstat_OOM, Redis 6.2+).
func parseRedisInfo(out string) (*status.Redis, error) {
	fields := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":"); ok {
			fields[k] = v
		}
	}
	num := func(key string) (int64, error) {
		v, ok := fields[key]
		if !ok {
			return 0, fmt.Errorf("redis info has no %s", key)
		}
		return strconv.ParseInt(v, 10, 64)
	}
	r := &status.Redis{}
	var err error
	if r.UsedBytes, err = num("used_memory"); err != nil {
		return nil, err
	}
	if r.MaxBytes, err = num("maxmemory"); err != nil {
		return nil, err
	}
	if r.Evictions, err = num("evicted_keys"); err != nil {
		return nil, err
	}
	clients, err := num("connected_clients")
	if err != nil {
		return nil, err
	}
	r.Clients = int(clients)
	// errorstat_OOM:count=3
	if oom, ok := fields["errorstat_OOM"]; ok {
		if _, count, ok := strings.Cut(oom, "count="); ok {
			r.RejectedWrites, _ = strconv.ParseInt(strings.SplitN(count, ",", 2)[0], 10, 64)
		}
	}
	return r, nil
}

// parseDF reads `df -P -k PATH`: the second line's size and available blocks.
func parseDF(out string) (*status.Files, error) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 {
		return nil, fmt.Errorf("df: %q", firstLine(out))
	}
	f := strings.Fields(lines[len(lines)-1])
	if len(f) < 4 {
		return nil, fmt.Errorf("df: %q", lines[len(lines)-1])
	}
	total, err1 := strconv.ParseInt(f[1], 10, 64)
	avail, err2 := strconv.ParseInt(f[3], 10, 64)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("df: %q", lines[len(lines)-1])
	}
	return &status.Files{TotalBytes: total << 10, FreeBytes: avail << 10}, nil
}

// lastRun finds the last finished pass of cron.php in the runner's log.
func lastRun(lines []dockerapi.LogLine) status.Cron {
	for i := len(lines) - 1; i >= 0; i-- {
		if took, ok := status.CronPass(lines[i].Text); ok {
			return status.Cron{LastRun: lines[i].Time, Duration: took}
		}
	}
	return status.Cron{}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(l)
}
