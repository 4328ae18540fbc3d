//go:build engine

package automation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/moodle-cluster/moodle-pulumi/automation"
	"github.com/moodle-cluster/moodle-pulumi/internal/fakeprovider"
)

const testPassphrase = "engine-test-passphrase"

// smallProgram registers one resource of each kind the fakes must get right: a
// generated secret, containers that use it, and a volume that must survive scaling.
func smallProgram(ctx *pulumi.Context) error {
	var app struct {
		Replicas int `json:"replicas"`
	}
	if err := config.New(ctx, "moodle").TryObject("app", &app); err != nil {
		return fmt.Errorf("moodle:app: %w", err)
	}
	pw, err := random.NewRandomPassword(ctx, "db-password", &random.RandomPasswordArgs{
		Length: pulumi.Int(24), Special: pulumi.Bool(false),
	})
	if err != nil {
		return err
	}
	vol, err := docker.NewVolume(ctx, "moodledata", &docker.VolumeArgs{Name: pulumi.String("moodledata")})
	if err != nil {
		return err
	}
	for i := 1; i <= app.Replicas; i++ {
		_, err := docker.NewContainer(ctx, fmt.Sprintf("app-%d", i), &docker.ContainerArgs{
			Name:  pulumi.Sprintf("app-%d", i),
			Image: pulumi.String("php:8.3-fpm"),
			Envs:  pulumi.StringArray{pulumi.Sprintf("DB_PASSWORD=%s", pw.Result)},
			Volumes: docker.ContainerVolumeArray{docker.ContainerVolumeArgs{
				VolumeName: vol.Name, ContainerPath: pulumi.String("/var/moodledata"),
			}},
		})
		if err != nil {
			return err
		}
	}
	ctx.Export("dbPassword", pw.Result)
	ctx.Export("volume", vol.Name)
	return nil
}

type env struct {
	fakes *fakeprovider.Fakes
	state string
}

func newEnv(t *testing.T) env {
	t.Helper()
	fakes, err := fakeprovider.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fakes.Close)
	return env{fakes: fakes, state: t.TempDir()}
}

func (e env) stack(t *testing.T, cfg automation.Config, opts ...automation.Option) *automation.Stack {
	t.Helper()
	base := []automation.Option{
		automation.WithProjectDir(filepath.Join("..")),
		automation.WithConfig(cfg),
		automation.WithStateDir(e.state),
		automation.WithPassphrase(testPassphrase),
		automation.WithProgram(smallProgram),
		automation.WithEnv(map[string]string{"PULUMI_DEBUG_PROVIDERS": e.fakes.DebugProviders()}),
		automation.WithProgress(testWriter{t}),
	}
	s, err := automation.New(context.Background(), "dev", append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestSmallProgramLifecycle(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	cfg := automation.Config{"moodle:app": map[string]any{"replicas": 2}}
	s := e.stack(t, cfg)

	pre, err := s.Preview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("preview: %v", pre.ChangeSummary)
	up, err := s.Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("up: %v outputs %v", up.Summary.ResourceChanges, up.Outputs)
	again, err := s.Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("second up: %v", again.Summary.ResourceChanges)
	raw, _ := os.ReadFile(filepath.Join(e.state, ".pulumi", "stacks", "moodle", "dev.json"))
	for _, secret := range e.fakes.GeneratedSecrets() {
		if strings.Contains(string(raw), secret) {
			t.Errorf("state holds %q in clear", secret)
		}
	}
	if err := cfg.Set("moodle:app.replicas", 3); err != nil {
		t.Fatal(err)
	}
	scaled, err := e.stack(t, cfg).Preview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("scaled preview: %v", scaled.ChangeSummary)
	if scaled.ChangeSummary[apitype.OpCreate] != 1 {
		t.Errorf("got %v", scaled.ChangeSummary)
	}
	b, _ := json.Marshal(e.fakes.Untabled())
	t.Logf("untabled: %s", b)
	if _, err := s.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
}
