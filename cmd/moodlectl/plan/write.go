package plan

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/cost"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// Region is the AWS region an aws plan is written for: the prod stack's, whose
// prices cmd/moodlectl/cost pins.
const Region = "eu-west-1"

// Write writes the plan as a stack file: what was sized and why as YAML
// comments, then the config block. est is the aws plan's cost estimate (nil for
// docker, or when it could not be made).
func Write(w io.Writer, p Plan, est *cost.Estimate) error {
	var b strings.Builder
	s := p.Spec
	pool := s.App.Sizing()
	line := func(format string, a ...any) {
		text := fmt.Sprintf(format, a...)
		if text == "" {
			b.WriteString("#\n")
			return
		}
		b.WriteString("# " + text + "\n")
	}

	flags := fmt.Sprintf("--users %d", p.Users)
	if p.Request.Concurrent > 0 {
		flags += fmt.Sprintf(" --concurrent %d", p.Request.Concurrent)
	}
	line("moodlectl plan %s --target %s", flags, p.Target)
	line("A site of %d registered users: %d active at the peak, %d requests in flight.", p.Users, p.Active, p.Concurrent)
	line("")
	line("app       %d nodes (scaling to %d) of %g CPUs / %d MB, reserved %g / %d", s.App.Replicas, s.App.MaxReplicas,
		s.App.CPUs, s.App.MemoryMB, s.App.ReservedCPUs, s.App.ReservedMemoryMB)
	line("php-fpm   pm.max_children %d per node (start %d, spare %d..%d): %d workers, %d with a node lost",
		pool.MaxChildren, pool.StartServers, pool.MinSpareServers, pool.MaxSpareServers, p.Workers, p.Workers-pool.MaxChildren)
	line("capacity  at most about %.0f requests/s of the bench's heavy request (%.2f per worker); a real page's time sets the real rate",
		p.HeavyRPS, HeavyRequestsPerWorkerSecond())
	if s.Target == topology.TargetAWS {
		limit, _ := topology.RDSMaxConnections(s.Database.InstanceClass)
		line("database  %s, max_connections about %d (RDS's formula); the app tier opens %d at its peak (%d tasks in a deployment × %d + cron, ad hoc, admin)",
			s.Database.InstanceClass, limit, s.ServerConnections(), s.PeakNodes(), pool.MaxChildren)
		line("redis     sessions %s × %d, MUC %s × %d", s.Cache.NodeType, s.Cache.Replicas, s.Cache.MUC.NodeType, s.Cache.MUC.Replicas)
		line("storage   EFS for moodledata; RDS %d GB gp3, growing to %d GB", s.Database.StorageGB, s.Database.MaxStorageGB)
	} else {
		line("database  max_connections %d (%d nodes at app.maxReplicas × %d + cron, ad hoc, admin); %g CPUs / %d MB",
			s.MaxConnections(), s.PeakNodes(), pool.MaxChildren, s.Database.CPUs, s.Database.MemoryMB)
		line("redis     sessions %d MB (maxmemory %d MB for %d sessions of %d KB), MUC %d MB",
			s.Cache.MemoryMB, s.Cache.MemoryMB*3/4, p.Users, sessionKB, s.Cache.MUC.MemoryMB)
		line("storage   a local volume for moodledata (storage.kind nfs for a shared one)")
		line("host      at least %g CPUs / %d GB (the reservations at app.maxReplicas); %g CPUs / %d GB with every container at its limit",
			tenths(p.Host.CPUs), gb(p.Host.MemoryMB), tenths(p.Host.LimitCPUs), gb(p.Host.LimitMemoryMB))
	}
	switch {
	case est != nil:
		line("cost      %s USD/month, %s with the app at its ceiling (%s on-demand list prices of %s, cmd/moodlectl/cost; usage-based charges not included)",
			usd(est.Total), usd(est.CeilingTotal), est.Region, est.AsOf)
	case s.Target == topology.TargetDocker:
		line("cost      no cloud charges: the host above")
	}
	for _, warning := range p.Warnings {
		line("WARNING   %s", warning)
	}
	line("")
	line("Assumptions:")
	for _, a := range p.Assumptions {
		line("- %s: %s. Source: %s", a.What, a.Value, a.Source)
	}
	if s.Target == topology.TargetAWS {
		line("")
		line("Replace the site URL, the certificate, the e-mail addresses, the mail relay and")
		line("images.app (your registry's image, docs/aws.md) with your own before `up`.")
	}
	b.WriteString("config:\n")
	for _, kv := range configOf(p) {
		writeValue(&b, kv.key, kv.value, 1)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// kv is one key of the config block, in the order written.
type kv struct {
	key   string
	value any
}

// configOf is the config block: what the plan sized, plus what a valid stack of
// the target needs set. Everything else keeps the target's defaults.
func configOf(p Plan) []kv {
	s := p.Spec
	resources := func(r topology.Resources) []kv {
		return []kv{{"cpus", r.CPUs}, {"memoryMb", r.MemoryMB}, {"reservedCpus", r.ReservedCPUs}, {"reservedMemoryMb", r.ReservedMemoryMB}}
	}
	app := []kv{{"replicas", s.App.Replicas}}
	if s.Target == topology.TargetAWS {
		app = append(app, kv{"minReplicas", s.App.MinReplicas})
	}
	app = append(app, kv{"maxReplicas", s.App.MaxReplicas})
	app = append(app, resources(s.App.Resources)...)
	app = append(app, kv{"phpFpm", []kv{{"workerMemoryMb", s.App.PHPFPM.WorkerMemoryMB}}})

	if s.Target == topology.TargetDocker {
		db := append(resources(s.Database.Resources), kv{"pooler", s.Database.Pooler})
		return []kv{
			{"moodle:target", string(s.Target)},
			{"moodle:app", app},
			{"moodle:database", db},
			{"moodle:cache", resources(s.Cache.Resources)},
			{"moodle:storage", []kv{{"kind", s.Storage.Kind}}},
		}
	}
	return []kv{
		{"aws:region", Region},
		{"moodle:target", string(s.Target)},
		{"moodle:siteUrl", "https://moodle.example.edu"},
		{"moodle:moodle", []kv{{"adminEmail", "moodle-admin@example.edu"}}},
		{"moodle:app", app},
		{"moodle:database", []kv{{"instanceClass", s.Database.InstanceClass}, {"pooler", s.Database.Pooler}}},
		{"moodle:cache", []kv{{"nodeType", s.Cache.NodeType}, {"muc", []kv{{"nodeType", s.Cache.MUC.NodeType}}}}},
		{"moodle:storage", []kv{{"kind", s.Storage.Kind}}},
		{"moodle:mail", []kv{{"host", "smtp.example.edu"}, {"noReplyAddress", "noreply@moodle.example.edu"}}},
		{"moodle:aws", []kv{
			{"certificateArn", "arn:aws:acm:" + Region + ":123456789012:certificate/00000000-0000-0000-0000-000000000000"},
			{"alarmEmail", "ops@example.edu"},
		}},
	}
}

// writeValue writes one key of YAML at depth (two spaces each). Strings are
// written as JSON strings, which YAML reads as double-quoted scalars.
func writeValue(b *strings.Builder, key string, value any, depth int) {
	indent := strings.Repeat("  ", depth)
	switch v := value.(type) {
	case []kv:
		fmt.Fprintf(b, "%s%s:\n", indent, key)
		for _, child := range v {
			writeValue(b, child.key, child.value, depth+1)
		}
	case string:
		fmt.Fprintf(b, "%s%s: %s\n", indent, key, strconv.Quote(v))
	case float64:
		fmt.Fprintf(b, "%s%s: %s\n", indent, key, strconv.FormatFloat(v, 'f', -1, 64))
	default:
		fmt.Fprintf(b, "%s%s: %v\n", indent, key, v)
	}
}

// usd formats an amount as the cost table does.
func usd(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
