package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"path"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// Bounds that are not a property of one target.
const (
	maxReplicas          = 50
	maxCPUs              = 64
	maxMemoryMB          = 256 * 1024
	maxReadReplicas      = 5
	maxServerConnections = 5000
	// fpmMasterMB is what the reserve must hold besides OPcache: the fpm master and
	// the OS share of the container.
	fpmMasterMB = 64
	// minMemoryLimitMB and minInputVars are Moodle's own install requirements.
	minMemoryLimitMB = 256
	minInputVars     = 5000
)

// validate returns every problem of s. It reads only s: Load has already applied
// the defaults, so a zero value here is a value the user chose.
func validate(s topology.Spec) problems {
	var p problems
	if s.Target != topology.TargetDocker && s.Target != topology.TargetAWS {
		p.add("target", string(s.Target), "allowed: %s", list(targets()))
		return p
	}
	p.siteURL(s)
	p.moodle(s)
	p.web(s)
	p.app(s)
	p.database(s)
	p.cache(s)
	p.storage(s)
	p.cron(s)
	p.images(s)
	p.otherTarget(s)
	if s.Target == topology.TargetDocker {
		p.docker(s.Docker)
	} else {
		p.aws(s)
	}
	p.connections(s)
	return p
}

const siteURLAllowed = "allowed: an absolute http:// or https:// URL without path, query or trailing slash, e.g. https://moodle.example.edu"

func (p *problems) siteURL(s topology.Spec) {
	v := s.SiteURL
	if v == "" {
		p.add("siteUrl", nil, "not set; %s", siteURLAllowed)
		return
	}
	u, err := url.Parse(v)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Opaque != "" || u.Hostname() == "":
		p.add("siteUrl", v, "not an absolute http(s) URL; %s", siteURLAllowed)
		return
	case u.User != nil:
		p.add("siteUrl", v, "has credentials in it; %s", siteURLAllowed)
		return
	case strings.HasSuffix(u.Path, "/"):
		p.add("siteUrl", v, "ends with a slash; %s", siteURLAllowed)
		return
	case u.Path != "":
		p.add("siteUrl", v, "has a path (the site is served from the root); %s", siteURLAllowed)
		return
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		p.add("siteUrl", v, "has a query or fragment; %s", siteURLAllowed)
		return
	}
	switch s.Target {
	case topology.TargetDocker:
		host := u.Hostname()
		local := host == "localhost" || net.ParseIP(host).IsLoopback()
		if port := urlPort(u); local && u.Scheme == "http" && port != s.Docker.HTTPPort {
			p.add("siteUrl", v, "points at port %d of this host, but the load balancer publishes docker.httpPort %d; allowed: http://%s:%d",
				port, s.Docker.HTTPPort, host, s.Docker.HTTPPort)
		}
	case topology.TargetAWS:
		a := s.AWS
		if u.Scheme == "http" && a.CertificateARN != "" {
			p.add("siteUrl", v, "must be https when aws.certificateArn is set (port 80 only redirects to https)")
		}
		if u.Scheme == "http" && a.CertificateARN == "" && !a.AllowPlainHTTP {
			p.add("siteUrl", v, "must be https on aws; allowed: https:// with aws.certificateArn, or http:// with aws.allowPlainHttp true")
		}
		if u.Scheme == "https" && a.CertificateARN == "" && a.AllowPlainHTTP {
			p.add("siteUrl", v, "https needs aws.certificateArn; allowed without a certificate: http://")
		}
	}
}

func urlPort(u *url.URL) int {
	if n, err := strconv.Atoi(u.Port()); err == nil {
		return n
	}
	if u.Scheme == "https" {
		return 443
	}
	return 80
}

