package fakeprovider

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// The docker fake follows pulumi-docker v4.10.0: provider/ of its source, which
// bridges upstream/ (kreuzwerker/terraform-provider-docker) through
// pulumi-terraform-bridge v3.116.0, with the Docker client it builds with
// (github.com/docker/docker and github.com/docker/cli v28.5.1). Line numbers below
// are in upstream/internal/provider unless a file says otherwise.

const hexDigits = "0123456789abcdef"

func dockerID(Env, Resource) string { return randomFrom(hexDigits, 64) }

// containerUpdatable are the container arguments the schema does not mark ForceNew
// (resource_docker_container.go:45-1004; computed-only attributes left out): a
// change of any other argument replaces the container.
var containerUpdatable = []string{
	"rm", "start", "wait", "waitTimeout", "attach", "logs", "mustRun", "restart",
	"maxRetryCount", "removeVolumes", "tmpfs", "destroyGraceSeconds", "memory",
	"memoryReservation", "memorySwap", "cpuShares", "cpuSet", "healthcheck",
	"containerReadRefreshTimeoutMilliseconds", "init", "cpuPeriod", "cpuQuota",
}

// containerApplied are the updatable arguments the provider's Update sends to
// Docker (`docker update`, resource_docker_container_funcs.go:927-974). The other
// updatable ones (a health check, init, the provider's own flags) change only the
// state: the container keeps what it was created with, and a refresh reads that back.
var containerApplied = []string{
	"restart", "maxRetryCount", "cpuShares", "memory", "memoryReservation", "cpuSet", "memorySwap",
}

// containerSets are the container arguments the schema types as sets.
var containerSets = []string{
	"capabilities.adds", "capabilities.drops", "dns", "dnsOpts", "dnsSearches", "envs", "groupAdds",
	"hosts", "labels", "mounts", "networksAdvanced", "securityOpts", "ulimits", "uploads", "volumes", "devices",
}

// containerUnset are the optional, non-computed container arguments Read reports
// whatever the program set (resource_docker_container.go:535-560 ulimit, :695-700
// memory_swap, :733-738 log_opts; read at funcs.go:804, :828-832, :840): the daemon
// fills them in, and the plan (PlanResourceChange, through the SDK's diff of state
// against config) removes a value Read put in the state where the input is unset.
var containerUnset = []string{"ulimits", "memorySwap", "logOpts"}

// Daemon is what the Docker daemon behind the fake adds to every container it
// creates, from its daemon.json (or dockerd flags); the zero value adds nothing.
type Daemon struct {
	// LogDriver and LogOpts are the daemon's log-driver and log-opts. The daemon
	// writes the options into a container's log config when the container uses the
	// default driver and does not set the option itself (moby daemon/logs.go,
	// mergeAndVerifyLogConfig); `docker inspect` then reports them.
	LogDriver string
	LogOpts   map[string]string
	// Ulimits are the daemon's default-ulimits (name: soft, hard). `docker inspect`
	// reports them beside the container's own (moby daemon/inspect.go,
	// getInspectData, which calls mergeUlimits in daemon/daemon_unix.go).
	Ulimits map[string][2]int
	// NoSwapLimit is a host whose kernel cannot limit swap (cgroup v2 without
	// memory.swap.max): the daemon stores a swap limit as -1 (moby
	// daemon/daemon_unix.go, verifyPlatformContainerResources: "Memory limited
	// without swap").
	NoSwapLimit bool
}

