// Package topology is the provider-neutral model of one horizontally scaled Moodle
// site: how many app nodes run, with which vertical limits, and the database, cache,
// file store and cron runner they share. Both targets (a Docker host and AWS) are
// built from the same Spec, and the files Moodle, nginx and php-fpm read are rendered
// from it, so the two stacks cannot drift apart.
//
// The package imports no Pulumi code: it is cheap to compile and to test.
package topology

import (
	"strings"

	"github.com/moodle-cluster/moodle-pulumi/components/appimage"
)

// Target names where a Spec is provisioned.
type Target string

// The targets a Spec can be provisioned on.
const (
	TargetDocker Target = "docker"
	TargetAWS    Target = "aws"
)

// Spec is a validated description of a Moodle cluster. Values are filled with the
// target's defaults before validation; components and renderers may rely on every
// field being set and consistent.
//
// A field only one target reads says so where it is declared, with a tag:
// `target:"docker"` or `target:"aws"`, and `hint:"..."` for what the other
// target offers instead. Validation refuses such a field set on the other target
// (stacks/config walks these tags); a tag on an embedded struct (Resources) marks
// each of its fields, a tag on a named struct the object as a whole.
type Spec struct {
	Target Target
	// SiteURL is Moodle's wwwroot: absolute, http or https, no trailing slash.
	SiteURL  string
	Moodle   Moodle
	Paths    Paths
	Web      Web
	App      App
	Database Database
	Cache    Cache
	Storage  Storage
	Cron     Cron
	Mail     Mail
	Images   Images
	// Backup is the scheduled backup of the site's data (aws only).
	Backup Backup `target:"aws" hint:"the AWS Backup plan; moodlectl backup --stack dev takes the Docker host's backups"`
	// Docker and AWS carry the settings only one target reads; the other is zero.
	Docker DockerTarget `target:"docker"`
	AWS    AWSTarget    `target:"aws"`
}

// The ports the database and Redis listen on, the same on both targets: the
// containers on the Docker host, RDS, RDS Proxy and ElastiCache.
const (
	PostgresPort = 5432
	RedisPort    = 6379
)

// Resources are the vertical limits of one container or task: hard limits and the
// share reserved for it. Reservations never exceed limits.
type Resources struct {
	CPUs             float64 `json:"cpus"`
	MemoryMB         int     `json:"memoryMb"`
	ReservedCPUs     float64 `json:"reservedCpus"`
	ReservedMemoryMB int     `json:"reservedMemoryMb"`
}

// Code sources for the Moodle code that the app, web and cron containers run.
const (
	CodeBuild    = "build"    // the image is built from docker/Dockerfile
	CodeImage    = "image"    // a prebuilt image that already holds the code
	CodeHostPath = "hostPath" // a host folder bind-mounted read-only (the seed's ./html)
)

// Moodle selects the code the cluster runs.
type Moodle struct {
	// Version is the Moodle release: one of the release lines of the table in
	// release.go (Releases) or one of its point releases, "5.3" or "5.3.2"; the
	// release gives the code's layout and what it needs of PHP and PostgreSQL.
	Version string `json:"version"`
	// CodeSource is one of CodeBuild, CodeImage or CodeHostPath.
	CodeSource string `json:"codeSource"`
	// HostPath is the folder mounted when CodeSource is CodeHostPath.
	HostPath string `json:"hostPath"`
	// Build is how the app image is built when CodeSource is CodeBuild.
	Build Build `json:"build"`
	// Plugins are the plugins and themes baked into the app image's code: built in
	// with CodeBuild, and what a prebuilt image (CodeImage) was built with.
	Plugins []Plugin `json:"plugins"`
	// AdminUser and AdminEmail are used by the one-time CLI install.
	AdminUser  string `json:"adminUser"`
	AdminEmail string `json:"adminEmail"`
	SiteName   string `json:"siteName"`
}

// Build is the app image's docker build: the project's docker/ folder by default, or
// a site's own context (its code tree, plugins and themes beside a Dockerfile).
type Build struct {
	// Context is the build context folder. A stack file gives it relative to the
	// project folder (where Pulumi.yaml is); the program makes it absolute before a
	// component sees it, because the Docker provider resolves relative paths against
	// its own working directory.
	Context string `json:"context"`
	// Dockerfile is the Dockerfile's path inside Context.
	Dockerfile string `json:"dockerfile"`
	// Args are build arguments on top of the ones the program sets from the Spec
	// (BuildArgs): a site's own PHP_IMAGE base, MOODLE_SHA256, MOODLE_CODE.
	Args map[string]string `json:"args"`
}

