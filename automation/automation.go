// Package automation runs the moodle program through the Pulumi Automation API, so
// another Go program (or cmd/moodlectl) can preview, deploy and destroy a stack
// without `pulumi login` or a checkout-relative `pulumi` invocation:
//
//	s, err := automation.New(ctx, "dev", automation.WithProgress(os.Stdout))
//	if err != nil { ... }
//	res, err := s.Up(ctx)
//
// The program is the one main.go runs (stacks.NewProgram), executed inline in the
// caller's process with the project folder it was given. Configuration comes from the committed Pulumi.<stack>.yaml (or
// a Config built in code), state goes to a local file backend under the state
// folder (default .state) unless another backend URL is given, and secrets are
// encrypted with a passphrase unless another secrets provider is given.
//
// Only the pulumi CLI is needed: it is looked up in the project's bin/ folder (where
// `make bin/pulumi` builds the pinned version) and then on PATH.
package automation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"

	"github.com/moodle-cluster/moodle-pulumi/stacks"
)

// DefaultStateDir is the state folder used when WithStateDir is not given.
const DefaultStateDir = ".state"

const passphraseProvider = "passphrase"

// eventDrainTimeout bounds the wait for the last events of a failed operation.
const eventDrainTimeout = 5 * time.Second

// Stack is one stack of the moodle project, selected (or created) with its
// configuration applied, ready for operations.
type Stack struct {
	name  string
	stack auto.Stack
	opts  options
}

// New selects the stack called name, creating it in the backend when it does not
// exist yet, and writes its configuration into the stack's workspace, replacing
// whatever an earlier run left there.
func New(ctx context.Context, name string, opts ...Option) (*Stack, error) {
	o := options{
		stateDir:        DefaultStateDir,
		secretsProvider: passphraseProvider,
		env:             map[string]string{},
		cancelGrace:     defaultCancelGrace,
	}
	for _, opt := range opts {
		opt(&o)
	}
	s, err := newStack(ctx, name, o)
	var stepErr *Error
	if errors.As(err, &stepErr) {
		return nil, err
	}
	if err != nil {
		return nil, &Error{Stack: name, Step: StepSelect, First: firstLine(err.Error()), Detail: err.Error(),
			Hint: "check the project folder, the state backend and the passphrase, then try again", Err: err}
	}
	return s, nil
}

func newStack(ctx context.Context, name string, o options) (*Stack, error) {
	projectDir, err := findProjectDir(o.projectDir)
	if err != nil {
		return nil, err
	}
	project, err := workspace.LoadProject(filepath.Join(projectDir, "Pulumi.yaml"))
	if err != nil {
		return nil, fmt.Errorf("load project: %w", err)
	}
	cfg := o.config
	file := o.stackFile
	if file == "" {
		file = filepath.Join(projectDir, "Pulumi."+name+".yaml")
	}
	if cfg == nil {
		if cfg, err = LoadConfig(file); err != nil {
			return nil, err
		}
	}
	settings, err := cfg.toMap(project.Name.String())
	if err != nil {
		return nil, err
	}
	env := map[string]string{"PULUMI_SKIP_UPDATE_CHECK": "true"}
	if o.secretsProvider == passphraseProvider {
		if err := passphraseEnv(o, env); err != nil {
			return nil, err
		}
	}
	for k, v := range o.env {
		env[k] = v
	}
	// The program validates its config too, but from inside the engine, whose
	// report wraps the message twice and comes after the engine has started; the
	// same check here fails at once, with the validator's own words. A program of
	// the caller's own may read other keys: it checks them itself.
	if o.program == nil {
		if err := checkConfig(settings); err != nil {
			source := file
			if o.config != nil {
				source = "the config given in code"
			}
			return nil, configError(name, source, err)
		}
	}

	stateDir, err := filepath.Abs(o.stateDir)
	if err != nil {
		return nil, fmt.Errorf("state folder: %w", err)
	}
	// The workspace keeps the stack's settings file, which holds the passphrase
	// salt: it lives next to the state so the two are never separated.
	workDir := filepath.Join(stateDir, "workspace")
	if err := os.MkdirAll(workDir, 0o700); err != nil {
		return nil, fmt.Errorf("state folder: %w", err)
	}
	backend := o.backendURL
	if backend == "" {
		backend = "file://" + filepath.ToSlash(stateDir)
	}
	project.Backend = &workspace.ProjectBackend{URL: backend}

	program := o.program
	if program == nil {
		// An inline program runs in the workspace folder, not the project's: it is
		// told where the project is.
		program = stacks.NewProgram(stacks.Options{ProjectDir: projectDir, DockerHost: o.dockerHost})
	}
	cli, err := findPulumi(projectDir, o.cancelGrace)
	if err != nil {
		return nil, err
	}
	st, err := auto.UpsertStackInlineSource(ctx, name, project.Name.String(), program,
		auto.Project(*project),
		auto.WorkDir(workDir),
		auto.SecretsProvider(o.secretsProvider),
		auto.EnvVars(env),
		auto.Pulumi(cli),
	)
	if err != nil {
		return nil, err
	}
	if err := applyConfig(ctx, st, settings); err != nil {
		return nil, fmt.Errorf("configure: %w", err)
	}
	return &Stack{name: name, stack: st, opts: o}, nil
}

