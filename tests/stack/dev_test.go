package stack_test

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/appimage"
	"github.com/moodle-cluster/moodle-pulumi/components/dockerhost"
	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// Type tokens of the resources the dev stack registers.
const (
	tCluster     = "moodle:docker:Cluster"
	tContainer   = "docker:index/container:Container"
	tImage       = "docker:index/image:Image"
	tRemoteImage = "docker:index/remoteImage:RemoteImage"
	tNetwork     = "docker:index/network:Network"
	tVolume      = "docker:index/volume:Volume"
	tPassword    = "random:index/randomPassword:RandomPassword"
)

// devPrefix is what the dev stack's resource and container names start with.
const devPrefix = "moodle-dev-"

// The variants of the committed dev stack the tests run.
var (
	pgbouncerEdits = map[string]any{"database.pooler": "pgbouncer"}
	nfsEdits       = map[string]any{"storage.kind": "nfs", "storage.nfs.address": "10.20.30.40"}
	hostPathEdits  = map[string]any{"moodle.codeSource": "hostPath", "moodle.hostPath": "/srv/moodle"}
	imageEdits     = map[string]any{
		"moodle.codeSource":  "image",
		"images.app":         "registry.school.example/moodle/app:5.1.3",
		"images.web":         "registry.school.example/moodle/web:5.1.3",
		"images.database":    "registry.school.example/postgres:17.2-bookworm",
		"images.cache":       "registry.school.example/redis:7.2.7-alpine",
		"images.pgbouncer":   "registry.school.example/pgbouncer:v1.25.1-p0",
		"images.mailCatcher": "registry.school.example/mailpit:v1.17.1",
		"database.pooler":    "pgbouncer",
	}
)

// containers returns the registered containers by their key ("db", "app-2", "lb").
func containers(t *testing.T, rec *recorder) map[string]registered {
	t.Helper()
	out := map[string]registered{}
	for _, c := range rec.ofType(tContainer) {
		key, ok := strings.CutPrefix(c.Name, devPrefix)
		if !ok {
			t.Fatalf("container %q is not named after the dev cluster", c.Name)
		}
		if got := str(field(c.Inputs, "name")); got != c.Name {
			t.Errorf("container resource %s creates a container named %q", c.Name, got)
		}
		out[key] = c
	}
	return out
}

// field walks nested objects; a missing key yields a null value.
func field(m resource.PropertyMap, path ...string) resource.PropertyValue {
	v := resource.NewObjectProperty(m)
	for _, k := range path {
		if v.IsSecret() {
			v = v.SecretValue().Element
		}
		if !v.IsObject() {
			return resource.NewNullProperty()
		}
		v = v.ObjectValue()[resource.PropertyKey(k)]
	}
	return v
}

// str is a string input's value, or "" when it is unset or not a string.
func str(v resource.PropertyValue) string {
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	if !v.IsString() {
		return ""
	}
	return v.StringValue()
}

// list returns the plain strings of an array input.
func list(v resource.PropertyValue) []string {
	if !v.IsArray() {
		return nil
	}
	var out []string
	for _, e := range v.ArrayValue() {
		if e.IsString() {
			out = append(out, e.StringValue())
		}
	}
	return out
}

// uploads returns a container's uploaded files by path.
func uploads(c registered) map[string]resource.PropertyValue {
	out := map[string]resource.PropertyValue{}
	v := field(c.Inputs, "uploads")
	if !v.IsArray() {
		return out
	}
	for _, u := range v.ArrayValue() {
		out[str(field(u.ObjectValue(), "file"))] = field(u.ObjectValue(), "content")
	}
	return out
}

