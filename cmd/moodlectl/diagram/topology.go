// Package diagram draws a stack's topology, at the level an operator reads it
// (tiers, node counts, limits, endpoints), from the resources the stack's program
// registers or its state holds: Mermaid for READMEs and pull requests, and DOT that
// Graphviz renders to SVG. `pulumi stack graph` draws every resource; this draws
// what they add up to.
package diagram

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/inventory"
	"github.com/moodle-cluster/moodle-pulumi/components/appimage"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// Tiers, top to bottom.
const (
	TierEntrance = "entrance"
	TierApp      = "app"
	TierData     = "data"
)

// Node is one box: a role of the topology with how many there are, their size
// and where they answer.
type Node struct {
	ID    string
	Tier  string
	Title string
	Lines []string
}

// Edge is a connection the traffic takes.
type Edge struct{ From, To, Label string }

// Topology is what a stack runs, drawn by tier.
type Topology struct {
	Title string
	// Network describes what holds the tiers (a Docker host, a VPC).
	Network string
	Nodes   []Node
	Edges   []Edge
}

// Build reads the topology of inv. spec is the stack's validated config, the
// source of what the resources do not carry (the php-fpm pool, the connection
// budget); every count and size comes from the resources themselves.
func Build(inv inventory.Inventory, spec topology.Spec) (Topology, error) {
	b := builder{inv: inv, spec: spec, out: Topology{Title: fmt.Sprintf("moodle stack %s (%s)", inv.Stack, spec.Target)}}
	var err error
	switch spec.Target {
	case topology.TargetDocker:
		err = b.docker()
	case topology.TargetAWS:
		err = b.aws()
	default:
		err = fmt.Errorf("no diagram for target %q", spec.Target)
	}
	return b.out, err
}

type builder struct {
	inv  inventory.Inventory
	spec topology.Spec
	out  Topology
}

func (b *builder) node(id, tier, title string, lines ...string) {
	b.out.Nodes = append(b.out.Nodes, Node{ID: id, Tier: tier, Title: title, Lines: lines})
}

func (b *builder) edge(from, to, label string) {
	b.out.Edges = append(b.out.Edges, Edge{From: from, To: to, Label: label})
}

// output is a stack output as text, or fallback before the stack is deployed.
func (b *builder) output(key, fallback string) string {
	if v, ok := b.inv.Outputs[key].(string); ok && v != "" {
		return v
	}
	return fallback
}

func pool(s topology.Spec) string {
	p := s.App.Sizing()
	return fmt.Sprintf("php-fpm pm.max_children %d (start %d, spare %d..%d)", p.MaxChildren, p.StartServers, p.MinSpareServers, p.MaxSpareServers)
}

// docker draws the containers by role: the cluster's containers are named
// <cluster>-<role>, app nodes <cluster>-app-<n>.
func (b *builder) docker() error {
	roles := map[string][]inventory.Resource{}
	for _, c := range b.inv.OfType("docker:index/container:Container") {
		name := c.Str("name")
		role := strings.TrimPrefix(name, c.Parent+"-")
		if i := strings.LastIndex(role, "-"); i > 0 && isDigits(role[i+1:]) {
			role = role[:i]
		}
		roles[role] = append(roles[role], c)
	}
	if len(roles["lb"]) == 0 || len(roles["app"]) == 0 {
		return fmt.Errorf("stack %s registers no load balancer or app containers", b.inv.Stack)
	}
	b.out.Network = fmt.Sprintf("one Docker host: %d containers, %d networks, %d volumes",
		len(b.inv.OfType("docker:index/container:Container")), len(b.inv.OfType("docker:index/network:Network")),
		len(b.inv.OfType("docker:index/volume:Volume")))

	lb := roles["lb"][0]
	b.node("users", TierEntrance, "browser", b.output("siteUrl", b.spec.SiteURL))
	b.node("lb", TierEntrance, "nginx load balancer", "least_conn over the app nodes", "publishes "+published(lb), limits(lb))
	b.edge("users", "lb", "HTTP")
	apps := roles["app"]
	b.node("app", TierApp, fmt.Sprintf("app nodes × %d", len(apps)), "php-fpm, "+limits(apps[0]), pool(b.spec))
	b.edge("lb", "app", fmt.Sprintf("FastCGI :%d", appimage.FPMPort))
	if cron := roles["cron"]; len(cron) > 0 {
		b.node("cron", TierApp, "cron runner × 1", "install/upgrade once, then the scheduled tasks (cron.php)", limits(cron[0]))
	}
	if adhoc := roles["adhoc"]; len(adhoc) > 0 {
		b.node("adhoc", TierApp, fmt.Sprintf("ad hoc task workers × %d", len(adhoc)), "adhoc_task.php", limits(adhoc[0]))
	}
	dbTarget := "db"
	if pg := roles["pgbouncer"]; len(pg) > 0 {
		b.node("pooler", TierData, "PgBouncer", fmt.Sprintf("%s pooling, %d server connections", b.spec.Database.PoolMode, b.spec.Database.PoolSize), limits(pg[0]))
		b.edge("pooler", "db", "")
		dbTarget = "pooler"
	}
	if db := roles["db"]; len(db) > 0 {
		b.node("db", TierData, "PostgreSQL "+b.spec.Database.Version, fmt.Sprintf("max_connections %d", b.spec.ServerConnections()), limits(db[0]))
	}
	if replicas := roles["db-replica"]; len(replicas) > 0 {
		b.node("replica", TierData, fmt.Sprintf("read replicas × %d", len(replicas)), "streaming replication, dboptions['readonly']", limits(replicas[0]))
		b.edge("db", "replica", "WAL")
		b.edge("app", "replica", "reads")
	}
	if redis := roles["redis"]; len(redis) > 0 {
		b.node("redis", TierData, "Redis "+b.spec.Cache.Version, "sessions (db "+fmt.Sprint(b.spec.Cache.SessionDB)+") and MUC cache", limits(redis[0]))
	}
	b.node("files", TierData, "moodledata", b.storage())
	for _, from := range b.appTier() {
		b.edge(from, dbTarget, "SQL")
		b.edge(from, "redis", "")
		b.edge(from, "files", "")
	}
	return nil
}

func (b *builder) storage() string {
	switch b.spec.Storage.Kind {
	case topology.StorageNFS:
		return "NFS volume " + b.spec.Storage.NFS.Address + b.spec.Storage.NFS.Device
	case topology.StorageVolume:
		return "named volume, shared by every node"
	}
	return b.spec.Storage.Kind
}

// appTier are the nodes that run Moodle code.
func (b *builder) appTier() []string {
	var out []string
	for _, n := range b.out.Nodes {
		if n.Tier == TierApp {
			out = append(out, n.ID)
		}
	}
	return out
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// limits is a container's CPU and memory limit and reservation. The CPU count is
// written the way Docker reads it back ("2.0"); a person reads "2".
func limits(c inventory.Resource) string {
	cpus := c.Str("cpus")
	if n, err := strconv.ParseFloat(cpus, 64); err == nil {
		cpus = strconv.FormatFloat(n, 'f', -1, 64)
	}
	return fmt.Sprintf("limit %s CPU / %g MB, reserved %g MB", cpus, c.Num("memory"), c.Num("memoryReservation"))
}

// published is the host address and port a container publishes.
func published(c inventory.Resource) string {
	ports, _ := c.Inputs["ports"].([]any)
	var out []string
	for _, p := range ports {
		m, _ := p.(map[string]any)
		out = append(out, fmt.Sprintf("%v:%v", m["ip"], m["external"]))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