var (
	releasePattern  = regexp.MustCompile(`^(\d+)\.(\d+)(\.\d+)?$`)
	adminUser       = regexp.MustCompile(`^[a-z0-9_.@-]{1,100}$`)
	identifier      = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
	redisPrefix     = regexp.MustCompile(`^[A-Za-z0-9_:.-]{1,64}$`)
	majorMinor      = regexp.MustCompile(`^\d+\.\d+$`)
	nfsHost         = regexp.MustCompile(`^[A-Za-z0-9.:\[\]-]+$`)
	instanceClass   = regexp.MustCompile(`^db\.[a-z0-9]+\.[a-z0-9]+$`)
	nodeType        = regexp.MustCompile(`^cache\.[a-z0-9]+\.[a-z0-9]+$`)
	ec2InstanceType = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9]+$`)
	vpcID           = regexp.MustCompile(`^vpc-[0-9a-f]{8,17}$`)
	subnetID        = regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`)
	acmARN          = regexp.MustCompile(`^arn:aws[a-z-]*:acm:[a-z]{2}(-[a-z]+)+-\d:\d{12}:certificate/[0-9a-f-]{36}$`)
	imageDigest     = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)
)

func (p *problems) moodle(s topology.Spec) {
	m := s.Moodle
	if major, minor, ok := release(m.Version); !ok || major < 5 || (major == 5 && minor < 1) {
		p.add("moodle.version", m.Version, "allowed: a Moodle release 5.1 or newer (the public/ web root), e.g. 5.1 or 5.1.3")
	}
	if s.Target == topology.TargetAWS {
		if m.CodeSource != topology.CodeImage {
			p.add("moodle.codeSource", m.CodeSource, "allowed on aws: image (ECS pulls images.app from a registry: build docker/Dockerfile and push it to ECR)")
		}
	} else {
		p.oneOf("moodle.codeSource", m.CodeSource, topology.CodeBuild, topology.CodeImage, topology.CodeHostPath)
	}
	switch {
	case m.CodeSource == topology.CodeHostPath && s.Target == topology.TargetDocker && m.HostPath == "":
		p.add("moodle.hostPath", nil, "not set; codeSource hostPath needs the absolute path of the Moodle folder on the Docker host")
	case m.CodeSource == topology.CodeHostPath && m.HostPath != "" && !path.IsAbs(m.HostPath):
		p.add("moodle.hostPath", m.HostPath, "must be an absolute path on the Docker host, e.g. /srv/moodle")
	case m.CodeSource != topology.CodeHostPath && m.HostPath != "":
		p.add("moodle.hostPath", m.HostPath, "only read with moodle.codeSource hostPath (codeSource is %q)", m.CodeSource)
	}
	if !adminUser.MatchString(m.AdminUser) {
		p.add("moodle.adminUser", m.AdminUser, "allowed: 1-100 lower-case letters, digits and _ . @ -")
	}
	p.email("moodle.adminEmail", m.AdminEmail, false)
	if strings.TrimSpace(m.SiteName) == "" || len(m.SiteName) > 255 {
		p.add("moodle.siteName", m.SiteName, "allowed: 1-255 characters")
	}
}

// release parses a Moodle release such as 5.1 or 5.1.3.
func release(v string) (major, minor int, ok bool) {
	g := releasePattern.FindStringSubmatch(v)
	if g == nil {
		return 0, 0, false
	}
	major, _ = strconv.Atoi(g[1])
	minor, _ = strconv.Atoi(g[2])
	return major, minor, true
}

func (p *problems) email(key, v string, optional bool) {
	if v == "" && optional {
		return
	}
	if a, err := mail.ParseAddress(v); err != nil || a.Address != v || !strings.Contains(v[strings.LastIndex(v, "@"):], ".") {
		p.add(key, v, "not an e-mail address; allowed: name@example.edu")
	}
}

func (p *problems) web(s topology.Spec) {
	w := s.Web
	if w.Port < 1024 || w.Port > 65535 {
		p.add("web.port", w.Port, "allowed: 1024..65535 (nginx runs as a non-root user and cannot bind lower ports)")
	}
	p.intRange("web.clientMaxBodyMb", w.ClientMaxBodyMB, 1, 4096)
	p.intRange("web.fastcgiReadTimeout", w.FastCGIReadTimeout, 30, 3600)
	for i, c := range w.StatusAllow {
		key := fmt.Sprintf("web.statusAllow[%d]", i)
		_, n, err := net.ParseCIDR(c)
		if err != nil {
			p.add(key, c, "not a CIDR; allowed: an address range such as 10.0.0.0/16")
			continue
		}
		if ones, _ := n.Mask.Size(); ones == 0 {
			p.add(key, c, "would show server status to everyone; allowed: a private range such as 10.0.0.0/16")
		}
	}
	if s.Target == topology.TargetDocker {
		p.resources("web", w.Resources, 32)
	}
}

