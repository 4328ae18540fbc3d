package awscloud

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/appautoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// TaskEnvironment is what the app and cron tasks share: where they run, what they
// read, and the rendered config.php.
type TaskEnvironment struct {
	Spec    topology.Spec
	Account Account
	// AppImage is the reference the tasks pull Spec.Images.App by: the pushed
	// digest of a built image (codeSource build), else images.app as given.
	AppImage pulumi.StringInput
	// SubnetIDs are the private app subnets.
	SubnetIDs pulumi.StringArrayInput
	KMSKeyARN pulumi.StringInput
	Files     *Files
	// ConfigPHP is config.php rendered with the endpoints.
	ConfigPHP pulumi.StringInput
	// Secrets are the secrets every task gets.
	Secrets []TaskSecret
	// Environment holds the plain run-time settings config.php reads (s3 bucket).
	Environment map[string]pulumi.StringInput
	// ExecLogGroupARN receives ECS Exec sessions; nil without aws.ecsExec.
	ExecLogGroupARN pulumi.StringInput
	// MountsRestoredRoot is set for the cron runner on a restored file system: its
	// role may mount the root access point too.
	MountsRestoredRoot bool
}

// serviceDependsOn is what a service of these tasks waits for: its placement's
// capacity providers, the file system's mount targets (a task cannot start before
// its subnet has one) and more.
func (e TaskEnvironment) serviceDependsOn(p Placement, more ...pulumi.Resource) []pulumi.Resource {
	return append(append(append([]pulumi.Resource{}, p.DependsOn...), e.Files.MountTargets...), more...)
}

// Deployment bounds of the app service: new tasks start before old ones stop, so
// the site never runs below its count, and up to twice the count run meanwhile.
// The connection budget and the instance ceiling count that surge.
const (
	appDeploymentMinimumPercent = 100
	appDeploymentMaximumPercent = 200
)

// AppArgs configure the web tier.
type AppArgs struct {
	TaskEnvironment
	SecurityGroupID pulumi.StringInput
	// ClusterARN, ClusterName and Placement come from the Compute component.
	ClusterARN, ClusterName pulumi.StringInput
	Placement               Placement
	Edge                    *Edge
	// After are the resources a new app deployment waits for: the cron service
	// once its runner has upgraded the database (Cron.Upgraded), before new code
	// serves it; it fails when the upgrade failed.
	After pulumi.ResourceArrayInput
}

// App is the web tier: tasks of nginx beside php-fpm behind the ALB, scaled
// between the spec's bounds.
type App struct {
	pulumi.ResourceState

	ServiceName pulumi.StringOutput `pulumi:"serviceName"`
}

