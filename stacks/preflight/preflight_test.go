package preflight

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

func preflightSpec(t *testing.T, edit func(*topology.Spec)) topology.Spec {
	t.Helper()
	s, err := topology.Defaults(topology.TargetDocker)
	if err != nil {
		t.Fatal(err)
	}
	// A build context that exists: the preflight looks for it on this machine.
	s.Moodle.Build.Context = t.TempDir()
	if err := os.WriteFile(filepath.Join(s.Moodle.Build.Context, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&s)
	}
	return s
}

func TestPreflightNamesEveryKeyTheHostCannotRun(t *testing.T) {
	big := Capacity{CPUs: 16, MemoryBytes: 64 << 30}
	cases := []struct {
		name string
		host StaticHost
		edit func(*topology.Spec)
		want []string
	}{
		{"the defaults on a big host", StaticHost{Capacity: big}, nil, nil},
		{"app CPUs above a 2-CPU host", StaticHost{Capacity: Capacity{CPUs: 2, MemoryBytes: 64 << 30}}, nil, []string{
			`moodle:app.cpus = 4: the Docker host has 2 CPUs and Docker refuses a limit above them; allowed: at most 2 (lower app.cpus, and app.reservedCpus with it)`}},
		{"every container's CPUs are checked", StaticHost{Capacity: Capacity{CPUs: 1, MemoryBytes: 64 << 30}},
			func(s *topology.Spec) {
				s.Database.Pooler = topology.PoolerPgBouncer
				s.Database.PgBouncer.CPUs = 1.5
			}, []string{
				`moodle:app.cpus = 4: the Docker host has 1 CPUs`,
				`moodle:database.cpus = 2: the Docker host has 1 CPUs`,
				`moodle:database.pgbouncer.cpus = 1.5: the Docker host has 1 CPUs`,
			}},
		{"CPU limits the provider reads back as another number", StaticHost{Capacity: big},
			func(s *topology.Spec) {
				s.Database.Pooler = topology.PoolerPgBouncer
				s.Database.PgBouncer.CPUs = 0.05
				s.Cron.CPUs = 0.15
			}, []string{
				`moodle:database.pgbouncer.cpus = 0.05: pulumi-docker reads this limit back from Docker as 0.1, so every up would replace the container`,
			}},
		{"a memory limit above the host", StaticHost{Capacity: Capacity{CPUs: 16, MemoryBytes: 6 << 30}}, nil, []string{
			`moodle:app.memoryMb = 8192: the Docker host has 6144 MB of memory; allowed: at most 6144`,
			`the memory reservations add up to 15456 MB (web 1 × 64 + app 3 × 4096 + cron 1 × 256 + database 1 × 2048 + cache 1 × 512 + cache.muc 1 × 256 + mail.catcher 1 × 32), more than the Docker host's 6144 MB`,
		}},
		{"reservations that do not fit together", StaticHost{Capacity: Capacity{CPUs: 16, MemoryBytes: 10 << 30}},
			func(s *topology.Spec) { s.App.Replicas = 10 }, []string{
				`the memory reservations add up to 44128 MB`,
			}},
		{"an image neither held nor pullable", StaticHost{Capacity: big, Missing: []string{"postgres:17.2-bookworm"}}, nil, []string{
			`moodle:images.database = "postgres:17.2-bookworm": not on the Docker host, and the host cannot pull it: postgres:17.2-bookworm: no registry answers; load it with ` + "`docker load`" + `, or point images.database at a registry the host reaches`,
		}},
		{"the prebuilt app image is checked too", StaticHost{Capacity: big, Missing: []string{"moodle-cluster/app:5.3"}},
			func(s *topology.Spec) { s.Moodle.CodeSource = topology.CodeImage }, []string{
				`moodle:images.app = "moodle-cluster/app:5.3": not on the Docker host`,
			}},
		{"the mail catcher's image", StaticHost{Capacity: big, Missing: []string{"axllent/mailpit:v1.17.1"}}, nil, []string{
			`moodle:images.mailCatcher = "axllent/mailpit:v1.17.1": not on the Docker host`,
		}},
		{"no catcher, no catcher image, with a relay", StaticHost{Capacity: big, Missing: []string{"axllent/mailpit:v1.17.1"}},
			func(s *topology.Spec) { s.Mail.Host = "smtp.example.edu" }, nil},
		{"a built app image is not looked for", StaticHost{Capacity: big, Missing: []string{"moodle-cluster/app:5.3"}}, nil, nil},
		{"a build context that is not there", StaticHost{Capacity: big},
			func(s *topology.Spec) { s.Moodle.Build.Context = "/nonexistent/site" }, []string{
				`moodle:moodle.build.context = "/nonexistent/site": no such folder on this machine`,
			}},
		{"a Dockerfile that is not there", StaticHost{Capacity: big},
			func(s *topology.Spec) { s.Moodle.Build.Dockerfile = "site.Dockerfile" }, []string{
				`moodle:moodle.build.dockerfile = "site.Dockerfile": no such file in `,
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Check(context.Background(), preflightSpec(t, c.edit), c.host, "unix:///test.sock")
			if c.want == nil {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Check = %v, want a *Error", err)
			}
			if len(pe.Problems) != len(c.want) {
				t.Errorf("%d problems, want %d:\n%v", len(pe.Problems), len(c.want), err)
			}
			for _, w := range c.want {
				if !slices.ContainsFunc(pe.Problems, func(p string) bool { return strings.HasPrefix(p, w) }) {
					t.Errorf("no problem starts with %q:\n%v", w, err)
				}
			}
		})
	}
}

// A host that cannot be asked fails the preflight with what to do about it.
func TestPreflightWithoutADockerEngineSaysWhatToSet(t *testing.T) {
	engine, err := NewEngine(ProviderConfig{Host: "unix://" + filepath.Join(t.TempDir(), "no.sock")})
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	_, err = Check(context.Background(), preflightSpec(t, nil), engine, engine.Name())
	if err == nil || !strings.Contains(err.Error(), "no.sock") || !strings.Contains(err.Error(), "docker:context, else docker:host") {
		t.Errorf("Check = %v", err)
	}
}
