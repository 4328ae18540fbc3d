// Package fakeprovider serves in-process fakes of the aws, docker and random
// resource providers over gRPC, so the real Pulumi engine can run the program
// without the provider plugins, which cannot be downloaded here. Each fake answers
// like its provider where the engine can tell the difference: it fills computed
// outputs (unknown during preview), names resources the way the provider
// auto-names them, reports what the provider reads back from the real object (a
// container's "2" CPUs as "2.0"), diffs the program's inputs against that state as
// the Terraform bridge does, reports replacement for the properties that force it on
// the real provider, and records every request for assertions.
//
// Attach the fakes with the environment variable the engine reads:
//
//	fakes, err := fakeprovider.Start()
//	env["PULUMI_DEBUG_PROVIDERS"] = fakes.DebugProviders()
package fakeprovider

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// Request is one call the engine made to a fake provider.
type Request struct {
	Package string    // "aws", "docker", "random"
	Method  string    // the gRPC method: "Check", "Diff", "Create", "Update", "Delete", "Read", "Invoke"
	Token   string    // the resource type or invoke token
	URN     string    // empty for invokes
	Preview bool      // true when the engine only asked what would happen
	At      time.Time // when the call arrived
}

// journal is shared by the servers of one Fakes so requests come back in the order
// the engine made them across packages.
type journal struct {
	mu        sync.Mutex
	requests  []Request
	secrets   []string
	untabled  map[string]bool
	randomSrc func(n int) string
}

func (j *journal) record(r Request) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.requests = append(j.requests, r)
}

func (j *journal) generated(secret string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.secrets = append(j.secrets, secret)
}

func (j *journal) servedGenerically(token string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.untabled[token] = true
}

// server is one fake provider package on its own port.
type server struct {
	pulumirpc.UnimplementedResourceProviderServer
	pkg      *Package
	journal  *journal
	grpc     *grpc.Server
	listener net.Listener

	mu     sync.Mutex
	config resource.PropertyMap // the last provider configuration, e.g. the aws region
	// objects are the real objects behind the resources of kinds with a ReadBack,
	// by id: the configuration each holds, which in-place updates change.
	objects map[string]resource.PropertyMap
	// byARN are the outputs of every resource created with an ARN, for a Settle
	// that looks one up (the task definition an ECS service runs); a deleted
	// resource stays, as a deregistered task definition revision stays
	// describable.
	byARN map[string]resource.PropertyMap
}

func startServer(pkg *Package, j *journal) (*server, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fakeprovider %s: listen: %w", pkg.Name, err)
	}
	s := &server{pkg: pkg, journal: j, grpc: grpc.NewServer(), listener: lis, objects: map[string]resource.PropertyMap{}, byARN: map[string]resource.PropertyMap{}}
	pulumirpc.RegisterResourceProviderServer(s.grpc, s)
	go func() { _ = s.grpc.Serve(lis) }()
	return s, nil
}

func (s *server) port() int { return s.listener.Addr().(*net.TCPAddr).Port }

// The marshalling options keep what the engine sends (secrets, unknowns) intact, so
// a secret input stays secret in the outputs the fake returns.
var marshalOpts = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true}

func unmarshal(s *structpb.Struct) (resource.PropertyMap, error) {
	m, err := plugin.UnmarshalProperties(s, marshalOpts)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "fakeprovider: %v", err)
	}
	return m, nil
}

func marshal(m resource.PropertyMap) (*structpb.Struct, error) {
	s, err := plugin.MarshalProperties(m, marshalOpts)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "fakeprovider: %v", err)
	}
	return s, nil
}

func (s *server) record(method, token, urn string, preview bool) {
	s.journal.record(Request{Package: s.pkg.Name, Method: method, Token: token, URN: urn, Preview: preview, At: time.Now()})
}

// kind returns the behaviour table of a resource type, falling back to the
// package default and noting the type so a test can report what ran untabled.
func (s *server) kind(token string) *Kind {
	if k, ok := s.pkg.Kinds[token]; ok {
		return k
	}
	s.journal.servedGenerically(token)
	return s.pkg.Default
}

func (s *server) env() Env {
	s.mu.Lock()
	defer s.mu.Unlock()
	region := "us-east-1"
	if v, ok := s.config["region"]; ok && v.IsString() && v.StringValue() != "" {
		region = v.StringValue()
	}
	env := Env{Region: region, Account: FakeAccount, random: s.journal.randomSrc}
	// pulumi-aws's provider argument defaultTags: {tags: {...}}.
	if dt := s.config["defaultTags"]; dt.IsObject() {
		if tags := dt.ObjectValue()["tags"]; tags.IsObject() {
			env.DefaultTags = tags.ObjectValue().Copy()
		}
	}
	return env
}

func (s *server) Attach(context.Context, *pulumirpc.PluginAttach) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (s *server) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: s.pkg.Version}, nil
}

