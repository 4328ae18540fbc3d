package plan

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

var targets = []topology.Target{topology.TargetDocker, topology.TargetAWS}

// sizes are registered users, smallest first, from a class to a large
// university; each plan of them must be a valid stack. 100,000 users on docker
// fit the connection budget with a ceiling of 15 nodes of 8; on aws, where a
// deployment doubles the nodes, they are refused (TestMake_RefusesWhatNoStackCanRun).
var sizes = map[topology.Target][]int{
	topology.TargetDocker: {1, 100, 2000, 20000, 50000, 90000, 100000},
	topology.TargetAWS:    {1, 100, 2000, 20000, 50000, 90000},
}

// TestMake_WritesAStackFileTheValidatorAccepts loads every plan's stack file the
// way moodlectl preview does and checks it runs what was planned.
func TestMake_WritesAStackFileTheValidatorAccepts(t *testing.T) {
	for _, target := range targets {
		for _, users := range sizes[target] {
			p, err := Make(Request{Users: users, Target: target})
			if err != nil {
				t.Fatalf("%s, %d users: %v", target, users, err)
			}
			v, err := Load(p, t.TempDir(), false)
			if err != nil {
				t.Fatalf("%s, %d users: the printed plan is no valid stack file: %v", target, users, err)
			}
			got, want := v.Spec, p.Spec
			if got.App.Replicas != want.App.Replicas || got.App.MaxReplicas != want.App.MaxReplicas ||
				got.App.Sizing() != want.App.Sizing() || got.ServerConnections() != want.ServerConnections() ||
				got.MaxConnections() != want.MaxConnections() || got.Database.Resources != want.Database.Resources ||
				got.Database.InstanceClass != want.Database.InstanceClass || got.Cache.Resources != want.Cache.Resources ||
				got.Cache.NodeType != want.Cache.NodeType || got.App.Resources != want.App.Resources {
				t.Errorf("%s, %d users: the stack file runs\n%+v\nnot the plan\n%+v", target, users, got.App, want.App)
			}
		}
	}
}

// TestMake_Grows checks that more users never get less: workers, database and
// Redis only grow, and so does the app tier's ceiling until the connection
// budget stops it, a node lost still leaves a worker for every
// request in flight, and the largest site gets more than the smallest.
func TestMake_Grows(t *testing.T) {
	for _, target := range targets {
		var prev Plan
		for i, users := range sizes[target] {
			p, err := Make(Request{Users: users, Target: target})
			if err != nil {
				t.Fatal(err)
			}
			s := p.Spec
			perNode := s.App.Sizing().MaxChildren
			if p.Workers-perNode < p.Concurrent {
				t.Errorf("%s, %d users: %d workers on %d nodes leave %d with a node lost, fewer than the %d requests in flight",
					target, users, p.Workers, s.App.Replicas, p.Workers-perNode, p.Concurrent)
			}
			if s.App.Replicas < 2 || s.App.MaxReplicas < s.App.Replicas || s.App.MaxReplicas > maxReplicas {
				t.Errorf("%s, %d users: replicas %d, maxReplicas %d", target, users, s.App.Replicas, s.App.MaxReplicas)
			}
			if i > 0 {
				ps := prev.Spec
				for _, c := range []struct {
					what    string
					was, is int
				}{
					{"workers", prev.Workers, p.Workers},
					{"app memory at the ceiling", ps.App.MaxReplicas * ps.App.MemoryMB, s.App.MaxReplicas * s.App.MemoryMB},
					{"database memory", ps.Database.MemoryMB, s.Database.MemoryMB},
					{"database class", slices.Index(rdsClasses, ps.Database.InstanceClass), slices.Index(rdsClasses, s.Database.InstanceClass)},
					{"redis memory", ps.Cache.MemoryMB, s.Cache.MemoryMB},
					{"redis node", cacheIndex(ps.Cache.NodeType), cacheIndex(s.Cache.NodeType)},
				} {
					if c.is < c.was && !(c.what == "app memory at the ceiling" && atBudget(s)) {
						t.Errorf("%s: %s shrinks from %d to %d going from %d to %d users", target, c.what, c.was, c.is, prev.Users, users)
					}
				}
			}
			prev = p
		}
		small, _ := Make(Request{Users: sizes[target][0], Target: target})
		if prev.Workers <= small.Workers {
			t.Errorf("%s: %d users get %d workers, no more than %d users' %d", target, prev.Users, prev.Workers, small.Users, small.Workers)
		}
	}
}

