package dockerhost

import (
	"cmp"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// service describes one container; container() adds what every container gets.
type service struct {
	// key names the container after the cluster: <cluster>-<key>.
	key   string
	image image
	// command replaces the image's CMD; user replaces its USER when set.
	command []string
	user    string
	env     []string
	// lateEnv are variables whose values are only known once resources exist.
	lateEnv pulumi.StringArray
	secrets []secretFile
	uploads docker.ContainerUploadArray
	// networks are the networks joined, each with the container's DNS aliases there.
	networks []attachment
	volumes  docker.ContainerVolumeArray
	ports    docker.ContainerPortArray
	hostname string
	limits   topology.Resources
	// health is the Docker health check test, CMD or CMD-SHELL form.
	health []string
	// startPeriod (how long failed checks do not count), when zero, is
	// defaultStartPeriod.
	startPeriod time.Duration
	// capAdd are the only capabilities kept; all others are dropped.
	capAdd []string
	// init runs a reaper as PID 1 for processes that spawn children and do not
	// wait for them (the cron runner's shell).
	init bool
	// waitSeconds > 0 makes the deployment wait up to that long for the container
	// to become healthy, so the containers that depend on it start against a ready
	// service.
	waitSeconds int
	// stopSignal asks the service to stop cleanly (php-fpm and nginx finish the
	// requests in flight on SIGQUIT, PostgreSQL shuts down fast on SIGINT); Docker
	// kills it stopGraceSeconds later. The image's own stop signal is not relied on:
	// a site's image may not set one.
	stopSignal       string
	stopGraceSeconds int
	shmSizeMB        int
	dependsOn        []pulumi.Resource
}

// attachment is one network a container joins, with its DNS aliases there.
type attachment struct {
	network *docker.Network
	aliases []string
}

// Every container restarts unless an operator stopped it, cannot gain privileges
// (setuid binaries are inert), keeps only the capabilities its entry point needs, and
// rotates its logs so a busy site cannot fill the host's disk.
const (
	restartPolicy   = "unless-stopped"
	noNewPrivileges = "no-new-privileges:true"
)

var logOptions = pulumi.StringMap{"max-size": pulumi.String("10m"), "max-file": pulumi.String("5")}

// Health check timing. Docker keeps durations in nanoseconds and pulumi-docker reads
// them back in Go's format (60 s as "1m0s"): written any other way ("60s"), every
// `pulumi up` would update the container again.
const (
	defaultHealthInterval = 15 * time.Second
	waitedHealthInterval  = 2 * time.Second
	healthTimeout         = 5 * time.Second
	defaultStartPeriod    = 30 * time.Second
)

// daemonOwned are the container properties the Docker daemon adds to.
var daemonOwned = []string{"logOpts", "ulimits"}

// container registers s as a Docker container named <cluster>-<key>.
//
// Limits map onto Docker's per-container controls: cpus and memory are hard limits;
// memorySwap equals memory, so the container cannot swap (and Docker does not fill in
// its default of twice the memory, which would show as a diff on every update), or
// is -1 where the host cannot limit swap, which is what Docker stores there;
// memoryReservation is the soft limit Docker enforces under host memory pressure.
// Docker has no CPU reservation outside Swarm: reserved CPUs become cpuShares, the
// relative weight Docker uses when the host's CPUs are contended (1024 = one CPU's
// worth, Docker's default for every container).
func (b *builder) container(s service) (*docker.Container, error) {
	name := containerName(b.name, s.key)
	env := append([]string(nil), s.env...)
	uploads := append(docker.ContainerUploadArray(nil), s.uploads...)
	for _, f := range s.secrets {
		env = append(env, f.env)
		uploads = append(uploads, f.upload)
	}
	args := &docker.ContainerArgs{
		Name:         pulumi.String(name),
		Image:        s.image.ref,
		Envs:         append(pulumi.ToStringArray(env), s.lateEnv...),
		Uploads:      uploads,
		Volumes:      s.volumes,
		Ports:        s.ports,
		Restart:      pulumi.String(restartPolicy),
		SecurityOpts: pulumi.ToStringArray([]string{noNewPrivileges}),
		Capabilities: &docker.ContainerCapabilitiesArgs{
			Drops: pulumi.ToStringArray([]string{"ALL"}),
			Adds:  pulumi.ToStringArray(s.capAdd),
		},
		Memory:            pulumi.Int(s.limits.MemoryMB),
		MemorySwap:        pulumi.Int(b.memorySwap(s.limits)),
		MemoryReservation: pulumi.Int(s.limits.ReservedMemoryMB),
		Cpus:              pulumi.String(FormatCPUs(s.limits.CPUs)),
		CpuShares:         pulumi.Int(cpuShares(s.limits.ReservedCPUs)),
		Healthcheck: &docker.ContainerHealthcheckArgs{
			Tests:       pulumi.ToStringArray(s.health),
			Interval:    pulumi.String(healthInterval(s.waitSeconds > 0).String()),
			Timeout:     pulumi.String(healthTimeout.String()),
			Retries:     pulumi.Int(3),
			StartPeriod: pulumi.String(cmp.Or(s.startPeriod, defaultStartPeriod).String()),
		},
		Init:      pulumi.Bool(s.init),
		Wait:      pulumi.Bool(s.waitSeconds > 0),
		LogDriver: pulumi.String("json-file"),
		LogOpts:   logOptions,
		Labels: docker.ContainerLabelArray{
			docker.ContainerLabelArgs{Label: pulumi.String("org.moodle-cluster.image-revision"), Value: s.image.revision},
		},
	}
	if s.waitSeconds > 0 {
		args.WaitTimeout = pulumi.Int(s.waitSeconds)
	}
	if len(s.command) > 0 {
		args.Command = pulumi.ToStringArray(s.command)
	}
	if s.user != "" {
		args.User = pulumi.String(s.user)
	}
	if s.hostname != "" {
		args.Hostname = pulumi.String(s.hostname)
	}
	if s.shmSizeMB > 0 {
		args.ShmSize = pulumi.Int(s.shmSizeMB)
	}
	if s.stopSignal != "" {
		args.StopSignal = pulumi.String(s.stopSignal)
	}
	if s.stopGraceSeconds > 0 {
		args.StopTimeout = pulumi.Int(s.stopGraceSeconds)
		args.DestroyGraceSeconds = pulumi.Int(s.stopGraceSeconds)
	}
	// No network mode: the provider then creates the container on Docker's default
	// bridge, leaves it and joins each network below with its aliases. Naming a
	// network as the mode instead attaches the container there without aliases, and
	// the later join with aliases is ignored, so names like "db" would not resolve.
	var nets docker.ContainerNetworksAdvancedArray
	for _, a := range s.networks {
		nets = append(nets, docker.ContainerNetworksAdvancedArgs{
			Name:    a.network.Name,
			Aliases: pulumi.ToStringArray(a.aliases),
		})
	}
	args.NetworksAdvanced = nets

	// Names are fixed (operators type them), so a replacement must remove the old
	// container before creating the new one. The daemon adds its own log-opts (when
	// the container runs its default driver) and default-ulimits to what `docker
	// inspect` reports (moby daemon/logs.go mergeAndVerifyLogConfig; daemon/inspect.go
	// getInspectData), pulumi-docker reads both back into the state (log_opts and
	// ulimit: Optional, not Computed, ForceNew; resource_docker_container.go:535,
	// :733; funcs.go:804, :840), and the next plan would replace every container,
	// the database included, to remove them. The program sets no ulimits and only
	// the log options it creates containers with: the daemon's part is its operator's.
	opts := []pulumi.ResourceOption{b.parent, pulumi.DeleteBeforeReplace(true), pulumi.IgnoreChanges(daemonOwned)}
	if len(s.dependsOn) > 0 {
		opts = append(opts, pulumi.DependsOn(s.dependsOn))
	}
	if len(s.networks) == 0 {
		// A container that talks to nobody stays off Docker's default bridge.
		args.NetworkMode = pulumi.String("none")
	}
	c, err := docker.NewContainer(b.ctx, name, args, opts...)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", name, err)
	}
	b.record(name, s.limits)
	return c, nil
}

