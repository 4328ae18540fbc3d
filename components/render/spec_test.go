package render

import (
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// devSpec is the Docker target's defaults, what a dev stack runs when it sets
// nothing else (Pulumi.dev.yaml writes the same values out): three app nodes of 4
// CPUs / 8 GB. Tests derive their variants from it; the golden files
// (golden_test.go) render the committed stack files themselves.
func devSpec() topology.Spec {
	s, err := topology.Defaults(topology.TargetDocker)
	if err != nil {
		panic(err)
	}
	return s
}

// devEndpoints are the Docker network aliases of the dev stack.
func devEndpoints() Endpoints {
	return Endpoints{
		Database: HostPort{Host: "db", Port: 5432},
		Redis:    HostPort{Host: "redis", Port: 6379},
		// The dev stack names no relay: its mail goes to the catcher.
		MailCatcher: HostPort{Host: "mailpit", Port: 1025},
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

// awsSpec is the AWS target's defaults made into a production-shaped site: https
// behind the load balancer, Redis with TLS (a default), RDS Proxy with the default
// read replica, files in S3, a 4 GB Fargate task (the default size).
func awsSpec() (topology.Spec, Endpoints) {
	s, err := topology.Defaults(topology.TargetAWS)
	if err != nil {
		panic(err)
	}
	s.SiteURL = "https://moodle.example.org"
	s.Database.Pooler = topology.PoolerRDSProxy
	s.Storage.Kind = topology.StorageS3
	return s, Endpoints{
		Database:     HostPort{Host: "moodle-proxy.proxy-abc.eu-west-1.rds.amazonaws.com", Port: 5432},
		ReadReplicas: []HostPort{{Host: "moodle-replica-1.abc.eu-west-1.rds.amazonaws.com", Port: 5432}},
		Redis:        HostPort{Host: "master.moodle-sessions.abc.euw1.cache.amazonaws.com", Port: 6379},
	}
}