// content is the text of one uploaded file, unwrapping a secret.
func content(t *testing.T, c registered, file string) string {
	t.Helper()
	v, ok := uploads(c)[file]
	if !ok {
		t.Fatalf("%s uploads no %s; it uploads %v", c.Name, file, keys(uploads(c)))
	}
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v.StringValue()
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// networkNames lists the networks a container joins, in order.
func networkNames(c registered) []string {
	var out []string
	if v := field(c.Inputs, "networksAdvanced"); v.IsArray() {
		for _, n := range v.ArrayValue() {
			out = append(out, str(field(n.ObjectValue(), "name")))
		}
	}
	return out
}

func aliases(c registered, network string) []string {
	if v := field(c.Inputs, "networksAdvanced"); v.IsArray() {
		for _, n := range v.ArrayValue() {
			if str(field(n.ObjectValue(), "name")) == network {
				return list(field(n.ObjectValue(), "aliases"))
			}
		}
	}
	return nil
}

func TestDevInventoryCountsEveryResourceByType(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edits map[string]any
		// The resources that differ from the default stack.
		images, remoteImages, pooler int
	}{
		{name: "built image", edits: nil, images: 1, remoteImages: 3},
		{name: "pgbouncer", edits: pgbouncerEdits, images: 1, remoteImages: 4, pooler: 1},
		{name: "host path", edits: hostPathEdits, images: 0, remoteImages: 4},
		{name: "image overrides", edits: imageEdits, images: 0, remoteImages: 6, pooler: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := stackSpec(t, "dev", tc.edits)
			rec := mustRun(t, "dev", tc.edits)
			want := map[string]int{
				tCluster:  1,
				tPassword: 4, // database, Redis, admin, upgrade key
				tNetwork:  3, // internal back end, front (LB), egress (app, cron)
				tVolume:   4, // pgdata, redisdata, moodledata, the load balancer's configuration
				// db, the sessions' and the MUC cache's Redis, cron, lb and its
				// configuration, the mail catcher, the app nodes, the ad hoc task
				// workers, PgBouncer
				tContainer: spec.App.Replicas + spec.Cron.Adhoc.Workers + 7 + tc.pooler,
			}
			if tc.images > 0 {
				want[tImage] = tc.images
			}
			want[tRemoteImage] = tc.remoteImages
			got := rec.inventory()
			delete(got, "pulumi:pulumi:Stack")
			if !mapsEqual(got, want) {
				t.Errorf("inventory:\n got  %v\n want %v", got, want)
			}
		})
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

var upstreamServer = regexp.MustCompile(`(?m)^\s*server\s+(app-\d+):9000\b`)

func TestDevAppNodesCronAndUpstreamsFollowReplicas(t *testing.T) {
	for n := 1; n <= 10; n++ {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			edits := map[string]any{"app.replicas": n}
			spec := stackSpec(t, "dev", edits)
			cs := containers(t, mustRun(t, "dev", edits))

			var apps, crons []string
			for key, c := range cs {
				cmd := list(field(c.Inputs, "command"))
				switch {
				case slices.Equal(cmd, []string{"php-fpm"}):
					apps = append(apps, key)
				case slices.Equal(cmd, []string{"/usr/local/bin/moodle-cron"}):
					crons = append(crons, key)
				}
			}
			slices.Sort(apps)
			want := slices.Clone(spec.AppNodes())
			slices.Sort(want)
			if !slices.Equal(apps, want) {
				t.Errorf("php-fpm containers = %v, want %v", apps, want)
			}
			if len(crons) != 1 {
				t.Errorf("cron containers = %v, want exactly one", crons)
			}
			for _, node := range spec.AppNodes() {
				c := cs[node]
				if got := aliases(c, devPrefix+"backend"); !slices.Equal(got, []string{node}) {
					t.Errorf("%s aliases on the back-end network = %v, want [%s]", node, got, node)
				}
				if got := str(field(c.Inputs, "hostname")); got != node {
					t.Errorf("%s hostname = %q", node, got)
				}
			}

			// The load balancer's configuration container carries the upstream list;
			// the load balancer itself does not change with the node count.
			conf := content(t, cs["lb-config"], "/etc/moodle-lb/moodle.conf")
			var servers []string
			for _, m := range upstreamServer.FindAllStringSubmatch(conf, -1) {
				servers = append(servers, m[1])
			}
			slices.Sort(servers)
			if !slices.Equal(servers, want) {
				t.Errorf("upstream servers in the load balancer = %v, want %v", servers, want)
			}
			// nginx resolves the node names when it loads the file: the file names
			// the node containers (their ids), so a node recreated with a new
			// address changes it and nginx loads it again.
			var ids []string
			for _, node := range spec.AppNodes() {
				ids = append(ids, cs[node].Name+"-id")
			}
			if first, _, _ := strings.Cut(conf, "\n"); first != "# App node containers: "+strings.Join(ids, " ") {
				t.Errorf("the load balancer's configuration starts with %q, want the app node containers %v", first, ids)
			}
		})
	}
}

func TestDevOnlyLoadBalancerPublishesPorts(t *testing.T) {
	for _, edits := range []map[string]any{nil, pgbouncerEdits} {
		spec := stackSpec(t, "dev", edits)
		for key, c := range containers(t, mustRun(t, "dev", edits)) {
			ports := field(c.Inputs, "ports")
			published := ports.IsArray() && len(ports.ArrayValue()) > 0
			if key == "mailpit" {
				continue // TestDevMailCatcherPublishesOnlyItsWebPageOnLoopback
			}
			if key != "lb" {
				if published || field(c.Inputs, "publishAllPorts").IsBool() && field(c.Inputs, "publishAllPorts").BoolValue() {
					t.Errorf("%s publishes ports: %v", key, ports)
				}
				continue
			}
			if !published || len(ports.ArrayValue()) != 1 {
				t.Fatalf("the load balancer publishes %v, want one port", ports)
			}
			p := ports.ArrayValue()[0].ObjectValue()
			if got := int(field(p, "external").NumberValue()); got != spec.Docker.HTTPPort {
				t.Errorf("published host port = %d, want %d", got, spec.Docker.HTTPPort)
			}
			if got := int(field(p, "internal").NumberValue()); got != spec.Web.Port {
				t.Errorf("published container port = %d, want %d", got, spec.Web.Port)
			}
			if got := str(field(p, "ip")); got != spec.Docker.BindAddress {
				t.Errorf("published on %q, want %q", got, spec.Docker.BindAddress)
			}
		}
	}
}

