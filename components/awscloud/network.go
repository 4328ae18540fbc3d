package awscloud

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// NetworkArgs configure the VPC and its security groups.
type NetworkArgs struct {
	Spec   topology.Spec
	Region string
	// KMSKeyARN encrypts the flow-log group.
	KMSKeyARN pulumi.StringInput
}

// Network is the VPC the cluster runs in: public subnets for the ALB and the NAT
// gateways, private subnets for the tasks, isolated data subnets for RDS,
// ElastiCache and EFS (no route to the internet at all).
type Network struct {
	pulumi.ResourceState

	VPCID            pulumi.StringOutput      `pulumi:"vpcId"`
	PublicSubnetIDs  pulumi.StringArrayOutput `pulumi:"publicSubnetIds"`
	PrivateSubnetIDs pulumi.StringArrayOutput `pulumi:"privateSubnetIds"`
	DataSubnetIDs    pulumi.StringArrayOutput `pulumi:"dataSubnetIds"`
	// SecurityGroups are the groups of each tier, by role.
	SecurityGroups SecurityGroups
}

// subnetBits splits the VPC range into 16 equal subnets: three tiers of at most four
// AZs each, with room left for a fourth tier.
const subnetBits = 4

// NewNetwork creates the VPC, or adopts the existing one named in args.AWS.VPCID.
func NewNetwork(ctx *pulumi.Context, name string, args *NetworkArgs, opts ...pulumi.ResourceOption) (*Network, error) {
	n := &Network{}
	if err := ctx.RegisterComponentResource(TypeNetwork, name, n, opts...); err != nil {
		return nil, err
	}
	if args.Spec.AWS.VPCID != "" {
		n.adopt(args.Spec.AWS)
	} else if err := n.create(ctx, name, args); err != nil {
		return nil, err
	}
	groups, err := newSecurityGroups(ctx, name, n.VPCID, args.Spec, pulumi.Parent(n))
	if err != nil {
		return nil, err
	}
	n.SecurityGroups = groups
	if args.Spec.AWS.VPCEndpoints {
		if err := newInterfaceEndpoints(ctx, name, args, n.VPCID, n.PrivateSubnetIDs, groups[sgEndpoints], pulumi.Parent(n)); err != nil {
			return nil, err
		}
	}
	if err := ctx.RegisterResourceOutputs(n, pulumi.Map{
		"vpcId":            n.VPCID,
		"publicSubnetIds":  n.PublicSubnetIDs,
		"privateSubnetIds": n.PrivateSubnetIDs,
		"dataSubnetIds":    n.DataSubnetIDs,
	}); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *Network) adopt(a topology.AWSTarget) {
	n.VPCID = pulumi.String(a.VPCID).ToStringOutput()
	n.PublicSubnetIDs = pulumi.ToStringArray(a.PublicSubnetIDs).ToStringArrayOutput()
	n.PrivateSubnetIDs = pulumi.ToStringArray(a.PrivateSubnetIDs).ToStringArrayOutput()
	n.DataSubnetIDs = pulumi.ToStringArray(a.DataSubnetIDs).ToStringArrayOutput()
}

