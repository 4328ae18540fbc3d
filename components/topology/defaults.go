package topology

import (
	"fmt"
	"strconv"

	"github.com/moodle-cluster/moodle-pulumi/components/appimage"
)

// The defaults of both targets live in this file and nowhere else, beside the model
// they fill: docs/config.md documents them, defaults_test.go pins them, and the
// golden files of the renderers are rendered from them.

// Defaults returns the complete Spec a stack of target t runs when it sets nothing
// but moodle:target. Callers that build a Spec in code (Automation API embedding)
// start from it, change what they need and validate it (stacks/config.Validate).
func Defaults(t Target) (Spec, error) {
	s, err := Base(t)
	if err != nil {
		return Spec{}, err
	}
	s.FillDerived()
	return s, nil
}

// Base is the per-target starting point that a stack's values are decoded onto.
// Values derived from other settings (image tags from versions, the site URL from
// the published port) stay empty here and are filled by FillDerived.
func Base(t Target) (Spec, error) {
	switch t {
	case TargetDocker:
		return dockerBase(), nil
	case TargetAWS:
		return awsBase(), nil
	}
	return Spec{}, fmt.Errorf("no defaults for target %q", t)
}

// shared holds the values both targets start from; each target then changes what
// differs.
func shared(t Target) Spec {
	return Spec{
		Target: t,
		Moodle: Moodle{
			Version:    DefaultRelease,
			CodeSource: CodeBuild,
			Build:      Build{Context: "docker", Dockerfile: "Dockerfile"},
			AdminUser:  "admin",
			AdminEmail: "admin@example.com",
			SiteName:   "Moodle",
		},
		// The app image's own paths: the program builds it with them (BuildArgs).
		Paths: Paths{
			CodeDir:       appimage.DefaultCodeDir,
			DataRoot:      appimage.DefaultDataRoot,
			LocalCacheDir: appimage.DefaultLocalCacheDir,
			// The Debian trust store of the app image: ElastiCache's certificates
			// chain to Amazon's public roots.
			CacheCA: SystemCABundle,
		},
		Web: Web{
			// Above 1024 so nginx binds it without root or CAP_NET_BIND_SERVICE.
			Port:               8080,
			ClientMaxBodyMB:    512,
			FastCGIReadTimeout: 300,
			StatusAllow:        []string{"127.0.0.1/32"},
		},
		App: App{
			Replicas: 3,
			PHPFPM: PHPFPM{
				MaxRequests:    500,
				WorkerMemoryMB: 96,
				// 64 MB for the fpm master and the OS share, plus the OPcache segment.
				ReserveMemoryMB: 64 + 128,
			},
			PHP: PHP{
				MemoryLimitMB:    256,
				OPcacheMemoryMB:  128,
				MaxInputVars:     5000,
				MaxExecutionTime: 300,
			},
		},
		Database: Database{
			Version:  "17",
			Name:     "moodle",
			User:     "moodle",
			Pooler:   PoolerNone,
			PoolMode: PoolModeSession,
		},
		Cache: Cache{
			SessionDB:     0,
			CachePrefix:   "mdl_muc_",
			SessionPrefix: "mdl_sess_",
		},
		Cron: Cron{
			IntervalSeconds: 60,
			// \core\cron::DEFAULT_MAIN_PROCESS_KEEPALIVE (public/lib/classes/cron.php
			// of moodle/moodle at 159259a3): with a run every minute, three minutes
			// lets three ad hoc runners overlap.
			KeepAliveSeconds: 180,
			// Ten minutes of waiting for new tasks, then a fresh PHP process.
			Adhoc: AdhocWorkers{KeepAliveSeconds: 600},
		},
		// Moodle's own defaults for the SMTP settings (public/admin/settings/
		// server.php): LOGIN, one message per session, "via" always. The relay is
		// reached over STARTTLS unless a stack says otherwise.
		Mail: Mail{
			Enabled:  true,
			TLS:      MailTLSStartTLS,
			AuthType: "LOGIN",
			MaxBulk:  1,
			FromVia:  MailFromViaAlways,
		},
	}
}

