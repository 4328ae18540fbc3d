package fakeprovider

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const tContainer = "docker:index/container:Container"

// TestContainerReadBack pins each rule of what pulumi-docker 4.10.0 reads back from
// Docker to the source it mirrors (paths under upstream/internal/provider of the
// archived provider source unless a module is named).
func TestContainerReadBack(t *testing.T) {
	health := func(kv ...string) resource.PropertyValue {
		m := resource.PropertyMap{}
		for i := 0; i < len(kv); i += 2 {
			m[resource.PropertyKey(kv[i])] = str(kv[i+1])
		}
		return obj(m)
	}
	caps := func(adds, drops []string) resource.PropertyValue {
		m := resource.PropertyMap{}
		if adds != nil {
			m["adds"] = strs(adds...)
		}
		if drops != nil {
			m["drops"] = strs(drops...)
		}
		return obj(m)
	}
	cases := []struct {
		rule   string
		source string
		key    resource.PropertyKey
		given  resource.PropertyValue
		want   resource.PropertyValue // null: Read leaves the value as given
		daemon Daemon
		also   resource.PropertyMap // more of the container's config
	}{
		{"a whole CPU count gains one decimal", "resource_docker_container_funcs.go:333-339,834-836; helpers.go:157-160",
			"cpus", str("2"), str("2.0"), Daemon{}, nil},
		{"a whole CPU count with a zero digit keeps a bare point", "helpers.go:154-164",
			"cpus", str("10"), str("10."), Daemon{}, nil},
		{"a fraction keeps its shortest form", "helpers.go:162-164",
			"cpus", str("1.50"), str("1.5"), Daemon{}, nil},
		{"a fraction whose nine decimals hold nine zeros rounds to one decimal", "helpers.go:157-160",
			"cpus", str("0.05"), str("0.1"), Daemon{}, nil},
		{"a half CPU reads back as written", "helpers.go:157-160",
			"cpus", str("0.5"), str("0.5"), Daemon{}, nil},
		{"health check durations come back in Go's format", "resource_docker_container_funcs.go:142-153,846-857",
			"healthcheck", health("interval", "15s", "timeout", "5000ms", "startPeriod", "60s", "startInterval", "90s"),
			health("interval", "15s", "timeout", "5s", "startPeriod", "1m0s", "startInterval", "1m30s"), Daemon{}, nil},
		{"capabilities come back upper-case, CAP_-prefixed, sorted and unique",
			"docker/docker@v28.5.1 client/container_create.go:57-58,141-170; resource_docker_container_funcs.go:788-796",
			"capabilities", caps([]string{"setuid", "CHOWN", "CAP_SETGID", "SETUID"}, []string{"all"}),
			caps([]string{"CAP_CHOWN", "CAP_SETGID", "CAP_SETUID"}, []string{"ALL"}), Daemon{}, nil},
		{"init comes back false when unset", "resource_docker_container_funcs.go:426-427,782-786",
			"init", resource.NewNullProperty(), resource.NewBoolProperty(false), Daemon{}, nil},
		{"memory comes back as given", "resource_docker_container_funcs.go:313-315,820",
			"memory", num(8192), resource.NewNullProperty(), Daemon{}, nil},
		{"envs are not read back", "resource_docker_container_funcs.go:808-813",
			"envs", strs("A=1"), resource.NewNullProperty(), Daemon{}, nil},
		{"the daemon's log options join the container's on the daemon's driver",
			"moby daemon/logs.go mergeAndVerifyLogConfig; resource_docker_container_funcs.go:366-368,840",
			"logOpts", obj(resource.PropertyMap{"max-size": str("10m")}),
			obj(resource.PropertyMap{"max-size": str("10m"), "compress": str("true")}),
			Daemon{LogDriver: "json-file", LogOpts: map[string]string{"max-size": "50m", "compress": "true"}},
			resource.PropertyMap{"logDriver": str("json-file")}},
		{"the daemon's log options stay out of a container on another driver",
			"moby daemon/logs.go mergeAndVerifyLogConfig",
			"logOpts", obj(resource.PropertyMap{"max-size": str("10m")}), obj(resource.PropertyMap{"max-size": str("10m")}),
			Daemon{LogDriver: "local", LogOpts: map[string]string{"compress": "true"}},
			resource.PropertyMap{"logDriver": str("json-file")}},
		{"a container with no log options of its own reads back the daemon's",
			"moby daemon/logs.go mergeAndVerifyLogConfig; resource_docker_container_funcs.go:840",
			"logOpts", resource.NewNullProperty(), obj(resource.PropertyMap{"compress": str("true")}),
			Daemon{LogDriver: "json-file", LogOpts: map[string]string{"compress": "true"}}, nil},
		{"the daemon's default ulimits are read back beside the container's",
			"moby daemon/inspect.go getInspectData, daemon/daemon_unix.go mergeUlimits; resource_docker_container_funcs.go:804",
			"ulimits", resource.NewNullProperty(),
			resource.NewArrayProperty([]resource.PropertyValue{obj(resource.PropertyMap{"name": str("nofile"), "soft": num(65536), "hard": num(65536)})}),
			Daemon{Ulimits: map[string][2]int{"nofile": {65536, 65536}}}, nil},
		{"a swap limit reads back -1 where the kernel cannot limit swap",
			"moby daemon/daemon_unix.go verifyPlatformContainerResources; resource_docker_container_funcs.go:828-832",
			"memorySwap", num(512), num(-1), Daemon{NoSwapLimit: true}, nil},
		{"a swap limit reads back as given where the kernel limits swap",
			"resource_docker_container_funcs.go:321-323,828-832",
			"memorySwap", num(512), resource.NewNullProperty(), Daemon{}, nil},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			config := resource.PropertyMap{"name": str("app-1")}
			for k, v := range c.also {
				config[k] = v
			}
			if !c.given.IsNull() {
				config[c.key] = c.given
			}
			read, err := c.daemon.readContainer(config)
			if err != nil {
				t.Fatal(err)
			}
			got, set := read[c.key]
			if c.want.IsNull() {
				if set {
					t.Errorf("%s: Read reports %v for %v, want it left as given (%s)", c.key, got, c.given, c.source)
				}
				return
			}
			if !got.DeepEquals(c.want) {
				t.Errorf("%s %v reads back %v, want %v (%s)", c.key, c.given, got, c.want, c.source)
			}
		})
	}
}

