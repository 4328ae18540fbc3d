//go:build engine

package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// A launch template change (a new instance type here; a new ECS-optimised AMI
// from the SSM parameter likewise) makes a template version, which the Auto
// Scaling group's launch_template names and so changes, the update the provider
// starts the instance refresh on (terraform-provider-aws
// internal/service/autoscaling/group.go, resourceGroupUpdate); the fake launch
// template numbers its versions as EC2 does. Once rolled, nothing changes again.
func TestALaunchTemplateChangeRollsTheInstanceGroup(t *testing.T) {
	const group = "aws:autoscaling/group:Group::moodle-compute-instance"
	ctx := context.Background()
	r := newRig(t)
	cfg := committedConfig(t, "prod")
	if err := cfg.Set("moodle:app.launchType", "ec2"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.stack(t, "prod", cfg).Up(ctx); err != nil {
		t.Fatal(err)
	}
	r.steps.take()
	if err := cfg.Set("moodle:aws.ec2InstanceType", "m6i.2xlarge"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.stack(t, "prod", cfg).Up(ctx); err != nil {
		t.Fatal(err)
	}
	var ops []apitype.OpType
	for _, s := range r.steps.take() {
		if strings.HasSuffix(s.URN, group) {
			ops = append(ops, s.Op)
		}
	}
	if len(ops) != 1 || ops[0] != apitype.OpUpdate {
		t.Errorf("the instance group's steps %v, want one update (its launch template version), which starts the refresh", ops)
	}
	res, err := r.stack(t, "prod", cfg).Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for op, n := range *res.Summary.ResourceChanges {
		if op != string(apitype.OpSame) && n > 0 {
			t.Errorf("an unchanged stack plans %d %s", n, op)
		}
	}
}
