package stack_test

import (
	"strings"
	"testing"
)

const tVPCEndpoint = "aws:ec2/vpcEndpoint:VpcEndpoint"

// The ALB of an existing VPC may sit in a secondary range: every associated range
// may reach the health check, a disassociated one not.
func TestProdExistingVPCSecondaryRangesReachTheHealthCheck(t *testing.T) {
	nginx := mustRun(t, "prod", existingVPC()).one(t, tTaskDef, appName).renderedFiles(t)["MOODLE_FILE_NGINX_CONF"]
	for cidr, allowed := range map[string]bool{mockVPCCIDR: true, mockSecondaryCIDR: true, "10.99.0.0/16": false} {
		if got := strings.Contains(nginx, "allow "+cidr+";"); got != allowed {
			t.Errorf("%s may reach the health check: %v, want %v", cidr, got, allowed)
		}
	}
}

func TestProdInterfaceEndpointsServeTheTasksInTheirSubnets(t *testing.T) {
	if n := len(mustRun(t, "prod", nil).ofType(tVPCEndpoint)); n != 1 {
		t.Errorf("%d endpoints without aws.vpcEndpoints, want the S3 gateway only", n)
	}
	rec := mustRun(t, "prod", map[string]any{"aws.vpcEndpoints": true})
	private := map[string]bool{}
	for _, s := range rec.ofType(tSubnet) {
		if strings.Contains(s.Name, "-private-") {
			private[s.id()] = true
		}
	}
	services := map[string]bool{}
	for _, e := range rec.ofType(tVPCEndpoint) {
		if e.str("vpcEndpointType") != "Interface" {
			continue
		}
		services[strings.TrimPrefix(e.str("serviceName"), "com.amazonaws."+mockRegion+".")] = true
		if !e.boolean("privateDnsEnabled") || len(e.strings("securityGroupIds")) != 1 {
			t.Errorf("%s: private DNS %v, groups %v", e.Name, e.boolean("privateDnsEnabled"), e.strings("securityGroupIds"))
		}
		for _, sub := range e.strings("subnetIds") {
			if !private[sub] {
				t.Errorf("%s in %s, not a private subnet", e.Name, sub)
			}
		}
	}
	for _, want := range []string{"ecr.api", "ecr.dkr", "secretsmanager", "logs", "ssm"} {
		if !services[want] {
			t.Errorf("no %s endpoint; have %v", want, services)
		}
	}
	from := map[string]bool{}
	for _, r := range securityGroupRules(rec) {
		if r.group == "vpc-endpoints" && !r.egress && r.port == 443 {
			from[r.peer] = true
		}
	}
	if !from["app"] || !from["cron"] || len(from) != 2 {
		t.Errorf("the endpoints take HTTPS from %v, want the app and cron groups", from)
	}
}
