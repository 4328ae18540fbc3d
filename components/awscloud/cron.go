package awscloud

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/appimage"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// CronArgs configure the cron runner.
type CronArgs struct {
	TaskEnvironment
	SecurityGroupID pulumi.StringInput
	// ClusterARN and Placement come from the Compute component.
	ClusterARN pulumi.StringInput
	Placement  Placement
	// AdminPassword reaches the runner alone: only it installs Moodle.
	AdminPassword TaskSecret
}

// Cron is Moodle's task processing: the one cron runner, an ECS service of exactly
// one task that runs the rendered runner, which installs or upgrades Moodle once
// and then runs admin/cli/cron.php for the scheduled tasks; and the ad hoc task
// workers, a service of cron.adhoc.workers tasks that run admin/cli/adhoc_task.php.
//
// Never two runners: the service's deployment replaces the task by stopping the
// old one first (maximum 100 %, minimum 0 %), and the runner's lock in moodledata
// turns any second task away in case ECS ever starts one anyway.
type Cron struct {
	pulumi.ResourceState

	ServiceName pulumi.StringOutput `pulumi:"serviceName"`
	// AdhocServiceName names the ad hoc task workers' service; empty without workers.
	AdhocServiceName pulumi.StringOutput `pulumi:"adhocServiceName"`
	// Service is what an app deployment waits for: pulumi up replaces the runner,
	// and so upgrades the database, before it rolls the web tier.
	Service pulumi.Resource
	// LogGroupName holds the runner's log, whose completed runs the alarms count.
	LogGroupName pulumi.StringOutput
}

// NewCron creates the cron runner's and the ad hoc task workers' task definitions
// and services.
func NewCron(ctx *pulumi.Context, name string, args *CronArgs, opts ...pulumi.ResourceOption) (*Cron, error) {
	c := &Cron{}
	if err := ctx.RegisterComponentResource("moodle:aws:Cron", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	spec := args.Spec
	runner := installerEnvironment(args.TaskEnvironment)
	runner.Secrets = append(append([]TaskSecret{}, args.Secrets...), args.AdminPassword)
	var extraMounts map[string]string
	if args.Files.Restored() {
		// On a file system AWS Backup restored, the site's files are in a recovery
		// directory off its root: the runner's install hook moves them into the
		// dataroot before anything else (docker/move-restored-moodledata), through
		// this mount of the root. No other task mounts it.
		runner.MountsRestoredRoot = true
		runner.Environment[appimage.EnvRestoredRoot] = pulumi.String(appimage.RestoredRootMount)
		extraMounts = map[string]string{volRestoredRoot: appimage.RestoredRootMount}
	}
	td, logs, err := scriptTask(ctx, name, runner, spec.Cron.Resources, "cron", cronFile(spec), cronRunnerPath, extraMounts, parent)
	if err != nil {
		return nil, err
	}
	// A replaced service (a new launch type, say) must go before its replacement
	// comes: the old runner holds the lock in moodledata, so the new one would exit
	// at once and its service, waiting for a steady state, would hang the update.
	service, err := taskService(ctx, name, args, td, 1, 100, 0, parent, pulumi.DependsOn(args.serviceDependsOn(args.Placement)),
		pulumi.DeleteBeforeReplace(true))
	if err != nil {
		return nil, err
	}
	c.ServiceName, c.Service, c.LogGroupName = service.Name, service, logs.Name
	c.AdhocServiceName = pulumi.String("").ToStringOutput()

	if workers := spec.Cron.Adhoc.Workers; workers > 0 {
		adhoc, _, err := scriptTask(ctx, name+"-adhoc", args.TaskEnvironment, spec.Cron.Adhoc.Resources, "adhoc", adhocFile(spec), adhocWorkerPath, nil, parent)
		if err != nil {
			return nil, err
		}
		// The workers wait for this release's marker, which the runner writes after
		// the upgrade; starting them after the runner's deployment keeps them from
		// waiting on it at all. New workers start before the old ones stop, which
		// finish the task they run.
		// In maintenance the workers stop (each finishes the task it runs, within
		// the stop timeout): nothing but the runner's upgrade touches the data.
		if spec.AWS.Maintenance.Enabled {
			workers = 0
		}
		svc, err := taskService(ctx, name+"-adhoc", args, adhoc, workers, topology.AWSDeploymentMaximumPercent, 100,
			parent, pulumi.DependsOn(args.serviceDependsOn(args.Placement, service)))
		if err != nil {
			return nil, err
		}
		c.AdhocServiceName = svc.Name
	}
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{"serviceName": c.ServiceName, "adhocServiceName": c.AdhocServiceName}); err != nil {
		return nil, err
	}
	return c, nil
}