func dockerBase() Spec {
	s := shared(TargetDocker)
	// The Docker bridge networks are carved out of 172.16.0.0/12: the load balancer
	// reaches php-fpm's status page from there.
	s.Web.StatusAllow = []string{"127.0.0.1/32", "172.16.0.0/12"}
	s.Web.Resources = Resources{CPUs: 1, MemoryMB: 256, ReservedCPUs: 0.25, ReservedMemoryMB: 64}
	// The seed's vertical limits.
	s.App.Resources = Resources{CPUs: 4, MemoryMB: 8192, ReservedCPUs: 2, ReservedMemoryMB: 4096}
	s.Database.Resources = Resources{CPUs: 2, MemoryMB: 4096, ReservedCPUs: 1, ReservedMemoryMB: 2048}
	s.Database.PoolSize = 25
	s.Database.PgBouncer = Resources{CPUs: 0.5, MemoryMB: 128, ReservedCPUs: 0.1, ReservedMemoryMB: 32}
	s.Cache.Version = "7.2"
	s.Cache.Resources = Resources{CPUs: 1, MemoryMB: 1024, ReservedCPUs: 0.5, ReservedMemoryMB: 512}
	s.Cache.MUC.Resources = Resources{CPUs: 0.5, MemoryMB: 512, ReservedCPUs: 0.25, ReservedMemoryMB: 256}
	s.Storage = Storage{
		Kind: StorageVolume,
		NFS:  NFSStorage{Device: ":/moodledata", Options: "rw,nfsvers=4"},
	}
	s.Cron.Resources = Resources{CPUs: 1, MemoryMB: 1024, ReservedCPUs: 0.25, ReservedMemoryMB: 256}
	s.Cron.Adhoc.Workers, s.Cron.Adhoc.ConcurrencyLimit = 1, 1
	s.Cron.Adhoc.Resources = Resources{CPUs: 1, MemoryMB: 1024, ReservedCPUs: 0.25, ReservedMemoryMB: 256}
	// Without a relay the dev stack catches its mail: Mailpit, its web page on
	// the host's loopback address.
	// Moodle's own no-reply default is noreply@<the site's host>, which for the
	// dev site (localhost) is no address PHPMailer accepts as a sender: every
	// message would fail. The dev stack sends from a reserved domain instead.
	s.Mail.NoReplyAddress = "noreply@example.com"
	s.Mail.Catcher = MailCatcher{
		WebPort:   8025,
		Resources: Resources{CPUs: 0.5, MemoryMB: 128, ReservedCPUs: 0.1, ReservedMemoryMB: 32},
	}
	s.Images = Images{
		Cache:       "redis:7.2.7-alpine",
		PgBouncer:   "edoburu/pgbouncer:v1.25.1-p0",
		MailCatcher: "axllent/mailpit:v1.17.1",
	}
	// Published on the loopback address only: a dev stack is not a public site until
	// its owner says so (bindAddress 0.0.0.0).
	s.Docker = DockerTarget{HTTPPort: 8080, BindAddress: "127.0.0.1"}
	// The connection budget (PostgreSQL's max_connections, PgBouncer's
	// max_client_conn) is sized for this many nodes, so scaling app.replicas up to it
	// never changes, and so never restarts, the database container.
	s.App.MaxReplicas = 10
	return s
}