// atBudget is true when one more node at the ceiling would open more database
// connections than validation allows: past there the ceiling's headroom shrinks
// as the base grows.
func atBudget(s topology.Spec) bool {
	s.App.MaxReplicas++
	return s.ServerConnections() > maxServerConnections
}

func cacheIndex(nodeType string) int {
	return slices.IndexFunc(cacheNodes, func(n struct {
		Type     string
		MemoryMB int
	}) bool {
		return n.Type == nodeType
	})
}

func TestMake_RefusesWhatNoStackCanRun(t *testing.T) {
	for _, c := range []struct {
		r    Request
		want []string
	}{
		{Request{Users: 0, Target: topology.TargetDocker}, []string{"--users 0", "allowed: 1.."}},
		{Request{Users: -5, Target: topology.TargetAWS}, []string{"--users -5", "allowed: 1.."}},
		{Request{Users: MaxUsers + 1, Target: topology.TargetAWS}, []string{"--users 10000001", "allowed: 1..10000000"}},
		{Request{Users: 10, Concurrent: -1, Target: topology.TargetDocker}, []string{"--concurrent -1", "allowed: 0"}},
		{Request{Users: 10, Concurrent: MaxConcurrent + 1, Target: topology.TargetDocker}, []string{"--concurrent 20001"}},
		{Request{Users: 10, Target: "gcp"}, []string{`--target "gcp"`, "allowed: docker, aws"}},
		// 200,000 requests in flight: 63 nodes of the largest shape, beyond 50.
		{Request{Users: 1_000_000, Target: topology.TargetDocker}, []string{"need 63 app nodes", "at most 50"}},
		{Request{Users: 1_000_000, Target: topology.TargetAWS}, []string{"need 63 app nodes", "at most 50"}},
		// 2,000 in flight: 7 tasks of 325 workers, 14 in a deployment: 4,550
		// connections, 8 tasks would need 5,200.
		{Request{Users: 100_000, Target: topology.TargetAWS}, []string{"need 8 app nodes of 325 workers", "16 of them at the peak open 5216 database connections, beyond the 5000"}},
	} {
		_, err := Make(c.r)
		if !errors.Is(err, ErrInput) {
			t.Errorf("%+v: got %v, want an input error", c.r, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: %q does not say %q", c.r, err, w)
			}
		}
	}
}

// TestMake_WarnsWhenTheSiteOutgrowsAHostOrTheBudget: on docker 100,000 users need 8 nodes
// of 8 CPUs, 15 at the ceiling (the connection budget), reserving 4 CPUs each:
// past a 64-CPU host.
func TestMake_WarnsWhenTheSiteOutgrowsAHostOrTheBudget(t *testing.T) {
	t.Run("aws: no room to scale out", func(t *testing.T) {
		// 90,000 users: 7 tasks of 325 workers, 14 in a deployment; 8 would
		// open more than 5000 connections.
		p, err := Make(Request{Users: 90000, Target: topology.TargetAWS})
		if err != nil {
			t.Fatal(err)
		}
		if p.Spec.App.MaxReplicas != 7 || len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "no room to scale out") {
			t.Errorf("ceiling %d, warnings %q", p.Spec.App.MaxReplicas, p.Warnings)
		}
	})
	small, err := Make(Request{Users: 2000, Target: topology.TargetDocker})
	if err != nil {
		t.Fatal(err)
	}
	if len(small.Warnings) != 0 {
		t.Errorf("2000 users fit one host, yet: %v", small.Warnings)
	}
	big, err := Make(Request{Users: 100000, Target: topology.TargetDocker})
	if err != nil {
		t.Fatal(err)
	}
	if big.Host.CPUs <= LargestHost.CPUs {
		t.Fatalf("100,000 users reserve %g CPUs, expected more than %g", big.Host.CPUs, LargestHost.CPUs)
	}
	if len(big.Warnings) != 1 || !strings.Contains(big.Warnings[0], "no single Docker host") ||
		!strings.Contains(big.Warnings[0], "reserves 72.6 CPUs / 260 GB") {
		t.Errorf("warnings %q do not name the host needed", big.Warnings)
	}
	var out bytes.Buffer
	if err := Write(&out, big, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "# WARNING   no single Docker host") {
		t.Errorf("the stack file does not carry the warning:\n%s", out.String())
	}
}

