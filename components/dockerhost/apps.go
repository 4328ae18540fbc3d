package dockerhost

import (
	_ "embed"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/appimage"
	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// Where the rendered files go in the app image (docker/Dockerfile).
const (
	fpmPoolPath   = appimage.FPMConfDir + "/zz-moodle.conf"
	phpIniPath    = appimage.PHPConfDir + "/zz-moodle.ini"
	cronRunner    = appimage.CronRunner
	adhocWorker   = appimage.AdhocWorker
	nginxConfPath = appimage.NginxConfDir + "/moodle.conf"
	healthcheck   = appimage.Healthcheck
	// appUser is the image's account; the code is root's and read-only to it.
	appUser = appimage.User
	// fpmPort is where php-fpm listens on every app node.
	fpmPort = appimage.FPMPort
	// installWaitSeconds bounds the first deployment's wait for the CLI install
	// (several minutes on a small host) or an upgrade.
	installWaitSeconds = 1800
	// appWaitSeconds bounds the wait for a new app node's php-fpm to answer.
	appWaitSeconds = 120
	// fpmStopSlackSeconds is what php-fpm gets beyond its longest request to stop.
	fpmStopSlackSeconds = 10
	// cronStopGraceSeconds is how long a stopping cron run may take to wind down.
	cronStopGraceSeconds = 60
)

// The load balancer image's entry point (the official nginx image, or the app image)
// may start nginx as root, which then switches its workers to an unprivileged user.
// Capabilities are named as Docker stores them (CAP_ prefix), which is what the
// provider reads back: another spelling would replace the container on every up.
var nginxCapabilities = []string{"CAP_CHOWN", "CAP_SETGID", "CAP_SETUID"}

// moodleEnv is the environment config.php and the image's scripts read on every node
// that runs Moodle code: paths only, secrets come as files.
func (b *builder) moodleEnv() []string {
	return envList(b.spec.ImageEnv())
}

// envList turns variables into Docker's NAME=value list, sorted so that the
// container's inputs do not change from one run to the next.
func envList(vars map[string]string) []string {
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// moodleVolumes mount the shared moodledata and, with CodeHostPath, the host's code
// read-only over the image's.
func (b *builder) moodleVolumes(moodledataReadOnly bool) docker.ContainerVolumeArray {
	vols := docker.ContainerVolumeArray{docker.ContainerVolumeArgs{
		VolumeName:    b.vols.moodledata.Name,
		ContainerPath: pulumi.String(b.spec.Paths.DataRoot),
		ReadOnly:      pulumi.Bool(moodledataReadOnly),
	}}
	if b.spec.Moodle.CodeSource == topology.CodeHostPath {
		vols = append(vols, docker.ContainerVolumeArgs{
			HostPath:      pulumi.String(b.spec.Moodle.HostPath),
			ContainerPath: pulumi.String(b.spec.Paths.CodeDir),
			ReadOnly:      pulumi.Bool(true),
		})
	}
	return vols
}

// configUploads are the files every php process reads: config.php (no secret in it:
// it reads the *_FILE secrets at run time) and the php.ini overrides.
func (b *builder) configUploads() docker.ContainerUploadArray {
	return docker.ContainerUploadArray{
		upload(render.ConfigPHPPath, pulumi.String(render.ConfigPHP(b.spec, endpoints(b.spec))), "0444"),
		upload(phpIniPath, pulumi.String(render.PHPIni(b.spec)), "0444"),
	}
}

// appNodes are the php-fpm containers app-1..app-N. Each is reachable on the internal
// network as its node name, which the load balancer's upstream lists. They never
// install or upgrade Moodle: the cron runner does, once.
func (b *builder) appNodes(backends []pulumi.Resource) ([]pulumi.Resource, error) {
	pool := render.PHPFPMPool(b.spec, strconv.Itoa(fpmPort))
	var nodes []pulumi.Resource
	for _, node := range b.spec.AppNodes() {
		c, err := b.container(service{
			key:      node,
			image:    b.imgs.app,
			command:  []string{"php-fpm"},
			user:     appUser,
			env:      b.moodleEnv(),
			secrets:  b.secrets.moodleSecrets(),
			uploads:  append(b.configUploads(), upload(fpmPoolPath, pulumi.String(pool), "0444")),
			networks: []attachment{{network: b.nets.backend, aliases: []string{node}}, {network: b.nets.egress}},
			volumes:  b.moodleVolumes(false),
			hostname: node,
			limits:   b.spec.App.Resources,
			health:   []string{"CMD", healthcheck, "fpm"},
			// The load balancer's configuration lists a node only once it answers,
			// so a node scaled out never meets a request before it is ready.
			waitSeconds: appWaitSeconds,
			// php-fpm's graceful stop lets every worker finish its request, which
			// php-fpm itself bounds to the FastCGI timeout.
			stopSignal:       "SIGQUIT",
			stopGraceSeconds: b.spec.Web.FastCGIReadTimeout + fpmStopSlackSeconds,
			dependsOn:        backends,
		})
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, c)
	}
	return nodes, nil
}

// scriptRunner is a container of the app image that runs a rendered runner script
// (the cron runner, an ad hoc task worker) as the app user on the back-end and
// egress networks, with moodledata. The script passes SIGTERM on to its PHP
// process, which finishes the task in hand; a second SIGTERM ends it through the
// shutdown handlers that release its task locks, within the stop grace.
func (b *builder) scriptRunner(key, path, text, health string, limits topology.Resources, dependsOn []pulumi.Resource) service {
	return service{
		key:              key,
		image:            b.imgs.app,
		command:          []string{path},
		user:             appUser,
		env:              b.moodleEnv(),
		secrets:          b.secrets.moodleSecrets(),
		uploads:          append(b.configUploads(), script(path, text)),
		networks:         []attachment{{network: b.nets.backend}, {network: b.nets.egress}},
		volumes:          b.moodleVolumes(false),
		hostname:         key,
		limits:           limits,
		health:           []string{"CMD", healthcheck, health},
		init:             true,
		stopSignal:       "SIGTERM",
		stopGraceSeconds: cronStopGraceSeconds,
		dependsOn:        dependsOn,
	}
}

// cron is the single cron runner. Before its loop the rendered runner calls
// appimage.InstallHook, docker/moodle-install-upgrade in the image, which
// installs an empty database or upgrades an outdated one; so it alone gets the admin
// password. Its health check passes only once that hook has succeeded, and the
// deployment waits for it: the load balancer, the site's only entrance, is created
// after Moodle is installed, so no visitor ever meets an uninstalled site (whose
// admin/index.php would offer to install it).
func (b *builder) cron(backends []pulumi.Resource) (*docker.Container, error) {
	s := b.scriptRunner(cronKey, cronRunner, render.CronRunner(b.spec), "cron", b.spec.Cron.Resources, backends)
	s.env = append(s.env, envList(b.spec.InstallerEnv())...)
	// A new image purges Moodle's caches once (the install/upgrade hook).
	s.lateEnv = pulumi.StringArray{pulumi.Sprintf("%s=%s", appimage.EnvImageRevision, b.imgs.app.revision)}
	s.secrets = append(s.secrets, fileSecret(render.EnvAdminPassword, "admin-password", b.secrets.admin.Result))
	s.startPeriod = time.Minute
	s.waitSeconds = installWaitSeconds
	return b.container(s)
}

// adhocWorkers are the ad hoc task workers adhoc-1..adhoc-N. They start after the
// cron runner has installed or upgraded Moodle, and each runs the rendered worker,
// which runs admin/cli/adhoc_task.php again and again.
func (b *builder) adhocWorkers(cron pulumi.Resource) error {
	worker := render.AdhocWorker(b.spec)
	for _, name := range b.spec.AdhocWorkerNames() {
		if _, err := b.container(b.scriptRunner(name, adhocWorker, worker, "adhoc", b.spec.Cron.Adhoc.Resources, []pulumi.Resource{cron})); err != nil {
			return err
		}
	}
	return nil
}

// The load balancer's site configuration travels through a mailbox volume: the
// configuration container (scripts/lb-config.sh) drops it there and the load
// balancer (scripts/lb.sh) reloads nginx when it changes. Scaling the app tier then
// replaces only the small configuration container; the load balancer, its port and
// its connections stay.
const (
	lbScript        = "/usr/local/bin/moodle-lb"
	lbConfigScript  = "/usr/local/bin/moodle-lb-config"
	lbMailbox       = appimage.NginxMailbox
	lbStagedConfig  = "/etc/moodle-lb/moodle.conf"
	lbConfigTimeout = 120
)

//go:embed scripts/lb.sh
var lbScriptText string

//go:embed scripts/lb-config.sh
var lbConfigScriptText string

// LBConfigResources are the limits of the load balancer's configuration container,
// which only copies a file and sleeps.
func LBConfigResources() topology.Resources {
	return topology.Resources{CPUs: 0.1, MemoryMB: 32, ReservedMemoryMB: 16}
}

// lbConfig delivers the load balancer's site configuration for the current app
// nodes. It starts after them (nginx resolves their names when it loads the file)
// and turns healthy once a running load balancer has loaded it, so the deployment
// removes nodes scaled in only after nginx has stopped sending them requests.
func (b *builder) lbConfig(apps []pulumi.Resource) (*docker.Container, error) {
	var upstream []render.HostPort
	for _, node := range b.spec.AppNodes() {
		upstream = append(upstream, render.HostPort{Host: node, Port: fpmPort})
	}
	// nginx resolves the nodes' names when it loads the configuration, so a node
	// recreated with a new address (a new image, a rollback) must make it load it
	// again: the configuration names the node containers it was written for,
	// which changes it, replaces this container and makes nginx reload.
	var ids []any
	for _, app := range apps {
		if c, ok := app.(*docker.Container); ok {
			ids = append(ids, c.ID())
		}
	}
	conf := pulumi.All(ids...).ApplyT(func(ids []any) string {
		list := make([]string, len(ids))
		for i, id := range ids {
			list[i] = fmt.Sprint(id)
		}
		return "# App node containers: " + strings.Join(list, " ") + "\n" + render.NginxLoadBalancer(b.spec, upstream)
	}).(pulumi.StringOutput)
	return b.container(service{
		key:     "lb-config",
		image:   b.imgs.web,
		command: []string{lbConfigScript},
		uploads: docker.ContainerUploadArray{
			upload(lbStagedConfig, conf, "0444"),
			script(lbConfigScript, lbConfigScriptText),
		},
		volumes: docker.ContainerVolumeArray{docker.ContainerVolumeArgs{
			VolumeName: b.vols.lbConfig.Name, ContainerPath: pulumi.String(lbMailbox),
		}},
		limits:      LBConfigResources(),
		health:      []string{"CMD", lbConfigScript, "check"},
		waitSeconds: lbConfigTimeout,
		dependsOn:   apps,
	})
}

// loadBalancer is nginx balancing over the app nodes (least_conn); it is the only
// container that publishes a host port. It serves static files from the code in its
// image (or the bind-mounted host folder) and dataroot files handed over by
// X-Accel-Redirect from a read-only moodledata mount. Its inputs do not depend on the
// number of app nodes: their list reaches it through the configuration container.
func (b *builder) loadBalancer(dependsOn []pulumi.Resource) (*docker.Container, error) {
	port := b.spec.Web.Port
	return b.container(service{
		key:      "lb",
		image:    b.imgs.web,
		command:  []string{lbScript},
		uploads:  docker.ContainerUploadArray{script(lbScript, lbScriptText)},
		networks: []attachment{{network: b.nets.front}, {network: b.nets.backend}},
		ports: docker.ContainerPortArray{docker.ContainerPortArgs{
			Internal: pulumi.Int(port),
			External: pulumi.Int(b.spec.Docker.HTTPPort),
			Ip:       pulumi.String(b.spec.Docker.BindAddress),
			Protocol: pulumi.String("tcp"),
		}},
		volumes: append(b.moodleVolumes(true), docker.ContainerVolumeArgs{
			VolumeName: b.vols.lbConfig.Name, ContainerPath: pulumi.String(lbMailbox),
		}),
		limits: b.spec.Web.Resources,
		health: []string{"CMD", "curl", "-fsS", "-o", "/dev/null", "--max-time", "4",
			fmt.Sprintf("http://127.0.0.1:%d%s", port, render.HealthPath)},
		capAdd: nginxCapabilities,
		// The script reloads nginx and must reap what it starts.
		init:             true,
		stopSignal:       "SIGQUIT",
		stopGraceSeconds: b.spec.Web.FastCGIReadTimeout,
		dependsOn:        dependsOn,
	})
}