// Plugin is a Moodle plugin or theme installed into the app image's code at build
// time from an archive pinned by a checksum (docker/install-plugins.php), in the
// folder its Frankenstyle type belongs in.
type Plugin struct {
	// Component is the plugin's Frankenstyle name, type_name: tool_objectfs,
	// theme_boost_union, local_aws.
	Component string `json:"component"`
	// Version is the release's $plugin->version, e.g. "2024120600"; the build
	// refuses an archive whose version.php declares another.
	Version string `json:"version"`
	// Source is the https URL of a zip or tar.gz archive holding one folder with the
	// plugin (the Moodle plugins directory's downloads, GitHub's archives).
	Source string `json:"source"`
	// SHA256 is the checksum of the archive file as downloaded; ContentSHA256 that
	// of the files in it, whatever archive carried them (`php
	// docker/install-plugins.php digest FOLDER`). Exactly one is set.
	SHA256        string `json:"sha256"`
	ContentSHA256 string `json:"contentSha256"`
}

// Entry is the plugin as the Dockerfile's MOODLE_PLUGINS lists it:
// component,version,checksum,url.
func (p Plugin) Entry() string {
	sum := "sha256:" + p.SHA256
	if p.ContentSHA256 != "" {
		sum = "content-sha256:" + p.ContentSHA256
	}
	return strings.Join([]string{p.Component, p.Version, sum, p.Source}, ",")
}

// S3Plugins are what storage kind s3 needs in the code: tool_objectfs, which keeps
// the file pool in the bucket, and local_aws, whose region setting objectfs's
// settings page uses. A stack with storage kind s3 lists them in moodle.plugins,
// the plugins its prebuilt image was built with, so that the stack config says what
// the image holds and preview can refuse an image that cannot serve S3. These
// releases were read against Moodle 5.1's code (the file system, plugin and AWS SDK
// APIs they use; docs/aws.md has the evidence); the checksums are of the files at
// those commits of the plugins' repositories.
var S3Plugins = []Plugin{
	{
		Component:     "tool_objectfs",
		Version:       "2024120600",
		Source:        "https://github.com/catalyst/moodle-tool_objectfs/archive/c11315c08b8b2772da47c7a240c688329340c06e.tar.gz",
		ContentSHA256: "f32e266ad1e26e819ff442793220affaa68eebe731574b3f2cdd5e51afb8c6e3",
	},
	{
		Component:     "local_aws",
		Version:       "2024050800",
		Source:        "https://github.com/catalyst/moodle-local_aws/archive/81e4b30d7144417de3dcaeae200e1a12022a13bf.tar.gz",
		ContentSHA256: "5ca53065052ac5ebb334f0078577181f25c375965000d1b91f21bc09659b0324",
	},
}

// BuildArgs are the build arguments the program sets itself, so the image agrees
// with the Spec: the release to fetch, the paths config.php names and the plugins.
func (s Spec) BuildArgs() map[string]string {
	entries := make([]string, len(s.Moodle.Plugins))
	for i, p := range s.Moodle.Plugins {
		entries[i] = p.Entry()
	}
	return map[string]string{
		appimage.ArgMoodleVersion: s.Moodle.Version,
		appimage.ArgMoodleBranch:  s.Release().Branch,
		appimage.ArgWebRoot:       s.WebRoot(),
		appimage.ArgDirroot:       s.Paths.CodeDir,
		appimage.ArgDataRoot:      s.Paths.DataRoot,
		appimage.ArgLocalCacheDir: s.Paths.LocalCacheDir,
		appimage.ArgPlugins:       strings.Join(entries, " "),
	}
}

// ImageBuildArgs are the build arguments of the app image: the site's own
// (moodle.build.args: the base image, where the code comes from, the RDS bundle's
// checksum) and the ones the program sets from the Spec (BuildArgs), which
// validation keeps the site from setting. Both targets build with these.
func (s Spec) ImageBuildArgs() map[string]string {
	out := make(map[string]string, len(s.Moodle.Build.Args)+8)
	for k, v := range s.Moodle.Build.Args {
		out[k] = v
	}
	for k, v := range s.BuildArgs() {
		out[k] = v
	}
	return out
}

