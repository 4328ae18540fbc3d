package stack_test

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// sgRule is one security-group rule, with groups named by role.
type sgRule struct {
	group, peer, description string
	port                     int
	egress                   bool
	protocol                 string
}

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
	for _, want := range []string{"ecr.api", "ecr.dkr", "secretsmanager", "logs"} {
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

// securityGroupRules reads every rule and names groups by their role (the part of
// the resource name after "moodle-network-"); the world is "0.0.0.0/0".
func securityGroupRules(rec *recorder) []sgRule {
	role := map[string]string{}
	for id, sg := range rec.byID(tSG) {
		role[id] = strings.TrimPrefix(sg.Name, "moodle-network-")
	}
	var out []sgRule
	for _, token := range []string{tIngress, tEgress} {
		for _, r := range rec.ofType(token) {
			peer := r.str("cidrIpv4")
			if id := r.str("referencedSecurityGroupId"); id != "" {
				peer = role[id]
			}
			out = append(out, sgRule{
				group: role[r.str("securityGroupId")], peer: peer, description: r.str("description"),
				port: int(r.number("fromPort")), egress: token == tEgress, protocol: r.str("ipProtocol"),
			})
			if r.number("fromPort") != r.number("toPort") {
				out[len(out)-1].port = -1
			}
		}
	}
	return out
}

func checkWorldIngress(t *testing.T, rec *recorder, _ topology.Spec) {
	open := map[int]bool{}
	for _, r := range securityGroupRules(rec) {
		if r.egress || r.peer != "0.0.0.0/0" {
			continue
		}
		if r.group != "alb" || (r.port != 80 && r.port != 443) || r.protocol != "tcp" {
			t.Errorf("%s takes %s/%d from the internet", r.group, r.protocol, r.port)
		}
		open[r.port] = true
	}
	if !open[80] || !open[443] {
		t.Errorf("the ALB is open on %v, want 80 and 443", open)
	}
}

func checkWorldEgress(t *testing.T, rec *recorder, _ topology.Spec) {
	allowed := map[int]bool{443: true, 80: true, 587: true}
	for _, r := range securityGroupRules(rec) {
		if !r.egress || r.peer != "0.0.0.0/0" {
			continue
		}
		if r.protocol != "tcp" || !allowed[r.port] {
			t.Errorf("%s may send %s/%d anywhere", r.group, r.protocol, r.port)
		}
		if r.group != "app" && r.group != "cron" && r.group != "ecs-instances" {
			t.Errorf("%s may reach the internet", r.group)
		}
	}
}

func checkDescribed(t *testing.T, rec *recorder, _ topology.Spec) {
	for _, sg := range rec.ofType(tSG) {
		if sg.str("description") == "" {
			t.Errorf("security group %s has no description", sg.Name)
		}
	}
	for _, r := range securityGroupRules(rec) {
		if strings.TrimSpace(r.description) == "" {
			t.Errorf("rule %s %d %s has no description", r.group, r.port, r.peer)
		}
	}
}

func checkFlowLogs(t *testing.T, rec *recorder, _ topology.Spec) {
	vpc := rec.ofType(tVPC)[0]
	logs := rec.ofType(tFlowLog)
	if len(logs) != 1 || logs[0].str("vpcId") != vpc.id() || logs[0].str("trafficType") != "ALL" {
		t.Fatalf("flow logs %v do not record all traffic of %s", logs, vpc.id())
	}
	if logs[0].str("logDestination") == "" || logs[0].str("iamRoleArn") == "" {
		t.Error("flow log has no destination or role")
	}
}

func TestProdSecurityGroupReachability(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edits map[string]any
		// want maps "group/port" to the groups that may connect to it.
		want map[string][]string
	}{
		{"fargate", nil, map[string][]string{
			"alb/80": {"0.0.0.0/0"}, "alb/443": {"0.0.0.0/0"}, "app/8080": {"alb"},
			"db/5432": {"app", "cron"}, "redis/6379": {"app", "cron"}, "efs/2049": {"app", "cron"},
		}},
		{"ec2 instances mount EFS", map[string]any{"app.launchType": topology.LaunchEC2}, map[string][]string{
			"alb/80": {"0.0.0.0/0"}, "alb/443": {"0.0.0.0/0"}, "app/8080": {"alb"},
			"db/5432": {"app", "cron"}, "redis/6379": {"app", "cron"}, "efs/2049": {"app", "cron", "ecs-instances"},
		}},
		{"rdsproxy in front of the database", map[string]any{"database.pooler": topology.PoolerRDSProxy}, map[string][]string{
			"alb/80": {"0.0.0.0/0"}, "alb/443": {"0.0.0.0/0"}, "app/8080": {"alb"},
			"db/5432": {"app", "cron", "db-proxy"}, "db-proxy/5432": {"app", "cron"},
			"redis/6379": {"app", "cron"}, "efs/2049": {"app", "cron"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := mustRun(t, "prod", tc.edits)
			got := map[string][]string{}
			for _, r := range securityGroupRules(rec) {
				if !r.egress {
					key := fmt.Sprintf("%s/%d", r.group, r.port)
					got[key] = append(got[key], r.peer)
				}
			}
			for k := range got {
				sort.Strings(got[k])
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("who reaches what:\n got %v\nwant %v", got, tc.want)
			}
			// The resources sit in the groups the graph is about.
			sg := func(role string) string { return "moodle-network-" + role + "-id" }
			for _, db := range rec.ofType(tDB) {
				if g := db.strings("vpcSecurityGroupIds"); !reflect.DeepEqual(g, []string{sg("db")}) {
					t.Errorf("%s in groups %v", db.Name, g)
				}
			}
			for _, r := range rec.ofType(tRedis) {
				if g := r.strings("securityGroupIds"); !reflect.DeepEqual(g, []string{sg("redis")}) {
					t.Errorf("%s in groups %v", r.Name, g)
				}
			}
			for _, m := range rec.ofType(tEFSMount) {
				if g := m.strings("securityGroups"); !reflect.DeepEqual(g, []string{sg("efs")}) {
					t.Errorf("%s in groups %v", m.Name, g)
				}
			}
			for name, role := range map[string]string{appName: "app", cronName: "cron"} {
				if g := rec.one(t, tService, name).strings("networkConfiguration.securityGroups"); !reflect.DeepEqual(g, []string{sg(role)}) {
					t.Errorf("%s in groups %v", name, g)
				}
			}
			if g := rec.one(t, tALB, edgeName).strings("securityGroups"); !reflect.DeepEqual(g, []string{sg("alb")}) {
				t.Errorf("the ALB in groups %v", g)
			}
		})
	}
}

func TestProdAdoptsAnExistingVPC(t *testing.T) {
	edits := existingVPC()
	rec := mustRun(t, "prod", edits)
	for _, token := range []string{tVPC, tSubnet, tNAT, tDefaultSG} {
		if n := len(rec.ofType(token)); n != 0 {
			t.Errorf("%d %s created in an adopted VPC", n, token)
		}
	}
	private := edits["aws.privateSubnetIds"].([]string)
	if got := rec.one(t, tService, appName).strings("networkConfiguration.subnets"); !reflect.DeepEqual(got, private) {
		t.Errorf("app tasks in %v, want %v", got, private)
	}
	if got := rec.one(t, tTargetGroup, edgeName).str("vpcId"); got != edits["aws.vpcId"] {
		t.Errorf("target group in %q", got)
	}
	nginx := rec.one(t, tTaskDef, appName).renderedFiles(t)["MOODLE_FILE_NGINX_CONF"]
	if !strings.Contains(nginx, "allow "+mockVPCCIDR+";") {
		t.Errorf("the adopted VPC's range %s may not reach the health check", mockVPCCIDR)
	}
}