func TestContainerCreate_RefusesCPUsDockerCannotHold(t *testing.T) {
	// opts.ParseCPUs (docker/cli@v28.5.1 opts/opts.go:425-435) works in nano-CPUs.
	s := newTestServer(t, dockerPackage(Daemon{}))
	_, err := s.Create(context.Background(), &pulumirpc.CreateRequest{
		Urn: containerURN, Properties: mustMarshal(t, resource.PropertyMap{"cpus": str("0.0000000001")}),
	})
	if err == nil || !strings.Contains(err.Error(), "value is too precise") {
		t.Errorf("got %v, want the provider's refusal", err)
	}
}

const containerURN = "urn:pulumi:dev::moodle::" + tContainer + "::app-1"

// create makes a container from config and returns its id and state.
func create(t *testing.T, s *server, config resource.PropertyMap) (string, resource.PropertyMap) {
	t.Helper()
	resp, err := s.Create(context.Background(), &pulumirpc.CreateRequest{Urn: containerURN, Properties: mustMarshal(t, config)})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Id, mustUnmarshal(t, resp.Properties)
}

// refresh reads the container as `pulumi refresh` does and returns its state and inputs.
func refresh(t *testing.T, s *server, id string, state, inputs resource.PropertyMap) (resource.PropertyMap, resource.PropertyMap) {
	t.Helper()
	resp, err := s.Read(context.Background(), &pulumirpc.ReadRequest{
		Id: id, Urn: containerURN, Properties: mustMarshal(t, state), Inputs: mustMarshal(t, inputs),
	})
	if err != nil {
		t.Fatal(err)
	}
	return mustUnmarshal(t, resp.Properties), mustUnmarshal(t, resp.Inputs)
}

func TestContainer_CreateReportsWhatTheProviderReadsBackAndRefreshMakesItTheInputs(t *testing.T) {
	s := newTestServer(t, dockerPackage(Daemon{}))
	config := resource.PropertyMap{"name": str("app-1"), "cpus": str("4"), "memory": num(8192),
		"networkMode": str("backend"), "networksAdvanced": resource.NewArrayProperty([]resource.PropertyValue{
			obj(resource.PropertyMap{"name": str("backend")}), obj(resource.PropertyMap{"name": str("egress")}),
		})}
	id, state := create(t, s, config)
	if got := state["cpus"]; got.StringValue() != "4.0" {
		t.Errorf("create reports cpus %v, want the provider's 4.0", got)
	}
	if _, old := state["networkData"]; old || !state["networkDatas"].IsArray() {
		t.Fatalf("create reports %v, want networkDatas (the SDK's name)", state.StableKeys())
	}
	var networks []string
	for _, n := range state["networkDatas"].ArrayValue() {
		networks = append(networks, n.ObjectValue()["networkName"].StringValue())
	}
	if strings.Join(networks, ",") != "backend,egress" {
		t.Errorf("network data for %v, want backend and egress", networks)
	}

	_, inputs := refresh(t, s, id, state, config)
	if got := inputs["cpus"]; got.StringValue() != "4.0" || inputs["memory"].NumberValue() != 8192 {
		t.Errorf("inputs after refresh: cpus %v memory %v, want 4.0 (read back) and 8192", got, inputs["memory"])
	}
}