func TestDevBackEndsSitOnlyOnTheInternalNetwork(t *testing.T) {
	rec := mustRun(t, "dev", pgbouncerEdits)
	internal := map[string]bool{}
	for _, n := range rec.ofType(tNetwork) {
		internal[str(field(n.Inputs, "name"))] = field(n.Inputs, "internal").BoolValue()
	}
	backend := devPrefix + "backend"
	if !internal[backend] {
		t.Fatalf("network %s is not internal: %v", backend, internal)
	}
	cs := containers(t, rec)
	for _, key := range []string{"db", "redis", "pgbouncer"} {
		if got := networkNames(cs[key]); !slices.Equal(got, []string{backend}) {
			t.Errorf("%s joins %v, want only %s", key, got, backend)
		}
		// A network mode naming the network would attach the container there
		// without its aliases; unset, the provider leaves Docker's default bridge and
		// joins the back end with them.
		if got := str(field(cs[key].Inputs, "networkMode")); got != "" {
			t.Errorf("%s network mode = %q, want none set", key, got)
		}
		if got := aliases(cs[key], backend); len(got) != 1 || got[0] != key {
			t.Errorf("%s aliases on %s = %v, want [%s]", key, backend, got, key)
		}
	}
	for key, c := range cs {
		joinsFront := slices.Contains(networkNames(c), devPrefix+"front")
		// The catcher joins it only so Docker publishes its web page (see
		// TestDevMailCatcherPublishesOnlyItsWebPageOnLoopback).
		if joinsFront != (key == "lb" || key == "mailpit") {
			t.Errorf("%s joins the front network: %v", key, joinsFront)
		}
	}
}

// limitsByKey maps each container to the limits config gives it.
func limitsByKey(spec topology.Spec) map[string]topology.Resources {
	out := map[string]topology.Resources{
		"db":    spec.Database.Resources,
		"redis": spec.Cache.Resources,
		// The MUC cache's own Redis, which evicts where the sessions' never does.
		"redis-muc": spec.Cache.MUC.Resources,
		"cron":      spec.Cron.Resources,
		"lb":        spec.Web.Resources,
		// The load balancer's configuration container: a copy and a sleep.
		"lb-config": dockerhost.LBConfigResources(),
	}
	if spec.UsesCatcher() {
		out["mailpit"] = spec.Mail.Catcher.Resources
	}
	if spec.Database.Pooler == topology.PoolerPgBouncer {
		out["pgbouncer"] = spec.Database.PgBouncer
	}
	for _, node := range spec.AppNodes() {
		out[node] = spec.App.Resources
	}
	for _, worker := range spec.AdhocWorkerNames() {
		out[worker] = spec.Cron.Adhoc.Resources
	}
	return out
}

func TestDevEveryContainerIsLimitedHealthCheckedAndHardened(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edits map[string]any
	}{{"default", nil}, {"pgbouncer", pgbouncerEdits}, {"host path", hostPathEdits}} {
		t.Run(tc.name, func(t *testing.T) {
			spec := stackSpec(t, "dev", tc.edits)
			limits := limitsByKey(spec)
			cs := containers(t, mustRun(t, "dev", tc.edits))
			if got, want := keys(cs), keys(limits); !slices.Equal(got, want) {
				t.Fatalf("containers = %v, want %v", got, want)
			}
			for key, c := range cs {
				r := limits[key]
				in := c.Inputs
				num := func(k string) int { return int(field(in, k).NumberValue()) }
				if num("memory") != r.MemoryMB || num("memorySwap") != r.MemoryMB {
					t.Errorf("%s memory/memorySwap = %d/%d, want both %d (no swap)", key, num("memory"), num("memorySwap"), r.MemoryMB)
				}
				if num("memoryReservation") != r.ReservedMemoryMB || r.ReservedMemoryMB == 0 {
					t.Errorf("%s memoryReservation = %d, want %d", key, num("memoryReservation"), r.ReservedMemoryMB)
				}
				if got, err := strconv.ParseFloat(str(field(in, "cpus")), 64); err != nil || got != r.CPUs {
					t.Errorf("%s cpus = %q, want %g", key, str(field(in, "cpus")), r.CPUs)
				}
				if want := max(2, int(r.ReservedCPUs*1024+0.5)); num("cpuShares") != want {
					t.Errorf("%s cpuShares = %d, want %d (reserved %g CPUs)", key, num("cpuShares"), want, r.ReservedCPUs)
				}
				if tests := list(field(in, "healthcheck", "tests")); len(tests) < 2 || !strings.HasPrefix(tests[0], "CMD") {
					t.Errorf("%s health check = %v", key, tests)
				}
				if got := str(field(in, "restart")); got != "unless-stopped" {
					t.Errorf("%s restart = %q", key, got)
				}
				if !slices.Contains(list(field(in, "securityOpts")), "no-new-privileges:true") {
					t.Errorf("%s security options = %v", key, list(field(in, "securityOpts")))
				}
				if got := list(field(in, "capabilities", "drops")); !slices.Equal(got, []string{"ALL"}) {
					t.Errorf("%s drops capabilities %v, want ALL", key, got)
				}
				if field(in, "privileged").IsBool() && field(in, "privileged").BoolValue() {
					t.Errorf("%s is privileged", key)
				}
				for _, v := range plainStrings(field(in, "volumes")) {
					if strings.Contains(v, "docker.sock") {
						t.Errorf("%s mounts the Docker socket: %s", key, v)
					}
				}
			}
			for _, node := range append(spec.AppNodes(), "cron") {
				if got := str(field(cs[node].Inputs, "user")); got != "www-data" {
					t.Errorf("%s runs as %q, want www-data", node, got)
				}
			}
		})
	}
}

