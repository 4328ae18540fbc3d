package automation

import (
	"io"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/stacks/preflight"
)

// Option configures how New selects the stack and where it keeps its state.
type Option func(*options)

type options struct {
	projectDir      string
	stackFile       string
	config          Config
	stateDir        string
	backendURL      string
	secretsProvider string
	passphrase      string
	passphraseFile  string
	progress        io.Writer
	onEvent         func(events.EngineEvent)
	env             map[string]string
	program         pulumi.RunFunc
	dockerHost      preflight.Host
	cancelGrace     time.Duration
}

// WithProjectDir names the folder holding Pulumi.yaml and the committed stack files.
// By default New looks for the moodle project's Pulumi.yaml in the working
// directory and its parents.
func WithProjectDir(dir string) Option { return func(o *options) { o.projectDir = dir } }

// WithStackFile takes the configuration from this stack file instead of the
// committed Pulumi.<stack>.yaml of the project.
func WithStackFile(path string) Option { return func(o *options) { o.stackFile = path } }

// WithConfig takes the configuration from cfg instead of a stack file.
func WithConfig(cfg Config) Option { return func(o *options) { o.config = cfg } }

// WithStateDir sets the local folder for the workspace and, unless WithBackendURL
// is given, the file backend's state. The default is ".state".
func WithStateDir(dir string) Option { return func(o *options) { o.stateDir = dir } }

// WithBackendURL stores state elsewhere than the local state folder: any URL that
// `pulumi login` accepts ("s3://bucket/prefix", "https://api.pulumi.com").
func WithBackendURL(url string) Option { return func(o *options) { o.backendURL = url } }

// WithSecretsProvider encrypts secrets with this provider instead of a passphrase
// ("awskms://alias/moodle?region=eu-west-1", "default" for Pulumi Cloud).
// It applies when the stack is created.
func WithSecretsProvider(provider string) Option {
	return func(o *options) { o.secretsProvider = provider }
}

// WithPassphrase sets the passphrase of the passphrase secrets provider. Without it
// PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE from the environment is used.
func WithPassphrase(passphrase string) Option { return func(o *options) { o.passphrase = passphrase } }

// WithPassphraseFile reads the passphrase from path, first writing a new random one
// there (mode 0600) when the file does not exist. It suits a local stack whose
// state and passphrase live on the same machine; it is ignored when WithPassphrase
// is given.
func WithPassphraseFile(path string) Option { return func(o *options) { o.passphraseFile = path } }

// WithProgress streams the engine's progress output to w while an operation runs.
func WithProgress(w io.Writer) Option { return func(o *options) { o.progress = w } }

// WithEvents calls fn with every engine event of an operation (resource steps
// with their diffs, diagnostics, the summary), in order, before the operation
// returns. fn runs on one goroutine at a time.
func WithEvents(fn func(events.EngineEvent)) Option { return func(o *options) { o.onEvent = fn } }

// WithEnv adds environment variables for the Pulumi CLI and the providers it
// starts (AWS_PROFILE, DOCKER_HOST, PULUMI_DEBUG_PROVIDERS).
func WithEnv(env map[string]string) Option {
	return func(o *options) {
		for k, v := range env {
			o.env[k] = v
		}
	}
}

// WithProgram runs program instead of the moodle program, for callers that wrap
// stacks.NewProgram with resources of their own.
func WithProgram(program pulumi.RunFunc) Option { return func(o *options) { o.program = program } }

// WithCancelGrace sets how long an operation whose context is cancelled may take to
// wind down before the CLI is killed (default 10 minutes): the engine finishes the
// steps in flight, records them and unlocks the stack, so the next operation starts
// from a consistent state. Killing it earlier can leave the stack locked.
func WithCancelGrace(d time.Duration) Option { return func(o *options) { o.cancelGrace = d } }

// WithDockerHost has the docker target's preflight ask host about the Docker host's
// capacity and images instead of the Docker engine the provider uses (a test whose
// Docker provider is a fake).
func WithDockerHost(host preflight.Host) Option { return func(o *options) { o.dockerHost = host } }
