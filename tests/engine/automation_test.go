//go:build engine

package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/moodle-cluster/moodle-pulumi/automation"
	"github.com/moodle-cluster/moodle-pulumi/stacks/config/stackfile"
)

// TestAutomation_ProgramReadsStackFileConfigAsMockTestsDo proves the structured
// values of the committed stack files reach a program through the engine as the
// same JSON the mock tests hand it (stackfile.Read).
func TestAutomation_ProgramReadsStackFileConfigAsMockTestsDo(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			want, err := stackfile.Read(filepath.Join(projectDir, "Pulumi."+stack+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			echo := func(ctx *pulumi.Context) error {
				for key := range want {
					v, _ := ctx.GetConfig(key)
					ctx.Export(key, pulumi.String(v))
				}
				return nil
			}
			r := newRig(t)
			s := r.stack(t, stack, nil, automation.WithProgram(echo))
			if _, err := s.Up(context.Background()); err != nil {
				t.Fatal(err)
			}
			outs, err := s.Outputs(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for key, text := range want {
				got, _ := outs[key].Value.(string)
				if !sameJSON(got, text) {
					t.Errorf("%s: program read %s, mock tests read %s", key, got, text)
				}
			}
		})
	}
}

// sameJSON compares two config texts as JSON values when both are JSON, else as text.
func sameJSON(a, b string) bool {
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return a == b
	}
	return reflect.DeepEqual(va, vb)
}

func TestAutomation_ErrorsNameTheStackAndTheStep(t *testing.T) {
	failing := func(*pulumi.Context) error { return errors.New("the program failed on purpose") }
	r := newRig(t)
	s := r.stack(t, "dev", dockerTarget(), automation.WithProgram(failing))
	_, err := s.Preview(context.Background())
	if err == nil || !strings.HasPrefix(err.Error(), "stack dev: preview: ") || !strings.Contains(err.Error(), "failed on purpose") {
		t.Errorf("preview error: %v", err)
	}

	_, err = automation.New(context.Background(), "nosuch",
		automation.WithProjectDir(projectDir), automation.WithStateDir(r.state), automation.WithPassphrase(testPassphrase))
	if err == nil || !strings.HasPrefix(err.Error(), "stack nosuch: select: ") || !strings.Contains(err.Error(), "Pulumi.nosuch.yaml") {
		t.Errorf("missing stack file: %v", err)
	}
}

func TestAutomation_MissingPassphraseIsExplained(t *testing.T) {
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "")
	t.Setenv("PULUMI_CONFIG_PASSPHRASE_FILE", "")
	_, err := automation.New(context.Background(), "dev",
		automation.WithProjectDir(projectDir), automation.WithStateDir(t.TempDir()), automation.WithConfig(automation.Config{}))
	if err == nil || !strings.Contains(err.Error(), "PULUMI_CONFIG_PASSPHRASE") {
		t.Errorf("got %v, want an error that names PULUMI_CONFIG_PASSPHRASE", err)
	}
}

// TestAutomation_PassphraseFileIsCreatedOnceAndReused proves a generated local
// passphrase is private to its owner and decrypts the stack's secrets next time.
func TestAutomation_PassphraseFileIsCreatedOnceAndReused(t *testing.T) {
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "")
	state := t.TempDir()
	file := filepath.Join(state, "passphrase")
	program := func(ctx *pulumi.Context) error {
		ctx.Export("token", pulumi.ToSecret(pulumi.String("kept-secret")))
		return nil
	}
	open := func() *automation.Stack {
		s, err := automation.New(context.Background(), "dev",
			automation.WithProjectDir(projectDir), automation.WithStateDir(state),
			automation.WithConfig(dockerTarget()), automation.WithProgram(program),
			automation.WithPassphraseFile(file))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if _, err := open().Up(context.Background()); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 || info.Size() < 32 {
		t.Errorf("passphrase file: mode %v, %d bytes; want 0600 and at least 32 bytes", info.Mode().Perm(), info.Size())
	}
	first, _ := os.ReadFile(file)
	outs, err := open().Outputs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := outs["token"]; got.Value != "kept-secret" || !got.Secret {
		t.Errorf("token output after reopening: %+v", got)
	}
	if again, _ := os.ReadFile(file); string(again) != string(first) {
		t.Error("reopening the stack replaced the passphrase")
	}
}

// TestAutomation_CancelingTheContextStopsAnUp cancels an up while its program is
// still running. The program can end only when its own context is canceled, or
// when the test releases it as it ends: an up that waited for the program to finish
// would never return.
func TestAutomation_CancelingTheContextStopsAnUp(t *testing.T) {
	started, canceled, release := make(chan struct{}), make(chan struct{}), make(chan struct{})
	slow := func(ctx *pulumi.Context) error {
		close(started)
		select {
		case <-ctx.Context().Done():
			close(canceled)
		case <-release:
		}
		return nil
	}
	t.Cleanup(func() { close(release) })
	r := newRig(t)
	s := r.stack(t, "dev", dockerTarget(), automation.WithProgram(slow))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-started
		cancel()
	}()
	_, err := s.Up(ctx)
	if err == nil {
		t.Fatal("the canceled up succeeded")
	}
	t.Logf("the canceled up returned: %v", err)
	// automation adds the context's error to whatever the CLI reported; the CLI's
	// own report must be the cancellation, not some other failure.
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "stack dev: up: ") ||
		!strings.Contains(err.Error(), "update canceled") {
		t.Errorf("got %v, want the up to fail with the context's error and the CLI's \"update canceled\"", err)
	}
	select {
	case <-canceled:
	default:
		t.Error("the up returned while the program's context was not canceled")
	}
}