func TestDevScalingAppTierLeavesDataAndBackEndsUntouched(t *testing.T) {
	for _, tc := range []struct {
		name     string
		base     map[string]any
		from, to int
	}{
		{"down to one node", nil, 3, 1},
		{"up to seven nodes", nil, 3, 7},
		{"pgbouncer, up to ten nodes", pgbouncerEdits, 3, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			with := func(n int) *recorder {
				edits := map[string]any{"app.replicas": n}
				for k, v := range tc.base {
					edits[k] = v
				}
				return mustRun(t, "dev", edits)
			}
			before, after := with(tc.from), with(tc.to)
			stable := map[string]bool{"db": true, "redis": true, "pgbouncer": true}
			checked := 0
			for _, res := range before.resources {
				key := strings.TrimPrefix(res.Name, devPrefix)
				if res.Type == tContainer && !stable[key] || res.Type == tCluster {
					continue
				}
				again := after.named(t, res.Name)
				if again.Type != res.Type || !again.Inputs.DeepEquals(res.Inputs) {
					t.Errorf("%s (%s) changed when app.replicas went %d -> %d:\n before %v\n after  %v",
						res.Name, res.Type, tc.from, tc.to, res.Inputs, again.Inputs)
				}
				checked++
			}
			if checked < 10 {
				t.Fatalf("compared only %d resources", checked)
			}
		})
	}
}

func TestDevGeneratedPasswordsReachContainersOnlyAsSecrets(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edits map[string]any
	}{{"default", nil}, {"pgbouncer", pgbouncerEdits}} {
		t.Run(tc.name, func(t *testing.T) {
			rec := mustRun(t, "dev", tc.edits)
			var generated []string
			for _, p := range rec.ofType(tPassword) {
				generated = append(generated, generatedSecret(p.Name))
			}
			if len(generated) != 4 {
				t.Fatalf("generated passwords = %v", generated)
			}
			cs := containers(t, rec)
			for key, c := range cs {
				for _, s := range plainStrings(resource.NewObjectProperty(c.Inputs)) {
					for _, g := range generated {
						if strings.Contains(s, g) {
							t.Errorf("%s carries generated secret %s in plain text: %q", key, g, s)
						}
					}
				}
				for file, v := range uploads(c) {
					carries := strings.HasPrefix(file, "/run/secrets/") || file == "/usr/local/etc/redis/redis.conf" ||
						file == "/etc/pgbouncer/userlist.txt"
					if carries != v.IsSecret() {
						t.Errorf("%s upload %s: secret = %v, want %v", key, file, v.IsSecret(), carries)
					}
				}
			}
			// Each secret reaches the containers that need it, as a file the *_FILE
			// variable names.
			wantFiles := map[string][]string{
				"db":    {"POSTGRES_PASSWORD_FILE=/run/secrets/db-password"},
				"app-1": {"MOODLE_DB_PASSWORD_FILE=/run/secrets/db-password", "MOODLE_REDIS_PASSWORD_FILE=/run/secrets/redis-password", "MOODLE_UPGRADE_KEY_FILE=/run/secrets/upgrade-key"},
				"cron":  {"MOODLE_ADMIN_PASSWORD_FILE=/run/secrets/admin-password", "MOODLE_DB_PASSWORD_FILE=/run/secrets/db-password"},
			}
			for key, envs := range wantFiles {
				got := list(field(cs[key].Inputs, "envs"))
				for _, e := range envs {
					if !slices.Contains(got, e) {
						t.Errorf("%s environment %v lacks %s", key, got, e)
					}
					file := e[strings.Index(e, "=")+1:]
					if _, ok := uploads(cs[key])[file]; !ok {
						t.Errorf("%s does not receive %s", key, file)
					}
				}
			}
			if _, ok := uploads(cs["app-1"])["/run/secrets/admin-password"]; ok {
				t.Errorf("app nodes receive the admin password; only cron installs")
			}
		})
	}
}

