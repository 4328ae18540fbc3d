package topology

import (
	"reflect"
	"strings"
	"testing"
)

func TestDefaultsPerTarget(t *testing.T) {
	docker, err := Defaults(TargetDocker)
	if err != nil {
		t.Fatal(err)
	}
	aws, err := Defaults(TargetAWS)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name        string
		docker, aws any
		got         func(Spec) any
	}{
		{"app replicas min/now/max", [3]int{0, 3, 10}, [3]int{2, 3, 10}, func(s Spec) any {
			return [3]int{s.App.MinReplicas, s.App.Replicas, s.App.MaxReplicas}
		}},
		{"app limits", Resources{CPUs: 4, MemoryMB: 8192, ReservedCPUs: 2, ReservedMemoryMB: 4096},
			Resources{CPUs: 2, MemoryMB: 4096, ReservedCPUs: 2, ReservedMemoryMB: 4096},
			func(s Spec) any { return s.App.Resources }},
		{"launch type", "", LaunchFargate, func(s Spec) any { return s.App.LaunchType }},
		{"php-fpm", PHPFPM{MaxRequests: 500, WorkerMemoryMB: 96, ReserveMemoryMB: 192},
			PHPFPM{MaxRequests: 500, WorkerMemoryMB: 96, ReserveMemoryMB: 256},
			func(s Spec) any { return s.App.PHPFPM }},
		{"php", PHP{MemoryLimitMB: 256, OPcacheMemoryMB: 128, MaxInputVars: 5000, MaxExecutionTime: 300},
			PHP{MemoryLimitMB: 256, OPcacheMemoryMB: 128, MaxInputVars: 5000, MaxExecutionTime: 300},
			func(s Spec) any { return s.App.PHP }},
		{"database limits", Resources{CPUs: 2, MemoryMB: 4096, ReservedCPUs: 1, ReservedMemoryMB: 2048},
			Resources{}, func(s Spec) any { return s.Database.Resources }},
		{"database", [5]any{"17", "moodle", "moodle", PoolerNone, PoolModeSession},
			[5]any{"17", "moodle", "moodle", PoolerNone, PoolModeSession},
			func(s Spec) any {
				d := s.Database
				return [5]any{d.Version, d.Name, d.User, d.Pooler, d.PoolMode}
			}},
		{"pool size and read replicas", [2]int{25, 0}, [2]int{0, 1}, func(s Spec) any {
			return [2]int{s.Database.PoolSize, s.Database.ReadReplicas}
		}},
		{"rds", [5]any{"", 0, 0, 0, false}, [5]any{"db.r6g.large", 100, 1000, 14, true}, func(s Spec) any {
			d := s.Database
			return [5]any{d.InstanceClass, d.StorageGB, d.MaxStorageGB, d.BackupRetentionDays, d.MultiAZ}
		}},
		{"cache", [5]any{"7.2", 0, "mdl_muc_", "mdl_sess_", false}, [5]any{"7.1", 0, "mdl_muc_", "mdl_sess_", true}, func(s Spec) any {
			c := s.Cache
			return [5]any{c.Version, c.SessionDB, c.CachePrefix, c.SessionPrefix, c.TLS}
		}},
		{"cache limits", Resources{CPUs: 1, MemoryMB: 1024, ReservedCPUs: 0.5, ReservedMemoryMB: 512},
			Resources{}, func(s Spec) any { return s.Cache.Resources }},
		{"elasticache", [3]any{"", 0, 0}, [3]any{"cache.r6g.large", 2, 7}, func(s Spec) any {
			return [3]any{s.Cache.NodeType, s.Cache.Replicas, s.Cache.SnapshotRetentionDays}
		}},
		{"storage kind", StorageVolume, StorageEFS, func(s Spec) any { return s.Storage.Kind }},
		{"nfs", NFSStorage{Device: ":/moodledata", Options: "rw,nfsvers=4"}, NFSStorage{},
			func(s Spec) any { return s.Storage.NFS }},
		{"cron", Cron{Resources: Resources{CPUs: 1, MemoryMB: 1024, ReservedCPUs: 0.25, ReservedMemoryMB: 256}, IntervalSeconds: 60, KeepAliveSeconds: 180,
			Adhoc: AdhocWorkers{Resources: Resources{CPUs: 1, MemoryMB: 1024, ReservedCPUs: 0.25, ReservedMemoryMB: 256}, Workers: 1, KeepAliveSeconds: 600, ConcurrencyLimit: 1}},
			Cron{Resources: Resources{CPUs: 1, MemoryMB: 2048, ReservedCPUs: 1, ReservedMemoryMB: 2048}, IntervalSeconds: 60, KeepAliveSeconds: 180,
				Adhoc: AdhocWorkers{Resources: Resources{CPUs: 1, MemoryMB: 2048, ReservedCPUs: 1, ReservedMemoryMB: 2048}, Workers: 2, KeepAliveSeconds: 600, ConcurrencyLimit: 2}},
			func(s Spec) any { return s.Cron }},
		{"web", [4]any{8080, 512, 300, []string{"127.0.0.1/32", "172.16.0.0/12"}},
			[4]any{8080, 512, 300, []string{"127.0.0.1/32"}}, func(s Spec) any {
				w := s.Web
				return [4]any{w.Port, w.ClientMaxBodyMB, w.FastCGIReadTimeout, w.StatusAllow}
			}},
		{"paths", Paths{CodeDir: "/var/www/moodle", DataRoot: "/var/www/moodledata", LocalCacheDir: "/var/cache/moodle",
			CacheCA: "/etc/ssl/certs/ca-certificates.crt"},
			Paths{CodeDir: "/var/www/moodle", DataRoot: "/var/www/moodledata", LocalCacheDir: "/var/cache/moodle",
				CacheCA: "/etc/ssl/certs/ca-certificates.crt", DatabaseCA: "/usr/local/share/moodle/database-ca.pem"},
			func(s Spec) any { return s.Paths }},
		{"moodle", [2]string{DefaultRelease, CodeBuild}, [2]string{DefaultRelease, CodeImage}, func(s Spec) any {
			return [2]string{s.Moodle.Version, s.Moodle.CodeSource}
		}},
		{"images", Images{App: "moodle-cluster/app:5.3", Web: "moodle-cluster/app:5.3", Database: "postgres:17.2-bookworm", Cache: "redis:7.2.7-alpine", PgBouncer: "edoburu/pgbouncer:v1.25.1-p0", MailCatcher: "axllent/mailpit:v1.17.1"},
			Images{App: "moodle-cluster/app:5.3", Web: "moodle-cluster/app:5.3"},
			func(s Spec) any { return s.Images }},
		{"docker host", DockerTarget{HTTPPort: 8080, BindAddress: "127.0.0.1"}, DockerTarget{},
			func(s Spec) any { return s.Docker }},
		{"site url", "http://localhost:8080", "", func(s Spec) any { return s.SiteURL }},
		{"aws", AWSTarget{}, AWSTarget{AZCount: 3, NATGateways: NATPerAZ, VPCCIDR: "10.0.0.0/16",
			WAF: true, LogRetentionDays: 90, Protect: true, EC2InstanceType: "m6i.xlarge",
			// The options are off; CloudFront, once on, waits the 60 s its quota allows.
			CloudFront: CloudFront{OriginReadTimeout: 60}, Maintenance: Maintenance{Message: DefaultMaintenanceMessage}},
			func(s Spec) any { return s.AWS }},
		{"app architecture and spot share", [2]any{"", 0}, [2]any{ArchX86, 0}, func(s Spec) any {
			return [2]any{s.App.CPUArchitecture, s.App.SpotPercent}
		}},
		{"mail", Mail{Enabled: true, TLS: MailTLSStartTLS, AuthType: "LOGIN", MaxBulk: 1, FromVia: MailFromViaAlways,
			NoReplyAddress: "noreply@example.com",
			Catcher:        MailCatcher{WebPort: 8025, Resources: Resources{CPUs: 0.5, MemoryMB: 128, ReservedCPUs: 0.1, ReservedMemoryMB: 32}}},
			Mail{Enabled: true, TLS: MailTLSStartTLS, AuthType: "LOGIN", MaxBulk: 1, FromVia: MailFromViaAlways},
			func(s Spec) any { return s.Mail }},
		{"backup plan", Backup{}, Backup{Enabled: true, Schedule: "cron(0 5 ? * * *)", RetentionDays: 35}, func(s Spec) any { return s.Backup }},
		{"MUC group", MUCCache{Resources: Resources{CPUs: 0.5, MemoryMB: 512, ReservedCPUs: 0.25, ReservedMemoryMB: 256}}, MUCCache{NodeType: "cache.r6g.large", Replicas: 2}, func(s Spec) any { return s.Cache.MUC }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.got(docker); !reflect.DeepEqual(got, c.docker) {
				t.Errorf("docker: %#v, want %#v", got, c.docker)
			}
			if got := c.got(aws); !reflect.DeepEqual(got, c.aws) {
				t.Errorf("aws: %#v, want %#v", got, c.aws)
			}
		})
	}
}

func TestDefaultsOfAnUnknownTargetFail(t *testing.T) {
	if _, err := Defaults("k8s"); err == nil || !strings.Contains(err.Error(), `"k8s"`) {
		t.Errorf("Defaults(k8s) error = %v", err)
	}
}