// dockerTarget is the least config the project's Pulumi.yaml accepts, for the
// programs these tests run in place of the moodle program.
func dockerTarget() automation.Config { return automation.Config{"moodle:target": "docker"} }

// smallProgram registers one resource of each kind the fakes must get right: a
// generated secret, containers that use it, and a volume that must survive scaling.
// moodle:app.replicas sets the number of containers, moodle:images.app their image.
// The containers ignore changes to the properties the rig's daemon adds to, as the
// program's do.
func smallProgram(ctx *pulumi.Context) error { return smallProgramIgnoring("logOpts", "ulimits")(ctx) }

// smallProgramIgnoring is smallProgram with its containers ignoring the given
// properties.
func smallProgramIgnoring(ignore ...string) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error { return registerSmallProgram(ctx, ignore) }
}

func registerSmallProgram(ctx *pulumi.Context, ignore []string) error {
	var app struct {
		Replicas int `json:"replicas"`
	}
	images := struct {
		App string `json:"app"`
	}{App: "php:8.3-fpm"}
	cfg := config.New(ctx, "moodle")
	if err := cfg.TryObject("app", &app); err != nil {
		return fmt.Errorf("moodle:app: %w", err)
	}
	if err := cfg.GetObject("images", &images); err != nil {
		return fmt.Errorf("moodle:images: %w", err)
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
			Image: pulumi.String(images.App),
			Envs:  pulumi.StringArray{pulumi.Sprintf("DB_PASSWORD=%s", pw.Result)},
			Volumes: docker.ContainerVolumeArray{docker.ContainerVolumeArgs{
				VolumeName: vol.Name, ContainerPath: pulumi.String("/var/moodledata"),
			}},
		}, pulumi.IgnoreChanges(ignore))
		if err != nil {
			return err
		}
	}
	ctx.Export("dbPassword", pw.Result)
	return nil
}

// A daemon with log-opts or default-ulimits in its daemon.json adds them to every
// container, the provider reads them back, and a program that does not ignore them
// replaces every container on every up: the defect the fakes must show.
func TestFakes_ContainersThatDoNotIgnoreTheDaemonsAdditionsAreReplacedEveryUp(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	cfg := dockerTarget()
	if err := cfg.Set("moodle:app.replicas", 2); err != nil {
		t.Fatal(err)
	}
	open := func() *automation.Stack {
		return r.stack(t, "dev", cfg, automation.WithProgram(smallProgramIgnoring()))
	}
	if _, err := open().Up(ctx); err != nil {
		t.Fatal(err)
	}
	r.steps.take()
	pre, err := open().Preview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := pre.ChangeSummary[apitype.OpReplace]; got != 2 {
		t.Errorf("preview after up: %v, want both containers replaced", pre.ChangeSummary)
	}
	for _, st := range r.steps.take() {
		if keys := slices.Sorted(slices.Values(st.Keys)); st.Op == apitype.OpReplace && !slices.Equal(keys, []string{"logOpts", "ulimits"}) {
			t.Errorf("%s replaced for %v, want [logOpts ulimits]", st.URN, st.Keys)
		}
	}
}

// TestFakes_SmallProgramScalesAndChangesNothingTwice checks the fakes on a program
// small enough to know every step: a second up is a no-op, a third node is one
// create, and a new image replaces every container, and nothing else, as the real
// provider does.
func TestFakes_SmallProgramScalesAndChangesNothingTwice(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	cfg := dockerTarget()
	if err := cfg.Set("moodle:app.replicas", 2); err != nil {
		t.Fatal(err)
	}
	open := func() *automation.Stack { return r.stack(t, "dev", cfg, automation.WithProgram(smallProgram)) }
	if _, err := open().Up(ctx); err != nil {
		t.Fatal(err)
	}
	again, err := open().Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	assertAllSame(t, *again.Summary.ResourceChanges, 5)

	if err := cfg.Set("moodle:app.replicas", 3); err != nil {
		t.Fatal(err)
	}
	r.steps.take()
	pre, err := open().Preview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[apitype.OpType]int{apitype.OpCreate: 1, apitype.OpSame: 5}
	if !reflect.DeepEqual(pre.ChangeSummary, want) {
		t.Errorf("preview with a third node: got %v, want %v", pre.ChangeSummary, want)
	}
	assertScaleOut(t, r.steps.take(), map[string][]apitype.OpType{"app-3": {apitype.OpCreate}})

	if err := cfg.Set("moodle:app.replicas", 2); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Set("moodle:images.app", "php:8.4-fpm"); err != nil {
		t.Fatal(err)
	}
	pre, err = open().Preview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want = map[apitype.OpType]int{apitype.OpReplace: 2, apitype.OpSame: 3}
	if !reflect.DeepEqual(pre.ChangeSummary, want) {
		t.Errorf("preview with a new image: got %v, want %v", pre.ChangeSummary, want)
	}
	replaced := 0
	for _, st := range r.steps.take() {
		container := st.Type == "docker:index/container:Container"
		switch {
		case st.Op == apitype.OpSame, container && st.Op == apitype.OpDeleteReplaced:
		case container && st.Op == apitype.OpReplace && reflect.DeepEqual(st.Keys, []string{"image"}):
			replaced++
		case container && st.Op == apitype.OpCreateReplacement && reflect.DeepEqual(st.Keys, []string{"image"}):
		default:
			t.Errorf("%s %s (keys %v) when only the image changed", st.Op, st.URN, st.Keys)
		}
	}
	if replaced != 2 {
		t.Errorf("a new image replaced %d containers because of it, want both", replaced)
	}
}