func (s *server) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (s *server) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (s *server) DiffConfig(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := unmarshal(req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	return diff(olds, olds, news, &Kind{}, nil), nil
}

func (s *server) Configure(_ context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	args, err := unmarshal(req.GetArgs())
	if err != nil {
		return nil, err
	}
	// A default provider gets every setting of its namespace as a string (pulumi
	// pkg/resource/deploy/target.go, Target.GetPackageConfig:
	// property.New(c.Value(...))); the bridge decodes the ones its schema does
	// not type as strings as JSON, failing on text that is none
	// (pulumi-terraform-bridge pkg/tfbridge/config_encoding.go,
	// ConfigEncoding.convertStringToPropertyValue). pulumi-aws's defaultTags is
	// such an object; an explicit provider's argument arrives as the object.
	if dt := args["defaultTags"]; dt.IsString() && dt.StringValue() != "" {
		var decoded map[string]any
		if err := json.Unmarshal([]byte(dt.StringValue()), &decoded); err != nil {
			return nil, fmt.Errorf("fakeprovider: config defaultTags %q: %w", dt.StringValue(), err)
		}
		args["defaultTags"] = resource.NewObjectProperty(resource.NewPropertyMapFromMap(decoded))
	}
	s.mu.Lock()
	s.config = args
	s.mu.Unlock()
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true, AcceptResources: true}, nil
}

// Check returns the inputs with the provider's auto-name filled in: the old name
// when the resource exists, a new suffixed one otherwise, as the real providers do.
func (s *server) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	urn := resource.URN(req.GetUrn())
	s.record("Check", string(urn.Type()), string(urn), false)
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	kind := s.kind(string(urn.Type()))
	if kind.Check != nil {
		if news, err = kind.Check(news); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "fakeprovider %s: check %s: %v", s.pkg.Name, urn.Name(), err)
		}
	}
	if prop := kind.AutoName; prop != "" {
		key := resource.PropertyKey(prop)
		if _, set := news[key]; !set {
			if old, ok := olds[key]; ok {
				news[key] = old
			} else {
				news[key] = resource.NewStringProperty(urn.Name() + "-" + s.journal.randomSrc(7))
			}
		}
	}
	inputs, err := marshal(news)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs}, nil
}

// Diff compares the new inputs with the old state, as the bridged providers do
// (diff.go), or with the old inputs for the kinds that keep them, and asks for
// replacement where the real provider would.
func (s *server) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	urn := resource.URN(req.GetUrn())
	s.record("Diff", string(urn.Type()), string(urn), false)
	olds, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	oldInputs, err := unmarshal(req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	kind := s.kind(string(urn.Type()))
	if kind.DiffInputs {
		olds = oldInputs
	}
	return diff(olds, oldInputs, news, kind, req.GetIgnoreChanges()), nil
}

