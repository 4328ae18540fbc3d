package config_test

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag/colors"
	pconfig "github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/stacks/config"
	"github.com/moodle-cluster/moodle-pulumi/stacks/config/stackfile"
)

const (
	projectFile = "../../Pulumi.yaml"
	devFile     = "../../Pulumi.dev.yaml"
	prodFile    = "../../Pulumi.prod.yaml"
)

var stackFiles = []string{devFile, prodFile}

func loadStackFile(t *testing.T, path string) topology.Spec {
	t.Helper()
	m, err := stackfile.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := config.Load(stackfile.Getter(m))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}

// The dev stack is the seed's topology: three app nodes with the seed's memory
// limits and CPU limits a 2-CPU host accepts.
func TestDevStackLoadsTheSeedTopology(t *testing.T) {
	s := loadStackFile(t, devFile)
	assertFields(t, []field{
		{"target", s.Target, topology.TargetDocker},
		{"siteUrl", s.SiteURL, "http://localhost:8080"},
		{"app nodes", s.AppNodes(), []string{"app-1", "app-2", "app-3"}},
		{"app limits", s.App.Resources, topology.Resources{CPUs: 2, MemoryMB: 8192, ReservedCPUs: 1, ReservedMemoryMB: 4096}},
		{"database limits", s.Database.Resources, topology.Resources{CPUs: 2, MemoryMB: 4096, ReservedCPUs: 1, ReservedMemoryMB: 2048}},
		{"cache limits", s.Cache.Resources, topology.Resources{CPUs: 1, MemoryMB: 1024, ReservedCPUs: 0.5, ReservedMemoryMB: 512}},
		{"cron limits", s.Cron.Resources, topology.Resources{CPUs: 1, MemoryMB: 1024, ReservedCPUs: 0.25, ReservedMemoryMB: 256}},
		{"pooler", s.Database.Pooler, topology.PoolerNone},
		{"storage", s.Storage.Kind, topology.StorageVolume},
		{"published port", s.Docker, topology.DockerTarget{HTTPPort: 8080, BindAddress: "127.0.0.1"}},
		{"database image", s.Images.Database, "postgres:17.2-bookworm"},
		{"app image", s.Images.App, "moodle-cluster/app:5.3"},
		{"php-fpm pool", s.App.Sizing(), topology.Pool{MaxChildren: 83, StartServers: 14, MinSpareServers: 8, MaxSpareServers: 20, MaxRequests: 500}},
		// Sized for app.maxReplicas (10) nodes, not the 3 running, and for the most
		// ad hoc task workers (20), so scaling either never restarts PostgreSQL.
		{"max_connections", s.ServerConnections(), 10*83 + 2 + 20 + 10},
		{"ad hoc task workers", [2]int{s.Cron.Adhoc.Workers, s.Cron.Adhoc.ConcurrencyLimit}, [2]int{1, 1}},
		{"no aws settings", s.AWS, topology.AWSTarget{}},
	})
}

// The prod stack is highly available across three zones and sized for a few
// thousand users.
func TestProdStackLoadsAnHighlyAvailableAWSCluster(t *testing.T) {
	s := loadStackFile(t, prodFile)
	assertFields(t, []field{
		{"target", s.Target, topology.TargetAWS},
		{"siteUrl", s.SiteURL, "https://moodle.example.edu"},
		{"https", s.HTTPS(), true},
		{"app replicas", [3]int{s.App.MinReplicas, s.App.Replicas, s.App.MaxReplicas}, [3]int{3, 3, 12}},
		{"app task", s.App.Resources, topology.Resources{CPUs: 4, MemoryMB: 8192, ReservedCPUs: 4, ReservedMemoryMB: 8192}},
		{"launch type", s.App.LaunchType, topology.LaunchFargate},
		{"workers per task", s.App.Sizing().MaxChildren, 82},
		// A deployment runs up to twice app.maxReplicas tasks (12 × 200 %).
		// The nodes and the two ad hoc task workers at a deployment's surge.
		{"connection budget", s.ServerConnections(), 24*82 + 2 + 2*2 + 10},
		{"instance class", s.Database.InstanceClass, "db.r6g.xlarge"},
		{"multi-AZ", s.Database.MultiAZ, true},
		{"read replicas", s.Database.ReadReplicas, 1},
		{"backups", s.Database.BackupRetentionDays, 14},
		{"backup plan", s.Backup, topology.Backup{Enabled: true, Schedule: "cron(0 5 ? * * *)", RetentionDays: 35}},
		{"no restore", s.Database.RestoreFromSnapshot, ""},
		{"redis tls", s.Cache.TLS, true},
		{"redis nodes", s.Cache.Replicas, 2},
		{"storage", s.Storage.Kind, topology.StorageEFS},
		{"zones", s.AWS.AZCount, 3},
		{"nat", s.AWS.NATGateways, topology.NATPerAZ},
		{"certificate", s.AWS.CertificateARN, "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"},
		{"alarm email", s.AWS.AlarmEmail, "ops@example.edu"},
		{"protected", s.AWS.Protect, true},
		{"waf", s.AWS.WAF, true},
		{"no docker settings", s.Docker, topology.DockerTarget{}},
	})
}