func (p *problems) app(s topology.Spec) {
	a := s.App
	p.intRange("app.replicas", a.Replicas, 1, maxReplicas)
	p.intRange("app.maxReplicas", a.MaxReplicas, 1, maxReplicas)
	if a.Replicas <= maxReplicas && a.MaxReplicas < a.Replicas {
		p.add("app.maxReplicas", a.MaxReplicas, "must be at least app.replicas (%d)", a.Replicas)
	}
	if s.Target == topology.TargetAWS {
		p.intRange("app.minReplicas", a.MinReplicas, 1, maxReplicas)
		if a.MinReplicas > a.Replicas {
			p.add("app.minReplicas", a.MinReplicas, "must not exceed app.replicas (%d)", a.Replicas)
		}
		p.oneOf("app.launchType", a.LaunchType, topology.LaunchFargate, topology.LaunchEC2)
		if a.LaunchType == topology.LaunchFargate {
			p.fargate("app", a.Resources)
		}
	}
	p.resources("app", a.Resources, 1)
	p.phpFPM(a)
	p.php(s)
}

func (p *problems) phpFPM(a topology.App) {
	f := a.PHPFPM
	p.intRange("app.phpFpm.workerMemoryMb", f.WorkerMemoryMB, 16, 4096)
	if minimum := a.PHP.OPcacheMemoryMB + fpmMasterMB; f.ReserveMemoryMB < minimum {
		p.add("app.phpFpm.reserveMemoryMb", f.ReserveMemoryMB,
			"must hold php.opcacheMemoryMb (%d) plus %d MB for the fpm master and the OS; allowed: at least %d",
			a.PHP.OPcacheMemoryMB, fpmMasterMB, minimum)
	}
	if f.MaxRequests < 0 {
		p.add("app.phpFpm.maxRequests", f.MaxRequests, "allowed: 0 (never recycle workers) or more")
	}
	overrides := []struct {
		key string
		v   int
	}{
		{"maxChildren", f.MaxChildren}, {"startServers", f.StartServers},
		{"minSpareServers", f.MinSpareServers}, {"maxSpareServers", f.MaxSpareServers},
	}
	negative := false
	for _, o := range overrides {
		if o.v < 0 {
			p.add("app.phpFpm."+o.key, o.v, "allowed: 0 (derived from app.memoryMb) or more")
			negative = true
		}
	}
	if f.WorkerMemoryMB <= 0 || negative {
		return
	}
	fit := topology.MaxChildrenFor(a.MemoryMB, f.ReserveMemoryMB, f.WorkerMemoryMB)
	if fit < 1 {
		p.add("app.memoryMb", a.MemoryMB,
			"too small for one php-fpm worker; allowed: at least %d (phpFpm.reserveMemoryMb %d + phpFpm.workerMemoryMb %d)",
			f.ReserveMemoryMB+f.WorkerMemoryMB, f.ReserveMemoryMB, f.WorkerMemoryMB)
		return
	}
	if f.MaxChildren > fit {
		p.add("app.phpFpm.maxChildren", f.MaxChildren,
			"%d workers × %d MB + %d MB reserve exceed app.memoryMb %d; allowed: 1..%d",
			f.MaxChildren, f.WorkerMemoryMB, f.ReserveMemoryMB, a.MemoryMB, fit)
		return
	}
	pool := a.Sizing()
	switch {
	case pool.MinSpareServers > pool.MaxSpareServers:
		// Blame the setting the user wrote; derived values agree with each other.
		key, v := "maxSpareServers", pool.MaxSpareServers
		if f.MinSpareServers != 0 {
			key, v = "minSpareServers", pool.MinSpareServers
		}
		p.add("app.phpFpm."+key, v, "pm.min_spare_servers (%d) must not exceed pm.max_spare_servers (%d)",
			pool.MinSpareServers, pool.MaxSpareServers)
	case pool.MaxSpareServers > pool.MaxChildren:
		p.add("app.phpFpm.maxSpareServers", pool.MaxSpareServers, "allowed: at most pm.max_children (%d)", pool.MaxChildren)
	case pool.StartServers < pool.MinSpareServers || pool.StartServers > pool.MaxSpareServers:
		p.add("app.phpFpm.startServers", pool.StartServers, "allowed: %d..%d (between pm.min_spare_servers and pm.max_spare_servers)",
			pool.MinSpareServers, pool.MaxSpareServers)
	}
}

