package topology

import (
	"fmt"
	"net/url"
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

// ClientConnections is the most database connections the cluster can open at once:
// every php-fpm child of every app node at the autoscaling ceiling holds one, plus
// the cron runner. With a pooler these are the pooler's client connections.
func (s Spec) ClientConnections() int {
	nodes := s.App.Replicas
	if s.App.MaxReplicas > nodes {
		nodes = s.App.MaxReplicas
	}
	return nodes*s.App.Sizing().MaxChildren + cronConnections
}

// ServerConnections is the max_connections PostgreSQL must allow: the clients (or
// the pooler's server pool) plus room for administration.
func (s Spec) ServerConnections() int {
	if s.Database.Pooler == PoolerPgBouncer {
		return s.Database.PoolSize + adminConnections
	}
	return s.ClientConnections() + adminConnections
}

// AppNodes returns the names of the app nodes, app-1 .. app-N. They are the Docker
// network aliases of the app containers and the upstream names nginx balances over.
func (s Spec) AppNodes() []string {
	names := make([]string, s.App.Replicas)
	for i := range names {
		names[i] = fmt.Sprintf("app-%d", i+1)
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

// PublicDir is nginx's document root: Moodle 5.1 serves only dirroot/public.
func (p Paths) PublicDir() string { return p.CodeDir + "/public" }

// TempDir, CacheDir and BackupTempDir are shared across nodes, inside moodledata.
func (p Paths) TempDir() string       { return p.DataRoot + "/temp" }
func (p Paths) CacheDir() string      { return p.DataRoot + "/cache" }
func (p Paths) BackupTempDir() string { return p.DataRoot + "/temp/backup" }

// InstalledMarker exists once the cron runner has installed (or upgraded) the site.
// Until then the web servers answer 503 for PHP, so nobody can reach Moodle's web
// installer during the first deployment and claim the admin account.
func (p Paths) InstalledMarker() string { return p.DataRoot + "/.moodle-installed" }

// CronLockFile is the lock the cron runner holds for its whole life. It lives in the
// shared dataroot so that two runners on two hosts exclude each other too.
func (p Paths) CronLockFile() string { return p.DataRoot + "/.cron-runner.lock" }
