package stacks

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/dockerhost"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// deployDocker provisions spec on the Docker host and exports the stack outputs.
// The cluster is named after the stack, so two stacks on one host never share a
// container, network or volume name.
func deployDocker(ctx *pulumi.Context, spec topology.Spec) error {
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