func (p *problems) php(s topology.Spec) {
	a := s.App
	php := a.PHP
	if ceiling := a.MemoryMB - a.PHPFPM.ReserveMemoryMB; php.MemoryLimitMB < minMemoryLimitMB {
		p.add("app.php.memoryLimitMb", php.MemoryLimitMB, "allowed: at least %d (Moodle's requirement)", minMemoryLimitMB)
	} else if ceiling >= a.PHPFPM.WorkerMemoryMB && php.MemoryLimitMB > ceiling {
		p.add("app.php.memoryLimitMb", php.MemoryLimitMB,
			"one request could exhaust the node; allowed: at most app.memoryMb - phpFpm.reserveMemoryMb (%d)", ceiling)
	}
	p.intRange("app.php.opcacheMemoryMb", php.OPcacheMemoryMB, 64, 4096)
	if php.MaxInputVars < minInputVars {
		p.add("app.php.maxInputVars", php.MaxInputVars, "allowed: at least %d (Moodle refuses to install below)", minInputVars)
	}
	p.intRange("app.php.maxExecutionTime", php.MaxExecutionTime, 30, 3600)
	if php.MaxExecutionTime > s.Web.FastCGIReadTimeout {
		p.add("app.php.maxExecutionTime", php.MaxExecutionTime,
			"nginx gives up after web.fastcgiReadTimeout (%d s) while PHP still runs; allowed: at most %d",
			s.Web.FastCGIReadTimeout, s.Web.FastCGIReadTimeout)
	}
}

// resources checks the vertical limits of one container: positive bounded limits,
// reservations within them.
func (p *problems) resources(key string, r topology.Resources, minMemoryMB int) {
	if r.CPUs <= 0 || r.CPUs > maxCPUs {
		p.add(key+".cpus", r.CPUs, "allowed: above 0 and at most %d", maxCPUs)
	}
	p.intRange(key+".memoryMb", r.MemoryMB, minMemoryMB, maxMemoryMB)
	if r.ReservedCPUs < 0 || r.ReservedCPUs > r.CPUs {
		p.add(key+".reservedCpus", r.ReservedCPUs, "allowed: 0..%s (the limit %s.cpus)", num(max(r.CPUs, 0)), key)
	}
	if r.ReservedMemoryMB < 0 || r.ReservedMemoryMB > r.MemoryMB {
		p.add(key+".reservedMemoryMb", r.ReservedMemoryMB, "allowed: 0..%d (the limit %s.memoryMb)", max(r.MemoryMB, 0), key)
	}
}

// fargate checks that r is a task size Fargate runs (Linux, platform 1.4).
func (p *problems) fargate(key string, r topology.Resources) {
	sizes := []struct {
		cpus            float64
		low, high, step int
	}{
		{0.25, 512, 2048, 512}, {0.5, 1024, 4096, 1024}, {1, 2048, 8192, 1024}, {2, 4096, 16384, 1024},
		{4, 8192, 30720, 1024}, {8, 16384, 61440, 4096}, {16, 32768, 122880, 8192},
	}
	for _, sz := range sizes {
		if sz.cpus != r.CPUs {
			continue
		}
		m := r.MemoryMB
		// 0.25 vCPU takes 512, 1024 or 2048 only.
		ok := m >= sz.low && m <= sz.high && m%sz.step == 0 && (sz.cpus != 0.25 || m != 1536)
		if !ok {
			p.add(key+".memoryMb", m, "not a Fargate size for %s vCPU (%s.cpus); allowed: %d..%d in steps of %d",
				num(r.CPUs), key, sz.low, sz.high, sz.step)
		}
		return
	}
	p.add(key+".cpus", r.CPUs, "not a Fargate task size; allowed: 0.25, 0.5, 1, 2, 4, 8, 16")
}