// dockerPackage fakes pulumi-docker v4.10.0 on a daemon configured as d.
func dockerPackage(d Daemon) *Package {
	return &Package{
		Name:    "docker",
		Version: "4.10.0",
		Kinds: map[string]*Kind{
			"docker:index/container:Container": {
				ForceNew: allBut(containerUpdatable...),
				Applied:  only(containerApplied...),
				ReadBack: d.readContainer,
				Sets:     containerSets,
				Unset:    containerUnset,
				ID:       dockerID,
				Outputs:  containerOutputs,
			},
			// Every volume and network argument is ForceNew but a volume's swarm
			// cluster, which the program never sets (resource_docker_volume.go:40-72,
			// resource_docker_network.go:25-146).
			"docker:index/volume:Volume": {
				ForceNew: every,
				ID:       dockerID,
				Outputs: func(env Env, r Resource) resource.PropertyMap {
					name := r.StrOr("name", r.ID)
					return resource.PropertyMap{
						"name":       str(name),
						"driver":     str("local"),
						"mountpoint": str("/var/lib/docker/volumes/" + name + "/_data"),
					}
				},
			},
			"docker:index/network:Network": {
				ForceNew: every,
				ID:       dockerID,
				Outputs: func(env Env, r Resource) resource.PropertyMap {
					return resource.PropertyMap{
						"name":       str(r.StrOr("name", r.ID)),
						"driver":     str("bridge"),
						"scope":      str("local"),
						"ipamDriver": str("default"),
					}
				},
			},
			// The provider keeps the name as given and computes the rest
			// (resource_docker_image_funcs.go:96-122).
			"docker:index/remoteImage:RemoteImage": {
				ForceNew: only("name", "pullTriggers", "triggers", "build", "platform"),
				Outputs: func(env Env, r Resource) resource.PropertyMap {
					digest := "sha256:" + randomFrom(hexDigits, 64)
					return resource.PropertyMap{
						"imageId":    str(digest),
						"repoDigest": str(r.Str("name") + "@" + digest),
					}
				},
			},
			// docker.Image is the provider's own (provider/provider.go, not bridged): its
			// Check adds the digest of the build context to the inputs (:196-207), it
			// diffs its stored inputs against the new ones (:271-337) and never asks
			// for replacement; a changed build, a changed file in the context
			// included, is an update that builds the image again. Of the registry
			// only the server is compared: new credentials alone are no change
			// (diffUpdates, :330-349).
			"docker:index/image:Image": {
				DiffInputs: true,
				Check:      checkImage,
				Rebuilds:   true,
				Equivalent: map[string]func(a, b resource.PropertyValue) bool{"registry": sameRegistryServer},
				Outputs: func(env Env, r Resource) resource.PropertyMap {
					return resource.PropertyMap{
						"baseImageName": str(r.Str("imageName")),
						"repoDigest":    str(imageDigest(r.Inputs)),
					}
				},
			},
		},
		Default: &Kind{ForceNew: every, ID: dockerID},
		Invokes: map[string]InvokeFunc{},
	}
}

// readContainer is what the provider's Read (resource_docker_container_funcs.go:673-874)
// reports of a container created with config, for the arguments whose value Docker
// keeps in another form or which an update may leave behind. Read leaves envs,
// uploads, volumes, labels and networksAdvanced alone (:744-845), and reads most
// other arguments back as given.
func (d Daemon) readContainer(config resource.PropertyMap) (resource.PropertyMap, error) {
	read := resource.PropertyMap{}
	if opts := d.logOpts(config); len(opts.ObjectValue()) > 0 {
		read["logOpts"] = opts
	}
	if ulimits := d.ulimits(config); len(ulimits) > 0 {
		read["ulimits"] = resource.NewArrayProperty(ulimits)
	}
	if v := config["memorySwap"]; v.IsNumber() && v.NumberValue() != 0 && d.NoSwapLimit {
		read["memorySwap"] = num(-1)
	}
	if v := config["cpus"]; v.IsString() {
		cpus, err := readCPUs(v.StringValue())
		if err != nil {
			// The provider's Create refuses it (:333-337).
			return nil, fmt.Errorf("error setting cpus: %w", err)
		}
		if cpus != "" {
			read["cpus"] = str(cpus)
		}
	}
	if v := config["healthcheck"]; v.IsObject() {
		read["healthcheck"] = resource.NewObjectProperty(readHealthcheck(v.ObjectValue()))
	}
	if v := config["capabilities"]; v.IsObject() {
		if caps := readCapabilities(v.ObjectValue()); caps != nil {
			read["capabilities"] = resource.NewObjectProperty(caps)
		}
	}
	// Create always sends init, false when unset (:426-427); Read reports it (:782-786).
	read["init"] = resource.NewBoolProperty(false)
	if v := config["init"]; v.IsBool() {
		read["init"] = v
	}
	return read, nil
}