// Create returns the inputs plus the computed outputs, with what the provider reads
// back from the new object written over them; during preview the computed outputs
// are unknown, as the real provider cannot know an ARN before it exists.
func (s *server) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	urn := resource.URN(req.GetUrn())
	token := string(urn.Type())
	s.record("Create", token, string(urn), req.GetPreview())
	inputs, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	kind := s.kind(token)
	env := s.env()
	id := ""
	if !req.GetPreview() {
		id = kind.newID(env, Resource{URN: urn, Inputs: inputs})
	}
	computed := kind.outputs(env, Resource{URN: urn, ID: id, Inputs: inputs})
	outs := inputs.Copy()
	for k, v := range computed {
		if _, isInput := inputs[k]; isInput {
			continue
		}
		if req.GetPreview() {
			v = resource.MakeComputed(resource.NewStringProperty(""))
		} else if kind.isSecret(string(k)) {
			s.journal.generated(v.StringValue())
		}
		outs[k] = v
	}
	if kind.ReadBack != nil && !req.GetPreview() {
		read, err := kind.ReadBack(inputs)
		if err != nil {
			return nil, status.Errorf(codes.Unknown, "fakeprovider %s: create %s: %v", s.pkg.Name, urn.Name(), err)
		}
		outs = overlay(outs, read)
		s.setObject(id, inputs)
	}
	if !req.GetPreview() {
		if outs, err = s.settle(kind, urn, nil, outs, req.GetTimeout()); err != nil {
			return nil, err
		}
		if arn := outs["arn"]; arn.IsString() {
			s.mu.Lock()
			s.byARN[arn.StringValue()] = outs
			s.mu.Unlock()
		}
	}
	props, err := marshal(outs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

// Update keeps the computed outputs of the existing resource and takes the new
// inputs over the old ones into the state; the real object changes only where the
// kind applies an update in place.
func (s *server) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	urn := resource.URN(req.GetUrn())
	s.record("Update", string(urn.Type()), string(urn), req.GetPreview())
	olds, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	oldInputs, err := unmarshal(req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	outs := olds.Copy()
	for k := range oldInputs {
		if _, kept := news[k]; !kept {
			delete(outs, k)
		}
	}
	for k, v := range news {
		outs[k] = v
	}
	kind := s.kind(string(urn.Type()))
	if kind.Rebuilds {
		for k, v := range kind.outputs(s.env(), Resource{URN: urn, ID: req.GetId(), Inputs: news}) {
			if _, isInput := news[k]; isInput {
				continue
			}
			if req.GetPreview() {
				v = resource.MakeComputed(resource.NewStringProperty(""))
			}
			outs[k] = v
		}
	}
	if kind.Updated != nil {
		for k, v := range kind.Updated(olds, oldInputs, news, req.GetPreview()) {
			outs[k] = v
		}
	}
	if kind.ReadBack != nil && !req.GetPreview() {
		s.applyInPlace(req.GetId(), news, kind.Applied)
	}
	if !req.GetPreview() {
		if outs, err = s.settle(kind, urn, olds, outs, req.GetTimeout()); err != nil {
			return nil, err
		}
	}
	props, err := marshal(outs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

// settle runs the kind's Settle, if any, on a create's or update's outputs; a
// failure is the provider's error, which the engine reports for the resource.
func (s *server) settle(kind *Kind, urn resource.URN, olds, outs resource.PropertyMap, timeoutSeconds float64) (resource.PropertyMap, error) {
	if kind.Settle == nil {
		return outs, nil
	}
	lookup := func(arn string) (resource.PropertyMap, bool) {
		s.mu.Lock()
		defer s.mu.Unlock()
		out, ok := s.byARN[arn]
		return out, ok
	}
	settled, err := kind.Settle(lookup, olds, outs, time.Duration(timeoutSeconds*float64(time.Second)))
	if err != nil {
		return nil, status.Errorf(codes.Unknown, "fakeprovider %s: %s: %v", s.pkg.Name, urn.Name(), err)
	}
	return settled, nil
}

func (s *server) Delete(_ context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	urn := resource.URN(req.GetUrn())
	s.record("Delete", string(urn.Type()), string(urn), false)
	s.mu.Lock()
	delete(s.objects, req.GetId())
	s.mu.Unlock()
	return &emptypb.Empty{}, nil
}

// Read reports what the real object holds, as the provider reads it back, and the
// inputs the bridge derives from that; an object nobody touched reads back as it
// was created. A resource of a kind without ReadBack is reported unchanged.
func (s *server) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	urn := resource.URN(req.GetUrn())
	s.record("Read", string(urn.Type()), string(urn), false)
	kind := s.kind(string(urn.Type()))
	if kind.ReadBack == nil {
		return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
	}
	config, exists := s.object(req.GetId())
	if !exists {
		// The provider answers a vanished object with an empty id: the engine drops it.
		return &pulumirpc.ReadResponse{}, nil
	}
	state, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	oldInputs, err := unmarshal(req.GetInputs())
	if err != nil {
		return nil, err
	}
	read, err := kind.ReadBack(config)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "fakeprovider %s: read %s: %v", s.pkg.Name, urn.Name(), err)
	}
	state = overlay(state, read)
	props, err := marshal(state)
	if err != nil {
		return nil, err
	}
	inputs, err := marshal(refreshedInputs(oldInputs, state))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: props, Inputs: inputs}, nil
}

func (s *server) setObject(id string, config resource.PropertyMap) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects[id] = config.Copy()
}

func (s *server) object(id string) (resource.PropertyMap, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	config, ok := s.objects[id]
	return config, ok
}

// applyInPlace changes the object's configuration where an update reaches it.
func (s *server) applyInPlace(id string, news resource.PropertyMap, applied func(string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	config, ok := s.objects[id]
	if !ok || applied == nil {
		return
	}
	for _, k := range append(config.StableKeys(), news.StableKeys()...) {
		if !applied(string(k)) {
			continue
		}
		if v, set := news[k]; set {
			config[k] = v
		} else {
			delete(config, k)
		}
	}
}

// Invoke answers the data sources the package knows and fails naming the token
// otherwise, so a missing fake shows up as a clear error rather than a wrong value.
func (s *server) Invoke(_ context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	s.record("Invoke", req.GetTok(), "", false)
	fn, ok := s.pkg.Invokes[req.GetTok()]
	if !ok {
		known := make([]string, 0, len(s.pkg.Invokes))
		for tok := range s.pkg.Invokes {
			known = append(known, tok)
		}
		sort.Strings(known)
		return nil, status.Errorf(codes.Unimplemented,
			"fakeprovider %s: no fake for invoke %s (faked: %s); add it to tests/fakes/fakeprovider",
			s.pkg.Name, req.GetTok(), strings.Join(known, ", "))
	}
	args, err := unmarshal(req.GetArgs())
	if err != nil {
		return nil, err
	}
	result, err := fn(s.env(), args)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "fakeprovider %s: invoke %s: %v", s.pkg.Name, req.GetTok(), err)
	}
	ret, err := marshal(result)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.InvokeResponse{Return: ret}, nil
}
