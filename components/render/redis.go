package render

import (
	"strconv"
	"strings"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// RedisConf renders redis.conf for the Redis that holds the sessions and the MUC
// cache where the project runs Redis itself (the Docker host; ElastiCache takes the
// same policy as a parameter group), listening on port and keeping its files in dir.
// Sessions must never be evicted, so Redis refuses writes when full (noeviction)
// instead; maxmemory stays at three quarters of the memory limit to leave room for
// the append-only rewrite's copy-on-write pages. The password is not in it: renderers
// never see a secret, and the caller appends the requirepass line.
func RedisConf(s topology.Spec, port int, dir string) string {
	lines := []string{
		"bind * -::*",
		"protected-mode yes",
		"port " + strconv.Itoa(port),
		"dir " + dir,
		"appendonly yes",
		"appendfsync everysec",
		"maxmemory " + strconv.Itoa(s.Cache.MemoryMB*3/4) + "mb",
		"maxmemory-policy noeviction",
	}
	return strings.Join(lines, "\n") + "\n"
}