// logOpts are the log options the container holds: its own, and the daemon's where
// it runs the daemon's driver (an unset log_driver is the daemon's: Create sends
// only what is set, funcs.go:366-368).
func (d Daemon) logOpts(config resource.PropertyMap) resource.PropertyValue {
	out := resource.PropertyMap{}
	if v := config["logOpts"]; v.IsObject() {
		out = v.ObjectValue().Copy()
	}
	driver := config["logDriver"]
	if !driver.IsString() || driver.StringValue() == "" || driver.StringValue() == d.LogDriver {
		for k, v := range d.LogOpts {
			if _, set := out[resource.PropertyKey(k)]; !set {
				out[resource.PropertyKey(k)] = str(v)
			}
		}
	}
	return resource.NewObjectProperty(out)
}

// ulimits are the container's ulimits with the daemon's defaults for the names it
// does not set, as inspect reports them.
func (d Daemon) ulimits(config resource.PropertyMap) []resource.PropertyValue {
	var out []resource.PropertyValue
	own := map[string]bool{}
	if v := config["ulimits"]; v.IsArray() {
		for _, u := range v.ArrayValue() {
			out = append(out, u)
			if u.IsObject() && u.ObjectValue()["name"].IsString() {
				own[u.ObjectValue()["name"].StringValue()] = true
			}
		}
	}
	names := make([]string, 0, len(d.Ulimits))
	for n := range d.Ulimits {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !own[n] {
			l := d.Ulimits[n]
			out = append(out, resource.NewObjectProperty(resource.PropertyMap{
				"name": str(n), "soft": num(float64(l[0])), "hard": num(float64(l[1])),
			}))
		}
	}
	return out
}

// readCPUs is a cpus value after the round trip through Docker: Create parses it
// with the Docker CLI's ParseCPUs into nano-CPUs (:333-339; docker/cli opts/opts.go:425-435)
// and Read formats those with nanoInt64ToDecimalString (:834-836; helpers.go:149-165):
// nine decimals, then "N.0" when the text holds exactly nine zeros, else the
// trailing zeros cut. So "2" reads back "2.0", "10" as "10." and "0.05" as "0.1".
// An empty result means Read leaves cpus alone (zero nano-CPUs).
func readCPUs(value string) (string, error) {
	cpu, ok := new(big.Rat).SetString(value)
	if !ok {
		return "", fmt.Errorf("failed to parse %v as a rational number", value)
	}
	nano := cpu.Mul(cpu, big.NewRat(1e9, 1))
	if !nano.IsInt() {
		return "", errors.New("value is too precise")
	}
	if nano.Sign() <= 0 {
		return "", nil
	}
	rat := new(big.Rat).SetFrac(nano.Num(), big.NewInt(1e9))
	text := rat.FloatString(9)
	if strings.Count(text, "0") == 9 {
		return rat.FloatString(1), nil
	}
	return strings.TrimRight(text, "0"), nil
}

// healthcheckDurations are the health check arguments Create parses with
// time.ParseDuration, ignoring errors (:142-153), and Read writes back with
// time.Duration.String (:846-857): "60s" reads back "1m0s".
var healthcheckDurations = []resource.PropertyKey{"interval", "timeout", "startPeriod", "startInterval"}

func readHealthcheck(config resource.PropertyMap) resource.PropertyMap {
	read := config.Copy()
	for _, k := range healthcheckDurations {
		if v := config[k]; v.IsString() {
			d, _ := time.ParseDuration(v.StringValue())
			read[k] = str(d.String())
		}
	}
	return read
}

// readCapabilities is what Docker stores for capabilities: the Docker client
// upper-cases every name, prefixes it with CAP_ (except ALL), drops duplicates and
// sorts them before it sends the container (docker/docker client/container_create.go:57-58,
// :141-170), and Read reports the stored lists when either is non-empty (:788-796).
func readCapabilities(config resource.PropertyMap) resource.PropertyMap {
	read := resource.PropertyMap{}
	for _, k := range []resource.PropertyKey{"adds", "drops"} {
		if v := config[k]; v.IsArray() {
			if names := normalizeCapabilities(v.ArrayValue()); len(names) > 0 {
				read[k] = strs(names...)
			}
		}
	}
	if len(read) == 0 {
		return nil
	}
	return read
}

