package render_test

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/stacks/config"
	"github.com/moodle-cluster/moodle-pulumi/stacks/config/stackfile"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ with the current output")

// stackSpec is the Spec the program builds from the committed stack file of stack
// (Pulumi.<stack>.yaml), with the given `pulumi config set --path` edits: the
// loader, the defaults and the validation are the program's own.
func stackSpec(t *testing.T, stack string, edits ...[2]any) topology.Spec {
	t.Helper()
	values, err := stackfile.Read(filepath.Join("..", "..", "Pulumi."+stack+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range edits {
		if err := stackfile.Set(values, e[0].(string), e[1]); err != nil {
			t.Fatal(err)
		}
	}
	s, err := config.Load(stackfile.Getter(values))
	if err != nil {
		t.Fatalf("stack %s with %v: %v", stack, edits, err)
	}
	return s
}

// Endpoints as the targets hand them to ConfigPHP: the Docker network aliases of
// components/dockerhost, and RDS and ElastiCache addresses of the shape AWS gives.
var (
	dockerEndpoints = render.Endpoints{
		Database: render.HostPort{Host: "db", Port: 5432},
		Redis:    render.HostPort{Host: "redis", Port: 6379},
		// The dev stack names no relay: its mail goes to the catcher.
		MailCatcher: render.HostPort{Host: "mailpit", Port: 1025},
	}
	dockerPgBouncer = render.HostPort{Host: "pgbouncer", Port: 6432}
	awsEndpoints    = render.Endpoints{
		Database:     render.HostPort{Host: "moodle-prod-db.abc123.eu-west-1.rds.amazonaws.com", Port: 5432},
		ReadReplicas: []render.HostPort{{Host: "moodle-prod-db-replica-1.abc123.eu-west-1.rds.amazonaws.com", Port: 5432}},
		Redis:        render.HostPort{Host: "master.moodle-prod-cache.abc123.euw1.cache.amazonaws.com", Port: 6379},
	}
	awsProxy = render.HostPort{Host: "moodle-prod-proxy.proxy-abc123.eu-west-1.rds.amazonaws.com", Port: 5432}
)

// dockerBackends are the app nodes as the Docker load balancer reaches them.
func dockerBackends(s topology.Spec) []render.HostPort {
	var b []render.HostPort
	for _, n := range s.AppNodes() {
		b = append(b, render.HostPort{Host: n, Port: 9000})
	}
	return b
}

// shippedOnAWS is the Spec the AWS tasks' files are rendered from: awscloud adds
// the VPC's range to the status allow list, so the ALB's health checks reach
// php-fpm's ping page.
func shippedOnAWS(s topology.Spec) topology.Spec {
	s.Web.StatusAllow = append(slices.Clone(s.Web.StatusAllow), s.AWS.VPCCIDR)
	return s
}

// TestGoldenFiles pins every file the committed stacks ship, rendered from
// Pulumi.dev.yaml and Pulumi.prod.yaml through the program's own config loader (so
// from the real defaults), plus the variants a stack gets by changing one setting:
// PgBouncer, RDS Proxy, S3 and a bind-mounted code folder. A reviewer reads in
// testdata/ what `make up` and `pulumi up --stack prod` deploy. Run `go test
// ./components/render -update` after an intended change.
func TestGoldenFiles(t *testing.T) {
	dev := stackSpec(t, "dev")
	prod := shippedOnAWS(stackSpec(t, "prod"))
	pgbouncer := stackSpec(t, "dev", [2]any{"database.pooler", "pgbouncer"})
	pgbouncerE := dockerEndpoints
	pgbouncerE.Database = dockerPgBouncer
	hostPath := stackSpec(t, "dev", [2]any{"moodle.codeSource", "hostPath"}, [2]any{"moodle.hostPath", "/srv/moodle"})
	rdsProxy := shippedOnAWS(stackSpec(t, "prod", [2]any{"database.pooler", "rdsproxy"}))
	rdsProxyE := awsEndpoints
	rdsProxyE.Database = awsProxy
	s3 := shippedOnAWS(stackSpec(t, "prod", [2]any{"storage.kind", "s3"}, [2]any{"moodle.plugins", topology.S3Plugins}))

	cases := map[string]string{
		"dev.nginx-lb.conf":        render.NginxLoadBalancer(dev, dockerBackends(dev)),
		"dev.php-fpm.conf":         render.PHPFPMPool(dev, "9000"),
		"dev.php.ini":              render.PHPIni(dev),
		"dev.config.php":           render.ConfigPHP(dev, dockerEndpoints),
		"dev.cron-runner.sh":       render.CronRunner(dev),
		"dev.adhoc-worker.sh":      render.AdhocWorker(dev),
		"dev.redis.conf":           render.RedisConf(dev, 6379, "/data"),
		"dev-pgbouncer.config.php": render.ConfigPHP(pgbouncer, pgbouncerE),
		"dev-hostpath.php.ini":     render.PHPIni(hostPath),
		"prod.nginx-node.conf":     render.NginxNode(prod),
		"prod.php-fpm.conf":        render.PHPFPMPool(prod, render.NodeFastCGI.String()),
		"prod.php.ini":             render.PHPIni(prod),
		"prod.config.php":          render.ConfigPHP(prod, awsEndpoints),
		"prod.cron-runner.sh":      render.CronRunner(prod),
		"prod-rdsproxy.config.php": render.ConfigPHP(rdsProxy, rdsProxyE),
		"prod-s3.config.php":       render.ConfigPHP(s3, awsEndpoints),
	}
	for name, got := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from %s; run with -update if the change is intended\n%s", name, path, render.FirstDiff(string(want), got))
			}
		})
	}
	// A golden file no case renders any more would pin nothing while a reviewer
	// still reads it as shipped.
	files, err := filepath.Glob(filepath.Join("testdata", "*.golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, ok := cases[strings.TrimSuffix(filepath.Base(f), ".golden")]; !ok {
			t.Errorf("%s is rendered by no case: delete it", f)
		}
	}
}
