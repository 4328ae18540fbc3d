//go:build integration

package loopback

import (
	"fmt"
	"path/filepath"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// Nodes is the number of app nodes the loopback cluster runs, as the dev stack does.
const Nodes = 3

// DevSpec is the dev stack's topology with its paths under root and the load balancer
// on webPort: three app nodes of 1 GB each, PostgreSQL without a pooler, Redis sessions
// in their own logical database, X-Accel-Redirect for dataroot files, one cron runner.
func DevSpec(root string, webPort int) topology.Spec {
	return topology.Spec{
		Target:  topology.TargetDocker,
		SiteURL: fmt.Sprintf("http://127.0.0.1:%d", webPort),
		Moodle: topology.Moodle{Version: "5.1", CodeSource: topology.CodeHostPath, HostPath: filepath.Join(root, "code"),
			AdminUser: "admin", AdminEmail: "admin@example.org", SiteName: "Loopback Moodle"},
		Paths: topology.Paths{
			CodeDir:       filepath.Join(root, "code"),
			DataRoot:      filepath.Join(root, "moodledata"),
			LocalCacheDir: filepath.Join(root, "localcache"),
		},
		Web: topology.Web{Port: webPort, ClientMaxBodyMB: 100, FastCGIReadTimeout: 300, Keepalive: 16,
			StatusAllow: []string{"127.0.0.1/32"}},
		App: topology.App{
			Replicas: Nodes, MinReplicas: Nodes, MaxReplicas: Nodes,
			Resources: topology.Resources{CPUs: 1, MemoryMB: 1024, ReservedCPUs: 0.5, ReservedMemoryMB: 512},
			PHPFPM:    topology.PHPFPM{MaxRequests: 500, WorkerMemoryMB: 80, ReserveMemoryMB: 224},
			PHP: topology.PHP{MemoryLimitMB: 256, OPcacheMemoryMB: 128, MaxInputVars: 5000, MaxExecutionTime: 300,
				OPcacheValidateFiles: true},
		},
		Database: topology.Database{Version: "15", Name: "moodle", User: "moodle",
			Resources: topology.Resources{CPUs: 1, MemoryMB: 1024, ReservedCPUs: 0.5, ReservedMemoryMB: 512},
			Pooler:    topology.PoolerNone},
		Cache: topology.Cache{Version: "7.0", SessionDB: 0, CacheDB: 1, SessionPrefix: "sess_",
			Resources: topology.Resources{CPUs: 0.5, MemoryMB: 256, ReservedCPUs: 0.25, ReservedMemoryMB: 128}},
		Storage: topology.Storage{Kind: topology.StorageVolume},
		Cron: topology.Cron{IntervalSeconds: 60, RunTimeoutSeconds: 900,
			Resources: topology.Resources{CPUs: 0.5, MemoryMB: 512, ReservedCPUs: 0.25, ReservedMemoryMB: 256}},
		Images: topology.Images{App: "moodle-app:dev", Web: "nginx:1.27-alpine", Database: "postgres:16-alpine",
			Cache: "redis:7.2-alpine", PgBouncer: "edoburu/pgbouncer:v1.23.1-p3"},
		Docker: topology.DockerTarget{HTTPPort: webPort, BindAddress: "127.0.0.1"},
	}
}

// AWSSpec is the prod stack's topology with the same paths: HTTPS ended at the ALB, a
// per-node nginx beside php-fpm, Redis over TLS, a read replica, EFS for dataroot.
func AWSSpec(root string) topology.Spec {
	s := DevSpec(root, 8080)
	s.Target = topology.TargetAWS
	s.SiteURL = "https://moodle.example.org"
	s.App.Replicas, s.App.MinReplicas, s.App.MaxReplicas = 2, 2, 10
	s.App.LaunchType = topology.LaunchFargate
	s.App.Resources = topology.Resources{CPUs: 1, MemoryMB: 2048, ReservedCPUs: 1, ReservedMemoryMB: 2048}
	s.App.PHP.OPcacheValidateFiles = false
	s.Web.StatusAllow = []string{"10.0.0.0/16"}
	s.Database.Pooler = topology.PoolerRDSProxy
	s.Database.ReadReplicas = 1
	s.Database.InstanceClass, s.Database.StorageGB, s.Database.MaxStorageGB = "db.t4g.medium", 50, 200
	s.Database.BackupRetentionDays, s.Database.MultiAZ = 7, true
	s.Cache.TLS = true
	s.Cache.NodeType, s.Cache.Replicas, s.Cache.SnapshotRetentionDays = "cache.t4g.small", 2, 7
	s.Storage.Kind = topology.StorageEFS
	s.Docker = topology.DockerTarget{}
	s.AWS = topology.AWSTarget{AZCount: 2, NATGateways: topology.NATPerAZ, VPCCIDR: "10.0.0.0/16",
		CertificateARN: "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000",
		WAF:            true, LogRetentionDays: 30, Protect: true}
	return s
}