func (p *problems) database(s topology.Spec) {
	d := s.Database
	p.oneOf("database.version", d.Version, "14", "15", "16", "17")
	for _, id := range []struct{ key, v string }{{"database.name", d.Name}, {"database.user", d.User}} {
		if !identifier.MatchString(id.v) {
			p.add(id.key, id.v, "allowed: a PostgreSQL identifier of lower-case letters, digits and _, starting with a letter or _")
		}
	}
	poolers := []string{topology.PoolerNone, topology.PoolerPgBouncer}
	if s.Target == topology.TargetAWS {
		poolers = []string{topology.PoolerNone, topology.PoolerRDSProxy}
	}
	p.oneOf("database.pooler", d.Pooler, poolers...)
	p.oneOf("database.poolMode", d.PoolMode, topology.PoolModeSession, topology.PoolModeTransaction)
	p.intRange("database.readReplicas", d.ReadReplicas, 0, maxReadReplicas)
	if s.Target == topology.TargetDocker {
		if d.ReadReplicas > 0 {
			p.add("database.readReplicas", d.ReadReplicas, "read replicas are provisioned on aws only; allowed on docker: 0")
		}
		p.resources("database", d.Resources, 256)
		if d.Pooler == topology.PoolerPgBouncer {
			p.intRange("database.poolSize", d.PoolSize, 1, 1000)
			p.resources("database.pgbouncer", d.PgBouncer, 16)
		}
		return
	}
	// A protected stack is a production site: the read replica carries the safe reads
	// and is the warm copy a failed Multi-AZ pair can be rebuilt from.
	if s.AWS.Protect && d.ReadReplicas == 0 {
		p.add("database.readReplicas", d.ReadReplicas, "a protected (production) aws stack needs at least one read replica; allowed: 1..%d, or aws.protect false for a test stack", maxReadReplicas)
	}
	if !instanceClass.MatchString(d.InstanceClass) {
		p.add("database.instanceClass", d.InstanceClass, "allowed: an RDS instance class such as db.r6g.large")
	}
	p.intRange("database.storageGb", d.StorageGB, 20, 65536)
	if d.MaxStorageGB <= d.StorageGB || d.MaxStorageGB > 65536 {
		p.add("database.maxStorageGb", d.MaxStorageGB, "storage autoscaling needs a ceiling above database.storageGb; allowed: %d..65536", d.StorageGB+1)
	}
	p.intRange("database.backupRetentionDays", d.BackupRetentionDays, 7, 35)
}

func (p *problems) cache(s topology.Spec) {
	c := s.Cache
	p.intRange("cache.sessionDb", c.SessionDB, 0, 15)
	if !redisPrefix.MatchString(c.SessionPrefix) {
		p.add("cache.sessionPrefix", c.SessionPrefix, "allowed: 1-64 letters, digits and _ : . -")
	}
	if !redisPrefix.MatchString(c.CachePrefix) {
		p.add("cache.cachePrefix", c.CachePrefix, "allowed: 1-64 letters, digits and _ : . -")
	}
	if strings.HasPrefix(c.SessionPrefix, c.CachePrefix) || strings.HasPrefix(c.CachePrefix, c.SessionPrefix) {
		p.add("cache.cachePrefix", c.CachePrefix, "overlaps cache.sessionPrefix %q; sessions and the MUC cache need disjoint key prefixes so that a cache purge never drops sessions", c.SessionPrefix)
	}
	if s.Target == topology.TargetDocker {
		if !majorMinor.MatchString(c.Version) {
			p.add("cache.version", c.Version, "allowed: a Redis major.minor such as 7.2")
		}
		if c.TLS {
			p.add("cache.tls", c.TLS, "the Redis container serves plain TCP on the internal network; allowed on docker: false")
		}
		p.resources("cache", c.Resources, 64)
		return
	}
	p.oneOf("cache.version", c.Version, "6.2", "7.0", "7.1")
	if !c.TLS {
		p.add("cache.tls", c.TLS, "ElastiCache runs with in-transit encryption (CKV_AWS_30); allowed on aws: true")
	}
	if !nodeType.MatchString(c.NodeType) {
		p.add("cache.nodeType", c.NodeType, "allowed: an ElastiCache node type such as cache.r6g.large")
	}
	if c.Replicas < 2 || c.Replicas > 6 {
		p.add("cache.replicas", c.Replicas, "automatic failover needs a primary and a replica; allowed: 2..6 nodes")
	}
	p.intRange("cache.snapshotRetentionDays", c.SnapshotRetentionDays, 1, 35)
}