func awsBase() Spec {
	s := shared(TargetAWS)
	// RDS signs its instances' certificates with its own CAs; RDS Proxy presents
	// a certificate that chains to Amazon's public roots. The bundle holds both.
	s.Paths.DatabaseCA = DatabaseCABundle
	// ECS runs what a registry holds: a prebuilt image by default; codeSource
	// build builds docker/ and pushes it to the stack's ECR repository.
	s.Moodle.CodeSource = CodeImage
	s.App.MinReplicas = 2
	s.App.MaxReplicas = 10
	s.App.LaunchType = LaunchFargate
	s.App.CPUArchitecture = ArchX86
	// A Fargate task size; the task gets what it asks for, so reservations equal limits.
	s.App.Resources = Resources{CPUs: 2, MemoryMB: 4096, ReservedCPUs: 2, ReservedMemoryMB: 4096}
	// The nginx sidecar shares the task's memory: 64 MB more than on Docker.
	s.App.PHPFPM.ReserveMemoryMB = 64 + 128 + 64
	s.Database.ReadReplicas = 1
	s.Database.InstanceClass = "db.r6g.large"
	s.Database.StorageGB = 100
	s.Database.MaxStorageGB = 1000
	s.Database.BackupRetentionDays = 14
	s.Database.MultiAZ = true
	// The newest Redis OSS engine ElastiCache runs.
	s.Cache.Version = "7.1"
	s.Cache.TLS = true
	s.Cache.NodeType = "cache.r6g.large"
	s.Cache.Replicas = 2
	s.Cache.SnapshotRetentionDays = 7
	// The MUC working set outgrows the sessions: a node of the same size, evicting
	// least recently used keys instead of refusing writes.
	s.Cache.MUC = MUCCache{NodeType: "cache.r6g.large", Replicas: 2}
	s.Storage = Storage{
		Kind: StorageEFS,
		// Files move to S3 after an hour so little stays on EFS; the local copy goes
		// once it is safely in the bucket.
		S3: S3Storage{SizeThresholdBytes: 10 * 1024, MinimumAgeSeconds: 3600, DeleteLocal: true},
	}
	s.Cron.Resources = Resources{CPUs: 1, MemoryMB: 2048, ReservedCPUs: 1, ReservedMemoryMB: 2048}
	s.Cron.Adhoc.Workers, s.Cron.Adhoc.ConcurrencyLimit = 2, 2
	s.Cron.Adhoc.Resources = Resources{CPUs: 1, MemoryMB: 2048, ReservedCPUs: 1, ReservedMemoryMB: 2048}
	// Daily at 05:00 UTC, AWS Backup's own default schedule (BackupRule
	// ScheduleExpression, AWS Backup API reference): after the RDS backup window
	// (02:00-03:00) and the Sunday maintenance window (03:30-04:30) the database
	// component sets. Kept 35 days, as long as RDS keeps automated backups at most.
	s.Backup = Backup{Enabled: true, Schedule: "cron(0 5 ? * * *)", RetentionDays: 35}
	s.AWS = AWSTarget{
		AZCount:          3,
		NATGateways:      NATPerAZ,
		VPCCIDR:          "10.0.0.0/16",
		WAF:              true,
		LogRetentionDays: 90,
		Protect:          true,
		EC2InstanceType:  "m6i.xlarge",
		CloudFront:       CloudFront{OriginReadTimeout: 60},
		Maintenance:      Maintenance{Message: DefaultMaintenanceMessage},
	}
	return s
}

// DefaultMaintenanceMessage is the page a site in maintenance answers with.
const DefaultMaintenanceMessage = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Maintenance</title></head>` +
	`<body><h1>This site is being upgraded</h1><p>It will be back shortly. Nothing you saved before is lost.</p></body></html>`

// CA bundles in the app image, by their names in the model.
const (
	SystemCABundle   = appimage.SystemCABundle
	DatabaseCABundle = appimage.DatabaseCABundle
)

// DatabaseImage pins one PostgreSQL release per supported major version; it is
// empty for a version validation rejects.
func DatabaseImage(major string) string {
	switch major {
	case "14":
		return "postgres:14.15-bookworm"
	case "15":
		return "postgres:15.10-bookworm"
	case "16":
		return "postgres:16.6-bookworm"
	case "17":
		return "postgres:17.2-bookworm"
	}
	return ""
}

// DefaultAppImage is images.app when the stack names none: the tag a docker
// stack's build gets.
func DefaultAppImage(version string) string { return "moodle-cluster/app:" + version }

// FillDerived fills the values derived from other settings that the stack left
// empty.
func (s *Spec) FillDerived() {
	if s.Images.App == "" {
		s.Images.App = DefaultAppImage(s.Moodle.Version)
	}
	if s.Images.Web == "" {
		s.Images.Web = s.Images.App
	}
	if s.Target == TargetDocker {
		if s.Images.Database == "" {
			s.Images.Database = DatabaseImage(s.Database.Version)
		}
		if s.SiteURL == "" {
			s.SiteURL = localSiteURL(s.Docker.HTTPPort)
		}
	}
}

// localSiteURL is the address a browser on the Docker host uses.
func localSiteURL(port int) string {
	if port == 80 {
		return "http://localhost"
	}
	return "http://localhost:" + strconv.Itoa(port)
}