// NewApp creates the web task definition, the service and its autoscaling.
func NewApp(ctx *pulumi.Context, name string, args *AppArgs, opts ...pulumi.ResourceOption) (*App, error) {
	a := &App{}
	if err := ctx.RegisterComponentResource(TypeApp, name, a, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(a)
	spec := args.Spec

	// nginx runs the app image unless images.web names another.
	web := args.AppImage
	if spec.Images.Web != "" && spec.Images.Web != spec.Images.App {
		web = pulumi.String(spec.Images.Web)
	}
	td, _, err := newTask(ctx, name, args.TaskEnvironment, spec.App.Resources,
		[]renderedFile{configPHPFile(args.ConfigPHP), phpIniFile(spec), fpmPoolFile(spec), nginxFile(spec)},
		[]container{
			{
				Name: "php-fpm", Image: args.AppImage, Command: []string{"php-fpm"},
				Mounts:      phpMounts(spec, map[string]string{volFPMConf: imageFPMConfDir}),
				ReadOnly:    map[string]bool{volMoodleEtc: true, volFPMConf: true},
				HealthCheck: []string{"CMD", imageHealthcheck, "fpm"},
				RunsPHP:     true,
			},
			{
				Name: "nginx", Image: web, Command: []string{"nginx", "-g", "daemon off;"},
				Mounts: map[string]string{
					volNginxConf: imageNginxConfDir, volTmp: "/tmp",
					// nginx streams files from moodledata (X-Accel-Redirect).
					volMoodledata: spec.Paths.DataRoot,
				},
				ReadOnly: map[string]bool{volNginxConf: true, volMoodledata: true},
				Port:     spec.Web.Port,
				HealthCheck: []string{"CMD", imageHealthcheck, "nginx",
					fmt.Sprintf("http://127.0.0.1:%d%s", spec.Web.Port, render.HealthPath)},
				After: []string{"php-fpm"},
			},
		}, parent)
	if err != nil {
		return nil, err
	}

	depends := args.serviceDependsOn(args.Placement, args.Edge.Listeners...)
	service, err := ecs.NewService(ctx, name, &ecs.ServiceArgs{
		Cluster:                    args.ClusterARN,
		TaskDefinition:             td.Arn,
		DesiredCount:               pulumi.Int(spec.App.Replicas),
		ForceNewDeployment:         pulumi.Bool(forceNewDeployment),
		CapacityProviderStrategies: args.Placement.Strategies,
		NetworkConfiguration: ecs.ServiceNetworkConfigurationArgs{
			Subnets:        args.SubnetIDs,
			SecurityGroups: pulumi.StringArray{args.SecurityGroupID},
			AssignPublicIp: pulumi.Bool(false),
		},
		LoadBalancers: ecs.ServiceLoadBalancerArray{ecs.ServiceLoadBalancerArgs{
			TargetGroupArn: args.Edge.TargetGroupARN,
			ContainerName:  pulumi.String("nginx"),
			ContainerPort:  pulumi.Int(spec.Web.Port),
		}},
		// A deployment whose tasks never get healthy stops and rolls back by itself;
		// up waits for it (the provider's 20 minutes) and fails when it rolled
		// back (runsRevision).
		DeploymentCircuitBreaker:        ecs.ServiceDeploymentCircuitBreakerArgs{Enable: pulumi.Bool(true), Rollback: pulumi.Bool(true)},
		WaitForSteadyState:              pulumi.Bool(true),
		DeploymentMinimumHealthyPercent: pulumi.Int(appDeploymentMinimumPercent),
		DeploymentMaximumPercent:        pulumi.Int(appDeploymentMaximumPercent),
		// OPcache warm-up and the first requests of a new task are slow.
		HealthCheckGracePeriodSeconds: pulumi.Int(120),
		EnableExecuteCommand:          pulumi.Bool(spec.AWS.ECSExec),
		PropagateTags:                 pulumi.String("SERVICE"),
		EnableEcsManagedTags:          pulumi.Bool(true),
		Tags:                          tags(name),
	}, parent, pulumi.DependsOn(depends), pulumi.DependsOnInputs(args.After),
		// Autoscaling owns the running count once the service exists.
		pulumi.IgnoreChanges([]string{"desiredCount"}))
	if err != nil {
		return nil, fmt.Errorf("ecs service %s: %w", name, err)
	}
	a.ServiceName = service.Name
	if err := autoscale(ctx, name, spec, args.ClusterName, service, args.Edge, parent); err != nil {
		return nil, err
	}
	running := runsRevision(service, td, func(running, want string) error {
		return fmt.Errorf("the web tier's deployment of %s failed: ECS rolled the app service back from %s to %s; "+
			"its tasks' output is in the log streams %s-php-fpm/* and %s-nginx/*", spec.Images.App, want, running, name, name)
	})
	if err := ctx.RegisterResourceOutputs(a, pulumi.Map{"serviceName": a.ServiceName, "taskDefinition": running}); err != nil {
		return nil, err
	}
	return a, nil
}

// phpMounts are the mounts of a container that runs Moodle's PHP code, plus extra.
func phpMounts(s topology.Spec, extra map[string]string) map[string]string {
	m := map[string]string{
		volMoodleEtc:  moodleEtcDir,
		volTmp:        "/tmp",
		volLocalCache: s.Paths.LocalCacheDir,
		volMoodledata: s.Paths.DataRoot,
	}
	for v, p := range extra {
		m[v] = p
	}
	return m
}

// phpEnvironment is the plain environment of the containers that run PHP: the
// rendered php.ini is scanned after the image's own, and the image's scripts find
// the code and moodledata where the Spec puts them.
func phpEnvironment(s topology.Spec, env map[string]pulumi.StringInput) map[string]pulumi.StringInput {
	out := map[string]pulumi.StringInput{
		"PHP_INI_SCAN_DIR": pulumi.String(imagePHPConfDir + ":" + phpIniDir),
	}
	for k, v := range s.ImageEnv() {
		out[k] = pulumi.String(v)
	}
	for k, v := range env {
		out[k] = v
	}
	return out
}

// newTask creates the roles, the log group and the task definition of one kind of
// task.
func newTask(ctx *pulumi.Context, name string, env TaskEnvironment, res topology.Resources, files []renderedFile, containers []container, parent pulumi.ResourceOption) (*ecs.TaskDefinition, *cloudwatch.LogGroup, error) {
	execution, task, err := newTaskRoles(ctx, name, env, parent)
	if err != nil {
		return nil, nil, err
	}
	logs, err := logGroup(ctx, name, env.Spec.AWS.LogRetentionDays, env.KMSKeyARN, parent)
	if err != nil {
		return nil, nil, err
	}
	t := taskDefinition{
		Spec: env.Spec, Account: env.Account, Resources: res,
		Image: env.AppImage, Files: files, Containers: containers,
		Secrets: env.Secrets, Environment: phpEnvironment(env.Spec, env.Environment),
		LogGroup:         logs.Name,
		ExecutionRoleARN: execution.Arn, TaskRoleARN: task.Arn,
	}
	td, err := t.register(ctx, name, env.Files, parent)
	if err != nil {
		return nil, nil, fmt.Errorf("task definition %s: %w", name, err)
	}
	return td, logs, nil
}

// RequestsPerTarget is the ALB requests per task and minute the service scales
// on: each php-fpm child busy about half of the time with one-second requests.
func RequestsPerTarget(s topology.Spec) int { return s.App.Sizing().MaxChildren * 30 }

// Target utilisation of the CPU policy.
const targetCPUPercent = 60

// autoscale keeps the service between the spec's bounds, tracking CPU and the ALB
// requests per task, whichever asks for more tasks.
func autoscale(ctx *pulumi.Context, name string, s topology.Spec, clusterName pulumi.StringInput, service *ecs.Service, edge *Edge, parent pulumi.ResourceOption) error {
	target, err := appautoscaling.NewTarget(ctx, name, &appautoscaling.TargetArgs{
		ServiceNamespace:  pulumi.String("ecs"),
		ScalableDimension: pulumi.String("ecs:service:DesiredCount"),
		ResourceId:        pulumi.Sprintf("service/%s/%s", clusterName, service.Name),
		MinCapacity:       pulumi.Int(s.App.MinReplicas),
		MaxCapacity:       pulumi.Int(s.App.MaxReplicas),
	}, parent)
	if err != nil {
		return err
	}
	policies := []struct {
		suffix, metric string
		label          pulumi.StringPtrInput
		value          float64
	}{
		{"cpu", "ECSServiceAverageCPUUtilization", nil, targetCPUPercent},
		{"requests", "ALBRequestCountPerTarget", pulumi.Sprintf("%s/%s", edge.ARNSuffix, edge.TargetGroupARNSuffix), float64(RequestsPerTarget(s))},
	}
	for _, p := range policies {
		if _, err := appautoscaling.NewPolicy(ctx, name+"-"+p.suffix, &appautoscaling.PolicyArgs{
			PolicyType:        pulumi.String("TargetTrackingScaling"),
			ResourceId:        target.ResourceId,
			ScalableDimension: target.ScalableDimension,
			ServiceNamespace:  target.ServiceNamespace,
			TargetTrackingScalingPolicyConfiguration: appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs{
				TargetValue: pulumi.Float64(p.value),
				PredefinedMetricSpecification: appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs{
					PredefinedMetricType: pulumi.String(p.metric),
					ResourceLabel:        p.label,
				},
				ScaleOutCooldown: pulumi.Int(60),
				ScaleInCooldown:  pulumi.Int(300),
			},
		}, parent); err != nil {
			return err
		}
	}
	return nil
}