// record remembers a container for the cluster's outputs.
func (b *builder) record(name string, r topology.Resources) {
	b.containerNames = append(b.containerNames, name)
	if b.limits == nil {
		b.limits = pulumi.Map{}
	}
	b.limits[name] = pulumi.Map{
		"cpus":                pulumi.String(FormatCPUs(r.CPUs)),
		"cpuShares":           pulumi.Int(cpuShares(r.ReservedCPUs)),
		"memoryMb":            pulumi.Int(r.MemoryMB),
		"memorySwapMb":        pulumi.Int(b.memorySwap(r)),
		"memoryReservationMb": pulumi.Int(r.ReservedMemoryMB),
	}
}

// FormatCPUs writes a CPU limit as pulumi-docker 4.10.0 reads it back: Docker holds
// it in nano-CPUs, and nanoInt64ToDecimalString (upstream/internal/provider/
// helpers.go:149-165) prints nine decimals, then one decimal when that text holds
// exactly nine zeros, else the text with its trailing zeros cut ("4.0", "10.",
// "1.25"). cpus forces replacement: written any other way ("4"), every `pulumi up`
// would replace the container. A few values do not survive the trip ("0.05" comes
// back "0.1"); the preflight refuses them (CPUsSurvive).
func FormatCPUs(cpus float64) string {
	nano := new(big.Rat).SetFrac64(int64(math.Round(cpus*1e9)), 1e9)
	text := nano.FloatString(9)
	if strings.Count(text, "0") == 9 {
		return nano.FloatString(1)
	}
	return strings.TrimRight(text, "0")
}

