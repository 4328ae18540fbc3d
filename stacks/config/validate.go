package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/moodle-cluster/moodle-pulumi/components/appimage"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// postgresVersions are the PostgreSQL majors both targets run (a pinned image on
// docker, an RDS engine version on aws).
var postgresVersions = []string{"14", "15", "16", "17"}

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
// the defaults, so a zero value here is a value the user chose. The checks both
// targets share run section by section; validate_docker.go and validate_aws.go hold
// what only one target reads.
func validate(s topology.Spec) problems {
	var p problems
	if s.Target != topology.TargetDocker && s.Target != topology.TargetAWS {
		p.add("target", string(s.Target), "allowed: %s", list(targets()))
		return p
	}
	site := p.siteURL(s.SiteURL)
	p.moodle(s.Moodle)
	p.web(s.Web)
	p.app(s)
	p.database(s.Database, s.Release())
	p.cache(s.Cache)
	p.cron(s)
	p.mail(s)
	p.images(s.Images)
	p.declared(s)
	p.otherTarget(s)
	if s.Target == topology.TargetDocker {
		p.dockerTarget(s, site)
	} else {
		p.awsTarget(s, site)
	}
	p.connections(s)
	return p
}

const siteURLAllowed = "allowed: an absolute http:// or https:// URL without path, query or trailing slash, e.g. https://moodle.example.edu"

// siteURL checks the form of moodle:siteUrl and returns it parsed, or nil when it
// is not a usable URL (the target's own checks then have nothing to look at).
func (p *problems) siteURL(v string) *url.URL {
	if v == "" {
		p.add("siteUrl", nil, "not set; %s", siteURLAllowed)
		return nil
	}
	u, err := url.Parse(v)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Opaque != "" || u.Hostname() == "":
		p.add("siteUrl", v, "not an absolute http(s) URL; %s", siteURLAllowed)
	case u.User != nil:
		p.add("siteUrl", v, "has credentials in it; %s", siteURLAllowed)
	case strings.HasSuffix(u.Path, "/"):
		p.add("siteUrl", v, "ends with a slash; %s", siteURLAllowed)
	case u.Path != "":
		p.add("siteUrl", v, "has a path (the site is served from the root); %s", siteURLAllowed)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		p.add("siteUrl", v, "has a query or fragment; %s", siteURLAllowed)
	default:
		return u
	}
	return nil
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
	adminUser       = regexp.MustCompile(`^[a-z0-9_.@-]{1,100}$`)
	identifier      = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
	redisPrefix     = regexp.MustCompile(`^[A-Za-z0-9_:.-]{1,64}$`)
	majorMinor      = regexp.MustCompile(`^\d+\.\d+$`)
	nfsHost         = regexp.MustCompile(`^[A-Za-z0-9.:\[\]-]+$`)
	instanceClass   = regexp.MustCompile(`^db\.[a-z0-9]+\.[a-z0-9]+$`)
	nodeType        = regexp.MustCompile(`^cache\.[a-z0-9]+\.[a-z0-9]+$`)
	ec2InstanceType = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9]+$`)
	// graviton matches the EC2 families of AWS's arm64 processors: m7g, c6gn, r8gd.
	graviton     = regexp.MustCompile(`^[a-z]+[0-9]+g[a-z]*\.`)
	hostedZoneID = regexp.MustCompile(`^Z[0-9A-Z]{1,32}$`)
	vpcID        = regexp.MustCompile(`^vpc-[0-9a-f]{8,17}$`)
	subnetID     = regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`)
	acmARN       = regexp.MustCompile(`^arn:aws[a-z-]*:acm:[a-z]{2}(-[a-z]+)+-\d:\d{12}:certificate/[0-9a-f-]{36}$`)
	imageDigest  = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)
	// fileSystemID is EFS's FileSystemId pattern (Amazon EFS API Reference,
	// DescribeFileSystems: fs-[0-9a-f]{8,40}).
	fileSystemID = regexp.MustCompile(`^fs-[0-9a-f]{8,40}$`)
	// A DB snapshot identifier (CreateDBSnapshot: 1-255 letters, digits or
	// hyphens, a letter first, no two hyphens in a row, none last), with the
	// prefix of an automated (rds:) or AWS Backup (awsbackup:) snapshot, or its ARN.
	dbSnapshot = regexp.MustCompile(`^(arn:aws[a-z-]*:rds:[a-z]{2}(-[a-z]+)+-\d:\d{12}:snapshot:)?(rds:|awsbackup:)?[A-Za-z](-?[A-Za-z0-9])*$`)
	// The fields of an AWS cron expression: the minutes one number (at most
	// hourly), the others what EventBridge allows (, - * ? / L W #).
	cronMinute = regexp.MustCompile(`^([0-5]?[0-9])$`)
	cronField  = regexp.MustCompile(`^[0-9A-Za-z,*?/#-]+$`)
)

