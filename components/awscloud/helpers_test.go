package awscloud

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// During a deployment the app service runs up to twice its tasks; at worst one
// task fits an instance, and the cron task and the ad hoc workers (twice theirs
// during their own deployment) need one each, or a deployment stalls at the
// group's ceiling.
func TestInstanceCeilingHoldsADeploymentAtTheAutoscalingCeiling(t *testing.T) {
	for _, max := range []int{1, 3, 12, 50} {
		for _, workers := range []int{0, 2, 5} {
			s := topology.Spec{Target: topology.TargetAWS, App: topology.App{MaxReplicas: max}}
			s.Cron.Adhoc.Workers = workers
			if got, want := instanceCeiling(s.App, 1+s.PeakAdhocWorkers()), max*appDeploymentMaximumPercent/100+1+2*workers; got < want {
				t.Errorf("maxReplicas %d, %d workers: %d instances, a deployment needs %d", max, workers, got, want)
			}
		}
	}
}

func TestVPCRangesIncludeEveryAssociatedSecondaryRange(t *testing.T) {
	vpc := &ec2.LookupVpcResult{
		CidrBlock: "10.20.0.0/16",
		CidrBlockAssociations: []ec2.GetVpcCidrBlockAssociation{
			{CidrBlock: "10.20.0.0/16", State: "associated"},
			{CidrBlock: "100.64.0.0/16", State: "associated"},
			{CidrBlock: "10.99.0.0/16", State: "disassociated"},
		},
	}
	if got, want := vpcRanges(vpc), []string{"10.20.0.0/16", "100.64.0.0/16"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ranges %v, want %v", got, want)
	}
}

// A long run is healthy until Moodle itself warns of it (12 hours): the alarm
// waits that long and two intervals before it calls cron dead.
func TestCronSilenceOutlastsARunMoodleCallsHealthy(t *testing.T) {
	for _, c := range []topology.Cron{{IntervalSeconds: 60}, {IntervalSeconds: 3600}} {
		if minutes := CronSilenceMinutes(c); minutes*60 < 12*3600+2*c.IntervalSeconds {
			t.Errorf("%+v: alarm after %d minutes, before Moodle would warn of a long task", c, minutes)
		}
	}
}

// The endpoints cover what the tasks call, and what the container instances and
// ECS Exec add.
func TestInterfaceEndpointsFollowWhatRunsInThePrivateSubnets(t *testing.T) {
	base := []string{"ecr.api", "ecr.dkr", "logs", "secretsmanager"}
	fargate := topology.Spec{App: topology.App{LaunchType: topology.LaunchFargate}}
	exec := fargate
	exec.AWS.ECSExec = true
	ec2Spec := topology.Spec{App: topology.App{LaunchType: topology.LaunchEC2}}
	for name, tc := range map[string]struct {
		spec topology.Spec
		want []string
	}{
		"fargate":   {fargate, base},
		"ecs exec":  {exec, append(slices.Clone(base), "ssmmessages")},
		"instances": {ec2Spec, append(slices.Clone(base), "ssmmessages", "ssm", "ec2messages", "ecs", "ecs-agent", "ecs-telemetry")},
	} {
		if got := interfaceEndpoints(tc.spec); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: endpoints %v, want %v", name, got, tc.want)
		}
	}
}

func TestVPCEndpointsTakeHTTPSFromEveryClientGroupOnly(t *testing.T) {
	s := topology.Spec{App: topology.App{LaunchType: topology.LaunchEC2}, AWS: topology.AWSTarget{VPCEndpoints: true}}
	var from []string
	for _, r := range firewallRules(s) {
		if r.group != sgEndpoints {
			continue
		}
		if r.egress || r.port != httpsPort {
			t.Errorf("endpoint rule %+v is not HTTPS ingress", r)
		}
		from = append(from, r.peer)
	}
	if want := []string{sgApp, sgCron, sgInstances}; !reflect.DeepEqual(from, want) {
		t.Errorf("endpoints reachable from %v, want %v", from, want)
	}
}

// The minimum always runs on regular Fargate; the share above it is split.
func TestSpotStrategyKeepsTheMinimumOnRegularFargate(t *testing.T) {
	type share struct {
		provider     string
		base, weight pulumi.Int
	}
	var got []share
	for _, item := range spotStrategy(topology.App{MinReplicas: 3, SpotPercent: 70}) {
		a := item.(ecs.ServiceCapacityProviderStrategyArgs)
		s := share{provider: string(a.CapacityProvider.(pulumi.String)), weight: a.Weight.(pulumi.Int)}
		if a.Base != nil {
			s.base = a.Base.(pulumi.Int)
		}
		got = append(got, s)
	}
	want := []share{{capacityFargate, 3, 30}, {capacityFargateSpot, 0, 70}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("strategy %+v, want %+v", got, want)
	}
}

func TestPhysicalNamesAreLowerCaseHyphenatedAndBounded(t *testing.T) {
	for _, tc := range []struct {
		project, stack, name string
		limit                int
		want                 string
	}{
		{"moodle", "prod", "moodle", 255, "moodle-prod-moodle"},
		{"moodle", "Dev_EU", "moodle-db", 63, "moodle-dev-eu-moodle-db"},
		{"moodle", "prod", "moodle-db-replica-1", 12, "moodle-prod"},
		{"42", "--x", "db", 63, "x-db"},
	} {
		if got := physicalNameOf(tc.project, tc.stack, tc.name, tc.limit); got != tc.want {
			t.Errorf("%s/%s/%s (%d): %q, want %q", tc.project, tc.stack, tc.name, tc.limit, got, tc.want)
		}
		if strings.Contains(physicalNameOf(tc.project, tc.stack, tc.name, tc.limit), "--") {
			t.Errorf("%s/%s/%s: two hyphens in a row", tc.project, tc.stack, tc.name)
		}
	}
}
