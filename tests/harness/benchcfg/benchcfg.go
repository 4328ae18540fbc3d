// Package benchcfg holds what the engine tier's and the real Docker tier's growth
// benchmarks share: the small app nodes both deploy, and the listing mode
// tests/bench/compare uses to learn their cases without running them.
package benchcfg

import (
	"os"
	"testing"
)

// ListEnv, when set, makes every benchmark leaf skip at once: run with -test.v,
// the binary then prints each leaf's name and nothing runs.
const ListEnv = "MOODLE_BENCH_LIST"

// SkipWhenListing skips b in listing mode.
func SkipWhenListing(b *testing.B) {
	if os.Getenv(ListEnv) != "" {
		b.Skip("listed")
	}
}

// SmallAppNodes are the dev stack's settings (config paths) for nodes app nodes
// small enough for 25 of them, the database and the rest to fit a 2-core, 24 GiB
// host: 0.5 CPU and 512 MB each (3 php-fpm workers), reserving 0.05 CPU and
// 256 MB, with the database's connection budget sized for two nodes more, so that
// scaling out by two does not restart PostgreSQL.
func SmallAppNodes(nodes int) map[string]any {
	return map[string]any{
		"moodle:app.replicas":         nodes,
		"moodle:app.maxReplicas":      nodes + 2,
		"moodle:app.cpus":             0.5,
		"moodle:app.memoryMb":         512,
		"moodle:app.reservedCpus":     0.05,
		"moodle:app.reservedMemoryMb": 256,
	}
}