// CPUsSurvive reports whether a CPU limit reads back as the same number.
func CPUsSurvive(cpus float64) bool {
	back, err := strconv.ParseFloat(FormatCPUs(cpus), 64)
	return err == nil && back == cpus
}

// memorySwap is the swap limit a container asks for: its memory limit, so it never
// swaps, or -1 where the host cannot limit swap.
func (b *builder) memorySwap(r topology.Resources) int {
	if b.noSwapLimit {
		return -1
	}
	return r.MemoryMB
}

// cpuShares converts reserved CPUs to Docker's relative CPU weight; Docker's
// minimum is 2.
func cpuShares(reservedCPUs float64) int {
	return max(2, int(math.Round(reservedCPUs*1024)))
}

// healthInterval is how often Docker checks a container's health: often for the
// containers a deployment waits on, so the wait ends soon after they are ready (Docker
// runs the first check one interval after the start, and pulumi-docker polls the
// state every second: upstream resource_docker_container_funcs.go, wait), less for
// the others. Docker 20.10 (API 1.41) has no start_interval to check often only while
// starting, so the interval is a trade: at 2 s rather than 5 s, up from nothing at 3
// nodes took 19.8 s instead of 28.5 s and a scale-out 14.0 s instead of 21.0 s
// (tests/bench/RESULTS.md), and each waited container costs about 0.026 of a core instead
// of 0.010 (a check measured at about 52 ms of CPU). A change of the interval is an
// update the provider records without touching the container (its Update applies
// only the restart policy and resources: upstream resourceDockerContainerUpdate), so
// a running container keeps the interval it was created with until it is replaced:
// no container restarts for it, the database's included.
func healthInterval(waited bool) time.Duration {
	if waited {
		return waitedHealthInterval
	}
	return defaultHealthInterval
}

// containerName is the name of the container of key in cluster.
func containerName(cluster, key string) string { return cluster + "-" + key }

// cronKey is the cron runner's key.
const cronKey = "cron"

// CronContainerName is the name of cluster's cron runner container, whose
// install or upgrade step moodlectl follows while up creates it.
func CronContainerName(cluster string) string { return containerName(cluster, cronKey) }