// ImageEnv is the environment the image's scripts and the rendered files need in
// every container that runs Moodle's PHP: where the code and moodledata are.
func (s Spec) ImageEnv() map[string]string {
	return map[string]string{
		appimage.EnvDirroot:  s.Paths.CodeDir,
		appimage.EnvDataRoot: s.Paths.DataRoot,
		appimage.EnvWebRoot:  s.WebRoot(),
		appimage.EnvBranch:   s.Release().Branch,
	}
}

// InstallerEnv is what the image's install hook reads, besides the admin password
// (a secret, appimage.EnvAdminPassword), to create the site and its admin account.
func (s Spec) InstallerEnv() map[string]string {
	m := s.Moodle
	return map[string]string{
		appimage.EnvAdminUser:     m.AdminUser,
		appimage.EnvAdminEmail:    m.AdminEmail,
		appimage.EnvSiteFullName:  m.SiteName,
		appimage.EnvSiteShortName: m.SiteName,
	}
}

// Paths inside the containers. They are the same on every node: Moodle requires
// dirroot to be identical across the cluster.
type Paths struct {
	// CodeDir is the code's root (config.php lives here); the web root is CodeDir
	// itself or CodeDir/public, as the release lays its code out (Spec.WebRoot).
	CodeDir string
	// DataRoot is the shared moodledata.
	DataRoot string
	// LocalCacheDir is per node, on local disk, never shared.
	LocalCacheDir string
	// DatabaseCA is the bundle of CAs that sign the database's server certificates
	// (the primary, its replicas, a pooler in front). When set, Moodle connects with
	// TLS and verifies the certificate and the host name (libpq sslmode
	// verify-full); when empty, without TLS (the Docker host's internal network).
	DatabaseCA string
	// CacheCA is the bundle of CAs that sign Redis's certificate, verified when
	// Cache.TLS is on.
	CacheCA string
}

// Web holds what the load balancer and the per-node web server share.
type Web struct {
	// Port nginx listens on inside its container.
	Port int `json:"port"`
	// ClientMaxBodyMB caps uploads; PHP's upload limits are derived from it.
	ClientMaxBodyMB int `json:"clientMaxBodyMb"`
	// FastCGIReadTimeout in seconds; the AWS ALB idle timeout is at least this.
	FastCGIReadTimeout int `json:"fastcgiReadTimeout"`
	// StatusAllow lists the CIDRs allowed to read stub_status and php-fpm status.
	StatusAllow []string `json:"statusAllow"`
	// Resources limit the load balancer container on the Docker host. On AWS nginx
	// runs beside php-fpm inside the app task and shares App.Resources, so they are zero.
	Resources `target:"docker" hint:"on aws nginx shares the app task's app.cpus and app.memoryMb"`
}

// LoadBalancerIdleTimeout is how long the load balancer in front of the web tier
// (the AWS ALB) keeps an idle connection: a little above fastcgi_read_timeout, so a
// long request ends with nginx's answer rather than the balancer's 504, and never
// below the ALB default of 60 seconds.
func (w Web) LoadBalancerIdleTimeout() int { return max(60, w.FastCGIReadTimeout+5) }

// KeepaliveTimeout is how long nginx keeps an idle client connection. The load
// balancer in front reuses its connections to the node until its own idle timeout,
// so nginx must keep them longer: a node that closes first races the balancer's
// next request on that connection, which then fails with a 502.
func (w Web) KeepaliveTimeout() int { return w.LoadBalancerIdleTimeout() + 15 }

// Launch types for the AWS app tier.
const (
	LaunchFargate = "fargate"
	LaunchEC2     = "ec2"
)

// CPU architectures of the AWS tasks; the app image is built for both.
const (
	ArchX86   = "x86_64"
	ArchARM64 = "arm64"
)

// Platform is the Docker platform the app image is built for, the tasks'
// architecture: ECS's runtimePlatform names x86_64 what Docker names amd64.
func (a App) Platform() string {
	if a.CPUArchitecture == ArchARM64 {
		return "linux/arm64"
	}
	return "linux/amd64"
}