func (n *Network) create(ctx *pulumi.Context, name string, args *NetworkArgs) error {
	a := args.Spec.AWS
	parent := pulumi.Parent(n)
	if a.AZCount > 4 {
		return fmt.Errorf("aws.azCount is %d: the subnet plan holds at most 4 zones", a.AZCount)
	}
	zones, err := aws.GetAvailabilityZones(ctx, &aws.GetAvailabilityZonesArgs{State: pulumi.StringRef("available")}, pulumi.Parent(n))
	if err != nil {
		return fmt.Errorf("list availability zones: %w", err)
	}
	if len(zones.Names) < a.AZCount {
		return fmt.Errorf("aws.azCount is %d but the region has %d available zones", a.AZCount, len(zones.Names))
	}

	vpc, err := ec2.NewVpc(ctx, name, &ec2.VpcArgs{
		CidrBlock:          pulumi.String(a.VPCCIDR),
		EnableDnsHostnames: pulumi.Bool(true),
		EnableDnsSupport:   pulumi.Bool(true),
		Tags:               tags(name),
	}, parent)
	if err != nil {
		return err
	}
	n.VPCID = vpc.ID().ToStringOutput()

	// Taking every rule out of the default group means nothing lands in it by accident.
	if _, err := ec2.NewDefaultSecurityGroup(ctx, name+"-default", &ec2.DefaultSecurityGroupArgs{
		VpcId: vpc.ID(),
		Tags:  tags(name + "-default-closed"),
	}, parent); err != nil {
		return err
	}
	if err := flowLogs(ctx, name, vpc, a.LogRetentionDays, args.KMSKeyARN, parent); err != nil {
		return err
	}

	igw, err := ec2.NewInternetGateway(ctx, name, &ec2.InternetGatewayArgs{VpcId: vpc.ID(), Tags: tags(name)}, parent)
	if err != nil {
		return err
	}
	publicRT, err := ec2.NewRouteTable(ctx, name+"-public", &ec2.RouteTableArgs{
		VpcId:  vpc.ID(),
		Routes: ec2.RouteTableRouteArray{ec2.RouteTableRouteArgs{CidrBlock: pulumi.String("0.0.0.0/0"), GatewayId: igw.ID()}},
		Tags:   tags(name + "-public"),
	}, parent)
	if err != nil {
		return err
	}
	dataRT, err := ec2.NewRouteTable(ctx, name+"-data", &ec2.RouteTableArgs{VpcId: vpc.ID(), Tags: tags(name + "-data")}, parent)
	if err != nil {
		return err
	}

	var public, private, data pulumi.StringArray
	var gatewayRoutes pulumi.StringArray
	var nat *ec2.NatGateway
	for i, zone := range zones.Names[:a.AZCount] {
		sub := func(tier string, index int) (*ec2.Subnet, error) {
			cidr, err := subnetCIDR(a.VPCCIDR, index)
			if err != nil {
				return nil, err
			}
			subName := fmt.Sprintf("%s-%s-%d", name, tier, i+1)
			return ec2.NewSubnet(ctx, subName, &ec2.SubnetArgs{
				VpcId:            vpc.ID(),
				CidrBlock:        pulumi.String(cidr),
				AvailabilityZone: pulumi.String(zone),
				Tags:             tags(subName),
			}, parent)
		}
		pub, err := sub("public", i)
		if err != nil {
			return err
		}
		priv, err := sub("private", 4+i)
		if err != nil {
			return err
		}
		dat, err := sub("data", 8+i)
		if err != nil {
			return err
		}
		public, private, data = append(public, pub.ID()), append(private, priv.ID()), append(data, dat.ID())

		az := fmt.Sprintf("%s-%d", name, i+1)
		if _, err := ec2.NewRouteTableAssociation(ctx, az+"-public", &ec2.RouteTableAssociationArgs{SubnetId: pub.ID(), RouteTableId: publicRT.ID()}, parent); err != nil {
			return err
		}
		if _, err := ec2.NewRouteTableAssociation(ctx, az+"-data", &ec2.RouteTableAssociationArgs{SubnetId: dat.ID(), RouteTableId: dataRT.ID()}, parent); err != nil {
			return err
		}
		// One NAT gateway per zone keeps the tasks of the other zones online when a
		// zone fails; NATSingle trades that for one gateway's cost.
		if nat == nil || a.NATGateways == topology.NATPerAZ {
			eip, err := ec2.NewEip(ctx, az+"-nat", &ec2.EipArgs{Domain: pulumi.String("vpc"), Tags: tags(az + "-nat")}, parent)
			if err != nil {
				return err
			}
			nat, err = ec2.NewNatGateway(ctx, az, &ec2.NatGatewayArgs{
				AllocationId: eip.ID(),
				SubnetId:     pub.ID(),
				Tags:         tags(az),
			}, parent, pulumi.DependsOn([]pulumi.Resource{igw}))
			if err != nil {
				return err
			}
		}
		privateRT, err := ec2.NewRouteTable(ctx, az+"-private", &ec2.RouteTableArgs{
			VpcId:  vpc.ID(),
			Routes: ec2.RouteTableRouteArray{ec2.RouteTableRouteArgs{CidrBlock: pulumi.String("0.0.0.0/0"), NatGatewayId: nat.ID()}},
			Tags:   tags(az + "-private"),
		}, parent)
		if err != nil {
			return err
		}
		if _, err := ec2.NewRouteTableAssociation(ctx, az+"-private", &ec2.RouteTableAssociationArgs{SubnetId: priv.ID(), RouteTableId: privateRT.ID()}, parent); err != nil {
			return err
		}
		gatewayRoutes = append(gatewayRoutes, privateRT.ID())
	}
	n.PublicSubnetIDs = public.ToStringArrayOutput()
	n.PrivateSubnetIDs = private.ToStringArrayOutput()
	n.DataSubnetIDs = data.ToStringArrayOutput()

	// S3 traffic (objectfs, ECR image layers) skips the NAT gateways: cheaper, and
	// it never leaves the AWS network.
	if _, err := ec2.NewVpcEndpoint(ctx, name+"-s3", &ec2.VpcEndpointArgs{
		VpcId:           vpc.ID(),
		ServiceName:     pulumi.String(serviceName(args.Region, "s3")),
		VpcEndpointType: pulumi.String("Gateway"),
		RouteTableIds:   append(gatewayRoutes, dataRT.ID()),
		Tags:            tags(name + "-s3"),
	}, parent); err != nil {
		return fmt.Errorf("s3 endpoint of %s: %w", name, err)
	}
	return nil
}

