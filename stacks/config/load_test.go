package config_test

import (
	"errors"
	"maps"
	"reflect"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/stacks/config"
)

const testCertificate = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"

// dockerStack and awsStack are the smallest valid stacks of each target, keyed
// without the moodle: prefix as a Getter reads them.
func dockerStack() map[string]string { return map[string]string{"target": "docker"} }

func awsStack() map[string]string {
	return map[string]string{
		"target":  "aws",
		"siteUrl": "https://moodle.example.edu",
		"aws":     `{"certificateArn": "` + testCertificate + `"}`,
		// aws refuses a stack without a relay.
		"mail": `{"host": "smtp.example.edu"}`,
	}
}

// with returns base with the given keys replaced.
func with(base map[string]string, kv ...string) map[string]string {
	m := maps.Clone(base)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func load(m map[string]string) (topology.Spec, error) {
	return config.Load(func(key string) (string, bool) {
		v, ok := m[key]
		return v, ok
	})
}

func mustLoad(t *testing.T, m map[string]string) topology.Spec {
	t.Helper()
	s, err := load(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// assertProblems checks that err lists exactly one problem per wanted substring.
func assertProblems(t *testing.T, err error, want ...string) {
	t.Helper()
	var cerr *config.Error
	if !errors.As(err, &cerr) {
		t.Fatalf("error = %v, want a *config.Error with %d problems", err, len(want))
	}
	if len(cerr.Problems) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(cerr.Problems), len(want), err)
	}
	for _, w := range want {
		found := false
		for _, p := range cerr.Problems {
			found = found || strings.Contains(p, w)
		}
		if !found {
			t.Errorf("no problem contains %q:\n%s", w, err)
		}
	}
}

// Setting only the target gives exactly the target's defaults, and they are valid.
func TestLoadWithOnlyTheTargetGivesTheDefaults(t *testing.T) {
	want, err := topology.Defaults(topology.TargetDocker)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustLoad(t, dockerStack()); !reflect.DeepEqual(got, want) {
		t.Errorf("Load = %+v\nwant %+v", got, want)
	}
	if err := config.Validate(want); err != nil {
		t.Errorf("docker defaults invalid: %v", err)
	}
}

// User values are decoded on top of the defaults: what a stack sets wins, even
// 0 or false, and what it leaves out keeps the default.
func TestOverridesMergeOverDefaults(t *testing.T) {
	cases := []struct {
		name  string
		stack map[string]string
		check func(topology.Spec) (got, want any)
	}{
		{"explicit false beats a true default",
			with(awsStack(), "aws", `{"certificateArn": "`+testCertificate+`", "waf": false, "protect": false}`),
			func(s topology.Spec) (any, any) { return [2]bool{s.AWS.WAF, s.AWS.Protect}, [2]bool{false, false} }},
		{"an object keeps the defaults it does not mention",
			with(awsStack(), "aws", `{"certificateArn": "`+testCertificate+`", "waf": false}`),
			func(s topology.Spec) (any, any) {
				return [3]any{s.AWS.AZCount, s.AWS.LogRetentionDays, s.AWS.Protect}, [3]any{3, 90, true}
			}},
		{"a nested object keeps its other fields",
			with(dockerStack(), "app", `{"phpFpm": {"maxRequests": 1000}}`),
			func(s topology.Spec) (any, any) {
				return s.App.PHPFPM, topology.PHPFPM{MaxRequests: 1000, WorkerMemoryMB: 96, ReserveMemoryMB: 192}
			}},
		{"explicit 0 is kept (read replicas off on an unprotected aws stack)",
			with(awsStack(), "database", `{"readReplicas": 0}`, "aws", `{"certificateArn": "`+testCertificate+`", "protect": false}`),
			func(s topology.Spec) (any, any) { return s.Database.ReadReplicas, 0 }},
		{"null keeps the default",
			with(dockerStack(), "app", `{"replicas": null}`),
			func(s topology.Spec) (any, any) { return s.App.Replicas, 3 }},
		{"a list replaces the default list",
			with(dockerStack(), "web", `{"statusAllow": ["10.1.0.0/16"]}`),
			func(s topology.Spec) (any, any) { return s.Web.StatusAllow, []string{"10.1.0.0/16"} }},
		{"embedded limits are plain keys of the object",
			with(dockerStack(), "app", `{"replicas": 5, "cpus": 1.5, "memoryMb": 2048, "reservedCpus": 0.5, "reservedMemoryMb": 1024}`),
			func(s topology.Spec) (any, any) {
				return [2]any{s.App.Replicas, s.App.Resources}, [2]any{5, topology.Resources{CPUs: 1.5, MemoryMB: 2048, ReservedCPUs: 0.5, ReservedMemoryMB: 1024}}
			}},
		{"a moodle version picks the matching app image",
			with(dockerStack(), "moodle", `{"version": "5.1.3"}`),
			func(s topology.Spec) (any, any) {
				return [2]string{s.Images.App, s.Images.Web}, [2]string{"moodle-cluster/app:5.1.3", "moodle-cluster/app:5.1.3"}
			}},
		{"the listed plugins reach the build as the Dockerfile's MOODLE_PLUGINS",
			with(dockerStack(), "moodle", `{"plugins": [`+
				`{"component": "theme_boost_union", "version": "2025041400", "source": "https://example.edu/boost_union.zip", "sha256": "`+strings.Repeat("a1", 32)+`"},`+
				`{"component": "local_site", "version": "2025010100.01", "source": "https://example.edu/site.tar.gz", "contentSha256": "`+strings.Repeat("b2", 32)+`"}]}`),
			func(s topology.Spec) (any, any) {
				return s.BuildArgs()["MOODLE_PLUGINS"],
					"theme_boost_union,2025041400,sha256:" + strings.Repeat("a1", 32) + ",https://example.edu/boost_union.zip " +
						"local_site,2025010100.01,content-sha256:" + strings.Repeat("b2", 32) + ",https://example.edu/site.tar.gz"
			}},
		{"s3 storage loads with the plugins it needs declared, and builds them in",
			with(awsStack(), "storage", `{"kind": "s3"}`, "moodle", `{"plugins": [`+
				`{"component": "tool_objectfs", "version": "2024120600", "source": "https://example.edu/objectfs.tar.gz", "contentSha256": "`+strings.Repeat("d4", 32)+`"},`+
				`{"component": "local_aws", "version": "2024050800", "source": "https://example.edu/local_aws.tar.gz", "contentSha256": "`+strings.Repeat("e5", 32)+`"}]}`),
			func(s topology.Spec) (any, any) {
				return s.BuildArgs()["MOODLE_PLUGINS"],
					"tool_objectfs,2024120600,content-sha256:" + strings.Repeat("d4", 32) + ",https://example.edu/objectfs.tar.gz " +
						"local_aws,2024050800,content-sha256:" + strings.Repeat("e5", 32) + ",https://example.edu/local_aws.tar.gz"
			}},
		{"a database version picks the matching postgres image",
			with(dockerStack(), "database", `{"version": "17"}`),
			func(s topology.Spec) (any, any) { return s.Images.Database, "postgres:17.2-bookworm" }},
		{"an own registry overrides every image, web follows app",
			with(dockerStack(), "images", `{"app": "registry.example.edu:5000/moodle/app:5.1.3", "cache": "registry.example.edu:5000/redis:7.2.7-alpine"}`),
			func(s topology.Spec) (any, any) {
				return [3]string{s.Images.App, s.Images.Web, s.Images.Cache},
					[3]string{"registry.example.edu:5000/moodle/app:5.1.3", "registry.example.edu:5000/moodle/app:5.1.3", "registry.example.edu:5000/redis:7.2.7-alpine"}
			}},
		{"a digest pins an image",
			with(dockerStack(), "images", `{"app": "moodle-cluster/app@sha256:`+strings.Repeat("ab", 32)+`"}`),
			func(s topology.Spec) (any, any) {
				return s.Images.App, "moodle-cluster/app@sha256:" + strings.Repeat("ab", 32)
			}},
		{"the published port moves the default site URL",
			with(dockerStack(), "docker", `{"httpPort": 8081}`),
			func(s topology.Spec) (any, any) { return s.SiteURL, "http://localhost:8081" }},
		{"port 80 has no port in the site URL",
			with(dockerStack(), "docker", `{"httpPort": 80}`),
			func(s topology.Spec) (any, any) { return s.SiteURL, "http://localhost" }},
		{"pgbouncer on docker",
			with(dockerStack(), "database", `{"pooler": "pgbouncer", "poolMode": "session", "poolSize": 40}`),
			func(s topology.Spec) (any, any) {
				return [4]any{s.Database.Pooler, s.Database.PoolMode, s.Database.PoolSize, s.ServerConnections()},
					[4]any{topology.PoolerPgBouncer, topology.PoolModeSession, 40, 50}
			}},
		{"nfs moodledata with the seed's mount options",
			with(dockerStack(), "storage", `{"kind": "nfs", "nfs": {"address": "10.0.0.5"}}`),
			func(s topology.Spec) (any, any) {
				return [2]string{s.Storage.NFS.MountOptions(), s.Storage.NFS.Device}, [2]string{"addr=10.0.0.5,rw,nfsvers=4", ":/moodledata"}
			}},
		{"plain http on aws when allowed",
			with(awsStack(), "siteUrl", "http://moodle-test.example.edu", "aws", `{"allowPlainHttp": true}`),
			func(s topology.Spec) (any, any) { return [2]any{s.HTTPS(), s.AWS.CertificateARN}, [2]any{false, ""} }},
		{"an existing VPC with a subnet per zone",
			with(awsStack(), "aws", `{"certificateArn": "`+testCertificate+`", "azCount": 2, "vpcId": "vpc-0123456789abcdef0",
				"publicSubnetIds": ["subnet-0000000000000000a", "subnet-0000000000000000b"],
				"privateSubnetIds": ["subnet-0000000000000000c", "subnet-0000000000000000d"],
				"dataSubnetIds": ["subnet-0000000000000000e", "subnet-0000000000000000f"]}`),
			func(s topology.Spec) (any, any) {
				return [2]any{s.AWS.VPCID, len(s.AWS.DataSubnetIDs)}, [2]any{"vpc-0123456789abcdef0", 2}
			}},
		{"ec2 launch type skips the Fargate size table",
			with(awsStack(), "app", `{"launchType": "ec2", "cpus": 3, "memoryMb": 6000, "reservedCpus": 3, "reservedMemoryMb": 6000}`),
			func(s topology.Spec) (any, any) { return s.App.LaunchType, topology.LaunchEC2 }},
		{"the other target's object may be empty (Pulumi.yaml's default)",
			with(dockerStack(), "aws", `{}`, "siteUrl", ""),
			func(s topology.Spec) (any, any) { return s.SiteURL, "http://localhost:8080" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := mustLoad(t, c.stack)
			if got, want := c.check(s); !reflect.DeepEqual(got, want) {
				t.Errorf("got %#v, want %#v", got, want)
			}
		})
	}
}

// Load reads every key of config.Keys: an unknown field planted in each object is
// reported under that key, and the other target's object is refused.
func TestLoadReadsEveryKey(t *testing.T) {
	for _, target := range []string{"docker", "aws"} {
		stack := dockerStack()
		if target == "aws" {
			stack = awsStack()
		}
		var want []string
		for _, key := range config.Keys() {
			switch {
			case key == "target" || key == "siteUrl":
				continue
			case key == config.MailPasswordKey:
				// A string, whose presence Load reads: set without mail.user, it
				// is reported.
				stack[key] = "zzz"
				want = append(want, "moodle:mailPassword: is set, but mail.user is not")
			case key == "aws" && target == "docker", key == "docker" && target == "aws":
				stack[key] = `{"zzz": 1}`
				want = append(want, "moodle:"+key+": only read when moodle:target is "+key)
			default:
				stack[key] = `{"zzz": 1}`
				want = append(want, "moodle:"+key+".zzz: unknown key")
			}
		}
		if target == "aws" {
			// The aws object is not decoded when it has an unknown key.
			want = append(want, "moodle:aws.certificateArn: not set", "moodle:mail.host: not set")
		}
		_, err := load(stack)
		assertProblems(t, err, want...)
	}
}