// App is the PHP-FPM tier.
type App struct {
	// Replicas is the number of app nodes (Docker containers or ECS tasks at start).
	Replicas int `json:"replicas"`
	// MinReplicas and MaxReplicas bound autoscaling on AWS.
	MinReplicas int `json:"minReplicas" target:"aws" hint:"the Docker host runs app.replicas nodes, without autoscaling"`
	MaxReplicas int `json:"maxReplicas"`
	Resources
	// LaunchType is LaunchFargate or LaunchEC2 (AWS only).
	LaunchType string `json:"launchType" target:"aws"`
	// CPUArchitecture is ArchX86 or ArchARM64 (Graviton); AWS only, for the app and
	// cron tasks alike.
	CPUArchitecture string `json:"cpuArchitecture" target:"aws" hint:"the Docker host runs the image built for its own architecture"`
	// SpotPercent is the share (0..100) of the app tasks above MinReplicas that run
	// on Fargate Spot; the minimum always runs on regular Fargate. AWS only.
	SpotPercent int    `json:"spotPercent" target:"aws"`
	PHPFPM      PHPFPM `json:"phpFpm"`
	PHP         PHP    `json:"php"`
}

// PHPFPM are the pool settings. Zero values are derived from the memory limit by
// Sizing; a value set in config overrides the derived one.
type PHPFPM struct {
	MaxChildren     int `json:"maxChildren"`
	StartServers    int `json:"startServers"`
	MinSpareServers int `json:"minSpareServers"`
	MaxSpareServers int `json:"maxSpareServers"`
	MaxRequests     int `json:"maxRequests"`
	// WorkerMemoryMB is the average RSS of one Moodle worker used for sizing.
	WorkerMemoryMB int `json:"workerMemoryMb"`
	// ReserveMemoryMB is kept for the fpm master, OPcache and the OS.
	ReserveMemoryMB int `json:"reserveMemoryMb"`
}

// PHP holds php.ini values that are not derived from other settings.
type PHP struct {
	MemoryLimitMB int `json:"memoryLimitMb"`
	// OPcacheMemoryMB is opcache.memory_consumption; it is part of ReserveMemoryMB.
	OPcacheMemoryMB  int `json:"opcacheMemoryMb"`
	MaxInputVars     int `json:"maxInputVars"`
	MaxExecutionTime int `json:"maxExecutionTime"`
}

// Database poolers.
const (
	PoolerNone      = "none"
	PoolerPgBouncer = "pgbouncer"
	PoolerRDSProxy  = "rdsproxy"
)

// PgBouncer pool modes.
const (
	PoolModeSession     = "session"
	PoolModeTransaction = "transaction"
)

// Database is PostgreSQL, with an optional pooler and read replicas.
type Database struct {
	// Version is the PostgreSQL major version, e.g. "16".
	Version string `json:"version"`
	Name    string `json:"name"`
	User    string `json:"user"`
	// Resources limit the PostgreSQL containers (docker); RDS is sized by
	// InstanceClass.
	Resources `target:"docker" hint:"size the database with database.instanceClass"`
	// Pooler is PoolerNone, PoolerPgBouncer (docker) or PoolerRDSProxy (aws).
	Pooler string `json:"pooler"`
	// PoolMode is the PgBouncer pool mode. Session by default: Moodle keeps
	// temporary tables for a whole PHP request (backup and restore, course copy
	// and import create them through database_manager::create_temp_table, e.g.
	// backup/util/dbops/backup_controller_dbops.class.php,
	// create_backup_ids_temp_table), and PostgreSQL keeps a temporary table in
	// the server connection that made it: transaction pooling hands the next
	// statement to another connection, where the table does not exist.
	PoolMode string `json:"poolMode"`
	// PoolSize is the number of server connections PgBouncer keeps per database.
	PoolSize int `json:"poolSize" target:"docker" hint:"aws pools connections with database.pooler rdsproxy"`
	// PgBouncer limits the PgBouncer container (docker, Pooler == PoolerPgBouncer).
	PgBouncer Resources `json:"pgbouncer" target:"docker" hint:"aws pools connections with database.pooler rdsproxy"`
	// ReadReplicas is the number of read replicas wired into dboptions['readonly'].
	ReadReplicas int `json:"readReplicas"`
	// InstanceClass, StorageGB, MaxStorageGB, BackupRetentionDays and MultiAZ are AWS only.
	InstanceClass       string `json:"instanceClass" target:"aws"`
	StorageGB           int    `json:"storageGb" target:"aws"`
	MaxStorageGB        int    `json:"maxStorageGb" target:"aws"`
	BackupRetentionDays int    `json:"backupRetentionDays" target:"aws"`
	MultiAZ             bool   `json:"multiAz" target:"aws"`
	// RestoreFromSnapshot (aws only) names a DB snapshot (its identifier or ARN)
	// the site's database is restored from: the program then creates a new
	// primary (and replicas) from it beside the current ones, which are kept
	// untouched, and points the site at the new one.
	RestoreFromSnapshot string `json:"restoreFromSnapshot" target:"aws" hint:"an RDS snapshot restores an RDS instance only"`
	// RetireOriginal (aws only, with RestoreFromSnapshot) stops registering the
	// instances the site used before the restore, once the operator has checked
	// the restored copy and taken them out of the state (docs/aws.md).
	RetireOriginal bool `json:"retireOriginal" target:"aws"`
}