// A moodle:* key the program does not read is a typo that would be silently ignored.
func TestStackFilesUseOnlyKnownKeys(t *testing.T) {
	for _, path := range stackFiles {
		m, err := stackfile.Read(path)
		if err != nil {
			t.Fatal(err)
		}
		for key := range m {
			name, ok := strings.CutPrefix(key, config.Namespace+":")
			if ok && !slices.Contains(config.Keys(), name) {
				t.Errorf("%s sets %s; known keys: %v", path, key, config.Keys())
			}
		}
	}
}

func loadProject(t *testing.T) *workspace.Project {
	t.Helper()
	// The SDK's own loader checks the file against Pulumi's project schema and
	// type-checks the declared defaults, as the CLI does.
	p, err := workspace.LoadProject(projectFile)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Pulumi.yaml declares exactly the keys the program reads, each described; only
// target is required (no default), so a stack sets nothing else unless it wants to.
func TestProjectFileDeclaresEveryKey(t *testing.T) {
	p := loadProject(t)
	if p.Name != "moodle" || p.Runtime.Name() != "go" {
		t.Errorf("project %s runtime %s, want moodle go", p.Name, p.Runtime.Name())
	}
	var declared []string
	for key, decl := range p.Config {
		declared = append(declared, key)
		if decl.Description == "" {
			t.Errorf("%s has no description", key)
		}
		if !decl.IsExplicitlyTyped() {
			t.Errorf("%s has no type", key)
		}
		if required := decl.Default == nil; required != (key == "moodle:target") {
			t.Errorf("%s: required = %v; only moodle:target is required", key, required)
		}
	}
	var want []string
	for _, k := range config.Keys() {
		want = append(want, config.Namespace+":"+k)
	}
	slices.Sort(declared)
	slices.Sort(want)
	if !slices.Equal(declared, want) {
		t.Errorf("Pulumi.yaml declares %v, want %v", declared, want)
	}
}

// The defaults Pulumi.yaml gives ({} and "") mean "the target's default": loading a
// stack that sets only its target through them gives the target's defaults.
func TestProjectDefaultsMeanTargetDefaults(t *testing.T) {
	p := loadProject(t)
	for _, target := range []topology.Target{topology.TargetDocker, topology.TargetAWS} {
		m := map[string]string{"moodle:target": string(target)}
		for key, decl := range p.Config {
			if decl.Default == nil {
				continue
			}
			text, err := json.Marshal(decl.Default)
			if err != nil {
				t.Fatal(err)
			}
			if s, ok := decl.Default.(string); ok {
				text = []byte(s)
			}
			m[key] = string(text)
		}
		want, err := topology.Defaults(target)
		if err != nil {
			t.Fatal(err)
		}
		got, err := config.Load(stackfile.Getter(m))
		if target == topology.TargetAWS {
			// aws has no default site or certificate: exactly those are reported.
			assertProblems(t, err, "moodle:siteUrl: not set", "moodle:aws.certificateArn: not set", "moodle:mail.host: not set")
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Load with the project defaults = %+v, want %+v", target, got, want)
		}
	}
}

// The engine checks stack values against the types Pulumi.yaml declares; the
// committed stacks must pass that check, and stackfile.Read must hand the program
// the same values the engine does.
func TestStackFilesMatchTheEngineView(t *testing.T) {
	p := loadProject(t)
	sink := diag.DefaultSink(os.Stderr, os.Stderr, diag.FormatOptions{Color: colors.Never})
	for _, path := range stackFiles {
		ps, err := workspace.LoadProjectStack(sink, p, path)
		if err != nil {
			t.Fatal(err)
		}
		ours, err := stackfile.Read(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(ours) != len(ps.Config) {
			t.Errorf("%s: stackfile read %d keys, the SDK %d", path, len(ours), len(ps.Config))
		}
		for key, v := range ps.Config {
			text, err := v.Value(pconfig.NopDecrypter)
			if err != nil {
				t.Fatal(err)
			}
			var content any = text
			if v.Object() {
				if err := json.Unmarshal([]byte(text), &content); err != nil {
					t.Fatal(err)
				}
			}
			if decl, ok := p.Config[key.String()]; ok && decl.IsExplicitlyTyped() &&
				!workspace.ValidateConfigValue(decl.TypeName(), decl.Items, content) {
				t.Errorf("%s: %s is not of the declared type %s", path, key, decl.TypeName())
			}
			if !sameJSON(ours[key.String()], text) {
				t.Errorf("%s: %s = %s from stackfile, %s from the SDK", path, key, ours[key.String()], text)
			}
		}
	}
}

func sameJSON(a, b string) bool {
	if a == b {
		return true
	}
	var x, y any
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}

// field is one value a stack file must load to.
type field struct {
	name      string
	got, want any
}

func assertFields(t *testing.T, fields []field) {
	t.Helper()
	for _, f := range fields {
		if !reflect.DeepEqual(f.got, f.want) {
			t.Errorf("%s = %#v, want %#v", f.name, f.got, f.want)
		}
	}
}
