package render

import (
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// devSpec is a fully populated Spec with the dev stack's values: the seed's three
// app nodes with its vertical limits (4 CPUs / 8 GB, reserved 2 / 4 GB) and the
// defaults the config loader fills. Tests derive their variants from it.
func devSpec() topology.Spec {
	return topology.Spec{
		Target:  topology.TargetDocker,
		SiteURL: "http://localhost:8080",
		Moodle: topology.Moodle{
			Version: "5.1", CodeSource: topology.CodeBuild,
			AdminUser: "admin", AdminEmail: "admin@example.org", SiteName: "Moodle",
		},
		Paths: topology.Paths{
			CodeDir:       "/var/www/moodle",
			DataRoot:      "/var/www/moodledata",
			LocalCacheDir: "/var/cache/moodle",
		},
		Web: topology.Web{
			Port:               8080,
			ClientMaxBodyMB:    512,
			FastCGIReadTimeout: 300,
			StatusAllow:        []string{"127.0.0.1", "172.16.0.0/12"},
		},
		App: topology.App{
			Replicas:    3,
			MinReplicas: 3,
			MaxReplicas: 3,
			Resources:   topology.Resources{CPUs: 4, MemoryMB: 8192, ReservedCPUs: 2, ReservedMemoryMB: 4096},
			PHPFPM:      topology.PHPFPM{MaxRequests: 500, WorkerMemoryMB: 96, ReserveMemoryMB: 192},
			PHP: topology.PHP{
				MemoryLimitMB: 256, OPcacheMemoryMB: 128, MaxInputVars: 5000,
				MaxExecutionTime: 300, OPcacheValidateFiles: true,
			},
		},
		Database: topology.Database{
			Version: "16", Name: "moodle", User: "moodle",
			Resources: topology.Resources{CPUs: 2, MemoryMB: 4096, ReservedCPUs: 1, ReservedMemoryMB: 2048},
			Pooler:    topology.PoolerNone, PoolMode: topology.PoolModeTransaction, PoolSize: 25,
		},
		Cache: topology.Cache{
			Version:   "7",
			Resources: topology.Resources{CPUs: 1, MemoryMB: 512, ReservedCPUs: 0.5, ReservedMemoryMB: 256},
			SessionDB: 0, SessionPrefix: "mdl_sess_", CachePrefix: "mdl_muc_",
		},
		Storage: topology.Storage{Kind: topology.StorageVolume},
		Cron: topology.Cron{
			Resources:       topology.Resources{CPUs: 1, MemoryMB: 1024, ReservedCPUs: 0.5, ReservedMemoryMB: 512},
			IntervalSeconds: 60, RunTimeoutSeconds: 3600,
		},
		Images: topology.Images{
			App: "moodle-app:5.1", Database: "postgres:16-alpine", Cache: "redis:7-alpine",
			PgBouncer: "edoburu/pgbouncer:1.23.1",
		},
		Docker: topology.DockerTarget{HTTPPort: 8080, BindAddress: "127.0.0.1"},
	}
}

// devEndpoints are the Docker network aliases of the dev stack.
func devEndpoints() Endpoints {
	return Endpoints{
		Database: HostPort{Host: "db", Port: 5432},
		Redis:    HostPort{Host: "redis", Port: 6379},
	}
}

// devBackends are the app nodes of s as the load balancer reaches them.
func devBackends(s topology.Spec) []HostPort {
	var b []HostPort
	for _, n := range s.AppNodes() {
		b = append(b, HostPort{Host: n, Port: 9000})
	}
	return b
}

// pgbouncerSpec is the dev stack with PgBouncer in transaction mode, the seed's.
func pgbouncerSpec() (topology.Spec, Endpoints) {
	s := devSpec()
	s.Database.Pooler = topology.PoolerPgBouncer
	s.Database.PoolMode = topology.PoolModeTransaction
	e := devEndpoints()
	e.Database = HostPort{Host: "pgbouncer", Port: 6432}
	return s, e
}

// awsSpec is a production-shaped site: https behind a load balancer, Redis with
// TLS, RDS Proxy with one read replica, files in S3, a 4 GB Fargate task.
func awsSpec() (topology.Spec, Endpoints) {
	s := devSpec()
	s.Target = topology.TargetAWS
	s.SiteURL = "https://moodle.example.org"
	s.App.MemoryMB, s.App.ReservedMemoryMB = 4096, 4096
	s.App.PHP.OPcacheValidateFiles = false
	s.Web.StatusAllow = []string{"127.0.0.1", "10.0.0.0/16"}
	s.Database.Pooler = topology.PoolerRDSProxy
	s.Database.ReadReplicas = 1
	s.Cache.TLS = true
	s.Storage = topology.Storage{Kind: topology.StorageS3, S3: topology.S3Storage{
		SizeThresholdBytes: 102400, MinimumAgeSeconds: 600, DeleteLocal: true,
	}}
	return s, Endpoints{
		Database:     HostPort{Host: "moodle-proxy.proxy-abc.eu-west-1.rds.amazonaws.com", Port: 5432},
		ReadReplicas: []HostPort{{Host: "moodle-replica-1.abc.eu-west-1.rds.amazonaws.com", Port: 5432}},
		Redis:        HostPort{Host: "master.moodle-sessions.abc.euw1.cache.amazonaws.com", Port: 6379},
	}
}
