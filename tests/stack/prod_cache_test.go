package stack_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/awscloud"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

const redisName = "moodle-redis"

// ElastiCache names the family of Redis 6 "redis6.x" and of Redis 7 "redis7".
func TestProdRedisParameterFamilyFollowsTheVersion(t *testing.T) {
	want := map[string]string{"6.2": "redis6.x", "7.0": "redis7", "7.1": "redis7"}
	for _, version := range topology.RedisVersions {
		t.Run(version, func(t *testing.T) {
			for _, p := range mustRun(t, "prod", map[string]any{"cache.version": version}).ofType(tRedisParams) {
				if got := p.str("family"); got != want[version] {
					t.Errorf("%s: family %q, want %q", p.Name, got, want[version])
				}
			}
		})
	}
}

// MUC keys have no TTL: in the sessions' noeviction server a full cache would make
// session writes fail site-wide. The MUC has a group of its own that evicts, each
// sized from its own settings, and config.php points each store at its group.
func TestProdSessionsAndMUCLiveInSeparateRedisGroups(t *testing.T) {
	edits := map[string]any{"cache.muc.nodeType": "cache.r6g.xlarge", "cache.muc.replicas": 3}
	spec := stackSpec(t, "prod", edits)
	rec := mustRun(t, "prod", edits)
	for _, tc := range []struct {
		group, policy, nodeType string
		nodes                   int
	}{
		{redisName, awscloud.EvictionPolicy, spec.Cache.NodeType, spec.Cache.Replicas},
		{redisName + "-muc", awscloud.MUCEvictionPolicy, spec.Cache.MUC.NodeType, spec.Cache.MUC.Replicas},
	} {
		g := rec.one(t, tRedis, tc.group)
		if g.str("nodeType") != tc.nodeType || g.number("numCacheClusters") != float64(tc.nodes) {
			t.Errorf("%s: %v × %s, want %d × %s", tc.group, g.number("numCacheClusters"), g.str("nodeType"), tc.nodes, tc.nodeType)
		}
		params := rec.one(t, tRedisParams, tc.group)
		if g.str("parameterGroupName") != params.Name+"-a1b2c3" || params.str("parameters.0.value") != tc.policy {
			t.Errorf("%s: parameter group %q with %q, want maxmemory-policy %s", tc.group, g.str("parameterGroupName"), params.str("parameters.0.value"), tc.policy)
		}
	}
	cfg := rec.one(t, tTaskDef, appName).renderedFiles(t)["MOODLE_FILE_CONFIG_PHP"]
	for _, want := range []string{
		"$CFG->session_redis_host = 'master." + redisName + ".c0ffee.euw1.cache.amazonaws.com';",
		"'server' => 'master." + redisName + "-muc.c0ffee.euw1.cache.amazonaws.com:6379',",
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config.php lacks %s", want)
		}
	}
}

func checkRedis(t *testing.T, rec *recorder, spec topology.Spec) {
	for _, g := range rec.ofType(tRedis) {
		if !g.boolean("atRestEncryptionEnabled") || g.str("kmsKeyId") == "" {
			t.Errorf("%s: not encrypted at rest with the cluster key", g.Name)
		}
		if !g.boolean("transitEncryptionEnabled") || g.str("transitEncryptionMode") != "required" {
			t.Errorf("%s: in-transit encryption not required", g.Name)
		}
		if token := g.Inputs["authToken"]; !token.IsSecret() || unwrap(token).StringValue() == "" {
			t.Errorf("%s: AUTH token missing or not secret", g.Name)
		}
		if !g.boolean("automaticFailoverEnabled") || !g.boolean("multiAzEnabled") || g.number("numCacheClusters") < 2 {
			t.Errorf("%s: no Multi-AZ failover (%v nodes)", g.Name, g.number("numCacheClusters"))
		}
		if g.number("snapshotRetentionLimit") < 1 {
			t.Errorf("%s: no snapshots kept", g.Name)
		}
	}
	// Every task that runs Moodle reaches those groups over TLS: the config.php its
	// task definition delivers points sessions and the MUC store at their groups'
	// primary endpoints, verifies the server's certificate against the CA the model
	// names for sessions, and turns encryption on for the MUC store.
	sessions, muc := rec.one(t, tRedis, redisName), rec.one(t, tRedis, redisName+"-muc")
	want := []string{
		"$CFG->session_redis_host = '" + mockRedisPrimary(sessions.Name) + "';",
		fmt.Sprintf("$CFG->session_redis_port = %d;", int(sessions.number("port"))),
		fmt.Sprintf("$CFG->session_redis_encrypt = ['verify_peer' => true, 'verify_peer_name' => true, 'cafile' => '%s'];", spec.Paths.CacheCA),
		fmt.Sprintf("'server' => '%s:%d',", mockRedisPrimary(muc.Name), int(muc.number("port"))),
		"'encryption' => true,",
	}
	for _, task := range []string{appName, cronName} {
		lines := map[string]bool{}
		for _, l := range strings.Split(rec.one(t, tTaskDef, task).renderedFiles(t)["MOODLE_FILE_CONFIG_PHP"], "\n") {
			lines[strings.TrimSpace(l)] = true
		}
		for _, l := range want {
			if !lines[l] {
				t.Errorf("%s: config.php lacks %s", task, l)
			}
		}
	}
}