func (p *problems) storage(s topology.Spec) {
	st := s.Storage
	if s.Target == topology.TargetAWS {
		p.oneOf("storage.kind", st.Kind, topology.StorageEFS, topology.StorageS3)
		if st.S3.SizeThresholdBytes < 0 {
			p.add("storage.s3.sizeThresholdBytes", st.S3.SizeThresholdBytes, "allowed: 0 or more")
		}
		if st.S3.MinimumAgeSeconds < 0 {
			p.add("storage.s3.minimumAgeSeconds", st.S3.MinimumAgeSeconds, "allowed: 0 or more")
		}
		return
	}
	p.oneOf("storage.kind", st.Kind, topology.StorageVolume, topology.StorageNFS)
	if st.Kind != topology.StorageNFS {
		return
	}
	n := st.NFS
	switch {
	case n.Address == "":
		p.add("storage.nfs.address", nil, "not set; storage kind nfs needs the NFS server's host name or IP address")
	case !nfsHost.MatchString(n.Address):
		p.add("storage.nfs.address", n.Address, "allowed: a host name or IP address")
	}
	if !strings.HasPrefix(n.Device, ":/") {
		p.add("storage.nfs.device", n.Device, "allowed: the export as :/path, e.g. :/moodledata")
	}
	if n.Options == "" || strings.Contains(n.Options, "addr=") {
		p.add("storage.nfs.options", n.Options, "allowed: mount options without addr= (set storage.nfs.address), e.g. rw,nfsvers=4")
	}
}

func (p *problems) cron(s topology.Spec) {
	c := s.Cron
	p.intRange("cron.intervalSeconds", c.IntervalSeconds, 60, 3600)
	p.intRange("cron.runTimeoutSeconds", c.RunTimeoutSeconds, 60, 86400)
	if s.Target == topology.TargetAWS && s.App.LaunchType == topology.LaunchFargate {
		p.fargate("cron", c.Resources)
	}
	p.resources("cron", c.Resources, 1)
	if c.MemoryMB > 0 && c.MemoryMB < s.App.PHP.MemoryLimitMB {
		p.add("cron.memoryMb", c.MemoryMB, "cannot hold one PHP process at app.php.memoryLimitMb; allowed: at least %d", s.App.PHP.MemoryLimitMB)
	}
}

func (p *problems) images(s topology.Spec) {
	im := s.Images
	type image struct{ key, ref string }
	used := []image{{"images.app", im.App}}
	if im.Web != im.App {
		used = append(used, image{"images.web", im.Web})
	}
	if s.Target == topology.TargetDocker {
		// Without a supported database.version (reported) there is no default image.
		if im.Database != "" || topology.DatabaseImage(s.Database.Version) != "" {
			used = append(used, image{"images.database", im.Database})
		}
		used = append(used, image{"images.cache", im.Cache})
		if s.Database.Pooler == topology.PoolerPgBouncer {
			used = append(used, image{"images.pgbouncer", im.PgBouncer})
		}
	}
	for _, u := range used {
		p.pinned(u.key, u.ref)
	}
	if s.Target == topology.TargetDocker {
		p.imageVersion("images.database", im.Database, "postgres", s.Database.Version, "database.version")
		p.imageVersion("images.cache", im.Cache, "redis", s.Cache.Version, "cache.version")
	}
}

// pinned requires an image reference with a version tag or a digest (CKV_DOCKER_7):
// "latest" or no tag makes a rebuild pull whatever is newest.
func (p *problems) pinned(key, ref string) {
	const allowed = "allowed: a pinned reference such as redis:7.2.7-alpine or name@sha256:<digest> (CKV_DOCKER_7)"
	if ref == "" {
		p.add(key, nil, "not set; %s", allowed)
		return
	}
	if strings.ContainsAny(ref, " \t") {
		p.add(key, ref, "not an image reference; %s", allowed)
		return
	}
	if imageDigest.MatchString(ref) {
		return
	}
	_, tag, ok := imageTag(ref)
	switch {
	case !ok:
		p.add(key, ref, "has no tag; %s", allowed)
	case tag == "latest":
		p.add(key, ref, "is not pinned; %s", allowed)
	}
}