func normalizeCapabilities(values []resource.PropertyValue) []string {
	seen := map[string]bool{}
	var names []string
	for _, v := range values {
		if !v.IsString() {
			continue
		}
		name := strings.ToUpper(v.StringValue())
		if name != "ALL" && !strings.HasPrefix(name, "CAP_") {
			name = "CAP_" + name
		}
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// containerOutputs are the container's computed outputs: the network data Read
// reports for every network the container is on (:733-742; structures.go:59-79),
// under the SDK's plural name networkDatas (sdk/go/docker/container.go:179), and the
// default bridge, which no container on user networks uses. The container joins its
// network mode's network at create and the networksAdvanced ones after
// (:370-378, :443-474).
func containerOutputs(env Env, r Resource) resource.PropertyMap {
	networks := map[string]bool{}
	if mode := r.Str("networkMode"); mode != "" {
		networks[mode] = true
	}
	if v := r.Inputs["networksAdvanced"]; v.IsArray() {
		for _, n := range v.ArrayValue() {
			if n.IsObject() && n.ObjectValue()["name"].IsString() {
				networks[n.ObjectValue()["name"].StringValue()] = true
			}
		}
	}
	if len(networks) == 0 {
		networks["bridge"] = true
	}
	names := make([]string, 0, len(networks))
	for n := range networks {
		names = append(names, n)
	}
	sort.Strings(names)
	var data []resource.PropertyValue
	for i, n := range names {
		data = append(data, resource.NewObjectProperty(resource.PropertyMap{
			"networkName":            str(n),
			"ipAddress":              str(fmt.Sprintf("172.%d.0.%s", 18+i, randomFrom("123456789", 1))),
			"ipPrefixLength":         num(16),
			"gateway":                str(fmt.Sprintf("172.%d.0.1", 18+i)),
			"globalIpv6Address":      str(""),
			"globalIpv6PrefixLength": num(0),
			"ipv6Gateway":            str(""),
			"macAddress":             str("02:42:ac:" + randomFrom(hexDigits, 2) + ":00:" + randomFrom(hexDigits, 2)),
		}))
	}
	return resource.PropertyMap{"bridge": str(""), "networkDatas": resource.NewArrayProperty(data)}
}

// checkImage adds build.contextDigest, the provider's hash of the build context's
// files (provider.go:196-207, hashContext :606-660), so that editing a file in the
// context changes the inputs. The fake hashes every file under the context, by
// path and content; the provider also honours .dockerignore.
func checkImage(inputs resource.PropertyMap) (resource.PropertyMap, error) {
	build := inputs["build"]
	if !build.IsObject() || !build.ObjectValue()["context"].IsString() {
		return inputs, nil
	}
	dir := build.ObjectValue()["context"].StringValue()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(h, "%s\x00%d\x00", rel, len(raw))
		h.Write(raw)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hashing the build context: %w", err)
	}
	out := inputs.Copy()
	b := build.ObjectValue().Copy()
	b["contextDigest"] = str(hex.EncodeToString(h.Sum(nil)))
	out["build"] = resource.NewObjectProperty(b)
	return out, nil
}

// sameRegistryServer compares two registry inputs as the provider's diff does:
// by server alone.
func sameRegistryServer(a, b resource.PropertyValue) bool {
	server := func(v resource.PropertyValue) resource.PropertyValue {
		if !v.IsObject() {
			return resource.NewNullProperty()
		}
		return v.ObjectValue()["server"]
	}
	return server(a).DeepEquals(server(b))
}

// imageDigest is the image's repoDigest: the built image's ID without a push
// (skipPush, image.go:308-316), else the pushed manifest's digest on the
// image's name without its tag (:344-380), which stands in for the digest of the
// built content.
func imageDigest(inputs resource.PropertyMap) string {
	// The credentials are no part of what is built.
	built := inputs.Copy()
	delete(built, "registry")
	id := builtImageID(built)
	if skip := inputs["skipPush"]; skip.IsBool() && skip.BoolValue() {
		return id
	}
	name := inputs["imageName"].StringValue()
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name = name[:i]
	}
	return name + "@" + id
}

// builtImageID stands in for the ID Docker gives the image built from inputs, which
// the provider reports as repoDigest when it does not push (image.go:308-316): the
// same build gives the same ID, another context or argument another.
func builtImageID(inputs resource.PropertyMap) string {
	sum := sha256.Sum256([]byte(fmt.Sprint(plain(resource.NewObjectProperty(inputs)).Mappable())))
	return "sha256:" + hex.EncodeToString(sum[:])
}
