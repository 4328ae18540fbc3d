package awscloud

import (
	"encoding/base64"
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/autoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// ecsAMIParameters are the SSM parameters AWS keeps pointed at the current
// ECS-optimised Amazon Linux 2023 image of each architecture.
var ecsAMIParameters = map[string]string{
	topology.ArchX86:   "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id",
	topology.ArchARM64: "/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id",
}

// Fargate's two capacity providers; every cluster has them, once associated.
const (
	capacityFargate     = "FARGATE"
	capacityFargateSpot = "FARGATE_SPOT"
)

// ComputeArgs configure the ECS cluster and where its tasks run.
type ComputeArgs struct {
	App topology.App
	// OtherTasks is how many tasks besides the app's may run at once: the cron
	// runner and the ad hoc task workers during their deployment's surge.
	OtherTasks int
	AWS        topology.AWSTarget
	// ClusterName is the ECS cluster's name, fixed before it exists so that the
	// Container Insights log group can be created first.
	ClusterName string
	Account     Account
	KMSKeyARN   pulumi.StringInput
	// InsightsLogGroup must exist before the cluster, or Container Insights
	// creates it unencrypted and kept forever.
	InsightsLogGroup pulumi.Resource
	// ExecLogGroup receives the ECS Exec sessions (aws.ecsExec).
	ExecLogGroup pulumi.StringInput
	// SubnetIDs and InstanceSecurityGroupID place the container instances (ec2).
	SubnetIDs               pulumi.StringArrayInput
	InstanceSecurityGroupID pulumi.StringInput
	// AutoScalingRoleARN is the service-linked role the instance group launches
	// with; the data key lets it use the key for the encrypted root volumes (ec2).
	AutoScalingRoleARN pulumi.StringInput
}

// Placement is where a service's tasks run: capacity provider strategies, which
// ECS accepts only once the cluster has the providers, so the service must depend
// on DependsOn.
type Placement struct {
	Strategies ecs.ServiceCapacityProviderStrategyArray
	DependsOn  []pulumi.Resource
}

// forceNewDeployment is set on every service: with it the provider updates a
// changed capacity provider strategy in place instead of replacing the service
// (see NewCompute). It also makes every update of a service a new deployment,
// which ECS rolls like any other.
const forceNewDeployment = true

// Compute is the ECS cluster, and with launch type ec2 its container instances.
type Compute struct {
	pulumi.ResourceState

	ClusterName pulumi.StringOutput `pulumi:"clusterName"`
	ClusterARN  pulumi.StringOutput `pulumi:"clusterArn"`
	// App and Cron place the two services. Only the web tier may use Fargate Spot:
	// an interrupted cron task would stop an upgrade half-way.
	App, Cron Placement
}

// NewCompute creates the cluster, its capacity and the capacity providers.
func NewCompute(ctx *pulumi.Context, name string, args *ComputeArgs, opts ...pulumi.ResourceOption) (*Compute, error) {
	c := &Compute{}
	if err := ctx.RegisterComponentResource(TypeCompute, name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	clusterArgs := &ecs.ClusterArgs{
		Name:     pulumi.String(args.ClusterName),
		Settings: ecs.ClusterSettingArray{ecs.ClusterSettingArgs{Name: pulumi.String("containerInsights"), Value: pulumi.String("enabled")}},
		Tags:     tags(name),
	}
	if args.AWS.ECSExec {
		// Sessions are encrypted with the data key and every one is logged.
		clusterArgs.Configuration = ecs.ClusterConfigurationArgs{
			ExecuteCommandConfiguration: ecs.ClusterConfigurationExecuteCommandConfigurationArgs{
				KmsKeyId: args.KMSKeyARN,
				Logging:  pulumi.String("OVERRIDE"),
				LogConfiguration: ecs.ClusterConfigurationExecuteCommandConfigurationLogConfigurationArgs{
					CloudWatchLogGroupName:      args.ExecLogGroup,
					CloudWatchEncryptionEnabled: pulumi.Bool(true),
				},
			},
		}
	}
	cluster, err := ecs.NewCluster(ctx, name, clusterArgs, parent, pulumi.DependsOn([]pulumi.Resource{args.InsightsLogGroup}))
	if err != nil {
		return nil, fmt.Errorf("ecs cluster %s: %w", name, err)
	}
	c.ClusterName, c.ClusterARN = cluster.Name, cluster.Arn

	switch {
	case args.App.LaunchType == topology.LaunchEC2:
		provider, err := c.instances(ctx, name, cluster, args, parent)
		if err != nil {
			return nil, err
		}
		association, err := associate(ctx, name, cluster, pulumi.StringArray{provider.Name}, parent)
		if err != nil {
			return nil, err
		}
		only := Placement{
			Strategies: ecs.ServiceCapacityProviderStrategyArray{ecs.ServiceCapacityProviderStrategyArgs{CapacityProvider: provider.Name, Weight: pulumi.Int(1)}},
			DependsOn:  []pulumi.Resource{association},
		}
		c.App, c.Cron = only, only
	default:
		// Always a capacity provider strategy, never a launch type: a service whose
		// strategy changes is updated in place only when the old and the new one are
		// both non-empty (and the service forces a new deployment), and replaced
		// otherwise (capacityProviderStrategyCustomizeDiff, terraform-provider-aws
		// internal/service/ecs/service.go). So turning Fargate Spot on, or changing
		// app.minReplicas, rolls the tasks of the same service instead of starting a
		// second service beside it.
		association, err := associate(ctx, name, cluster, pulumi.ToStringArray([]string{capacityFargate, capacityFargateSpot}), parent)
		if err != nil {
			return nil, err
		}
		c.App = Placement{Strategies: spotStrategy(args.App), DependsOn: []pulumi.Resource{association}}
		c.Cron = Placement{
			Strategies: ecs.ServiceCapacityProviderStrategyArray{ecs.ServiceCapacityProviderStrategyArgs{CapacityProvider: pulumi.String(capacityFargate), Weight: pulumi.Int(1)}},
			DependsOn:  []pulumi.Resource{association},
		}
	}
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{"clusterName": c.ClusterName, "clusterArn": c.ClusterARN}); err != nil {
		return nil, err
	}
	return c, nil
}

// spotStrategy keeps app.minReplicas on regular Fargate (the base) and splits the
// tasks above it between Fargate and Fargate Spot by app.spotPercent; without Spot
// its weight is 0, which ECS reads as "not used", so the strategy keeps its shape.
func spotStrategy(a topology.App) ecs.ServiceCapacityProviderStrategyArray {
	strategy := ecs.ServiceCapacityProviderStrategyArray{ecs.ServiceCapacityProviderStrategyArgs{
		CapacityProvider: pulumi.String(capacityFargate), Base: pulumi.Int(a.MinReplicas), Weight: pulumi.Int(100 - a.SpotPercent),
	}}
	return append(strategy, ecs.ServiceCapacityProviderStrategyArgs{
		CapacityProvider: pulumi.String(capacityFargateSpot), Weight: pulumi.Int(a.SpotPercent),
	})
}

// associate gives the cluster its capacity providers.
func associate(ctx *pulumi.Context, name string, cluster *ecs.Cluster, providers pulumi.StringArray, parent pulumi.ResourceOption) (*ecs.ClusterCapacityProviders, error) {
	association, err := ecs.NewClusterCapacityProviders(ctx, name, &ecs.ClusterCapacityProvidersArgs{
		ClusterName:       cluster.Name,
		CapacityProviders: providers,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("capacity providers of %s: %w", name, err)
	}
	return association, nil
}

// instanceCeiling is the most container instances the group may run: during a
// deployment the app service runs up to deploymentMaximumPercent of its tasks, at
// worst one per instance, and the other tasks (cron, the ad hoc workers) need one
// each.
func instanceCeiling(a topology.App, otherTasks int) int {
	return (a.MaxReplicas*appDeploymentMaximumPercent+99)/100 + otherTasks
}

// newAutoScalingRole is the service-linked role the instance group launches with.
// It has a suffix of its own so that creating it never collides with the account's
// default role, and the data key's policy can name it before the group exists.
func newAutoScalingRole(ctx *pulumi.Context, name string, opts ...pulumi.ResourceOption) (*iam.ServiceLinkedRole, error) {
	role, err := iam.NewServiceLinkedRole(ctx, name, &iam.ServiceLinkedRoleArgs{
		AwsServiceName: pulumi.String("autoscaling.amazonaws.com"),
		CustomSuffix:   pulumi.String(fmt.Sprintf("%s-%s", ctx.Project(), ctx.Stack())),
		Description:    pulumi.String("launches the moodle container instances"),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("auto scaling role %s: %w", name, err)
	}
	return role, nil
}

// The instance refresh's healthy percentages of the desired capacity (see
// instances).
const (
	instanceRefreshMinHealthy = 100
	instanceRefreshMaxHealthy = 150
)

// instances creates the container instances of launch type ec2: a launch template
// (IMDSv2 only, encrypted root volume, no public address, the ECS-optimised image),
// an Auto Scaling group and a capacity provider that scales it for the tasks.
func (c *Compute) instances(ctx *pulumi.Context, name string, cluster *ecs.Cluster, args *ComputeArgs, parent pulumi.ResourceOption) (*ecs.CapacityProvider, error) {
	ceiling := instanceCeiling(args.App, args.OtherTasks)
	// The provider marks a parameter's value secret whatever it holds, and a plain
	// invoke refuses a secret result ("unexpected secret result returned to invoke
	// call"), so every ec2 stack failed here. The output form carries it; the AMI id
	// is public (insecureValue, the parameter's plain String), so it is unsecreted.
	ami := ssm.LookupParameterOutput(ctx, ssm.LookupParameterOutputArgs{Name: pulumi.String(ecsAMIParameters[args.App.CPUArchitecture])}, pulumi.Parent(c))
	imageID := pulumi.Unsecret(ami.InsecureValue()).(pulumi.StringOutput)
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
		return nil, fmt.Errorf("instance role %s: %w", instName, err)
	}
	profile, err := iam.NewInstanceProfile(ctx, instName, &iam.InstanceProfileArgs{Role: role.Name, Tags: tags(instName)}, parent)
	if err != nil {
		return nil, fmt.Errorf("instance profile %s: %w", instName, err)
	}
	// The user data names the cluster and keeps the tasks away from the instance
	// metadata; it carries no secret.
	userData := cluster.Name.ApplyT(func(c string) string {
		return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf(
			"#!/bin/bash\ncat >> /etc/ecs/ecs.config <<'EOF'\nECS_CLUSTER=%s\nECS_AWSVPC_BLOCK_IMDS=true\nECS_ENABLE_CONTAINER_METADATA=true\nEOF\n", c)))
	}).(pulumi.StringOutput)
	template, err := ec2.NewLaunchTemplate(ctx, instName, &ec2.LaunchTemplateArgs{
		ImageId:            imageID,
		InstanceType:       pulumi.String(args.AWS.EC2InstanceType),
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
		return nil, fmt.Errorf("launch template %s: %w", instName, err)
	}
	group, err := autoscaling.NewGroup(ctx, instName, &autoscaling.GroupArgs{
		VpcZoneIdentifiers: args.SubnetIDs,
		MinSize:            pulumi.Int(1),
		MaxSize:            pulumi.Int(ceiling),
		// The template's version number, not "$Latest": the provider starts an
		// instance refresh only when the group's launch_template block changes
		// (terraform-provider-aws internal/service/autoscaling/group.go,
		// resourceGroupUpdate: d.HasChange("launch_template") sets
		// shouldRefreshInstances), and "$Latest" stays "$Latest" when a new AMI
		// or user data makes a new version, so the running instances would keep
		// the old image until something else replaced them.
		LaunchTemplate: autoscaling.GroupLaunchTemplateArgs{Id: template.ID(), Version: template.LatestVersion.ApplyT(strconv.Itoa).(pulumi.StringOutput)},
		InstanceRefresh: autoscaling.GroupInstanceRefreshArgs{
			Strategy: pulumi.String("Rolling"),
			Preferences: autoscaling.GroupInstanceRefreshPreferencesArgs{
				// Launch before terminating: the group holds exactly the
				// instances ECS's managed scaling asked for (target capacity
				// 100), so an instance taken out first would leave its tasks
				// nowhere to go. 150 replaces the instances in two batches of
				// up to half the group, a bounded surge and a bounded time.
				MinHealthyPercentage: pulumi.Int(instanceRefreshMinHealthy),
				MaxHealthyPercentage: pulumi.Int(instanceRefreshMaxHealthy),
				// Managed termination protection keeps every instance with
				// tasks protected from scale-in; "Wait", the default, would
				// wait an hour for the protection to go and then fail
				// (RefreshPreferences, Amazon EC2 Auto Scaling API reference).
				// Managed draining moves the tasks off each instance before
				// it terminates.
				ScaleInProtectedInstances: pulumi.String("Refresh"),
				// Instances already on the new version are left alone.
				SkipMatching: pulumi.Bool(true),
			},
		},
		// It launches with the role the data key trusts for the encrypted volumes.
		ServiceLinkedRoleArn: args.AutoScalingRoleARN,
		// Managed termination protection: ECS decides which instance may go.
		ProtectFromScaleIn: pulumi.Bool(true),
		// Scale-in protection would otherwise keep a destroy waiting for instances
		// that never terminate: deleting the group takes its instances with it.
		ForceDelete:     pulumi.Bool(true),
		HealthCheckType: pulumi.String("EC2"),
		Tags: autoscaling.GroupTagArray{
			autoscaling.GroupTagArgs{Key: pulumi.String("AmazonECSManaged"), Value: pulumi.String("true"), PropagateAtLaunch: pulumi.Bool(true)},
			autoscaling.GroupTagArgs{Key: pulumi.String("Name"), Value: pulumi.String(instName), PropagateAtLaunch: pulumi.Bool(true)},
		},
	}, parent, pulumi.IgnoreChanges([]string{"desiredCapacity"}))
	if err != nil {
		return nil, fmt.Errorf("auto scaling group %s: %w", instName, err)
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
				// A deployment doubles the app tasks at once: the group may grow
				// by all of its instances in one step ("the maximum number of
				// container instances that Amazon ECS scales out at one time",
				// ManagedScaling, Amazon ECS API reference), not two at a time.
				MaximumScalingStepSize: pulumi.Int(ceiling),
			},
		},
		Tags: tags(name),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("capacity provider %s: %w", name, err)
	}
	return provider, nil
}
