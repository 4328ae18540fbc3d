// Package dockerhost provisions a topology.Spec on one Docker host: an nginx load
// balancer (the only container that publishes a port on the stack's bind
// address), N php-fpm app nodes, exactly one cron runner, PostgreSQL (optionally
// behind PgBouncer), Redis for sessions, without a mail relay a mail catcher
// (its web page on the host's loopback address only), and the named volumes
// their data lives in.
//
// Data survives container replacement because it lives in named volumes, which are
// separate resources whose inputs do not change when containers do. Volumes are not
// protected: `pulumi destroy` on a dev stack removes everything, as a dev stack should.
//
// Secrets (generated with pulumi-random) reach containers only as files uploaded at
// create time under /run/secrets, from secret outputs: they are encrypted in the
// state, absent from `docker inspect` (no environment variables, no command-line
// arguments) and from every image layer.
package dockerhost

import (
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// TypeCluster is the dev target's type token. It is part of the URN of the cluster
// and of every container, network and volume under it, in every stack's state:
// changing it makes the next `up` delete and recreate them all, the database's
// and moodledata's volumes included, unless the cluster is registered with
// pulumi.Aliases naming the old token (tests/stack's TestResourceIdentitiesAreKept
// fails until the identities it lists are rewritten on purpose).
const TypeCluster = "moodle:docker:Cluster"

// ClusterArgs configure a Cluster.
type ClusterArgs struct {
	// Spec is the validated topology; the Docker-specific settings are in Spec.Docker.
	Spec topology.Spec
	// NoSwapLimit is a host whose kernel cannot limit swap (Docker's SwapLimit
	// false: cgroup v2 without memory.swap.max). Docker stores every swap limit
	// there as -1, so the containers ask for -1: asked for anything else, every
	// `up` would update them again. The preflight (stacks/preflight) reports it.
	NoSwapLimit bool
	// MailPassword is the relay password for Spec.Mail.User, a secret
	// (moodle:mailPassword); nil when the relay takes no login.
	MailPassword pulumi.StringInput
}

// Cluster is a Moodle cluster on one Docker host.
type Cluster struct {
	pulumi.ResourceState

	// SiteURL is Moodle's wwwroot.
	SiteURL pulumi.StringOutput `pulumi:"siteUrl"`
	// LoadBalancerURL is where the load balancer's published port answers on the host.
	LoadBalancerURL pulumi.StringOutput `pulumi:"loadBalancerUrl"`
	// Containers are the Docker container names, load balancer first.
	Containers pulumi.StringArrayOutput `pulumi:"containers"`
	// Limits are the CPU and memory settings applied, per container name.
	Limits pulumi.MapOutput `pulumi:"limits"`
	// PHPFPM is the pool every app node runs, sized from its memory limit.
	PHPFPM pulumi.MapOutput `pulumi:"phpFpm"`
	// AdminUser and AdminPassword log in to the site installed by the cron runner.
	AdminUser     pulumi.StringOutput `pulumi:"adminUser"`
	AdminPassword pulumi.StringOutput `pulumi:"adminPassword"`
	// DatabasePassword, RedisPassword and UpgradeKey are secret outputs for operators.
	DatabasePassword pulumi.StringOutput `pulumi:"databasePassword"`
	RedisPassword    pulumi.StringOutput `pulumi:"redisPassword"`
	UpgradeKey       pulumi.StringOutput `pulumi:"upgradeKey"`
	// MailCatcherURL is the mail catcher's web page on the host's loopback
	// address, "" when the stack sends its mail to a relay.
	MailCatcherURL pulumi.StringOutput `pulumi:"mailCatcherUrl"`
}

// NewCluster registers the cluster and every network, volume, image and container
// it needs, all parented to it and named after name.
func NewCluster(ctx *pulumi.Context, name string, args *ClusterArgs, opts ...pulumi.ResourceOption) (*Cluster, error) {
	if args == nil {
		return nil, errors.New("dockerhost: NewCluster needs ClusterArgs with a Spec")
	}
	c := &Cluster{}
	if err := ctx.RegisterComponentResource(TypeCluster, name, c, opts...); err != nil {
		return nil, fmt.Errorf("register cluster %s: %w", name, err)
	}
	if (args.Spec.Mail.User != "") != (args.MailPassword != nil) {
		return nil, fmt.Errorf("dockerhost: cluster %s: mail.user %q and a relay password go together", name, args.Spec.Mail.User)
	}
	b := &builder{ctx: ctx, name: name, spec: args.Spec, noSwapLimit: args.NoSwapLimit, mailPassword: args.MailPassword, parent: pulumi.Parent(c)}
	if err := b.build(); err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}

	c.SiteURL = pulumi.String(args.Spec.SiteURL).ToStringOutput()
	c.LoadBalancerURL = pulumi.String(loadBalancerURL(args.Spec.Docker)).ToStringOutput()
	c.Containers = pulumi.ToStringArray(b.containerNames).ToStringArrayOutput()
	c.Limits = b.limits.ToMapOutput()
	c.PHPFPM = poolOutput(args.Spec.App.Sizing()).ToMapOutput()
	c.AdminUser = pulumi.String(args.Spec.Moodle.AdminUser).ToStringOutput()
	c.AdminPassword = pulumi.ToSecret(b.secrets.admin.Result).(pulumi.StringOutput)
	c.DatabasePassword = pulumi.ToSecret(b.secrets.database.Result).(pulumi.StringOutput)
	c.RedisPassword = pulumi.ToSecret(b.secrets.redis.Result).(pulumi.StringOutput)
	c.UpgradeKey = pulumi.ToSecret(b.secrets.upgradeKey.Result).(pulumi.StringOutput)
	c.MailCatcherURL = pulumi.String(mailCatcherURL(args.Spec)).ToStringOutput()

	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"siteUrl":          c.SiteURL,
		"loadBalancerUrl":  c.LoadBalancerURL,
		"containers":       c.Containers,
		"limits":           c.Limits,
		"phpFpm":           c.PHPFPM,
		"adminUser":        c.AdminUser,
		"adminPassword":    c.AdminPassword,
		"databasePassword": c.DatabasePassword,
		"redisPassword":    c.RedisPassword,
		"upgradeKey":       c.UpgradeKey,
		"mailCatcherUrl":   c.MailCatcherURL,
	}); err != nil {
		return nil, fmt.Errorf("register outputs of cluster %s: %w", name, err)
	}
	return c, nil
}

// loadBalancerURL is the published port as a URL a browser on the host can open.
func loadBalancerURL(d topology.DockerTarget) string {
	host := d.BindAddress
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(d.HTTPPort))
}

func poolOutput(p topology.Pool) pulumi.Map {
	return pulumi.Map{
		"maxChildren":     pulumi.Int(p.MaxChildren),
		"startServers":    pulumi.Int(p.StartServers),
		"minSpareServers": pulumi.Int(p.MinSpareServers),
		"maxSpareServers": pulumi.Int(p.MaxSpareServers),
		"maxRequests":     pulumi.Int(p.MaxRequests),
	}
}
