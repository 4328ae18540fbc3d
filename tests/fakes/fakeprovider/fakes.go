package fakeprovider

import (
	"crypto/rand"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// FakeAccount is the AWS account id in every ARN the fake aws provider makes.
const FakeAccount = "123456789012"

// Env is what a fake knows about its world when it computes an output.
type Env struct {
	Region  string
	Account string
	// DefaultTags are the AWS provider's default tags, which every taggable
	// resource's tagsAll carries.
	DefaultTags resource.PropertyMap
	random      func(n int) string
}

// Random returns n random lowercase letters and digits.
func (e Env) Random(n int) string { return e.random(n) }

// ARN builds an ARN in the fake's region and account.
func (e Env) ARN(service, rest string) string {
	return "arn:aws:" + service + ":" + e.Region + ":" + e.Account + ":" + rest
}

// Resource is a resource as a fake sees it while creating it.
type Resource struct {
	URN    resource.URN
	ID     string // empty during preview
	Inputs resource.PropertyMap
}

// Name is the resource's logical name in the program.
func (r Resource) Name() string { return r.URN.Name() }

// Str returns a string input, or "" when it is absent, not a string or unknown.
func (r Resource) Str(key string) string {
	v, ok := r.Inputs[resource.PropertyKey(key)]
	if ok && v.IsSecret() {
		v = v.SecretValue().Element
	}
	if !ok || !v.IsString() {
		return ""
	}
	return v.StringValue()
}

// StrOr returns the string input key, or def when it is not set.
func (r Resource) StrOr(key, def string) string {
	if s := r.Str(key); s != "" {
		return s
	}
	return def
}

// Kind is how a fake provider treats one resource type.
type Kind struct {
	// ForceNew reports whether a change of the top-level input property forces the
	// real provider to replace the resource. Nil means nothing does.
	ForceNew func(prop string) bool
	// AutoName is the input property the provider fills from the resource name when
	// the program leaves it unset ("name", "bucket", "identifier").
	AutoName string
	// ID makes the resource's id; nil means 17 random characters.
	ID func(Env, Resource) string
	// Outputs returns the properties the provider computes. Values for properties
	// the program set as inputs are ignored.
	Outputs func(Env, Resource) resource.PropertyMap
	// Secrets are the computed outputs that hold generated secrets; the fakes
	// remember their values so tests can prove they never reach disk in clear.
	Secrets []string

	// ReadBack is what the provider's Read reports for an object created (or
	// updated in place) with config: its own formatting of the values the object
	// really holds ("2" CPUs come back "2.0"). Create returns it, as the provider's
	// Create ends by reading the object, and so does every refresh. It fails where
	// the provider refuses the config. Nil: the provider reports what it was given.
	ReadBack func(config resource.PropertyMap) (resource.PropertyMap, error)
	// Applied reports whether an in-place update of a property reaches the real
	// object; an updated property it refuses changes only the state, and the next
	// refresh reads the object's old value back. Used with ReadBack.
	Applied func(prop string) bool
	// Sets are the properties whose element order means nothing (Terraform sets):
	// the diff compares them as sets. "capabilities.adds" names a nested one.
	Sets []string
	// Check adds what the provider's own Check adds to the inputs (docker.Image's
	// build context digest); nil adds nothing.
	Check func(inputs resource.PropertyMap) (resource.PropertyMap, error)
	// Rebuilds makes an update compute the outputs anew, as a docker.Image update
	// builds the image again; otherwise an update keeps the computed outputs.
	Rebuilds bool
	// Updated returns the computed outputs an in-place update changes, from the
	// outputs before it and the old and new inputs (a launch template's new
	// version); preview asks for the plan, where a value the update will compute
	// is unknown. Nil: an update keeps them (or Rebuilds them).
	Updated func(olds, oldInputs, news resource.PropertyMap, preview bool) resource.PropertyMap
	// Equivalent are the properties the provider compares by meaning rather than by
	// value (a DiffSuppressFunc): a pair it calls equivalent is no change.
	Equivalent map[string]func(a, b resource.PropertyValue) bool
	// Unset are the optional, non-computed properties ReadBack may report while the
	// program leaves them unset: the bridge plans such a state value away, a change
	// (Terraform's diff compares the state with the config, where the value is
	// null); one that forces replacement replaces the resource.
	Unset []string
	// DiffInputs makes the diff compare the new inputs with the old inputs. Bridged
	// (Terraform) providers compare them with the old state, which holds what the
	// provider read back; providers written for Pulumi (docker.Image) keep and
	// compare their inputs.
	DiffInputs bool
	// ForceNewIf is a CustomizeDiff that forces replacement by the values: it is
	// asked about every changed property, with the old state and the new inputs.
	ForceNewIf func(prop string, olds, news resource.PropertyMap) bool
	// Settle is what the provider does between changing the object and answering
	// a create or update (an ECS service waiting for its steady state): from the
	// old state (nil on create) and the new outputs, with lookup finding the
	// outputs of another resource by ARN and timeout the resource's custom
	// timeout (0 for none), it returns the outputs the provider reads back, or
	// fails. Nil: the provider answers at once.
	Settle func(lookup func(arn string) (resource.PropertyMap, bool), olds, outs resource.PropertyMap, timeout time.Duration) (resource.PropertyMap, error)
}

func (k *Kind) newID(env Env, r Resource) string {
	if k.ID != nil {
		return k.ID(env, r)
	}
	return env.Random(17)
}

func (k *Kind) outputs(env Env, r Resource) resource.PropertyMap {
	if k.Outputs == nil {
		return nil
	}
	return k.Outputs(env, r)
}

func (k *Kind) forceNew(prop string, olds, news resource.PropertyMap) bool {
	return (k.ForceNew != nil && k.ForceNew(prop)) || (k.ForceNewIf != nil && k.ForceNewIf(prop, olds, news))
}

func (k *Kind) isSecret(prop string) bool {
	for _, s := range k.Secrets {
		if s == prop {
			return true
		}
	}
	return false
}

// Kind's ForceNew helpers.

// only forces replacement for the listed properties.
func only(props ...string) func(string) bool {
	set := toSet(props)
	return func(p string) bool { return set[p] }
}

// allBut forces replacement for every property except the listed ones.
func allBut(props ...string) func(string) bool {
	set := toSet(props)
	return func(p string) bool { return !set[p] }
}

// every property forces replacement.
func every(string) bool { return true }

func toSet(items []string) map[string]bool {
	set := make(map[string]bool, len(items))
	for _, i := range items {
		set[i] = true
	}
	return set
}

// InvokeFunc answers one data source.
type InvokeFunc func(Env, resource.PropertyMap) (resource.PropertyMap, error)

// Package is one provider package the fakes serve.
type Package struct {
	Name    string
	Version string // the SDK's version, so the engine does not warn about a mismatch
	Kinds   map[string]*Kind
	// Default serves resource types missing from Kinds.
	Default *Kind
	Invokes map[string]InvokeFunc
}

// Fakes are the running fake providers of one test or benchmark.
type Fakes struct {
	servers []*server
	journal *journal
}

// Option changes what the fakes stand in for.
type Option func(*options)

type options struct {
	daemon Daemon
	ecs    ECSRuntime
}

// WithDaemon makes the docker fake stand in for a daemon configured as d.
func WithDaemon(d Daemon) Option { return func(o *options) { o.daemon = d } }

// Start serves the aws, docker and random fakes on free loopback ports.
func Start(opts ...Option) (*Fakes, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	j := &journal{untabled: map[string]bool{}, randomSrc: randomString}
	f := &Fakes{journal: j}
	for _, pkg := range []*Package{awsPackage(o.ecs), dockerPackage(o.daemon), randomPackage()} {
		s, err := startServer(pkg, j)
		if err != nil {
			f.Close()
			return nil, err
		}
		f.servers = append(f.servers, s)
	}
	return f, nil
}

// DebugProviders is the value of PULUMI_DEBUG_PROVIDERS that points the engine at
// the fakes ("aws:41231,docker:41233,random:41235").
func (f *Fakes) DebugProviders() string {
	parts := make([]string, len(f.servers))
	for i, s := range f.servers {
		parts[i] = fmt.Sprintf("%s:%d", s.pkg.Name, s.port())
	}
	return strings.Join(parts, ",")
}

// Requests returns the calls made so far, in the order they arrived.
func (f *Fakes) Requests() []Request {
	f.journal.mu.Lock()
	defer f.journal.mu.Unlock()
	return append([]Request(nil), f.journal.requests...)
}

// ResetRequests forgets the calls made so far, so the next operation's stand alone.
func (f *Fakes) ResetRequests() {
	f.journal.mu.Lock()
	defer f.journal.mu.Unlock()
	f.journal.requests = nil
}

// GeneratedSecrets returns every secret value the fakes generated (passwords and
// their hashes), for tests that search for them where they must not appear.
func (f *Fakes) GeneratedSecrets() []string {
	f.journal.mu.Lock()
	defer f.journal.mu.Unlock()
	return append([]string(nil), f.journal.secrets...)
}

// Untabled lists the resource types the fakes served with their package's default
// behaviour because they have no table of their own: their replacement rules and
// computed outputs are approximations.
func (f *Fakes) Untabled() []string {
	f.journal.mu.Lock()
	defer f.journal.mu.Unlock()
	out := make([]string, 0, len(f.journal.untabled))
	for t := range f.journal.untabled {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Close stops the servers.
func (f *Fakes) Close() {
	for _, s := range f.servers {
		s.grpc.Stop()
	}
}

const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

func randomString(n int) string {
	return randomFrom(alphabet, n)
}

func randomFrom(chars string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never returns an error since Go 1.24
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b)
}

func str(s string) resource.PropertyValue { return resource.NewStringProperty(s) }

func num(n float64) resource.PropertyValue { return resource.NewNumberProperty(n) }

func strs(items ...string) resource.PropertyValue {
	vals := make([]resource.PropertyValue, len(items))
	for i, s := range items {
		vals[i] = str(s)
	}
	return resource.NewArrayProperty(vals)
}