// TestWrite_PrintsEveryAssumptionWithItsSource: the stack file's comments list
// every assumption, each with its source, and the figures sized.
func TestWrite_PrintsEveryAssumptionWithItsSource(t *testing.T) {
	for _, target := range targets {
		p, err := Make(Request{Users: 2000, Target: target})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := Write(&out, p, nil); err != nil {
			t.Fatal(err)
		}
		text := out.String()
		if len(p.Assumptions) < 8 {
			t.Errorf("%s: only %d assumptions", target, len(p.Assumptions))
		}
		for _, a := range p.Assumptions {
			if a.Source == "" || a.Value == "" {
				t.Errorf("%s: assumption %q has no value or source", target, a.What)
			}
			if !strings.Contains(text, "# - "+a.What+": "+a.Value+". Source: "+a.Source+"\n") {
				t.Errorf("%s: assumption %q is not printed", target, a.What)
			}
		}
		for _, want := range []string{"200 active at the peak, 40 requests in flight", "pm.max_children", "\nconfig:\n"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: the plan does not say %q:\n%s", target, want, text)
			}
		}
	}
	p, _ := Make(Request{Users: 2000, Concurrent: 300, Target: topology.TargetDocker})
	if p.Concurrent != 300 || slices.ContainsFunc(p.Assumptions, func(a Assumption) bool { return a.Value == pct(ConcurrentShare) }) {
		t.Errorf("--concurrent 300 is planned as %d concurrent requests, with the derived shares among the assumptions", p.Concurrent)
	}
}

// TestEstimate_PricesTheAWSPlan runs the aws plans' program offline and prices
// it: a larger site costs more.
func TestEstimate_PricesTheAWSPlan(t *testing.T) {
	var prev float64
	for _, users := range []int{2000, 20000, 90000} {
		p, err := Make(Request{Users: users, Target: topology.TargetAWS})
		if err != nil {
			t.Fatal(err)
		}
		est, err := Estimate(p, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if len(est.Unpriced) > 0 || est.Total <= prev || est.CeilingTotal < est.Total {
			t.Errorf("%d users: total %.2f (ceiling %.2f) after %.2f, unpriced %v", users, est.Total, est.CeilingTotal, prev, est.Unpriced)
		}
		prev = est.Total
	}
}

// TestSizeCache_HoldsASessionOfEveryUser: the sessions' Redis grows with the
// users, a docker container within its maxmemory (three quarters of the limit),
// an ElastiCache node within its memory less the reserved quarter.
func TestSizeCache_HoldsASessionOfEveryUser(t *testing.T) {
	for _, c := range []struct {
		users      int
		dockerMB   int
		awsNode    string
		awsHoldsIt bool
	}{
		{100, 1024, "cache.r6g.large", true},
		{10000, 2048, "cache.r6g.large", true},    // 977 MB of sessions
		{102000, 13312, "cache.r6g.large", true},  // 9961 MB, within 10038
		{103000, 14336, "cache.r6g.xlarge", true}, // 10059 MB
		{200000, 26624, "cache.r6g.xlarge", true}, // 19532 MB
		{600000, 78848, "", false},                // 58594 MB: past 2xlarge's 40566
	} {
		for _, target := range targets {
			s, _ := topology.Defaults(target)
			ok := sizeCache(&s, c.users)
			switch {
			case target == topology.TargetDocker && (s.Cache.MemoryMB != c.dockerMB || !ok):
				t.Errorf("docker, %d users: Redis of %d MB, want %d", c.users, s.Cache.MemoryMB, c.dockerMB)
			case target == topology.TargetAWS && ok != c.awsHoldsIt:
				t.Errorf("aws, %d users: %s holds the sessions: %v, want %v", c.users, s.Cache.NodeType, ok, c.awsHoldsIt)
			case target == topology.TargetAWS && ok && s.Cache.NodeType != c.awsNode:
				t.Errorf("aws, %d users: %s, want %s", c.users, s.Cache.NodeType, c.awsNode)
			}
		}
	}
}
