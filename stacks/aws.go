package stacks

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/awscloud"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// deployAWS provisions spec on AWS and exports the stack outputs.
func deployAWS(ctx *pulumi.Context, spec topology.Spec, o Options) error {
	if err := o.absoluteBuildContext(ctx, &spec); err != nil {
		return fmt.Errorf("aws target: %w", err)
	}
	if err := awscloud.CheckExistingSubnets(ctx, spec.AWS); err != nil {
		return err
	}
	spec, err := awscloud.AllowStatusFromVPC(ctx, spec)
	if err != nil {
		return err
	}
	args := &awscloud.ClusterArgs{Spec: spec}
	if args.MailPassword, err = mailPassword(ctx); err != nil {
		return err
	}
	cluster, err := awscloud.NewCluster(ctx, AWSClusterName, args)
	if err != nil {
		return fmt.Errorf("aws target: %w", err)
	}
	ctx.Export("siteUrl", cluster.SiteURL)
	ctx.Export("loadBalancerDns", cluster.LoadBalancerDNS)
	ctx.Export("siteDns", cluster.SiteDNS)
	ctx.Export("mucRedisAddress", cluster.MUCRedisAddress)
	ctx.Export("databaseAddress", cluster.DatabaseAddress)
	ctx.Export("replicaAddresses", cluster.ReplicaAddresses)
	ctx.Export("redisAddress", cluster.RedisAddress)
	ctx.Export("fileSystemId", cluster.FileSystemID)
	ctx.Export("bucketName", cluster.BucketName)
	ctx.Export("ecsClusterName", cluster.ECSClusterName)
	ctx.Export("appServiceName", cluster.AppServiceName)
	ctx.Export("cronServiceName", cluster.CronServiceName)
	ctx.Export("cronLogGroupName", cluster.CronLogGroupName)
	ctx.Export("databaseInstanceId", cluster.DatabaseInstanceID)
	ctx.Export("fileSystemArn", cluster.FileSystemARN)
	ctx.Export("backupVaultName", cluster.BackupVaultName)
	ctx.Export("backupRoleArn", cluster.BackupRoleARN)
	ctx.Export("dataKeyArn", cluster.DataKeyARN)
	ctx.Export("alarmTopicArn", cluster.AlarmTopicARN)
	ctx.Export("dashboardName", cluster.DashboardName)
	// What the site runs: moodlectl upgrade moves on from the deployed release
	// and image, which the stack file may already have changed.
	ctx.Export("moodleVersion", pulumi.String(spec.Moodle.Version))
	ctx.Export("appImage", cluster.AppImage)
	return nil
}

// AWSClusterName is the name the prod program gives its cluster, from which its
// components' names derive.
const AWSClusterName = "moodle"
