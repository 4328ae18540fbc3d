package topology

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
)

// Pool is the php-fpm process manager configuration one app node runs.
type Pool struct {
	MaxChildren     int
	StartServers    int
	MinSpareServers int
	MaxSpareServers int
	MaxRequests     int
}

// MaxChildrenFor is the php-fpm sizing formula:
//
//	pm.max_children = floor((memory limit - reserve) / average worker RSS)
//
// The reserve covers the fpm master, the OPcache segment and the OS share of the
// container; the average worker RSS of a Moodle request is 50-100 MB. Sizing by the
// average (not by memory_limit) is what Moodle's own guidance and published load
// tests do: a pool sized by memory_limit would run a fraction of the workers the node
// can hold. The result is 0 when not even one worker fits.
func MaxChildrenFor(memoryMB, reserveMB, workerMB int) int {
	if workerMB <= 0 || memoryMB <= reserveMB {
		return 0
	}
	return (memoryMB - reserveMB) / workerMB
}

// Sizing returns the pool an app node runs: derived from the app's memory limit,
// with any value set in config taking precedence.
//
// Spare servers follow the shape of the seed's pool (max 50, min spare 5, max spare
// 20): a tenth of the children kept idle at least, a quarter at most, starting midway.
func (a App) Sizing() Pool {
	f := a.PHPFPM
	p := Pool{MaxChildren: f.MaxChildren, MaxRequests: f.MaxRequests}
	if p.MaxChildren == 0 {
		p.MaxChildren = MaxChildrenFor(a.MemoryMB, f.ReserveMemoryMB, f.WorkerMemoryMB)
	}
	p.MinSpareServers = f.MinSpareServers
	if p.MinSpareServers == 0 {
		p.MinSpareServers = max(1, p.MaxChildren/10)
	}
	p.MaxSpareServers = f.MaxSpareServers
	if p.MaxSpareServers == 0 {
		p.MaxSpareServers = min(p.MaxChildren, max(p.MinSpareServers, p.MaxChildren/4))
	}
	p.StartServers = f.StartServers
	if p.StartServers == 0 {
		p.StartServers = (p.MinSpareServers + p.MaxSpareServers) / 2
	}
	return p
}

// cronConnections is what the cron runner holds at most: cron.php and, during
// install or upgrade, the upgrade script; adminConnections leaves room for psql,
// backups and monitoring.
const (
	cronConnections  = 2
	adminConnections = 10
)

// AWSDeploymentMaximumPercent is the app service's deployment ceiling on AWS: a
// deployment starts the new tasks before it stops the old ones, so up to twice the
// running count serve at once.
const AWSDeploymentMaximumPercent = 200

// PeakNodes is the most app nodes that run at once: the autoscaling ceiling, and on
// AWS the deployment surge on top of it.
func (s Spec) PeakNodes() int {
	nodes := max(s.App.Replicas, s.App.MaxReplicas)
	if s.Target == TargetAWS {
		nodes = (nodes*AWSDeploymentMaximumPercent + 99) / 100
	}
	return nodes
}

// MaxAdhocWorkers is the most ad hoc task workers a stack may run.
const MaxAdhocWorkers = 20

// PeakAdhocWorkers is the most ad hoc task workers that hold a database connection
// at once. On Docker it is the ceiling, so that scaling the workers never changes,
// and so never restarts, the database container (as app.maxReplicas does for the
// nodes); on AWS the workers' deployment surge, which starts the new tasks before
// it stops the old ones.
func (s Spec) PeakAdhocWorkers() int {
	if s.Target == TargetAWS {
		return (s.Cron.Adhoc.Workers*AWSDeploymentMaximumPercent + 99) / 100
	}
	return MaxAdhocWorkers
}

// ClientConnections is the most database connections the cluster can open at once:
// every php-fpm child of every app node at the peak holds one, plus the cron
// runner and the ad hoc task workers. With a pooler these are the pooler's client
// connections.
func (s Spec) ClientConnections() int {
	return s.PeakNodes()*s.App.Sizing().MaxChildren + cronConnections + s.PeakAdhocWorkers()
}

// ServerConnections is the max_connections PostgreSQL must allow: the clients (or
// the pooler's server pool) plus room for administration.
func (s Spec) ServerConnections() int {
	if s.Database.Pooler == PoolerPgBouncer {
		return s.Database.PoolSize + adminConnections
	}
	return s.ClientConnections() + adminConnections
}

// RDSMaxConnectionsFormula is max_connections of the RDS parameter group: RDS for
// PostgreSQL's own default, which RDS evaluates against the instance class. Unlike
// a number derived from the app tier it never changes when the app scales, so the
// static parameter never waits for a reboot that nothing does; a change of the
// instance class restarts the instance and so applies the new value with it.
const RDSMaxConnectionsFormula = "LEAST({DBInstanceClassMemory/9531392},5000)"

