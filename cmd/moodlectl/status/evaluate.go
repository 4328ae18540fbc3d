package status

import (
	"fmt"
	"strings"
	"time"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// Thresholds that the Spec does not give. The shares match the CloudWatch
// alarms of the AWS stack (80 %) so that both targets warn at the same point.
const (
	warnShare = 0.80
	critShare = 0.95
	// Replica lag: Moodle reads from replicas for pages that tolerate stale
	// data; past a minute users notice, past five the replica is not keeping up.
	warnLag = 60 * time.Second
	critLag = 5 * time.Minute
	// moodledata: free space below these shares of the volume.
	warnFree = 0.10
	critFree = 0.05
)

// Evaluate judges the readings of stack against the thresholds its Spec implies.
func Evaluate(stack string, spec topology.Spec, r Readings, now time.Time) Report {
	rep := Report{Stack: stack, Target: string(spec.Target), At: now}
	pool := spec.App.Sizing()
	evalLB(&rep, spec, pool, r)
	evalApp(&rep, pool, r)
	evalDB(&rep, spec, r)
	evalRedis(&rep, spec, r)
	evalFiles(&rep, r)
	evalCron(&rep, spec, r, now)
	evalMoodle(&rep, spec, r)
	return rep
}

// share judges used against limit: warn from 80 %, crit from 95 %.
func share(used, limit float64) (Verdict, string) {
	switch {
	case limit <= 0:
		return Unknown, "no limit known"
	case used >= critShare*limit:
		return Crit, fmt.Sprintf("crit at %.0f %% of %g", 100*critShare, limit)
	case used >= warnShare*limit:
		return Warn, fmt.Sprintf("warn at %.0f %% of %g", 100*warnShare, limit)
	}
	return OK, fmt.Sprintf("warn at %.0f %% of %g", 100*warnShare, limit)
}

func evalLB(rep *Report, spec topology.Spec, pool topology.Pool, r Readings) {
	if r.LBErr != nil {
		rep.add(unreadable(TierLB, r.LBErr))
		return
	}
	if r.LB == nil {
		return
	}
	lb := r.LB
	rep.add(Check{Tier: TierLB, Subject: "all", Name: "requests", Value: fmt.Sprintf("%d %s", lb.Requests, lb.Period), Verdict: OK})
	if lb.Concurrent {
		// Every worker of every running node can hold one request; more open
		// connections than that queue in front of php-fpm.
		capacity := float64(spec.App.Replicas * pool.MaxChildren)
		v, rule := share(float64(lb.Active), capacity)
		rep.add(Check{Tier: TierLB, Subject: "all", Name: "active connections", Value: fmt.Sprintf("%d (%s of %d workers)", lb.Active, percent(float64(lb.Active), capacity), int(capacity)), Verdict: v, Rule: rule})
	} else {
		rep.add(Check{Tier: TierLB, Subject: "all", Name: "connections", Value: fmt.Sprintf("%d %s", lb.Active, lb.Period), Verdict: OK})
	}
	healthy := 0
	for _, u := range lb.Upstreams {
		v := OK
		if u.Healthy {
			healthy++
		} else {
			v = Warn
		}
		rep.add(Check{Tier: TierLB, Subject: u.Name, Name: "upstream", Value: u.State, Verdict: v})
	}
	switch {
	case len(lb.Upstreams) == 0 || healthy == 0:
		rep.add(Check{Tier: TierLB, Subject: "all", Name: "healthy upstreams", Value: fmt.Sprintf("%d of %d", healthy, len(lb.Upstreams)), Verdict: Crit, Rule: "the site is down without one"})
	case healthy < spec.App.Replicas:
		rep.add(Check{Tier: TierLB, Subject: "all", Name: "healthy upstreams", Value: fmt.Sprintf("%d of %d", healthy, spec.App.Replicas), Verdict: Warn, Rule: fmt.Sprintf("%d nodes configured", spec.App.Replicas)})
	}
}

func evalApp(rep *Report, pool topology.Pool, r Readings) {
	if r.AppErr != nil {
		rep.add(unreadable(TierApp, r.AppErr))
		return
	}
	for _, n := range r.Nodes {
		if n.Err != nil {
			rep.add(Check{Tier: TierApp, Subject: n.Name, Name: "php-fpm", Value: "not read", Verdict: Crit, Rule: n.Err.Error()})
			continue
		}
		if !n.Pool {
			v, rule := share(n.CPUPercent, 100)
			rep.add(Check{Tier: TierApp, Subject: n.Name, Name: "cpu", Value: fmt.Sprintf("%.0f %%", n.CPUPercent), Verdict: v, Rule: rule})
			v, rule = share(n.MemoryPercent, 100)
			rep.add(Check{Tier: TierApp, Subject: n.Name, Name: "memory", Value: fmt.Sprintf("%.0f %%", n.MemoryPercent), Verdict: v, Rule: rule})
			continue
		}
		v, rule := share(float64(n.Active), float64(pool.MaxChildren))
		rep.add(Check{Tier: TierApp, Subject: n.Name, Name: "workers active/idle", Value: fmt.Sprintf("%d / %d of %d", n.Active, n.Idle, pool.MaxChildren), Verdict: v, Rule: rule})
		v, rule = OK, "warn when the pool has hit pm.max_children since php-fpm started"
		if n.MaxChildrenReached > 0 {
			v = Warn
		}
		rep.add(Check{Tier: TierApp, Subject: n.Name, Name: "max children reached", Value: fmt.Sprint(n.MaxChildrenReached), Verdict: v, Rule: rule})
		// Requests waiting for a worker: a few is a burst, as many as the pool
		// has workers is a node that cannot keep up.
		v, rule = OK, fmt.Sprintf("warn above 0, crit from %d (pm.max_children)", pool.MaxChildren)
		switch {
		case n.ListenQueue >= pool.MaxChildren:
			v = Crit
		case n.ListenQueue > 0:
			v = Warn
		}
		rep.add(Check{Tier: TierApp, Subject: n.Name, Name: "listen queue", Value: fmt.Sprint(n.ListenQueue), Verdict: v, Rule: rule})
	}
}

func evalDB(rep *Report, spec topology.Spec, r Readings) {
	if r.DBErr != nil {
		rep.add(unreadable(TierDatabase, r.DBErr))
		return
	}
	if r.DB == nil {
		return
	}
	budget := spec.MaxConnections()
	v, rule := share(float64(r.DB.Connections), float64(budget))
	rep.add(Check{Tier: TierDatabase, Subject: "primary", Name: "connections", Value: fmt.Sprintf("%d of %d (%s)", r.DB.Connections, budget, percent(float64(r.DB.Connections), float64(budget))), Verdict: v, Rule: rule + " (max_connections)"})
	if r.DB.Status != "" {
		rep.add(statusCheck(TierDatabase, "primary", r.DB.Status))
	}
	if got, want := len(r.DB.Replicas), spec.Database.ReadReplicas; got < want {
		rep.add(Check{Tier: TierDatabase, Subject: "replicas", Name: "streaming", Value: fmt.Sprintf("%d of %d", got, want), Verdict: Crit, Rule: "every configured replica must stream"})
	}
	for _, rp := range r.DB.Replicas {
		v, rule := OK, fmt.Sprintf("warn from %v, crit from %v", warnLag, critLag)
		switch {
		case rp.Lag >= critLag:
			v = Crit
		case rp.Lag >= warnLag:
			v = Warn
		}
		rep.add(Check{Tier: TierDatabase, Subject: rp.Name, Name: "replica lag", Value: rp.Lag.Round(time.Millisecond).String(), Verdict: v, Rule: rule})
		if rp.Status != "" {
			rep.add(statusCheck(TierDatabase, rp.Name, rp.Status))
		}
	}
}

// statusCheck judges an AWS instance state: available is fine, a state on the
// way back (backing-up, modifying) is a warning, anything else critical.
func statusCheck(tier, subject, status string) Check {
	v := Crit
	switch status {
	case "available":
		v = OK
	case "backing-up", "modifying", "configuring-enhanced-monitoring", "maintenance", "upgrading", "storage-optimization":
		v = Warn
	}
	return Check{Tier: tier, Subject: subject, Name: "state", Value: status, Verdict: v}
}

func evalRedis(rep *Report, spec topology.Spec, r Readings) {
	if r.RedisErr != nil {
		rep.add(unreadable(TierRedis, r.RedisErr))
		return
	}
	if r.Redis == nil {
		return
	}
	rd := r.Redis
	if rd.UsedPercent > 0 || rd.UsedBytes == 0 && rd.MaxBytes == 0 {
		v, rule := share(rd.UsedPercent, 100)
		rep.add(Check{Tier: TierRedis, Subject: "primary", Name: "memory", Value: fmt.Sprintf("%.0f %% of maxmemory", rd.UsedPercent), Verdict: v, Rule: rule})
	} else {
		// Without maxmemory, Redis grows until the container's limit kills it.
		limit, of := rd.MaxBytes, "maxmemory"
		if limit == 0 {
			limit, of = int64(spec.Cache.MemoryMB)<<20, "the container's memory limit"
		}
		v, rule := share(float64(rd.UsedBytes>>20), float64(limit>>20))
		rep.add(Check{Tier: TierRedis, Subject: "primary", Name: "memory", Value: fmt.Sprintf("%s of %s (%s, %s)", mib(rd.UsedBytes), mib(limit), percent(float64(rd.UsedBytes), float64(limit)), of), Verdict: v, Rule: rule + " MiB"})
	}
	// noeviction keeps sessions: an eviction means the policy is not in force,
	// and a rejected write is a session or cache entry Moodle failed to store.
	v := OK
	if rd.Evictions > 0 {
		v = Crit
	}
	rep.add(Check{Tier: TierRedis, Subject: "primary", Name: "evictions", Value: fmt.Sprint(rd.Evictions), Verdict: v, Rule: "crit above 0: sessions must never be evicted (noeviction)"})
	if !rd.RejectedUnknown {
		v = OK
		if rd.RejectedWrites > 0 {
			v = Crit
		}
		rep.add(Check{Tier: TierRedis, Subject: "primary", Name: "rejected writes", Value: fmt.Sprint(rd.RejectedWrites), Verdict: v, Rule: "crit above 0: memory is full, Moodle cannot store sessions"})
	}
	// Every php-fpm worker at the ceiling, the cron runner and the ad hoc task
	// workers hold at most one connection each; more clients than that is a leak
	// or a stranger.
	clients := spec.ClientConnections()
	v, rule := share(float64(rd.Clients), float64(clients))
	rep.add(Check{Tier: TierRedis, Subject: "primary", Name: "clients", Value: fmt.Sprintf("%d of %d", rd.Clients, clients), Verdict: v, Rule: rule + " (workers at the ceiling + cron + ad hoc workers)"})
}

func mib(b int64) string { return fmt.Sprintf("%d MiB", b>>20) }

func evalFiles(rep *Report, r Readings) {
	if r.FilesErr != nil {
		rep.add(unreadable(TierFiles, r.FilesErr))
		return
	}
	f := r.Files
	if f == nil {
		return
	}
	if f.Elastic {
		rep.add(Check{Tier: TierFiles, Subject: "shared", Name: "free space", Value: "elastic (no size limit)", Verdict: OK})
		return
	}
	v, rule := OK, fmt.Sprintf("warn below %.0f %%, crit below %.0f %%", 100*warnFree, 100*critFree)
	free := float64(f.FreeBytes) / float64(max(f.TotalBytes, 1))
	switch {
	case free < critFree:
		v = Crit
	case free < warnFree:
		v = Warn
	}
	rep.add(Check{Tier: TierFiles, Subject: "shared", Name: "free space", Value: fmt.Sprintf("%s of %s (%.0f %%)", mib(f.FreeBytes), mib(f.TotalBytes), 100*free), Verdict: v, Rule: rule})
}

// Moodle's default thresholds of a task that runs long.
const (
	taskRuntimeWarn  = topology.TaskRuntimeWarnSeconds * time.Second
	taskRuntimeError = topology.TaskRuntimeErrorSeconds * time.Second
)

func evalCron(rep *Report, spec topology.Spec, r Readings, now time.Time) {
	if r.CronErr != nil {
		rep.add(unreadable(TierCron, r.CronErr))
		return
	}
	c := r.Cron
	if c == nil {
		return
	}
	interval := time.Duration(spec.Cron.IntervalSeconds) * time.Second
	v, rule := OK, fmt.Sprintf("warn after %v, crit after %v without a run", 3*interval, 10*interval)
	value := "never"
	if !c.LastRun.IsZero() {
		age := now.Sub(c.LastRun).Round(time.Second)
		value = fmt.Sprintf("%s ago (%s)", age, c.LastRun.UTC().Format(time.RFC3339))
		switch {
		case age > 10*interval:
			v = Crit
		case age > 3*interval:
			v = Warn
		}
	} else {
		v, rule = Warn, "no finished run yet: the install may still be running"
	}
	rep.add(Check{Tier: TierCron, Subject: "runner", Name: "last run", Value: value, Verdict: v, Rule: rule})
	if !c.LastRun.IsZero() {
		// No run is cut short, so a pass is judged as Moodle judges a task that
		// runs long (topology.TaskRuntimeWarnSeconds).
		v := OK
		switch {
		case c.Duration > taskRuntimeError:
			v = Crit
		case c.Duration > taskRuntimeWarn:
			v = Warn
		}
		rep.add(Check{Tier: TierCron, Subject: "runner", Name: "duration", Value: c.Duration.Round(10 * time.Millisecond).String(), Verdict: v,
			Rule: fmt.Sprintf("warn after %v, crit after %v (Moodle's taskruntimewarn and taskruntimeerror)", taskRuntimeWarn, taskRuntimeError)})
	}
	v, value = OK, c.LockHolder
	if strings.TrimSpace(c.LockHolder) == "" {
		v, value = Crit, "nobody"
	}
	rep.add(Check{Tier: TierCron, Subject: "runner", Name: "lock holder", Value: value, Verdict: v, Rule: "exactly one runner holds the lock"})
}

func evalMoodle(rep *Report, spec topology.Spec, r Readings) {
	if r.MoodleErr != nil {
		rep.add(unreadable(TierMoodle, r.MoodleErr))
		return
	}
	m := r.Moodle
	if m == nil {
		return
	}
	if !m.Reachable {
		rep.add(Check{Tier: TierMoodle, Subject: "site", Name: "answers", Value: "no", Verdict: Crit})
		return
	}
	v, rule := OK, "the release the stack deploys is "+spec.Moodle.Version
	if m.Release == "" {
		v, rule = Warn, "not installed yet"
	} else if !strings.HasPrefix(m.Release, spec.Moodle.Version) {
		v = Warn
	}
	rep.add(Check{Tier: TierMoodle, Subject: "site", Name: "release", Value: orDash(m.Release), Verdict: v, Rule: rule})
	v, value := OK, "off"
	if m.Maintenance {
		v, value = Warn, "on"
	}
	rep.add(Check{Tier: TierMoodle, Subject: "site", Name: "maintenance mode", Value: value, Verdict: v, Rule: "on during an upgrade; left on after a failed one"})
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