// scriptTask is the task definition of a rendered runner script: one PHP container
// that runs script, written to path, with moodledata and extraMounts. Alive is healthy enough: an install can
// outlast any ECS start period, and an unhealthy essential container would be
// killed in the middle of it (or of a backup).
func scriptTask(ctx *pulumi.Context, name string, env TaskEnvironment, res topology.Resources, containerName string, script renderedFile, path string, extraMounts map[string]string, parent pulumi.ResourceOption) (*ecs.TaskDefinition, *cloudwatch.LogGroup, error) {
	spec := env.Spec
	return newTask(ctx, name, env, res,
		[]renderedFile{configPHPFile(env.ConfigPHP), phpIniFile(spec), script},
		[]container{{
			Name: containerName, Image: spec.Images.App, Command: []string{"/bin/sh", path},
			Mounts:      phpMounts(spec, extraMounts),
			ReadOnly:    map[string]bool{volMoodleEtc: true},
			HealthCheck: []string{"CMD-SHELL", "pgrep -f " + path + " > /dev/null"},
			RunsPHP:     true,
		}}, parent)
}

// taskService runs count tasks of td in the app subnets.
func taskService(ctx *pulumi.Context, name string, args *CronArgs, td *ecs.TaskDefinition, count, maxPercent, minPercent int, opts ...pulumi.ResourceOption) (*ecs.Service, error) {
	service, err := ecs.NewService(ctx, name, &ecs.ServiceArgs{
		Cluster:                         args.ClusterARN,
		TaskDefinition:                  td.Arn,
		DesiredCount:                    pulumi.Int(count),
		DeploymentMaximumPercent:        pulumi.Int(maxPercent),
		DeploymentMinimumHealthyPercent: pulumi.Int(minPercent),
		DeploymentCircuitBreaker:        ecs.ServiceDeploymentCircuitBreakerArgs{Enable: pulumi.Bool(true), Rollback: pulumi.Bool(true)},
		ForceNewDeployment:              pulumi.Bool(forceNewDeployment),
		CapacityProviderStrategies:      args.Placement.Strategies,
		NetworkConfiguration: ecs.ServiceNetworkConfigurationArgs{
			Subnets:        args.SubnetIDs,
			SecurityGroups: pulumi.StringArray{args.SecurityGroupID},
			AssignPublicIp: pulumi.Bool(false),
		},
		// pulumi up returns once the new tasks run, so the web tier rolls only
		// after the runner's upgrade; one whose upgrade fails rolls back and fails
		// the update here.
		WaitForSteadyState:   pulumi.Bool(true),
		EnableExecuteCommand: pulumi.Bool(args.Spec.AWS.ECSExec),
		PropagateTags:        pulumi.String("SERVICE"),
		EnableEcsManagedTags: pulumi.Bool(true),
		Tags:                 tags(name),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("ecs service %s: %w", name, err)
	}
	return service, nil
}

// installerEnvironment adds what the image's install hook
// (docker/install-database.php) reads to create the site and its admin account,
// and the image the task runs: a new one purges Moodle's caches once.
func installerEnvironment(env TaskEnvironment) TaskEnvironment {
	out := map[string]pulumi.StringInput{appimage.EnvImageRevision: pulumi.String(env.Spec.Images.App)}
	for k, v := range env.Spec.InstallerEnv() {
		out[k] = pulumi.String(v)
	}
	for k, v := range env.Environment {
		out[k] = v
	}
	env.Environment = out
	return env
}