// serviceName is the VPC endpoint service name of an AWS service in a region.
func serviceName(region, service string) string { return "com.amazonaws." + region + "." + service }

// interfaceEndpoints are the AWS APIs the tasks call (aws.vpcEndpoints): pulling
// images (ECR's API and registry), secrets (Secrets Manager: no task reads an SSM
// parameter) and logs; the channel of ECS Exec (ssmmessages, the one endpoint
// AWS's ECS Exec page asks for); and on container instances the ECS agent and
// Session Manager, which needs ssm, ssmmessages and ec2messages (Systems Manager's
// VPC endpoint page). An endpoint costs about 22 USD a month in three zones.
func interfaceEndpoints(s topology.Spec) []string {
	services := []string{"ecr.api", "ecr.dkr", "logs", "secretsmanager"}
	if s.AWS.ECSExec || s.App.LaunchType == topology.LaunchEC2 {
		services = append(services, "ssmmessages")
	}
	if s.App.LaunchType == topology.LaunchEC2 {
		services = append(services, "ssm", "ec2messages", "ecs", "ecs-agent", "ecs-telemetry")
	}
	return services
}

// newInterfaceEndpoints puts an endpoint of each API into every private subnet,
// with private DNS so that the SDKs and agents reach it under the usual names.
func newInterfaceEndpoints(ctx *pulumi.Context, name string, args *NetworkArgs, vpcID pulumi.StringInput, subnets pulumi.StringArrayInput, group pulumi.StringInput, parent pulumi.ResourceOption) error {
	for _, service := range interfaceEndpoints(args.Spec) {
		endpointName := name + "-" + strings.ReplaceAll(service, ".", "-")
		if _, err := ec2.NewVpcEndpoint(ctx, endpointName, &ec2.VpcEndpointArgs{
			VpcId:             vpcID,
			ServiceName:       pulumi.String(serviceName(args.Region, service)),
			VpcEndpointType:   pulumi.String("Interface"),
			SubnetIds:         subnets,
			SecurityGroupIds:  pulumi.StringArray{group},
			PrivateDnsEnabled: pulumi.Bool(true),
			Tags:              tags(endpointName),
		}, parent); err != nil {
			return fmt.Errorf("%s endpoint of %s: %w", service, name, err)
		}
	}
	return nil
}

// flowLogs records every accepted and rejected flow of the VPC in CloudWatch.
func flowLogs(ctx *pulumi.Context, name string, vpc *ec2.Vpc, retentionDays int, kmsKeyARN pulumi.StringInput, parent pulumi.ResourceOption) error {
	group, err := logGroup(ctx, name+"-flow-logs", retentionDays, kmsKeyARN, parent)
	if err != nil {
		return err
	}
	role, err := iam.NewRole(ctx, name+"-flow-logs", &iam.RoleArgs{
		AssumeRolePolicy: assumeRolePolicy("vpc-flow-logs.amazonaws.com"),
		Tags:             tags(name + "-flow-logs"),
	}, parent)
	if err != nil {
		return err
	}
	if _, err := iam.NewRolePolicy(ctx, name+"-flow-logs", &iam.RolePolicyArgs{
		Role: role.ID(),
		Policy: policy(allow("WriteFlowLogs",
			[]string{"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"},
			group.Arn, pulumi.Sprintf("%s:*", group.Arn))),
	}, parent); err != nil {
		return err
	}
	_, err = ec2.NewFlowLog(ctx, name, &ec2.FlowLogArgs{
		VpcId:                  vpc.ID(),
		TrafficType:            pulumi.String("ALL"),
		LogDestinationType:     pulumi.String("cloud-watch-logs"),
		LogDestination:         group.Arn,
		IamRoleArn:             role.Arn,
		MaxAggregationInterval: pulumi.Int(60),
		Tags:                   tags(name),
	}, parent)
	return err
}

// subnetCIDR returns the index-th of the 16 equal subnets of the VPC range.
func subnetCIDR(vpcCIDR string, index int) (string, error) {
	prefix, err := netip.ParsePrefix(vpcCIDR)
	if err != nil {
		return "", fmt.Errorf("aws.vpcCidr %q: %w", vpcCIDR, err)
	}
	bits := prefix.Bits() + subnetBits
	if !prefix.Addr().Is4() || bits > 28 {
		return "", fmt.Errorf("aws.vpcCidr %q: an IPv4 range of /24 or larger is needed", vpcCIDR)
	}
	base := prefix.Masked().Addr().As4()
	n := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	n += uint32(index) << (32 - bits)
	addr := netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	return netip.PrefixFrom(addr, bits).String(), nil
}