// applyConfig replaces the config section of the workspace's stack settings file,
// keeping the secrets provider state (salt, encrypted key) that stack init wrote.
// Writing the structured values directly, rather than with `pulumi config set`,
// makes the program read exactly what it reads under `pulumi up` with the
// committed stack file.
func applyConfig(ctx context.Context, st auto.Stack, cfg config.Map) error {
	ws := st.Workspace()
	current, err := ws.StackSettings(ctx, st.Name())
	if err != nil {
		return err
	}
	current.Config = cfg
	return ws.SaveStackSettings(ctx, st.Name(), current)
}

// passphraseEnv hands the passphrase to the CLI: an explicit one first, then a
// passphrase file, then whatever the environment already provides.
func passphraseEnv(o options, env map[string]string) error {
	switch {
	case o.passphrase != "":
		env["PULUMI_CONFIG_PASSPHRASE"] = o.passphrase
		return nil
	case o.passphraseFile != "":
		path, err := ensurePassphraseFile(o.passphraseFile)
		if err != nil {
			return err
		}
		env["PULUMI_CONFIG_PASSPHRASE_FILE"] = path
		return nil
	case os.Getenv("PULUMI_CONFIG_PASSPHRASE") != "", os.Getenv("PULUMI_CONFIG_PASSPHRASE_FILE") != "":
		return nil
	}
	return errors.New("the passphrase secrets provider needs a passphrase: set PULUMI_CONFIG_PASSPHRASE " +
		"(or PULUMI_CONFIG_PASSPHRASE_FILE), or choose another secrets provider")
}

// Name is the stack's name.
func (s *Stack) Name() string { return s.name }

// Preview shows what Up would change, without changing anything.
func (s *Stack) Preview(ctx context.Context) (auto.PreviewResult, error) {
	var res auto.PreviewResult
	err := s.run(ctx, "preview", func(w io.Writer, ev chan<- events.EngineEvent) (err error) {
		opts := []optpreview.Option{optpreview.ProgressStreams(w), optpreview.ErrorProgressStreams(w)}
		if ev != nil {
			opts = append(opts, optpreview.EventStreams(ev))
		}
		res, err = s.stack.Preview(ctx, opts...)
		return err
	})
	return res, err
}

// Up creates or updates the stack's resources.
func (s *Stack) Up(ctx context.Context) (auto.UpResult, error) {
	var res auto.UpResult
	err := s.run(ctx, "up", func(w io.Writer, ev chan<- events.EngineEvent) (err error) {
		opts := []optup.Option{optup.ProgressStreams(w), optup.ErrorProgressStreams(w)}
		if ev != nil {
			opts = append(opts, optup.EventStreams(ev))
		}
		res, err = s.stack.Up(ctx, opts...)
		return err
	})
	return res, err
}