// imageTag splits name:tag; a colon before the last slash is a registry port.
func imageTag(ref string) (name, tag string, ok bool) {
	i := strings.LastIndex(ref, ":")
	if i < 0 || i < strings.LastIndex(ref, "/") || i == len(ref)-1 {
		return ref, "", false
	}
	return ref[:i], ref[i+1:], true
}

// imageVersion catches an official image whose tag runs another version than the
// one config declares (the renderers and health checks follow the declared one).
func (p *problems) imageVersion(key, ref, repo, version, versionKey string) {
	name, tag, ok := imageTag(strings.SplitN(ref, "@", 2)[0])
	// Only version tags are compared; "latest" is reported by pinned.
	if !ok || path.Base(name) != repo || tag[0] < '0' || tag[0] > '9' {
		return
	}
	if tag != version && !strings.HasPrefix(tag, version+".") && !strings.HasPrefix(tag, version+"-") {
		p.add(key, ref, "runs another version than %s %q; allowed: a %s:%s tag, or change %s", versionKey, version, repo, version, versionKey)
	}
}

// otherTarget reports settings of the other target: they would be silently ignored.
func (p *problems) otherTarget(s topology.Spec) {
	type field struct {
		key  string
		v    any
		hint string
	}
	var fs []field
	resources := func(key string, r topology.Resources, hint string) []field {
		return []field{
			{key + ".cpus", r.CPUs, hint}, {key + ".memoryMb", r.MemoryMB, hint},
			{key + ".reservedCpus", r.ReservedCPUs, hint}, {key + ".reservedMemoryMb", r.ReservedMemoryMB, hint},
		}
	}
	if s.Target == topology.TargetDocker {
		const replicas = "the Docker host runs app.replicas nodes, without autoscaling"
		fs = []field{
			{"app.minReplicas", s.App.MinReplicas, replicas},
			{"app.launchType", s.App.LaunchType, ""},
			{"database.instanceClass", s.Database.InstanceClass, ""},
			{"database.storageGb", s.Database.StorageGB, ""},
			{"database.maxStorageGb", s.Database.MaxStorageGB, ""},
			{"database.backupRetentionDays", s.Database.BackupRetentionDays, ""},
			{"database.multiAz", s.Database.MultiAZ, ""},
			{"cache.nodeType", s.Cache.NodeType, ""},
			{"cache.replicas", s.Cache.Replicas, ""},
			{"cache.snapshotRetentionDays", s.Cache.SnapshotRetentionDays, ""},
			{"storage.s3", s.Storage.S3, "docker stores moodledata on a volume or NFS"},
		}
	} else {
		fs = append(fs, resources("web", s.Web.Resources, "on aws nginx shares the app task's app.cpus and app.memoryMb")...)
		fs = append(fs, resources("database", s.Database.Resources, "size the database with database.instanceClass")...)
		fs = append(fs, resources("cache", s.Cache.Resources, "size Redis with cache.nodeType")...)
		fs = append(fs,
			field{"database.pgbouncer", s.Database.PgBouncer, "aws pools connections with database.pooler rdsproxy"},
			field{"database.poolSize", s.Database.PoolSize, "aws pools connections with database.pooler rdsproxy"},
			field{"storage.nfs", s.Storage.NFS, "aws shares moodledata on EFS"},
			field{"images.database", s.Images.Database, "aws runs RDS"},
			field{"images.cache", s.Images.Cache, "aws runs ElastiCache"},
			field{"images.pgbouncer", s.Images.PgBouncer, "aws pools connections with database.pooler rdsproxy"},
		)
	}
	other := topology.TargetAWS
	if s.Target == topology.TargetAWS {
		other = topology.TargetDocker
	}
	for _, f := range fs {
		if reflect.ValueOf(f.v).IsZero() {
			continue
		}
		v := f.v
		if reflect.TypeOf(v).Kind() == reflect.Struct {
			v = nil // a whole object: naming the key is enough
		}
		msg := fmt.Sprintf("only read on target %s; remove it from this %s stack", other, s.Target)
		if f.hint != "" {
			msg += " (" + f.hint + ")"
		}
		p.add(f.key, v, "%s", msg)
	}
}