func TestDevPgBouncerSitsBetweenMoodleAndPostgres(t *testing.T) {
	spec := stackSpec(t, "dev", pgbouncerEdits)
	cs := containers(t, mustRun(t, "dev", pgbouncerEdits))
	pb := cs["pgbouncer"]
	if got := aliases(pb, devPrefix+"backend"); !slices.Equal(got, []string{"pgbouncer"}) {
		t.Errorf("pgbouncer aliases = %v", got)
	}
	ini := content(t, pb, "/etc/pgbouncer/pgbouncer.ini")
	for _, want := range []string{
		"pool_mode = " + spec.Database.PoolMode,
		"default_pool_size = " + strconv.Itoa(spec.Database.PoolSize),
		"auth_type = scram-sha-256",
		spec.Database.Name + " = host=db port=5432 dbname=" + spec.Database.Name,
	} {
		if !strings.Contains(ini, want) {
			t.Errorf("pgbouncer.ini lacks %q:\n%s", want, ini)
		}
	}
	if want := "max_client_conn = " + strconv.Itoa(spec.ClientConnections()); !strings.Contains(ini, want) {
		t.Errorf("pgbouncer.ini lacks %q:\n%s", want, ini)
	}
	if want := "max_connections=" + strconv.Itoa(spec.ServerConnections()); !slices.Contains(list(field(cs["db"].Inputs, "command")), want) {
		t.Errorf("postgres command %v lacks %s", list(field(cs["db"].Inputs, "command")), want)
	}
	for _, key := range []string{"app-1", "cron"} {
		conf := content(t, cs[key], "/etc/moodle/config.php")
		for _, want := range []string{"pgbouncer", "6432", "dbhandlesoptions"} {
			if !strings.Contains(conf, want) {
				t.Errorf("%s config.php does not mention %q", key, want)
			}
		}
	}
}

// PostgreSQL is sized for app.maxReplicas nodes (83 workers each on the dev stack,
// plus 2 for cron, 20 for the most ad hoc task workers and 10 for administration),
// so scaling app.replicas or cron.adhoc.workers up to their ceilings leaves its
// command, and so its container, as it is.
func TestDevPostgresIsSizedForMaxReplicasWithoutPooler(t *testing.T) {
	tests := []struct {
		name  string
		edits map[string]any
		want  int
	}{
		{"dev stack: 3 nodes, ceiling 10", nil, 10*83 + 2 + 20 + 10},
		{"scaled up to the ceiling", map[string]any{"app.replicas": 10}, 10*83 + 2 + 20 + 10},
		{"ad hoc workers scaled up to theirs", map[string]any{"cron.adhoc.workers": 20, "cron.adhoc.concurrencyLimit": 20}, 10*83 + 2 + 20 + 10},
		{"ceiling raised to 20", map[string]any{"app.maxReplicas": 20}, 20*83 + 2 + 20 + 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := list(field(containers(t, mustRun(t, "dev", tt.edits))["db"].Inputs, "command"))
			if want := "max_connections=" + strconv.Itoa(tt.want); !slices.Contains(cmd, want) {
				t.Errorf("postgres command %v lacks %s", cmd, want)
			}
		})
	}
}

func TestDevMoodledataOnNFSUsesTheSeedsDriverOptions(t *testing.T) {
	spec := stackSpec(t, "dev", nfsEdits)
	rec := mustRun(t, "dev", nfsEdits)
	v := rec.named(t, devPrefix+"moodledata")
	opts := field(v.Inputs, "driverOpts")
	want := map[string]string{
		"type":   "nfs",
		"o":      "addr=10.20.30.40," + spec.Storage.NFS.Options,
		"device": spec.Storage.NFS.Device,
	}
	for k, w := range want {
		if got := str(field(opts.ObjectValue(), k)); got != w {
			t.Errorf("driver option %s = %q, want %q", k, got, w)
		}
	}
	for _, other := range []string{"pgdata", "redisdata"} {
		if o := field(rec.named(t, devPrefix+other).Inputs, "driverOpts"); o.IsObject() && len(o.ObjectValue()) > 0 {
			t.Errorf("%s has driver options %v; only moodledata moves to NFS", other, o)
		}
	}
	if o := field(mustRun(t, "dev", nil).named(t, devPrefix+"moodledata").Inputs, "driverOpts"); o.IsObject() && len(o.ObjectValue()) > 0 {
		t.Errorf("default moodledata volume has driver options %v", o)
	}
}

