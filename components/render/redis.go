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
	return redisConf(port, s.Cache.MemoryMB, "noeviction",
		"dir "+dir, "appendonly yes", "appendfsync everysec")
}

// MUCRedisConf renders redis.conf for the Redis of the MUC application cache on
// the Docker host: it evicts the least recently used key when full (allkeys-lru,
// the policy the AWS MUC group's parameter group sets), since cachestore_redis
// writes its keys without a TTL, and it keeps nothing on disk: a cache is rebuilt
// from the database, and a restart only empties it.
func MUCRedisConf(s topology.Spec, port int) string {
	return redisConf(port, s.Cache.MUC.MemoryMB, "allkeys-lru", `save ""`, "appendonly no")
}

// redisConf is the part every Redis the project runs shares: maxmemory at three
// quarters of the container's memory limit, which leaves room for the fork of a
// rewrite and for Redis's own overhead.
func redisConf(port, memoryMB int, policy string, persistence ...string) string {
	lines := append([]string{
		"bind * -::*",
		"protected-mode yes",
		"port " + strconv.Itoa(port),
	}, persistence...)
	lines = append(lines, "maxmemory "+strconv.Itoa(memoryMB*3/4)+"mb", "maxmemory-policy "+policy)
	return strings.Join(lines, "\n") + "\n"
}