func (p *problems) moodle(m topology.Moodle) {
	if r, ok := topology.ReleaseOf(m.Version); !ok {
		p.add("moodle.version", m.Version, "allowed: a release of Moodle %s, as X.Y or X.Y.Z (e.g. %s or %s.2)",
			topology.ReleaseVersions(), topology.DefaultRelease, topology.DefaultRelease)
	} else if php := phpImageMinor(m.Build.Args[appimage.ArgPHPImage]); php != "" && !r.SupportsPHP(php) {
		p.add("moodle.build.args."+appimage.ArgPHPImage, m.Build.Args[appimage.ArgPHPImage],
			"runs PHP %s; %s needs PHP %s (its admin/environment.xml)", php, r, r.PHPRange())
	}
	p.plugins(m)
	switch {
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

var (
	// component is a Moodle Frankenstyle plugin name, type_name.
	component = regexp.MustCompile(`^[a-z][a-z0-9]*_[a-z][a-z0-9_]*$`)
	// pluginVersion is a $plugin->version: YYYYMMDDXX, optionally with decimals.
	pluginVersion = regexp.MustCompile(`^[0-9]{10}(\.[0-9]+)?$`)
	sha256Hex     = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// plugins checks moodle.plugins, the plugins baked into the app image: each pinned
// by a checksum, listed once, with a source the build can fetch and the Dockerfile's
// MOODLE_PLUGINS can carry (no spaces or commas).
func (p *problems) plugins(m topology.Moodle) {
	if m.CodeSource == topology.CodeHostPath && len(m.Plugins) > 0 {
		p.add("moodle.plugins", nil, "not read with moodle.codeSource hostPath: put the plugins into the host folder %s instead", m.HostPath)
		return
	}
	seen := map[string]int{}
	for i, pl := range m.Plugins {
		key := fmt.Sprintf("moodle.plugins[%d]", i)
		if !component.MatchString(pl.Component) {
			p.add(key+".component", pl.Component, "allowed: a Moodle component name type_name, e.g. tool_objectfs or theme_boost_union")
		} else if first, dup := seen[pl.Component]; dup {
			p.add(key+".component", pl.Component, "listed twice (also moodle.plugins[%d]); allowed: each component once", first)
		} else {
			seen[pl.Component] = i
		}
		if !pluginVersion.MatchString(pl.Version) {
			p.add(key+".version", pl.Version, "allowed: the release's $plugin->version from its version.php, e.g. \"2024120600\"")
		}
		if u, err := url.Parse(pl.Source); err != nil || u.Scheme != "https" || u.Host == "" || strings.ContainsAny(pl.Source, " \t\n,") {
			p.add(key+".source", pl.Source, "allowed: the https URL of the plugin's zip or tar.gz archive, without spaces or commas")
		}
		switch {
		case pl.SHA256 != "" && pl.ContentSHA256 != "":
			p.add(key+".sha256", pl.SHA256, "set either sha256 (the archive file's) or contentSha256 (its files'), not both")
		case pl.SHA256 == "" && pl.ContentSHA256 == "":
			p.add(key, nil, "has no checksum; allowed: sha256 (sha256sum of the archive) or contentSha256 (php docker/install-plugins.php digest FOLDER)")
		case pl.SHA256 != "" && !sha256Hex.MatchString(pl.SHA256):
			p.add(key+".sha256", pl.SHA256, "allowed: 64 lower-case hex digits, as sha256sum prints them")
		case pl.ContentSHA256 != "" && !sha256Hex.MatchString(pl.ContentSHA256):
			p.add(key+".contentSha256", pl.ContentSHA256, "allowed: 64 lower-case hex digits, as php docker/install-plugins.php digest prints them")
		}
	}
}

// phpImageMinor is the PHP minor an official php image reference names
// ("php:8.3-fpm-bookworm", "registry/php:8.2.27-fpm@sha256:..." give 8.3 and 8.2),
// "" for a base whose tag names none (a site's own base).
func phpImageMinor(ref string) string {
	if m := phpImageTag.FindStringSubmatch(ref); m != nil {
		return m[1]
	}
	return ""
}

var phpImageTag = regexp.MustCompile(`(?:^|/)php:(\d+\.\d+)(?:[.-]|$)`)

func (p *problems) email(key, v string, optional bool) {
	if v == "" && optional {
		return
	}
	if a, err := mail.ParseAddress(v); err != nil || a.Address != v || !strings.Contains(v[strings.LastIndex(v, "@"):], ".") {
		p.add(key, v, "not an e-mail address; allowed: name@example.edu")
	}
}

func (p *problems) web(w topology.Web) {
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
}

func (p *problems) app(s topology.Spec) {
	a := s.App
	p.intRange("app.replicas", a.Replicas, 1, maxReplicas)
	p.intRange("app.maxReplicas", a.MaxReplicas, 1, maxReplicas)
	if a.Replicas <= maxReplicas && a.MaxReplicas < a.Replicas {
		p.add("app.maxReplicas", a.MaxReplicas, "must be at least app.replicas (%d)", a.Replicas)
	}
	p.resources("app", a.Resources, 1)
	p.phpFPM(a)
	p.php(s)
}

func (p *problems) phpFPM(a topology.App) {
	f := a.PHPFPM
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

func (p *problems) database(d topology.Database, r topology.Release) {
	v, err := strconv.Atoi(d.Version)
	switch {
	case !slices.Contains(postgresVersions, d.Version) || err != nil:
		p.add("database.version", d.Version, "allowed: %s", list(postgresVersions))
	case r.Version != "" && v < r.PostgresMin:
		// Moodle's installer and upgrade refuse an older server (its
		// environment.xml), and the cron runner would retry the install forever.
		var allowed []string
		for _, a := range postgresVersions {
			if n, _ := strconv.Atoi(a); n >= r.PostgresMin {
				allowed = append(allowed, a)
			}
		}
		p.add("database.version", d.Version, "%s needs PostgreSQL %d or later (its admin/environment.xml); allowed: %s",
			r, r.PostgresMin, strings.Join(allowed, ", "))
	}
	for _, id := range []struct{ key, v string }{{"database.name", d.Name}, {"database.user", d.User}} {
		if !identifier.MatchString(id.v) {
			p.add(id.key, id.v, "allowed: a PostgreSQL identifier of lower-case letters, digits and _, starting with a letter or _")
		}
	}
	p.intRange("database.readReplicas", d.ReadReplicas, 0, maxReadReplicas)
}

func (p *problems) cache(c topology.Cache) {
	if !redisPrefix.MatchString(c.SessionPrefix) {
		p.add("cache.sessionPrefix", c.SessionPrefix, "allowed: 1-64 letters, digits and _ : . -")
	}
	if !redisPrefix.MatchString(c.CachePrefix) {
		p.add("cache.cachePrefix", c.CachePrefix, "allowed: 1-64 letters, digits and _ : . -")
	}
	if strings.HasPrefix(c.SessionPrefix, c.CachePrefix) || strings.HasPrefix(c.CachePrefix, c.SessionPrefix) {
		p.add("cache.cachePrefix", c.CachePrefix, "overlaps cache.sessionPrefix %q; sessions and the MUC cache need disjoint key prefixes so that a cache purge never drops sessions", c.SessionPrefix)
	}
}

func (p *problems) cron(s topology.Spec) {
	c := s.Cron
	p.phpProcess("cron", c.Resources, s.App.PHP.MemoryLimitMB)

	a := c.Adhoc
	p.intRange("cron.adhoc.workers", a.Workers, 0, topology.MaxAdhocWorkers)
	if a.Workers == 0 {
		return
	}
	// A worker stops taking tasks once it has run for task_adhoc_max_runtime, 30
	// minutes unless an administrator changes it (public/admin/settings/server.php
	// of moodle/moodle at 94aeb996; \core\cron::run_adhoc_tasks), so a longer
	// keep-alive would never be kept.
	p.intRange("cron.adhoc.keepAliveSeconds", a.KeepAliveSeconds, 0, 1800)
	// Each worker holds one of the task_adhoc_concurrency_limit runner locks for
	// its whole run (\core\cron::run_adhoc_tasks); one without a lock only logs
	// "Skipping processing of adhoc tasks. Concurrency limit reached." and exits.
	if a.ConcurrencyLimit < a.Workers || a.ConcurrencyLimit > topology.MaxAdhocWorkers {
		p.add("cron.adhoc.concurrencyLimit", a.ConcurrencyLimit,
			"every worker needs a runner slot of its own (cron.adhoc.workers = %d); allowed: %d..%d, where each slot above the workers lets cron.php run ad hoc tasks too",
			a.Workers, a.Workers, topology.MaxAdhocWorkers)
	}
	p.phpProcess("cron.adhoc", a.Resources, s.App.PHP.MemoryLimitMB)
}

// phpProcess checks the limits of a container that runs one PHP CLI process.
func (p *problems) phpProcess(key string, r topology.Resources, memoryLimitMB int) {
	p.resources(key, r, 1)
	if r.MemoryMB > 0 && r.MemoryMB < memoryLimitMB {
		p.add(key+".memoryMb", r.MemoryMB, "cannot hold one PHP process at app.php.memoryLimitMb; allowed: at least %d", memoryLimitMB)
	}
}

// images checks the images both targets run; the docker target adds its back ends'.
func (p *problems) images(im topology.Images) {
	p.pinned("images.app", im.App)
	if im.Web != im.App {
		p.pinned("images.web", im.Web)
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

// connections bounds what PostgreSQL must accept: every php-fpm child of every node
// at the peak (the autoscaling ceiling, and on AWS a deployment's surge) holds a
// connection unless a pooler multiplexes them.
func (p *problems) connections(s topology.Spec) {
	if n := s.ServerConnections(); n > maxServerConnections {
		p.add("app", nil, "%d nodes at the peak × %d php-fpm children need %d database connections; allowed: at most %d (lower the node count or app.phpFpm.maxChildren, or use a pooler)",
			s.PeakNodes(), s.App.Sizing().MaxChildren, n, maxServerConnections)
	}
}

var buildArg = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// build checks the app image's build: a context folder, a Dockerfile inside it and
// build arguments that leave the ones the program sets from the Spec alone.
func (p *problems) build(s topology.Spec) {
	b := s.Moodle.Build
	if s.Moodle.CodeSource != topology.CodeBuild {
		if def, err := topology.Defaults(s.Target); err == nil && !reflect.DeepEqual(b, def.Moodle.Build) {
			p.add("moodle.build", nil, "only read with moodle.codeSource build (codeSource is %q)", s.Moodle.CodeSource)
		}
		return
	}
	if strings.TrimSpace(b.Context) == "" {
		p.add("moodle.build.context", b.Context, "allowed: the build context folder, relative to the project folder or absolute")
	}
	if df := path.Clean(b.Dockerfile); b.Dockerfile == "" || path.IsAbs(b.Dockerfile) || df == ".." || strings.HasPrefix(df, "../") {
		p.add("moodle.build.dockerfile", b.Dockerfile, "allowed: a path inside moodle.build.context, e.g. Dockerfile")
	}
	reserved := s.BuildArgs()
	for _, k := range sortedKeys(b.Args) {
		switch _, own := reserved[k]; {
		case !buildArg.MatchString(k):
			p.add("moodle.build.args."+k, b.Args[k], "not a build argument name; allowed: letters, digits and _, not starting with a digit")
		case own:
			p.add("moodle.build.args."+k, b.Args[k], "set by the program from the stack config; allowed: any other build argument (change the setting it comes from instead)")
		}
	}
}