func TestDevCodeSources(t *testing.T) {
	t.Run("build", func(t *testing.T) {
		spec := stackSpec(t, "dev", nil)
		rec := mustRun(t, "dev", nil)
		imgs := rec.ofType(tImage)
		if len(imgs) != 1 {
			t.Fatalf("images built = %d, want 1", len(imgs))
		}
		in := imgs[0].Inputs
		if got := str(field(in, "imageName")); got != spec.Images.App {
			t.Errorf("built image tag = %q, want %q", got, spec.Images.App)
		}
		if !field(in, "skipPush").BoolValue() {
			t.Errorf("the built image would be pushed")
		}
		// Absolute: the provider resolves relative paths against its own working
		// directory, which under the Automation API is not the project.
		project, err := filepath.Abs(filepath.Join("..", ".."))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := str(field(in, "build", "context")), filepath.Join(project, "docker"); got != want {
			t.Errorf("build context = %q, want %q", got, want)
		}
		if got, want := str(field(in, "build", "dockerfile")), filepath.Join(project, "docker", "Dockerfile"); got != want {
			t.Errorf("dockerfile = %q, want %q", got, want)
		}
		if got := str(field(in, "build", "args", "MOODLE_VERSION")); got != spec.Moodle.Version {
			t.Errorf("MOODLE_VERSION build arg = %q, want %q", got, spec.Moodle.Version)
		}
		if got := str(field(in, "build", "args", "MOODLE_DIRROOT")); got != spec.Paths.CodeDir {
			t.Errorf("MOODLE_DIRROOT build arg = %q, want %q", got, spec.Paths.CodeDir)
		}
		for key, c := range containers(t, rec) {
			if key == "db" || key == "redis" || key == "redis-muc" || key == "mailpit" {
				continue
			}
			if got := str(field(c.Inputs, "image")); got != spec.Images.App {
				t.Errorf("%s runs %q, want the built %q", key, got, spec.Images.App)
			}
		}
	})
	t.Run("hostPath", func(t *testing.T) {
		spec := stackSpec(t, "dev", hostPathEdits)
		rec := mustRun(t, "dev", hostPathEdits)
		if n := len(rec.ofType(tImage)); n != 0 {
			t.Errorf("%d images built; hostPath builds none", n)
		}
		cs := containers(t, rec)
		for _, key := range append(spec.AppNodes(), "cron", "lb") {
			found := false
			for _, v := range field(cs[key].Inputs, "volumes").ArrayValue() {
				o := v.ObjectValue()
				if str(field(o, "hostPath")) == "/srv/moodle" {
					found = true
					if got := str(field(o, "containerPath")); got != spec.Paths.CodeDir {
						t.Errorf("%s mounts the code at %q, want %q", key, got, spec.Paths.CodeDir)
					}
					if !field(o, "readOnly").BoolValue() {
						t.Errorf("%s mounts the code writable", key)
					}
				}
			}
			if !found {
				t.Errorf("%s does not mount /srv/moodle", key)
			}
		}
		for _, key := range []string{"db", "redis"} {
			if strings.Contains(strings.Join(plainStrings(field(cs[key].Inputs, "volumes")), " "), "/srv/moodle") {
				t.Errorf("%s mounts the code", key)
			}
		}
	})
}

func TestDevImageOverridesAreUsedAsConfigured(t *testing.T) {
	rec := mustRun(t, "dev", imageEdits)
	pulled := map[string]string{} // image reference -> image ID the containers run
	for _, img := range rec.ofType(tRemoteImage) {
		if !field(img.Inputs, "keepLocally").BoolValue() {
			t.Errorf("%s would be removed on destroy", img.Name)
		}
		ref := str(field(img.Inputs, "name"))
		pulled[ref] = imageID(ref)
	}
	cs := containers(t, rec)
	runs := map[string]string{
		"app-1":     "images.app",
		"cron":      "images.app",
		"lb":        "images.web",
		"db":        "images.database",
		"redis":     "images.cache",
		"pgbouncer": "images.pgbouncer",
		"mailpit":   "images.mailCatcher",
	}
	for key, cfgKey := range runs {
		ref := imageEdits[cfgKey].(string)
		id, ok := pulled[ref]
		if !ok {
			t.Errorf("%s = %q is never pulled; pulled %v", cfgKey, ref, keys(pulled))
			continue
		}
		if got := str(field(cs[key].Inputs, "image")); got != id {
			t.Errorf("%s runs %q, want %s (%s)", key, got, ref, cfgKey)
		}
	}
	if len(pulled) != len(runs)-1 {
		t.Errorf("pulled %v; want exactly the configured images", keys(pulled))
	}
}

