package awscloud

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// CheckExistingSubnets looks up the private subnets of an existing VPC
// (aws.vpcId) before anything is created: the file system gets a mount target in
// each, and EFS takes one mount target per availability zone ("MountTargetConflict":
// CreateMountTarget, Amazon EFS API reference), so two of them in one zone would
// fail the first `up` half-way. A created VPC has one per zone by construction.
func CheckExistingSubnets(ctx *pulumi.Context, a topology.AWSTarget) error {
	if a.VPCID == "" {
		return nil
	}
	byZone := map[string][]string{}
	for _, id := range a.PrivateSubnetIDs {
		subnet, err := ec2.LookupSubnet(ctx, &ec2.LookupSubnetArgs{Id: pulumi.StringRef(id)})
		if err != nil {
			return fmt.Errorf("look up aws.privateSubnetIds subnet %s: %w", id, err)
		}
		if subnet.VpcId != a.VPCID {
			return fmt.Errorf("moodle:aws.privateSubnetIds: subnet %s is in %s, not in aws.vpcId %s", id, subnet.VpcId, a.VPCID)
		}
		byZone[subnet.AvailabilityZone] = append(byZone[subnet.AvailabilityZone], id)
	}
	zones := make([]string, 0, len(byZone))
	for zone := range byZone {
		zones = append(zones, zone)
	}
	sort.Strings(zones)
	for _, zone := range zones {
		if ids := byZone[zone]; len(ids) > 1 {
			value, _ := json.Marshal(a.PrivateSubnetIDs)
			return fmt.Errorf("moodle:aws.privateSubnetIds = %s: %v are all in %s, and EFS takes one mount target per zone; allowed: one private subnet per availability zone",
				value, ids, zone)
		}
	}
	return nil
}
