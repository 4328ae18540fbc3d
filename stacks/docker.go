package stacks

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/dockerhost"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/stacks/preflight"
)

// deployDocker checks that the Docker host can run spec, provisions it there and
// exports the stack outputs. The cluster is named after the stack, so two stacks on
// one host never share a container, network or volume name.
func deployDocker(ctx *pulumi.Context, spec topology.Spec, o Options) error {
	if err := o.absoluteBuildContext(ctx, &spec); err != nil {
		return fmt.Errorf("docker target: %w", err)
	}
	info, err := checkHost(ctx, spec, o)
	if err != nil {
		return err
	}

	args := &dockerhost.ClusterArgs{Spec: spec, NoSwapLimit: !info.SwapLimit}
	if args.MailPassword, err = mailPassword(ctx); err != nil {
		return err
	}
	c, err := dockerhost.NewCluster(ctx, DockerClusterName(ctx.Stack()), args)
	if err != nil {
		return fmt.Errorf("docker target: %w", err)
	}
	ctx.Export("siteUrl", c.SiteURL)
	ctx.Export("loadBalancerUrl", c.LoadBalancerURL)
	ctx.Export("containers", c.Containers)
	ctx.Export("limits", c.Limits)
	ctx.Export("phpFpm", c.PHPFPM)
	ctx.Export("adminUser", c.AdminUser)
	// The component's secret outputs stay secret; ToSecret states it where it counts.
	ctx.Export("adminPassword", pulumi.ToSecret(c.AdminPassword))
	ctx.Export("databasePassword", pulumi.ToSecret(c.DatabasePassword))
	ctx.Export("redisPassword", pulumi.ToSecret(c.RedisPassword))
	ctx.Export("upgradeKey", pulumi.ToSecret(c.UpgradeKey))
	ctx.Export("mailCatcherUrl", c.MailCatcherURL)
	return nil
}

// preflight asks the Docker host whether it can run spec, and what it does with the
// limits the containers ask for. Under mocks nothing is asked unless the caller gave
// a host: mocks stand in for the engine and its providers, and a unit test has no
// daemon. Where no daemon answers, a preview warns and goes on (a pull request check
// on a runner without Docker previews the program as it is), and an `up` refuses.
// What nothing answered for is taken to be the common case: a host that limits swap.
func checkHost(ctx *pulumi.Context, spec topology.Spec, o Options) (preflight.Capacity, error) {
	assumed := preflight.Capacity{SwapLimit: true}
	host, name := o.DockerHost, "(given by the caller)"
	if host == nil {
		if ctx.RunningWithMocks() {
			return assumed, nil
		}
		cfg, err := DockerProviderConfig(ctx.GetConfig)
		if err != nil {
			return preflight.Capacity{}, fmt.Errorf("docker target: %w", err)
		}
		engine, err := preflight.NewEngine(cfg)
		if err != nil {
			return preflight.Capacity{}, fmt.Errorf("docker target: %w", err)
		}
		defer engine.Close()
		host, name = engine, engine.Name()
	}
	// The engine's context: a cancelled preview or up stops the questions too.
	info, err := preflight.Check(ctx.Context(), spec, host, name)
	if errors.Is(err, preflight.ErrUnreachable) && ctx.DryRun() {
		_ = ctx.Log.Warn(err.Error()+"; previewing without the host's checks, which `up` makes", nil)
		return assumed, nil
	}
	return info, err
}

// DockerProviderConfig is the default Docker provider's configuration in the
// stack config getConfig reads: the keys of pulumi-docker's schema
// (config.variables) that choose the engine. sshOpts is a list, which the engine
// hands over as JSON. The preflight reads it from the running stack, moodlectl
// from the stack file, so both reach the engine the provider deploys to.
func DockerProviderConfig(getConfig func(key string) (string, bool)) (preflight.ProviderConfig, error) {
	get := func(key string) string { v, _ := getConfig("docker:" + key); return v }
	cfg := preflight.ProviderConfig{
		Host:         get("host"),
		Context:      get("context"),
		CAMaterial:   get("caMaterial"),
		CertMaterial: get("certMaterial"),
		KeyMaterial:  get("keyMaterial"),
		CertPath:     get("certPath"),
	}
	if raw := get("sshOpts"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &cfg.SSHOpts); err != nil {
			return cfg, fmt.Errorf("docker:sshOpts = %s: not a list of strings (set it with `pulumi config set --path 'docker:sshOpts[0]' -- -oPort=2222`): %w", raw, err)
		}
	}
	return cfg, nil
}

// DockerClusterName is the name the dev program gives a stack's cluster: the
// prefix of its containers, networks and volumes, by which moodlectl finds them.
func DockerClusterName(stack string) string { return "moodle-" + stack }