func TestDevClusterOutputsCarrySecretsOnlyAsSecrets(t *testing.T) {
	spec := stackSpec(t, "dev", nil)
	type observed struct {
		siteURL, lbURL string
		containers     []string
		limitKeys      []string
		maxChildren    int
		secret         map[string]bool
	}
	var got observed
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		c, err := dockerhost.NewCluster(ctx, "moodle-dev", &dockerhost.ClusterArgs{Spec: spec})
		if err != nil {
			return err
		}
		got.secret = map[string]bool{
			"adminPassword":    pulumi.IsSecret(c.AdminPassword),
			"databasePassword": pulumi.IsSecret(c.DatabasePassword),
			"redisPassword":    pulumi.IsSecret(c.RedisPassword),
			"upgradeKey":       pulumi.IsSecret(c.UpgradeKey),
			"siteUrl":          pulumi.IsSecret(c.SiteURL),
			"containers":       pulumi.IsSecret(c.Containers),
			"limits":           pulumi.IsSecret(c.Limits),
		}
		done := make(chan struct{})
		pulumi.All(c.SiteURL, c.LoadBalancerURL, c.Containers, c.Limits, c.PHPFPM).ApplyT(func(v []any) error {
			defer close(done)
			got.siteURL, got.lbURL, got.containers = v[0].(string), v[1].(string), v[2].([]string)
			got.limitKeys = keys(v[3].(map[string]any))
			got.maxChildren = v[4].(map[string]any)["maxChildren"].(int)
			return nil
		})
		<-done
		return nil
	}, pulumi.WithMocks("moodle", "dev", &recorder{}))
	if err != nil {
		t.Fatal(err)
	}
	for k, secret := range got.secret {
		if want := strings.HasSuffix(k, "Password") || k == "upgradeKey"; secret != want {
			t.Errorf("output %s secret = %v, want %v", k, secret, want)
		}
	}
	if got.siteURL != spec.SiteURL {
		t.Errorf("siteUrl = %q, want %q", got.siteURL, spec.SiteURL)
	}
	if want := "http://" + spec.Docker.BindAddress + ":" + strconv.Itoa(spec.Docker.HTTPPort); got.lbURL != want {
		t.Errorf("loadBalancerUrl = %q, want %q", got.lbURL, want)
	}
	names := slices.Clone(got.containers)
	slices.Sort(names)
	if !slices.Equal(names, got.limitKeys) || len(names) != spec.App.Replicas+spec.Cron.Adhoc.Workers+7 {
		t.Errorf("containers %v and limits %v disagree", names, got.limitKeys)
	}
	if got.maxChildren != spec.App.Sizing().MaxChildren {
		t.Errorf("phpFpm maxChildren = %d, want %d", got.maxChildren, spec.App.Sizing().MaxChildren)
	}
}

func dependsOn(res registered, name string) bool {
	return slices.ContainsFunc(res.DependsOn, func(urn string) bool { return strings.HasSuffix(urn, "::"+name) })
}

func TestDevLoadBalancerOpensOnlyAfterCronHasInstalledMoodle(t *testing.T) {
	spec := stackSpec(t, "dev", nil)
	rec := mustRun(t, "dev", nil)
	cs := containers(t, rec)
	cron := cs["cron"]
	if !field(cron.Inputs, "wait").BoolValue() || field(cron.Inputs, "waitTimeout").NumberValue() < 600 {
		t.Errorf("the deployment does not wait for cron's install: wait=%v waitTimeout=%v",
			field(cron.Inputs, "wait"), field(cron.Inputs, "waitTimeout"))
	}
	if got := list(field(cron.Inputs, "healthcheck", "tests")); !slices.Contains(got, "cron") {
		t.Errorf("cron health check %v does not check the install hook", got)
	}
	// The load balancer waits for cron and for its configuration, which waits for
	// every app node it lists.
	lb := cs["lb"]
	for _, key := range []string{"cron", "lb-config"} {
		if !dependsOn(lb, devPrefix+key) {
			t.Errorf("the load balancer does not wait for %s; depends on %v", key, lb.DependsOn)
		}
	}
	for _, key := range spec.AppNodes() {
		if !dependsOn(cs["lb-config"], devPrefix+key) {
			t.Errorf("the load balancer's configuration does not wait for %s; depends on %v", key, cs["lb-config"].DependsOn)
		}
	}
	for _, key := range append(spec.AppNodes(), "cron") {
		for _, backend := range []string{"db", "redis"} {
			if !dependsOn(cs[key], devPrefix+backend) {
				t.Errorf("%s starts without waiting for %s", key, backend)
			}
		}
		// Each app node must answer before the load balancer's configuration
		// lists it.
		if !field(cs[key].Inputs, "wait").BoolValue() {
			t.Errorf("the deployment does not wait for %s to answer", key)
		}
	}
	for _, backend := range []string{"db", "redis"} {
		if !field(cs[backend].Inputs, "wait").BoolValue() {
			t.Errorf("%s is not waited for", backend)
		}
	}
}

func TestDevChildrenAreParentedToTheCluster(t *testing.T) {
	rec := mustRun(t, "dev", pgbouncerEdits)
	for _, res := range rec.resources {
		if res.Type == tCluster {
			continue
		}
		if !strings.HasSuffix(res.Parent, "::"+tCluster+"::moodle-dev") {
			t.Errorf("%s (%s) has parent %q, want the cluster", res.Name, res.Type, res.Parent)
		}
		if !strings.HasPrefix(res.Name, devPrefix) {
			t.Errorf("%s is not named after the cluster", res.Name)
		}
	}
}

