package stacks

import (
	"fmt"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/dockerhost"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/internal/dockerapi"
)

// deployDocker checks that the Docker host can run spec, provisions it there and
// exports the stack outputs. The cluster is named after the stack, so two stacks on
// one host never share a container, network or volume name.
func deployDocker(ctx *pulumi.Context, spec topology.Spec, o Options) error {
	dir, err := o.projectDir(ctx)
	if err != nil {
		return fmt.Errorf("docker target: project folder: %w", err)
	}
	if b := &spec.Moodle.Build; spec.Moodle.CodeSource == topology.CodeBuild && !filepath.IsAbs(b.Context) {
		if b.Context, err = filepath.Abs(filepath.Join(dir, b.Context)); err != nil {
			return fmt.Errorf("docker target: moodle.build.context: %w", err)
		}
	}
	host, name := o.DockerHost, "(given by the caller)"
	if host == nil {
		// The same engine the provider talks to.
		addr, _ := ctx.GetConfig("docker:host")
		client, err := dockerapi.New(addr)
		if err != nil {
			return fmt.Errorf("docker target: %w", err)
		}
		host, name = client, client.Host()
	}
	// The engine's context: a cancelled preview or up stops the questions too.
	if err := dockerhost.Preflight(ctx.Context(), spec, host, name); err != nil {
		return err
	}

	c, err := dockerhost.NewCluster(ctx, "moodle-"+ctx.Stack(), &dockerhost.ClusterArgs{Spec: spec})
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
	return nil
}