// RedisVersions are the ElastiCache Redis OSS engines an aws stack may run
// (cache.version); the parameter group family follows from each.
var RedisVersions = []string{"6.2", "7.0", "7.1"}

// Cache is Redis: PHP sessions in one logical database, the MUC application cache in
// another, so that purging caches never drops sessions.
type Cache struct {
	Version string `json:"version"`
	// Resources limit the sessions' Redis container (docker).
	Resources `target:"docker" hint:"size Redis with cache.nodeType"`
	// SessionDB is the Redis logical database the sessions live in.
	SessionDB     int    `json:"sessionDb"`
	SessionPrefix string `json:"sessionPrefix"`
	// CachePrefix keys the MUC application cache. Moodle's Redis cache store cannot
	// select a logical database, so the cache is kept apart from the sessions by key
	// prefix: purging a cache deletes only keys under its own prefix.
	CachePrefix string `json:"cachePrefix"`
	// TLS makes Moodle connect with TLS (ElastiCache in-transit encryption).
	TLS bool `json:"tls"`
	// NodeType and Replicas (nodes per replication group) are AWS only.
	NodeType string `json:"nodeType" target:"aws"`
	Replicas int    `json:"replicas" target:"aws"`
	// SnapshotRetentionDays is AWS only.
	SnapshotRetentionDays int `json:"snapshotRetentionDays" target:"aws"`
	// MUC is the separate Redis of the MUC application cache.
	MUC MUCCache `json:"muc"`
}

// MUCCache is the Redis of the MUC application cache, on both targets apart from
// the sessions' Redis: it evicts (allkeys-lru) where the sessions' never does
// (noeviction), because cachestore_redis sets no TTL on its keys and a full
// server shared with the sessions would refuse session writes, logging everyone
// out. On AWS it is a replication group (NodeType, Replicas); on the Docker host
// a container without persistence, limited by Resources.
type MUCCache struct {
	NodeType  string `json:"nodeType" target:"aws" hint:"size the MUC Redis container with cache.muc.cpus and cache.muc.memoryMb"`
	Replicas  int    `json:"replicas" target:"aws" hint:"the Docker host runs one MUC Redis container"`
	Resources `target:"docker" hint:"size the MUC group with cache.muc.nodeType"`
}

// Storage kinds for moodledata.
const (
	StorageVolume = "volume" // docker: a local named volume
	StorageNFS    = "nfs"    // docker: a named volume on an NFS export (the seed's nfs-moodledata)
	StorageEFS    = "efs"    // aws: EFS mounted on every task
	StorageS3     = "s3"     // aws: tool_objectfs in S3, EFS still for the shared dirs
)

// Storage is where moodledata lives.
type Storage struct {
	Kind string     `json:"kind"`
	NFS  NFSStorage `json:"nfs" target:"docker" hint:"aws shares moodledata on EFS"`
	S3   S3Storage  `json:"s3" target:"aws" hint:"docker stores moodledata on a volume or NFS"`
	// RestoreFileSystemID (aws only) names an EFS file system AWS Backup restored
	// from a recovery point of the stack's (fs-...). The program then gives it
	// mount targets, a policy and access points beside the current file system,
	// which it keeps, and points the site at it (moodlectl restore sets it).
	RestoreFileSystemID string `json:"restoreFileSystemId" target:"aws" hint:"an AWS Backup restore gives an EFS file system; moodlectl restore --stack dev replaces the volume's files"`
	// RetireOriginal (aws only, with RestoreFileSystemID) stops registering the
	// file system the site used before the restore, and what was attached to it,
	// once the operator has checked the restored copy and taken them out of the
	// state (docs/aws.md).
	RetireOriginal bool `json:"retireOriginal" target:"aws"`
}