// Refresh reads the real state of the stack's resources into its state.
func (s *Stack) Refresh(ctx context.Context) (auto.RefreshResult, error) {
	var res auto.RefreshResult
	err := s.run(ctx, "refresh", func(w io.Writer, ev chan<- events.EngineEvent) (err error) {
		opts := []optrefresh.Option{optrefresh.ProgressStreams(w), optrefresh.ErrorProgressStreams(w)}
		if ev != nil {
			opts = append(opts, optrefresh.EventStreams(ev))
		}
		res, err = s.stack.Refresh(ctx, opts...)
		return err
	})
	return res, err
}

// Destroy deletes the stack's resources. Protected resources are never deleted: the
// engine deletes every unprotected resource it can (dependents first) and then
// fails, naming the protected ones, which stay in the stack's state.
func (s *Stack) Destroy(ctx context.Context) (auto.DestroyResult, error) {
	var res auto.DestroyResult
	err := s.run(ctx, "destroy", func(w io.Writer, ev chan<- events.EngineEvent) (err error) {
		opts := []optdestroy.Option{optdestroy.ProgressStreams(w), optdestroy.ErrorProgressStreams(w)}
		if ev != nil {
			opts = append(opts, optdestroy.EventStreams(ev))
		}
		res, err = s.stack.Destroy(ctx, opts...)
		return err
	})
	return res, err
}

// Outputs returns the stack's outputs from its last update; secret outputs are
// decrypted and marked Secret.
func (s *Stack) Outputs(ctx context.Context) (auto.OutputMap, error) {
	out, err := s.stack.Outputs(ctx)
	return out, s.wrap(ctx, "outputs", err)
}

// Deployment returns the stack's state: every resource with its inputs and
// outputs. Like `pulumi stack export --show-secrets`, it holds secrets in clear.
func (s *Stack) Deployment(ctx context.Context) (apitype.DeploymentV3, error) {
	var d apitype.DeploymentV3
	exported, err := s.stack.Export(ctx)
	if err != nil {
		return d, s.wrap(ctx, "export", err)
	}
	if err := json.Unmarshal(exported.Deployment, &d); err != nil {
		return d, s.wrap(ctx, "export", fmt.Errorf("read the deployment: %w", err))
	}
	return d, nil
}

// run gives op the progress writer and a channel of the operation's engine
// events, which the Automation API closes when the CLI's event stream ends. The
// events go to the caller's handler, if any, and their error diagnostics name the
// first error when the operation fails. run waits for the last event before
// returning; a CLI that failed before it connected its event stream never closes
// the channel, so after a failure run waits only briefly.
func (s *Stack) run(ctx context.Context, step string, op func(io.Writer, chan<- events.EngineEvent) error) error {
	w := s.opts.progress
	if w == nil {
		w = io.Discard
	}
	ch := make(chan events.EngineEvent)
	done := make(chan struct{})
	var diags []string
	go func() {
		defer close(done)
		for e := range ch {
			if d := e.DiagnosticEvent; d != nil && d.Severity == "error" {
				diags = append(diags, d.Message)
			}
			if s.opts.onEvent != nil {
				s.opts.onEvent(e)
			}
		}
	}()
	err := op(w, ch)
	if err == nil {
		<-done
		return nil
	}
	select {
	case <-done:
		return s.fail(ctx, step, diags, err)
	case <-time.After(eventDrainTimeout):
		// The collector may still be appending: report from the CLI's output.
		return s.fail(ctx, step, nil, err)
	}
}

// wrap reports a failed step that has no engine events (reading outputs).
func (s *Stack) wrap(ctx context.Context, step string, err error) error {
	if err == nil {
		return nil
	}
	return s.fail(ctx, step, nil, err)
}

// fail describes a failed step, keeping a canceled context visible to errors.Is,
// since the CLI only reports that it was interrupted.
func (s *Stack) fail(ctx context.Context, step string, diags []string, err error) error {
	e := opError(s.name, step, diags, err)
	if ctx.Err() != nil {
		e.First = fmt.Sprintf("%v: %s", ctx.Err(), e.First)
		e.Hint = fmt.Sprintf("run moodlectl %s --stack %s again when ready; what was already done is kept in the state", step, s.name)
		e.Err = fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	return e
}
