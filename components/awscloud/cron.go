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
	// Upgraded is what a deployment of the web tier waits for: the cron service
	// once it runs this release's runner, whose upgrade container has upgraded the
	// database. It fails, and with it pulumi up, when ECS rolled the runner back.
	Upgraded pulumi.ResourceArrayOutput
	// LogGroupName holds the runner's log, whose completed runs the alarms count.
	LogGroupName pulumi.StringOutput
}

// NewCron creates the cron runner's and the ad hoc task workers' task definitions
// and services.
func NewCron(ctx *pulumi.Context, name string, args *CronArgs, opts ...pulumi.ResourceOption) (*Cron, error) {
	c := &Cron{}
	if err := ctx.RegisterComponentResource(TypeCron, name, c, opts...); err != nil {
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
		// this mount of the root. Only the upgrade container, which runs the hook,
		// mounts it.
		runner.MountsRestoredRoot = true
		runner.Environment[appimage.EnvRestoredRoot] = pulumi.String(appimage.RestoredRootMount)
		extraMounts = map[string]string{volRestoredRoot: appimage.RestoredRootMount}
	}
	// The install/upgrade runs in a container of its own that the runner's cron
	// container waits for (dependsOn SUCCESS): ECS counts the task as running
	// only once every container has started (amazon-ecs-agent
	// agent/api/task/task.go, updateTaskKnownStatus: the task's known status is
	// the minimum of its containers'), so the service reaches the steady state
	// pulumi up waits for only after the upgrade; a failed upgrade stops the
	// task instead (agent/engine/dependencygraph/graph.go,
	// verifyContainerOrderingStatusResolvable), which the circuit breaker counts.
	// No health check and no start timeout bound the upgrade, which must never be
	// killed midway: an install or a large upgrade outlasts any start period.
	upgrade := runnerContainer(runner, "upgrade", cronRunnerPath, extraMounts, "upgrade")
	upgrade.OneShot, upgrade.HealthCheck = true, nil
	cron := runnerContainer(runner, "cron", cronRunnerPath, nil, "cron")
	cron.AfterSuccess = []string{upgrade.Name}
	td, logs, err := scriptTask(ctx, name, runner, spec.Cron.Resources, cronFile(spec), []container{upgrade, cron}, parent)
	if err != nil {
		return nil, err
	}
	// A replaced service (a new launch type, say) must go before its replacement
	// comes: the old runner holds the lock in moodledata, so the new one would exit
	// at once and its service, waiting for a steady state, would hang the update.
	// The wait now spans the upgrade, so it gets longer than the provider's 20
	// minutes.
	service, err := taskService(ctx, name, args, td, 1, 100, 0, parent, pulumi.DependsOn(args.serviceDependsOn(args.Placement)),
		pulumi.DeleteBeforeReplace(true), pulumi.Timeouts(&pulumi.CustomTimeouts{Create: upgradeWait, Update: upgradeWait}))
	if err != nil {
		return nil, err
	}
	running := runsRevision(service, td, func(running, want string) error {
		return fmt.Errorf("the cron runner's install/upgrade of %s failed: ECS rolled the cron service back from %s to %s; "+
			"the upgrade's output is in the cron task's log streams %s-upgrade/*", spec.Images.App, want, running, name)
	})
	c.ServiceName, c.LogGroupName = service.Name, logs.Name
	c.Upgraded = running.ApplyT(func(string) []pulumi.Resource { return []pulumi.Resource{service} }).(pulumi.ResourceArrayOutput)
	c.AdhocServiceName = pulumi.String("").ToStringOutput()

	if workers := spec.Cron.Adhoc.Workers; workers > 0 {
		adhoc, _, err := scriptTask(ctx, name+"-adhoc", args.TaskEnvironment, spec.Cron.Adhoc.Resources, adhocFile(spec),
			[]container{runnerContainer(args.TaskEnvironment, "adhoc", adhocWorkerPath, nil)}, parent)
		if err != nil {
			return nil, err
		}
		// The workers wait for this release's marker, which the runner writes after
		// the upgrade; starting them after the upgrade keeps them from waiting on it
		// at all. New workers start before the old ones stop, which finish the task
		// they run.
		// In maintenance the workers stop (each finishes the task it runs, within
		// the stop timeout): nothing but the runner's upgrade touches the data.
		if spec.AWS.Maintenance.Enabled {
			workers = 0
		}
		svc, err := taskService(ctx, name+"-adhoc", args, adhoc, workers, topology.AWSDeploymentMaximumPercent, 100,
			parent, pulumi.DependsOn(args.serviceDependsOn(args.Placement)), pulumi.DependsOnInputs(c.Upgraded))
		if err != nil {
			return nil, err
		}
		c.AdhocServiceName = svc.Name
	}
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{"serviceName": c.ServiceName, "adhocServiceName": c.AdhocServiceName, "taskDefinition": running}); err != nil {
		return nil, err
	}
	return c, nil
}

// upgradeWait bounds how long pulumi up waits for the cron service, and so for an
// install or upgrade: the upgrade goes on when it ends (nothing stops the task),
// but up fails with the provider's timeout (see docs/aws.md, "Upgrades").
const upgradeWait = "2h"

// scriptTask is the task definition of a rendered runner script: its containers
// run script, written to its path, with moodledata.
func scriptTask(ctx *pulumi.Context, name string, env TaskEnvironment, res topology.Resources, script renderedFile, containers []container, parent pulumi.ResourceOption) (*ecs.TaskDefinition, *cloudwatch.LogGroup, error) {
	return newTask(ctx, name, env, res, []renderedFile{configPHPFile(env.ConfigPHP), phpIniFile(env.Spec), script}, containers, parent)
}

// runnerContainer runs the script at path with args and extraMounts, from the
// app image env's tasks pull. Alive is healthy enough: an unhealthy essential
// container would be killed in the middle of a cron task or a backup.
func runnerContainer(env TaskEnvironment, name, path string, extraMounts map[string]string, args ...string) container {
	return container{
		Name: name, Image: env.AppImage, Command: append([]string{"/bin/sh", path}, args...),
		Mounts:      phpMounts(env.Spec, extraMounts),
		ReadOnly:    map[string]bool{volMoodleEtc: true},
		HealthCheck: []string{"CMD-SHELL", "pgrep -f " + path + " > /dev/null"},
		RunsPHP:     true,
	}
}

// runsRevision is the task definition service runs once up has deployed td: with
// waitForSteadyState, the provider's update returns once the service has one
// deployment whose running count is its desired count
// (terraform-provider-aws v5 internal/service/ecs/service.go,
// statusServiceWaitForStable), which a deployment the circuit breaker rolled back
// reaches too, and then reads back the task definition the service runs
// (resourceServiceRead: task_definition from DescribeServices): after a
// rollback the previous one, since "the service is rolled back to the last
// deployment that completed successfully" (ECS API Reference,
// DeploymentCircuitBreaker, rollback). failed makes the error that fails up then.
func runsRevision(service *ecs.Service, td *ecs.TaskDefinition, failed func(running, want string) error) pulumi.StringOutput {
	return pulumi.All(service.TaskDefinition, td.Arn).ApplyT(func(v []any) (string, error) {
		running, _ := v[0].(*string)
		want, _ := v[1].(string)
		if running == nil || *running != want {
			got := ""
			if running != nil {
				got = *running
			}
			return "", failed(got, want)
		}
		return want, nil
	}).(pulumi.StringOutput)
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