func TestContainer_UpdateReachesDockerOnlyForWhatDockerUpdateChanges(t *testing.T) {
	s := newTestServer(t, dockerPackage(Daemon{}))
	config := resource.PropertyMap{"name": str("cron"), "memory": num(512), "init": resource.NewBoolProperty(false),
		"healthcheck": obj(resource.PropertyMap{"interval": str("15s")})}
	id, state := create(t, s, config)
	news := resource.PropertyMap{"name": str("cron"), "memory": num(1024), "init": resource.NewBoolProperty(true),
		"healthcheck": obj(resource.PropertyMap{"interval": str("30s")})}
	resp, err := s.Update(context.Background(), &pulumirpc.UpdateRequest{
		Id: id, Urn: containerURN, Olds: mustMarshal(t, state), OldInputs: mustMarshal(t, config), News: mustMarshal(t, news),
	})
	if err != nil {
		t.Fatal(err)
	}
	updated := mustUnmarshal(t, resp.Properties)
	if !updated["init"].BoolValue() || updated["healthcheck"].ObjectValue()["interval"].StringValue() != "30s" {
		t.Errorf("the state after the update holds %v, want the new inputs", updated)
	}

	read, _ := refresh(t, s, id, updated, news)
	if got := read["memory"].NumberValue(); got != 1024 {
		t.Errorf("memory read back %v, want 1024: docker update changes it", got)
	}
	if read["init"].BoolValue() || read["healthcheck"].ObjectValue()["interval"].StringValue() != "15s" {
		t.Errorf("init %v, health check %v read back: want the container's own false and 15s, which no update reaches",
			read["init"], read["healthcheck"])
	}
}

func TestContainer_ReadOfAVanishedContainerDropsIt(t *testing.T) {
	s := newTestServer(t, dockerPackage(Daemon{}))
	resp, err := s.Read(context.Background(), &pulumirpc.ReadRequest{
		Id: "gone", Urn: containerURN, Properties: mustMarshal(t, resource.PropertyMap{"name": str("app-1")}),
		Inputs: mustMarshal(t, resource.PropertyMap{"name": str("app-1")}),
	})
	if err != nil || resp.Id != "" {
		t.Errorf("got id %q, %v; want an empty id, as the provider answers for a container Docker no longer has", resp.GetId(), err)
	}
}

// docker.Image's Check hashes the build context (provider.go:196-207), and a build
// reports the built image's ID as repoDigest (image.go:308-316): an edited file is
// a new digest and a new ID, an untouched context the same ones.
func TestImage_AnEditedContextIsANewDigestAndANewImage(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "Dockerfile")
	inputs := resource.PropertyMap{"imageName": str("moodle:dev"), "build": obj(resource.PropertyMap{"context": str(dir)})}
	checked := func() resource.PropertyMap {
		t.Helper()
		out, err := checkImage(inputs)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if err := os.WriteFile(file, []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	first, again := checked(), checked()
	if builtImageID(first) != builtImageID(again) {
		t.Errorf("the same context built twice gives two IDs")
	}
	if err := os.WriteFile(file, []byte("FROM scratch\nLABEL edited=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	edited := checked()
	digest := func(m resource.PropertyMap) string { return m["build"].ObjectValue()["contextDigest"].StringValue() }
	if digest(first) == "" || digest(first) == digest(edited) {
		t.Errorf("context digests %q and %q, want two different ones", digest(first), digest(edited))
	}
	if builtImageID(first) == builtImageID(edited) {
		t.Errorf("an edited context builds the same image ID")
	}
}

// TestImageRegistryAndDigest pins docker.Image's rules for a pushed image to the
// provider source it mirrors (pulumi-docker 4.10.0 provider/).
func TestImageRegistryAndDigest(t *testing.T) {
	registry := func(server, password string) resource.PropertyValue {
		return obj(resource.PropertyMap{"server": str(server), "username": str("AWS"), "password": resource.MakeSecret(str(password))})
	}
	for _, tc := range []struct {
		rule, source string
		a, b         resource.PropertyValue
		same         bool
	}{
		{"a new password alone is no change", "provider.go:330-349", registry("r.example", "one"), registry("r.example", "two"), true},
		{"another server is a change", "provider.go:330-349", registry("r.example", "one"), registry("s.example", "one"), false},
	} {
		if got := sameRegistryServer(tc.a, tc.b); got != tc.same {
			t.Errorf("%s (%s): same %v", tc.rule, tc.source, got)
		}
	}

	build := obj(resource.PropertyMap{"context": str("/ctx"), "platform": str("linux/amd64")})
	pushed := resource.PropertyMap{"imageName": str("127.0.0.1:5000/team/app:abc"), "build": build, "registry": registry("127.0.0.1:5000", "one")}
	digest := imageDigest(pushed)
	// image.go:344-380: the name without its tag, @, the pushed manifest's digest.
	if !strings.HasPrefix(digest, "127.0.0.1:5000/team/app@sha256:") {
		t.Errorf("pushed repoDigest %q, want the repository @ a digest", digest)
	}
	again := pushed.Copy()
	again["registry"] = registry("127.0.0.1:5000", "two")
	if imageDigest(again) != digest {
		t.Error("new credentials change the pushed digest")
	}
	// image.go:308-316: without a push, the built image's ID.
	local := pushed.Copy()
	local["skipPush"] = resource.NewBoolProperty(true)
	if id := imageDigest(local); !strings.HasPrefix(id, "sha256:") {
		t.Errorf("local repoDigest %q, want the image ID", id)
	}
}