// NFSStorage is the export behind the seed's nfs-moodledata volume.
type NFSStorage struct {
	// Address is the NFS server's host name or IP address.
	Address string `json:"address"`
	// Device is the exported path, ":/moodledata" in the seed.
	Device string `json:"device"`
	// Options are the mount options without the server address ("rw,nfsvers=4").
	Options string `json:"options"`
}

// MountOptions is the local volume driver's "o" option: the server address first,
// then Options, as in the seed's nfs-moodledata volume.
func (n NFSStorage) MountOptions() string { return "addr=" + n.Address + "," + n.Options }

// S3Storage tunes tool_objectfs.
type S3Storage struct {
	SizeThresholdBytes int  `json:"sizeThresholdBytes"`
	MinimumAgeSeconds  int  `json:"minimumAgeSeconds"`
	DeleteLocal        bool `json:"deleteLocal"`
}

// Cron is Moodle's task processing: the single cron runner, which runs the
// scheduled tasks, and the ad hoc task workers beside it.
type Cron struct {
	Resources
	// IntervalSeconds is the shortest time between the starts of two cron.php runs
	// (Moodle wants a run every minute). A run that outlasts it is never stopped:
	// the next starts when it ends.
	IntervalSeconds int `json:"intervalSeconds"`
	// KeepAliveSeconds is cron.php's --keep-alive: how long one run keeps polling
	// for due tasks before it exits and the runner starts the next.
	KeepAliveSeconds int `json:"keepAliveSeconds"`
	// Adhoc are the dedicated ad hoc task workers.
	Adhoc AdhocWorkers `json:"adhoc"`
}

// Moodle's thresholds of a task that runs long ($CFG->taskruntimewarn and
// $CFG->taskruntimeerror, 12 and 24 hours unless a site sets them), which tool_task's
// long running tasks check (admin/tool/task/classes/check/longrunningtasks.php)
// applies. No cron run is cut short, so status and the AWS alarms judge a run by
// them too.
const (
	TaskRuntimeWarnSeconds  = 12 * 3600
	TaskRuntimeErrorSeconds = 24 * 3600
)

// AdhocWorkers run Moodle's ad hoc tasks (asynchronous backups and restores,
// course copies, imports, notifications) with admin/cli/adhoc_task.php, so a long
// one never holds up the scheduled tasks, which the cron runner keeps to itself.
type AdhocWorkers struct {
	Resources
	// Workers is how many run; 0 leaves the ad hoc tasks to cron.php, between its
	// scheduled ones.
	Workers int `json:"workers"`
	// KeepAliveSeconds is adhoc_task.php's --keep-alive: how long a worker waits
	// for new tasks before it exits and its runner starts it again.
	KeepAliveSeconds int `json:"keepAliveSeconds"`
	// ConcurrencyLimit is Moodle's task_adhoc_concurrency_limit, the number of
	// processes that may run ad hoc tasks at once, forced in config.php while
	// there are workers. Each worker holds one of these slots while it runs, so
	// with as many slots as workers cron.php finds none free and runs only the
	// scheduled tasks; every slot above that lets cron.php run ad hoc tasks too.
	ConcurrencyLimit int `json:"concurrencyLimit"`
}

// Images are the container images; every one can point at a site's own registry.
type Images struct {
	// App is the image that runs php-fpm, cron and (unless Web is set) nginx. With
	// CodeBuild it is the tag given to the built image.
	App       string `json:"app"`
	Web       string `json:"web"`
	Database  string `json:"database" target:"docker" hint:"aws runs RDS"`
	Cache     string `json:"cache" target:"docker" hint:"aws runs ElastiCache"`
	PgBouncer string `json:"pgbouncer" target:"docker" hint:"aws pools connections with database.pooler rdsproxy"`
	// MailCatcher is the docker target's mail catcher (Mailpit's contract).
	MailCatcher string `json:"mailCatcher" target:"docker"`
}

// DockerTarget holds settings only the Docker host reads.
type DockerTarget struct {
	// HTTPPort is the host port the load balancer publishes.
	HTTPPort int `json:"httpPort"`
	// BindAddress is the host address the port is published on.
	BindAddress string `json:"bindAddress"`
}

