package render

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ with the current output")

// TestGoldenFiles pins every renderer's output for the dev defaults, the dev stack
// with PgBouncer in transaction mode and a production-shaped AWS site, so any
// change to a rendered file shows up in review. Run `go test ./components/render
// -update` after an intended change.
func TestGoldenFiles(t *testing.T) {
	dev, devE := devSpec(), devEndpoints()
	pgb, pgbE := pgbouncerSpec()
	aws, awsE := awsSpec()
	cases := map[string]string{
		"dev.nginx-lb.conf":    NginxLoadBalancer(dev, devBackends(dev)),
		"dev.php-fpm.conf":     PHPFPMPool(dev, "9000"),
		"dev.php.ini":          PHPIni(dev),
		"dev.config.php":       ConfigPHP(dev, devE),
		"dev.cron-runner.sh":   CronRunner(dev),
		"dev.redis.conf":       RedisConf(dev, 6379, "/data"),
		"pgbouncer.config.php": ConfigPHP(pgb, pgbE),
		"aws.nginx-node.conf":  NginxNode(aws),
		"aws.php-fpm.conf":     PHPFPMPool(aws, NodeFastCGI.String()),
		"aws.php.ini":          PHPIni(aws),
		"aws.config.php":       ConfigPHP(aws, awsE),
		"aws.cron-runner.sh":   CronRunner(aws),
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
				t.Errorf("%s differs from %s; run with -update if the change is intended\n%s", name, path, firstDiff(string(want), got))
			}
		})
	}
}

// firstDiff shows the first line where want and got part ways.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n  want: %s\n  got:  %s", i+1, w, g)
		}
	}
	return ""
}
