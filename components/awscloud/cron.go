package awscloud

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/appimage"
)

// CronArgs configure the cron runner.
type CronArgs struct {
	TaskEnvironment
	SecurityGroupID pulumi.StringInput
	// ClusterARN and Placement come from the Compute component.
	ClusterARN pulumi.StringInput
	Placement  Placement
}

// Cron is the one cron runner of the cluster: an ECS service of exactly one task
// that runs the rendered runner, which installs or upgrades Moodle once and then
// runs admin/cli/cron.php every minute.
//
// Never two: the service's deployment replaces the task by stopping the old one
// first (maximum 100 %, minimum 0 %), and the runner's lock in moodledata turns
// any second task away in case ECS ever starts one anyway.
type Cron struct {
	pulumi.ResourceState

	ServiceName pulumi.StringOutput `pulumi:"serviceName"`
	// Service is what an app deployment waits for: pulumi up replaces the runner,
	// and so upgrades the database, before it rolls the web tier.
	Service pulumi.Resource
	// LogGroupName holds the runner's log, whose completed runs the alarms count.
	LogGroupName pulumi.StringOutput
}

// NewCron creates the cron task definition and its service.
func NewCron(ctx *pulumi.Context, name string, args *CronArgs, opts ...pulumi.ResourceOption) (*Cron, error) {
	c := &Cron{}
	if err := ctx.RegisterComponentResource("moodle:aws:Cron", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	spec := args.Spec
	td, logs, err := newTask(ctx, name, installerEnvironment(args.TaskEnvironment), spec.Cron.Resources,
		[]renderedFile{configPHPFile(args.ConfigPHP), phpIniFile(spec), cronFile(spec)},
		[]container{{
			Name: "cron", Image: spec.Images.App, Command: []string{"/bin/sh", cronRunnerPath},
			Mounts:   phpMounts(spec, nil),
			ReadOnly: map[string]bool{volMoodleEtc: true},
			// Alive is enough: an install can outlast any ECS start period, and an
			// unhealthy essential container would be killed in the middle of it.
			HealthCheck: []string{"CMD-SHELL", "pgrep -f " + cronRunnerPath + " > /dev/null"},
			RunsPHP:     true,
		}}, parent)
	if err != nil {
		return nil, err
	}
	service, err := ecs.NewService(ctx, name, &ecs.ServiceArgs{
		Cluster:                         args.ClusterARN,
		TaskDefinition:                  td.Arn,
		DesiredCount:                    pulumi.Int(1),
		DeploymentMaximumPercent:        pulumi.Int(100),
		DeploymentMinimumHealthyPercent: pulumi.Int(0),
		DeploymentCircuitBreaker:        ecs.ServiceDeploymentCircuitBreakerArgs{Enable: pulumi.Bool(true), Rollback: pulumi.Bool(true)},
		LaunchType:                      args.Placement.LaunchType,
		CapacityProviderStrategies:      args.Placement.Strategies,
		NetworkConfiguration: ecs.ServiceNetworkConfigurationArgs{
			Subnets:        args.SubnetIDs,
			SecurityGroups: pulumi.StringArray{args.SecurityGroupID},
			AssignPublicIp: pulumi.Bool(false),
		},
		// pulumi up returns, and the web tier rolls, only once the new runner runs;
		// a runner whose upgrade fails rolls back and fails the update here.
		WaitForSteadyState:   pulumi.Bool(true),
		EnableExecuteCommand: pulumi.Bool(spec.AWS.ECSExec),
		PropagateTags:        pulumi.String("SERVICE"),
		EnableEcsManagedTags: pulumi.Bool(true),
		Tags:                 tags(name),
	}, parent, pulumi.DependsOn(args.Placement.DependsOn))
	if err != nil {
		return nil, fmt.Errorf("ecs service %s: %w", name, err)
	}
	c.ServiceName, c.Service, c.LogGroupName = service.Name, service, logs.Name
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{"serviceName": c.ServiceName}); err != nil {
		return nil, err
	}
	return c, nil
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