func (p *problems) docker(d topology.DockerTarget) {
	p.intRange("docker.httpPort", d.HTTPPort, 1, 65535)
	if net.ParseIP(d.BindAddress) == nil {
		p.add("docker.bindAddress", d.BindAddress, "allowed: a host IP address, 127.0.0.1 (this host only) or 0.0.0.0 (every interface)")
	}
}

func (p *problems) aws(s topology.Spec) {
	a := s.AWS
	if a.AZCount != 2 && a.AZCount != 3 {
		p.add("aws.azCount", a.AZCount, "allowed: 2 or 3 (Multi-AZ RDS, ElastiCache failover and the ALB need two zones)")
	}
	p.oneOf("aws.natGateways", a.NATGateways, topology.NATPerAZ, topology.NATSingle)
	p.network(a)
	switch {
	case a.CertificateARN == "" && !a.AllowPlainHTTP:
		p.add("aws.certificateArn", nil, "not set; the HTTPS listener needs an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID), or set aws.allowPlainHttp true for a test site")
	case a.CertificateARN != "" && !acmARN.MatchString(a.CertificateARN):
		p.add("aws.certificateArn", a.CertificateARN, "allowed: an ACM certificate ARN, arn:aws:acm:REGION:ACCOUNT:certificate/ID")
	}
	p.email("aws.alarmEmail", a.AlarmEmail, true)
	if !logRetention(a.LogRetentionDays) {
		p.add("aws.logRetentionDays", a.LogRetentionDays, "allowed: a CloudWatch retention of 30 days or more: 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653")
	}
	if !ec2InstanceType.MatchString(a.EC2InstanceType) {
		p.add("aws.ec2InstanceType", a.EC2InstanceType, "allowed: an EC2 instance type such as m6i.xlarge")
	}
}

func (p *problems) network(a topology.AWSTarget) {
	if ip, n, err := net.ParseCIDR(a.VPCCIDR); err != nil || ip.To4() == nil {
		p.add("aws.vpcCidr", a.VPCCIDR, "allowed: an IPv4 CIDR from /16 to /20, e.g. 10.0.0.0/16")
	} else if ones, _ := n.Mask.Size(); ones < 16 || ones > 20 {
		p.add("aws.vpcCidr", a.VPCCIDR, "allowed: an IPv4 CIDR from /16 to /20, e.g. 10.0.0.0/16")
	}
	subnets := []struct {
		key string
		ids []string
	}{{"aws.publicSubnetIds", a.PublicSubnetIDs}, {"aws.privateSubnetIds", a.PrivateSubnetIDs}, {"aws.dataSubnetIds", a.DataSubnetIDs}}
	if a.VPCID == "" {
		for _, sn := range subnets {
			if len(sn.ids) > 0 {
				p.add(sn.key, sn.ids, "subnet ids belong to an existing VPC; set aws.vpcId too, or remove them to create a VPC")
			}
		}
		return
	}
	if !vpcID.MatchString(a.VPCID) {
		p.add("aws.vpcId", a.VPCID, "allowed: a VPC id such as vpc-0123456789abcdef0")
	}
	for _, sn := range subnets {
		if len(sn.ids) < a.AZCount {
			p.add(sn.key, sn.ids, "an existing VPC needs one subnet per zone; allowed: at least aws.azCount (%d) subnet ids", a.AZCount)
		}
		for _, id := range sn.ids {
			if !subnetID.MatchString(id) {
				p.add(sn.key, sn.ids, "%q is not a subnet id; allowed: ids such as subnet-0123456789abcdef0", id)
			}
		}
	}
}

// logRetention reports a CloudWatch Logs retention of at least 30 days (CKV_AWS_338).
func logRetention(days int) bool {
	for _, d := range []int{30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653} {
		if d == days {
			return true
		}
	}
	return false
}

// connections bounds what PostgreSQL must accept: every php-fpm child of every node
// at the autoscaling ceiling holds a connection unless a pooler multiplexes them.
func (p *problems) connections(s topology.Spec) {
	if n := s.ServerConnections(); n > maxServerConnections {
		nodes := max(s.App.Replicas, s.App.MaxReplicas)
		p.add("app", nil, "%d nodes × %d php-fpm children need %d database connections; allowed: at most %d (lower the node count or app.phpFpm.maxChildren, or use a pooler)",
			nodes, s.App.Sizing().MaxChildren, n, maxServerConnections)
	}
}