// NAT gateway layouts.
const (
	NATPerAZ  = "perAz"
	NATSingle = "single"
)

// AWSTarget holds settings only the AWS stack reads.
type AWSTarget struct {
	// Region is informational; the provider's aws:region decides.
	AZCount int `json:"azCount"`
	// NATGateways is NATPerAZ or NATSingle.
	NATGateways string `json:"natGateways"`
	VPCCIDR     string `json:"vpcCidr"`
	// An existing VPC: VPCID with its subnets; when empty a VPC is created.
	VPCID            string   `json:"vpcId"`
	PublicSubnetIDs  []string `json:"publicSubnetIds"`
	PrivateSubnetIDs []string `json:"privateSubnetIds"`
	DataSubnetIDs    []string `json:"dataSubnetIds"`
	// CertificateARN is the ACM certificate for the HTTPS listener.
	CertificateARN string `json:"certificateArn"`
	// AllowPlainHTTP permits a stack without a certificate (a test site).
	AllowPlainHTTP bool `json:"allowPlainHttp"`
	WAF            bool `json:"waf"`
	// AlarmEmail subscribes to the alarm topic when set.
	AlarmEmail       string `json:"alarmEmail"`
	LogRetentionDays int    `json:"logRetentionDays"`
	// Protect marks data resources protected and sets the services' deletion protection.
	Protect bool `json:"protect"`
	// EC2InstanceType sizes the container instances with LaunchEC2.
	EC2InstanceType string `json:"ec2InstanceType"`
	// ECSExec lets operators open a shell in a task (aws ecs execute-command),
	// every session logged to an encrypted log group.
	ECSExec bool `json:"ecsExec"`
	// VPCEndpoints adds interface endpoints (ECR, Secrets Manager, Logs, SSM) to a
	// created VPC, so the tasks reach those APIs without the NAT gateways.
	VPCEndpoints bool `json:"vpcEndpoints"`
	// HostedZoneID, when set, gets an alias record for the site's host name.
	HostedZoneID string `json:"hostedZoneId"`
	// CloudFront puts a distribution in front of the ALB.
	CloudFront CloudFront `json:"cloudFront"`
	// Maintenance closes the site to its users while an upgrade changes its data.
	Maintenance Maintenance `json:"maintenance"`
}

// Maintenance is the AWS site closed for an upgrade: the load balancer answers
// every request with Message and a 503 before any other rule sees it, and the ad
// hoc task workers stop; the cron service runs on, since its runner is what
// upgrades the database. Moodle's own CLI maintenance mode is the runner's to
// set around upgrade.php (docker/moodle-install-upgrade); this keeps users out
// from the backup before the upgrade until the site is checked after it.
type Maintenance struct {
	Enabled bool `json:"enabled"`
	// Message is the HTML page the load balancer answers with.
	Message string `json:"message"`
}

// MaintenanceMessageMax is the most a fixed response's body may hold
// (FixedResponseActionConfig MessageBody, Elastic Load Balancing API reference:
// "Length Constraints: Minimum length of 0. Maximum length of 1024").
const MaintenanceMessageMax = 1024

// CloudFront is the optional CDN in front of the ALB: it caches what Moodle marks
// cacheable (theme, JavaScript, images), carries a web ACL of its own, and is the
// only client the ALB then accepts.
type CloudFront struct {
	Enabled bool `json:"enabled"`
	// CertificateARN is an ACM certificate in us-east-1 for the site's host name.
	CertificateARN string `json:"certificateArn"`
	// OriginReadTimeout is how long CloudFront waits for the ALB, in seconds: 60
	// unless AWS raised the account's quota (180 at most).
	OriginReadTimeout int `json:"originReadTimeout"`
}

// Backup is the stack's own AWS Backup plan: a vault encrypted with the data key,
// one rule on Schedule keeping each recovery point RetentionDays, and a selection
// of the RDS primary and the EFS file system. It adds to RDS's automated backups
// (database.backupRetentionDays, point-in-time recovery) copies kept longer and
// apart from the instance.
type Backup struct {
	Enabled bool `json:"enabled"`
	// Schedule is an AWS Backup schedule expression, cron(...) with six fields,
	// in UTC.
	Schedule      string `json:"schedule"`
	RetentionDays int    `json:"retentionDays"`
}
