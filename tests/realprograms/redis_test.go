//go:build integration

package realprograms

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/tests/harness/loopback"
)

// Moodle's Redis cache store writes its keys without a TTL
// (cache/stores/redis/lib.php sets none), so a full server that holds them and
// the sessions refuses the next session write and logs everyone out. The dev
// stack keeps the MUC cache in a Redis of its own: under the same pressure the
// sessions' Redis (noeviction) refuses writes, as it must rather than drop a
// session, and the MUC Redis (allkeys-lru) evicts and keeps taking them.
func TestMUCRedisEvictsWhereTheSessionsRedisRefuses(t *testing.T) {
	root := loopback.NewRoot(t)
	as := loopback.ServiceAccount(t)
	spec := loopback.StackSpec(t, "dev", root)
	// maxmemory is three quarters of the limit: 3 MB each.
	spec.Cache.MemoryMB, spec.Cache.MUC.MemoryMB = 4, 4
	password := loopback.Password(t)
	sessionsPort, mucPort := loopback.FreePort(t), loopback.FreePort(t)
	loopback.ExpectPortsClosed(t, sessionsPort, mucPort)
	sessions := loopback.StartRedis(t, spec, filepath.Join(root, "redis"), sessionsPort, password, as)
	muc := loopback.StartMUCRedis(t, spec, filepath.Join(root, "redis-muc"), mucPort, password, as)

	value := strings.Repeat("x", 64<<10)
	const keys = 160 // 10 MB, over three times maxmemory
	fill := func(r *loopback.Redis) (ok int, refusal string) {
		for i := range keys {
			reply, err := r.Command("SET", fmt.Sprintf("mdl_muc_key%d", i), value)
			if err != nil {
				t.Fatal(err)
			}
			if reply == "+OK" {
				ok++
			} else if refusal == "" {
				refusal = reply
			}
		}
		return ok, refusal
	}
	if ok, refusal := fill(sessions); ok == keys || !strings.HasPrefix(refusal, "-OOM") {
		t.Errorf("the sessions' Redis took %d of %d writes past maxmemory (first refusal %q), want OOM refusals", ok, keys, refusal)
	}
	if ok, refusal := fill(muc); ok != keys {
		t.Errorf("the MUC Redis took %d of %d writes (first refusal %q), want every one, evicting", ok, keys, refusal)
	}
	if n, err := muc.Command("DBSIZE"); err != nil || n == fmt.Sprintf(":%d", keys) {
		t.Errorf("the MUC Redis holds %s keys (%v), want fewer than the %d written: it evicts", n, err, keys)
	}
}