// rdsClass splits an RDS instance class: db.r6g.xlarge -> r, r6g, xlarge.
var rdsClass = regexp.MustCompile(`^db\.([a-z]+)[0-9][a-z0-9-]*\.([a-z0-9]+)$`)

// vCPUs of the instance sizes RDS offers beyond the burstable classes.
var sizeVCPUs = map[string]int{
	"large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32, "12xlarge": 48,
	"16xlarge": 64, "24xlarge": 96, "32xlarge": 128, "48xlarge": 192,
}

// memoryPerVCPU is the GiB per vCPU of each class family; the burstable t classes
// have memory by size instead (burstableGiB).
var memoryPerVCPU = map[string]int{"m": 4, "r": 8, "z": 8, "x": 16}

var burstableGiB = map[string]int{"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32}

// RDSInstanceMemoryGiB is the memory of an RDS instance class, or false for a
// class this table does not know.
func RDSInstanceMemoryGiB(class string) (int, bool) {
	g := rdsClass.FindStringSubmatch(class)
	if g == nil {
		return 0, false
	}
	if g[1] == "t" {
		gib, ok := burstableGiB[g[2]]
		return gib, ok
	}
	perVCPU, ok := memoryPerVCPU[g[1]]
	vcpus, known := sizeVCPUs[g[2]]
	return perVCPU * vcpus, ok && known
}

// rdsReservedShare is the part of an instance's memory RDS keeps for itself and
// leaves out of DBInstanceClassMemory; it errs on the generous side.
const rdsReservedShare = 0.1

// RDSMaxConnections is about what RDSMaxConnectionsFormula gives on an instance
// class (false for a class of unknown memory): the number the connection alarm and
// the connection budget are measured against.
func RDSMaxConnections(class string) (int, bool) {
	gib, ok := RDSInstanceMemoryGiB(class)
	if !ok {
		return 0, false
	}
	bytes := float64(int64(gib)<<30) * (1 - rdsReservedShare)
	return min(5000, int(bytes/9531392)), true
}

// AppNodes returns the names of the app nodes, app-1 .. app-N. They are the Docker
// network aliases of the app containers and the upstream names nginx balances over.
func (s Spec) AppNodes() []string { return numbered("app", s.App.Replicas) }

// AdhocWorkerNames are the names of the ad hoc task workers, adhoc-1..adhoc-N.
func (s Spec) AdhocWorkerNames() []string { return numbered("adhoc", s.Cron.Adhoc.Workers) }

func numbered(prefix string, n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%d", prefix, i+1)
	}
	return names
}

// HTTPS reports whether the site is served over TLS (terminated at the load balancer).
func (s Spec) HTTPS() bool {
	u, err := url.Parse(s.SiteURL)
	return err == nil && u.Scheme == "https"
}

// Hostname is the host part of the site URL, nginx's server_name.
func (s Spec) Hostname() string {
	u, err := url.Parse(s.SiteURL)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// TempDir, CacheDir and BackupTempDir are shared across nodes, inside moodledata.
// TablePrefix is the prefix of Moodle's tables ($CFG->prefix): config.php sets it,
// and the tools that read the database (backup, restore) name tables with it.
const TablePrefix = "mdl_"

func (p Paths) TempDir() string       { return p.DataRoot + "/temp" }
func (p Paths) CacheDir() string      { return p.DataRoot + "/cache" }
func (p Paths) BackupTempDir() string { return p.DataRoot + "/temp/backup" }

// InstalledMarker exists once the cron runner has installed (or upgraded) the site.
// Until then the web servers answer 503 for PHP, so nobody can reach Moodle's web
// installer during the first deployment and claim the admin account.
func (p Paths) InstalledMarker() string { return p.DataRoot + "/.moodle-installed" }

// ReleaseMarker is InstalledMarker for the code this Spec runs (its app image): the
// cron runner of a release writes it once the database is installed or upgraded
// for that release, and the web servers of a release serve PHP only while it
// exists. So a new release never serves an old database, nor an old release a new
// one: from the moment the new runner starts until it has upgraded, every node
// answers 503, and each node serves again once the database matches its code.
func (s Spec) ReleaseMarker() string {
	sum := sha256.Sum256([]byte(s.Images.App))
	return s.Paths.InstalledMarker() + "-" + hex.EncodeToString(sum[:6])
}

// CronLockFile is the lock the cron runner holds for its whole life. It lives in the
// shared dataroot so that two runners on two hosts exclude each other too.
func (p Paths) CronLockFile() string { return p.DataRoot + "/.cron-runner.lock" }

// MaxConnections is the max_connections the database runs with: on AWS what RDS's
// formula gives the instance class (RDSMaxConnectionsFormula), elsewhere the
// connection budget itself.
func (s Spec) MaxConnections() int {
	if s.Target == TargetAWS {
		if n, ok := RDSMaxConnections(s.Database.InstanceClass); ok {
			return n
		}
	}
	return s.ServerConnections()
}