// Read replicas on docker are PostgreSQL servers of their own, each with a volume,
// started from the primary's copy with the primary's settings, and config.php sends
// Moodle's safe reads to them.
func TestDevReadReplicasFollowThePrimaryAndTakeTheReads(t *testing.T) {
	edits := map[string]any{"database.readReplicas": 2}
	rec := mustRun(t, "dev", edits)
	cs := containers(t, rec)
	db := cs["db"]
	primary := list(field(db.Inputs, "command"))
	for _, name := range []string{"db-replica-1", "db-replica-2"} {
		r, ok := cs[name]
		if !ok {
			t.Fatalf("no container %s among %v", name, keys(cs))
		}
		cmd := list(field(r.Inputs, "command"))
		if len(cmd) == 0 || cmd[0] != "/usr/local/bin/moodle-pg-replica" || !slices.Equal(cmd[1:], primary) {
			t.Errorf("%s runs %v, want the replica script before the primary's own command %v", name, cmd, primary)
		}
		if got := aliases(r, devPrefix+"backend"); !slices.Equal(got, []string{name}) {
			t.Errorf("%s aliases = %v", name, got)
		}
		if !dependsOn(r, devPrefix+"db") {
			t.Errorf("%s starts before the primary", name)
		}
		vols := field(r.Inputs, "volumes")
		if !vols.IsArray() || len(vols.ArrayValue()) != 1 || str(field(vols.ArrayValue()[0].ObjectValue(), "volumeName")) != devPrefix+"pg"+strings.TrimPrefix(name, "db-") {
			t.Errorf("%s volumes = %v, want its own", name, vols)
		}
		for _, c := range []string{"app-1", "cron"} {
			if !dependsOn(cs[c], devPrefix+name) {
				t.Errorf("%s starts before %s", c, name)
			}
		}
	}
	// Both the primary and the replicas let replication in with a password only.
	if hba := content(t, db, "/etc/postgresql/moodle-pg_hba.conf"); !strings.Contains(hba, "host    replication  all   all           scram-sha-256") {
		t.Errorf("the primary's pg_hba.conf lets no replica in:\n%s", hba)
	}
	cfg := content(t, cs["app-1"], "/etc/moodle/config.php")
	for _, name := range []string{"db-replica-1", "db-replica-2"} {
		if !strings.Contains(cfg, "['dbhost' => '"+name+"', 'dbport' => 5432,") {
			t.Errorf("config.php does not read from %s:\n%s", name, cfg)
		}
	}
	if n := len(rec.ofType(tVolume)); n != 6 {
		t.Errorf("%d volumes, want 6 (4 and one per replica)", n)
	}
}

// The ad hoc task workers are containers of their own: they run the rendered worker
// once cron has installed Moodle, never install anything (no admin password), and
// config.php gives each a runner slot of its own and cron.php none.
func TestDevAdhocWorkersRunBesideTheCronRunner(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edits   map[string]any
		workers int
	}{
		{"default", nil, 1},
		{"three workers", map[string]any{"cron.adhoc.workers": 3, "cron.adhoc.concurrencyLimit": 3}, 3},
		{"none", map[string]any{"cron.adhoc.workers": 0}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := stackSpec(t, "dev", tc.edits)
			cs := containers(t, mustRun(t, "dev", tc.edits))
			var workers []string
			for key := range cs {
				if strings.HasPrefix(key, "adhoc-") {
					workers = append(workers, key)
				}
			}
			slices.Sort(workers)
			if !slices.Equal(workers, spec.AdhocWorkerNames()) || len(workers) != tc.workers {
				t.Fatalf("ad hoc workers %v, want %d", workers, tc.workers)
			}
			if !strings.Contains(fmt.Sprint(cs["cron"].Inputs), render.EnvAdminPassword) {
				t.Fatalf("the cron runner gets no %s: the check below proves nothing", render.EnvAdminPassword)
			}
			limit := fmt.Sprintf("$CFG->task_adhoc_concurrency_limit = %d;", tc.workers)
			if got := strings.Contains(content(t, cs["cron"], appimage.ConfigPHP), limit); got != (tc.workers > 0) {
				t.Errorf("config.php forces %q: %v, want %v", limit, got, tc.workers > 0)
			}
			for _, key := range workers {
				w := cs[key]
				if got := list(field(w.Inputs, "command")); !slices.Equal(got, []string{appimage.AdhocWorker}) {
					t.Errorf("%s runs %v", key, got)
				}
				if got := content(t, w, appimage.AdhocWorker); got != render.AdhocWorker(spec) {
					t.Errorf("%s runs another worker script than the rendered one", key)
				}
				if !dependsOn(w, devPrefix+"cron") {
					t.Errorf("%s starts before cron has installed Moodle; depends on %v", key, w.DependsOn)
				}
				if got := list(field(w.Inputs, "healthcheck", "tests")); !slices.Contains(got, "adhoc") {
					t.Errorf("%s health check %v", key, got)
				}
				if strings.Contains(fmt.Sprint(w.Inputs), render.EnvAdminPassword) {
					t.Errorf("%s can read the admin password; only the cron runner installs Moodle", key)
				}
				if field(w.Inputs, "ports").IsArray() && len(field(w.Inputs, "ports").ArrayValue()) > 0 {
					t.Errorf("%s publishes ports", key)
				}
			}
		})
	}
}
