package awscloud

import (
	"encoding/base64"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/appautoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/autoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// ecsAMIParameter is the SSM parameter AWS keeps pointed at the current
// ECS-optimised Amazon Linux 2023 image.
const ecsAMIParameter = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"

// TaskEnvironment is what the app and cron tasks share: where they run, what they
// read, and the rendered config.php.
type TaskEnvironment struct {
	Spec    topology.Spec
	Account Account
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
}

// AppArgs configure the web tier.
type AppArgs struct {
	TaskEnvironment
	SecurityGroupID pulumi.StringInput
	// InstanceSecurityGroupID guards the container instances (launch type ec2).
	InstanceSecurityGroupID pulumi.StringInput
	Edge                    *Edge
}

// App is the ECS cluster and the web tier in it: tasks of nginx beside php-fpm
// behind the ALB, scaled between the spec's bounds.
type App struct {
	pulumi.ResourceState

	ClusterName pulumi.StringOutput `pulumi:"clusterName"`
	ClusterARN  pulumi.StringOutput `pulumi:"clusterArn"`
	ServiceName pulumi.StringOutput `pulumi:"serviceName"`

	// capacity places services of launch type ec2 on the cluster's instances.
	capacity ecs.ServiceCapacityProviderStrategyArray
}

// NewApp creates the ECS cluster (and its instances with launch type ec2), the web
// task definition, the service and its autoscaling.
func NewApp(ctx *pulumi.Context, name string, args *AppArgs, opts ...pulumi.ResourceOption) (*App, error) {
	a := &App{}
	if err := ctx.RegisterComponentResource("moodle:aws:App", name, a, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(a)
	spec := args.Spec

	cluster, err := ecs.NewCluster(ctx, name, &ecs.ClusterArgs{
		Settings: ecs.ClusterSettingArray{ecs.ClusterSettingArgs{Name: pulumi.String("containerInsights"), Value: pulumi.String("enabled")}},
		Tags:     tags(name),
	}, parent)
	if err != nil {
		return nil, err
	}
	a.ClusterName, a.ClusterARN = cluster.Name, cluster.Arn
	if spec.App.LaunchType == topology.LaunchEC2 {
		if err := a.instances(ctx, name, cluster, args, parent); err != nil {
			return nil, err
		}
	}

	web := spec.Images.Web
	if web == "" {
		web = spec.Images.App
	}
	td, err := newTask(ctx, name, args.TaskEnvironment, spec.App.Resources,
		[]renderedFile{configPHPFile(args.ConfigPHP), phpIniFile(spec), fpmPoolFile(spec), nginxFile(spec)},
		[]container{
			{
				Name: "php-fpm", Image: spec.Images.App, Command: []string{"php-fpm"},
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

	service, err := ecs.NewService(ctx, name, &ecs.ServiceArgs{
		Cluster:                    cluster.Arn,
		TaskDefinition:             td.Arn,
		DesiredCount:               pulumi.Int(spec.App.Replicas),
		LaunchType:                 a.launchType(spec),
		CapacityProviderStrategies: a.capacity,
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
		// A deployment whose tasks never get healthy stops and rolls back by itself.
		DeploymentCircuitBreaker:        ecs.ServiceDeploymentCircuitBreakerArgs{Enable: pulumi.Bool(true), Rollback: pulumi.Bool(true)},
		DeploymentMinimumHealthyPercent: pulumi.Int(100),
		DeploymentMaximumPercent:        pulumi.Int(200),
		// OPcache warm-up and the first requests of a new task are slow.
		HealthCheckGracePeriodSeconds: pulumi.Int(120),
		PropagateTags:                 pulumi.String("SERVICE"),
		EnableEcsManagedTags:          pulumi.Bool(true),
		Tags:                          tags(name),
	}, parent, pulumi.DependsOn(args.Edge.listeners),
		// Autoscaling owns the running count once the service exists.
		pulumi.IgnoreChanges([]string{"desiredCount"}))
	if err != nil {
		return nil, err
	}
	a.ServiceName = service.Name
	if err := autoscale(ctx, name, spec, cluster, service, args.Edge, parent); err != nil {
		return nil, err
	}
	if err := ctx.RegisterResourceOutputs(a, pulumi.Map{
		"clusterName": a.ClusterName,
		"clusterArn":  a.ClusterARN,
		"serviceName": a.ServiceName,
	}); err != nil {
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

// newTask creates the roles and the task definition of one kind of task.
func newTask(ctx *pulumi.Context, name string, env TaskEnvironment, res topology.Resources, files []renderedFile, containers []container, parent pulumi.ResourceOption) (*ecs.TaskDefinition, error) {
	execution, task, err := newTaskRoles(ctx, name, env.Account, env.Secrets, env.KMSKeyARN, env.Files, parent)
	if err != nil {
		return nil, err
	}
	logs, err := logGroup(ctx, name, env.Spec.AWS.LogRetentionDays, env.KMSKeyARN, parent)
	if err != nil {
		return nil, err
	}
	t := taskDefinition{
		Spec: env.Spec, Account: env.Account, Resources: res,
		Files: files, Containers: containers,
		Secrets: env.Secrets, Environment: phpEnvironment(env.Spec, env.Environment),
		LogGroup:         logs.Name,
		ExecutionRoleARN: execution.Arn, TaskRoleARN: task.Arn,
	}
	return t.register(ctx, name, env.Files, parent)
}

// launchType is set for Fargate; with ec2 the capacity provider strategy places tasks.
func (a *App) launchType(s topology.Spec) pulumi.StringPtrInput {
	if s.App.LaunchType == topology.LaunchEC2 {
		return nil
	}
	return pulumi.String("FARGATE")
}

// instances creates the container instances of launch type ec2: a launch template
// (IMDSv2 only, encrypted root volume, no public address, the ECS-optimised image),
// an Auto Scaling group and a capacity provider that scales it for the tasks.
func (a *App) instances(ctx *pulumi.Context, name string, cluster *ecs.Cluster, args *AppArgs, parent pulumi.ResourceOption) error {
	spec := args.Spec
	ami, err := ssm.LookupParameter(ctx, &ssm.LookupParameterArgs{Name: ecsAMIParameter}, pulumi.Parent(a))
	if err != nil {
		return fmt.Errorf("look up the ECS-optimised AMI: %w", err)
	}
	instName := name + "-instance"
	role, err := iam.NewRole(ctx, instName, &iam.RoleArgs{
		AssumeRolePolicy: assumeRolePolicy("ec2.amazonaws.com"),
		ManagedPolicyArns: pulumi.ToStringArray([]string{
			args.Account.managedPolicy("service-role/AmazonEC2ContainerServiceforEC2Role"),
			// Session Manager replaces SSH: no key pair, no port 22.
			args.Account.managedPolicy("AmazonSSMManagedInstanceCore"),
		}),
		Tags: tags(instName),
	}, parent)
	if err != nil {
		return err
	}
	profile, err := iam.NewInstanceProfile(ctx, instName, &iam.InstanceProfileArgs{Role: role.Name, Tags: tags(instName)}, parent)
	if err != nil {
		return err
	}
	// The user data names the cluster and keeps the tasks away from the instance
	// metadata; it carries no secret.
	userData := cluster.Name.ApplyT(func(c string) string {
		return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf(
			"#!/bin/bash\ncat >> /etc/ecs/ecs.config <<'EOF'\nECS_CLUSTER=%s\nECS_AWSVPC_BLOCK_IMDS=true\nECS_ENABLE_CONTAINER_METADATA=true\nEOF\n", c)))
	}).(pulumi.StringOutput)
	template, err := ec2.NewLaunchTemplate(ctx, instName, &ec2.LaunchTemplateArgs{
		ImageId:            pulumi.String(ami.Value),
		InstanceType:       pulumi.String(spec.AWS.EC2InstanceType),
		IamInstanceProfile: ec2.LaunchTemplateIamInstanceProfileArgs{Arn: profile.Arn},
		MetadataOptions: ec2.LaunchTemplateMetadataOptionsArgs{
			HttpEndpoint: pulumi.String("enabled"),
			HttpTokens:   pulumi.String("required"),
			// Tasks use awsvpc and their task role: nothing in a container needs the
			// instance's metadata, so one hop keeps it on the host.
			HttpPutResponseHopLimit: pulumi.Int(1),
		},
		BlockDeviceMappings: ec2.LaunchTemplateBlockDeviceMappingArray{ec2.LaunchTemplateBlockDeviceMappingArgs{
			DeviceName: pulumi.String("/dev/xvda"),
			Ebs: ec2.LaunchTemplateBlockDeviceMappingEbsArgs{
				Encrypted:           pulumi.String("true"),
				KmsKeyId:            args.KMSKeyARN,
				VolumeType:          pulumi.String("gp3"),
				VolumeSize:          pulumi.Int(50),
				DeleteOnTermination: pulumi.String("true"),
			},
		}},
		NetworkInterfaces: ec2.LaunchTemplateNetworkInterfaceArray{ec2.LaunchTemplateNetworkInterfaceArgs{
			DeviceIndex:              pulumi.Int(0),
			AssociatePublicIpAddress: pulumi.String("false"),
			SecurityGroups:           pulumi.StringArray{args.InstanceSecurityGroupID},
		}},
		Monitoring:           ec2.LaunchTemplateMonitoringArgs{Enabled: pulumi.Bool(true)},
		UserData:             userData,
		UpdateDefaultVersion: pulumi.Bool(true),
		Tags:                 tags(instName),
	}, parent)
	if err != nil {
		return err
	}
	// At worst one app task per instance, plus the cron task.
	group, err := autoscaling.NewGroup(ctx, instName, &autoscaling.GroupArgs{
		VpcZoneIdentifiers: args.SubnetIDs,
		MinSize:            pulumi.Int(1),
		MaxSize:            pulumi.Int(spec.App.MaxReplicas + 1),
		LaunchTemplate:     autoscaling.GroupLaunchTemplateArgs{Id: template.ID(), Version: pulumi.String("$Latest")},
		// Managed termination protection: ECS decides which instance may go.
		ProtectFromScaleIn: pulumi.Bool(true),
		HealthCheckType:    pulumi.String("EC2"),
		Tags: autoscaling.GroupTagArray{
			autoscaling.GroupTagArgs{Key: pulumi.String("AmazonECSManaged"), Value: pulumi.String("true"), PropagateAtLaunch: pulumi.Bool(true)},
			autoscaling.GroupTagArgs{Key: pulumi.String("Name"), Value: pulumi.String(instName), PropagateAtLaunch: pulumi.Bool(true)},
		},
	}, parent, pulumi.IgnoreChanges([]string{"desiredCapacity"}))
	if err != nil {
		return err
	}
	provider, err := ecs.NewCapacityProvider(ctx, name, &ecs.CapacityProviderArgs{
		AutoScalingGroupProvider: ecs.CapacityProviderAutoScalingGroupProviderArgs{
			AutoScalingGroupArn:          group.Arn,
			ManagedTerminationProtection: pulumi.String("ENABLED"),
			ManagedDraining:              pulumi.String("ENABLED"),
			ManagedScaling: ecs.CapacityProviderAutoScalingGroupProviderManagedScalingArgs{
				Status:                 pulumi.String("ENABLED"),
				TargetCapacity:         pulumi.Int(100),
				MinimumScalingStepSize: pulumi.Int(1),
				MaximumScalingStepSize: pulumi.Int(2),
			},
		},
		Tags: tags(name),
	}, parent)
	if err != nil {
		return err
	}
	strategy := ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgs{CapacityProvider: provider.Name, Weight: pulumi.Int(1)}
	if _, err := ecs.NewClusterCapacityProviders(ctx, name, &ecs.ClusterCapacityProvidersArgs{
		ClusterName:                       cluster.Name,
		CapacityProviders:                 pulumi.StringArray{provider.Name},
		DefaultCapacityProviderStrategies: ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArray{strategy},
	}, parent); err != nil {
		return err
	}
	a.capacity = ecs.ServiceCapacityProviderStrategyArray{ecs.ServiceCapacityProviderStrategyArgs{CapacityProvider: provider.Name, Weight: pulumi.Int(1)}}
	return nil
}

// RequestsPerTarget is the ALB requests per task and minute the service scales
// on: each php-fpm child busy about half of the time with one-second requests.
func RequestsPerTarget(s topology.Spec) int { return s.App.Sizing().MaxChildren * 30 }

// Target utilisation of the CPU policy.
const targetCPUPercent = 60

// autoscale keeps the service between the spec's bounds, tracking CPU and the ALB
// requests per task, whichever asks for more tasks.
func autoscale(ctx *pulumi.Context, name string, s topology.Spec, cluster *ecs.Cluster, service *ecs.Service, edge *Edge, parent pulumi.ResourceOption) error {
	target, err := appautoscaling.NewTarget(ctx, name, &appautoscaling.TargetArgs{
		ServiceNamespace:  pulumi.String("ecs"),
		ScalableDimension: pulumi.String("ecs:service:DesiredCount"),
		ResourceId:        pulumi.Sprintf("service/%s/%s", cluster.Name, service.Name),
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
