package awscloud

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// Ports the back ends listen on.
const (
	postgresPort = topology.PostgresPort
	redisPort    = topology.RedisPort
	nfsPort      = 2049
	httpPort     = 80
	httpsPort    = 443
)

// Security group roles. Cron has a group of its own so it can reach the back ends
// without being reachable from the load balancer.
const (
	sgALB       = "alb"
	sgApp       = "app"
	sgCron      = "cron"
	sgDatabase  = "db"
	sgProxy     = "db-proxy"
	sgCache     = "redis"
	sgFiles     = "efs"
	sgInstances = "ecs-instances"
	sgEndpoints = "vpc-endpoints"
)

// SecurityGroups are the ids of the groups, by role.
type SecurityGroups map[string]pulumi.StringOutput

// anywhere is the peer of rules that face the internet.
const anywhere = "0.0.0.0/0"

// cloudFrontOrigins is the peer of the ALB behind CloudFront: the AWS-managed
// prefix list of CloudFront's origin-facing addresses. It weighs 55 rules against
// the group's quota of 60, so the ALB takes it on one port only.
const (
	cloudFrontOrigins    = "cloudfront"
	cloudFrontPrefixList = "com.amazonaws.global.cloudfront.origin-facing"
)

// rule is one ingress or egress rule: port on group, from or to peer (a group
// role, or anywhere).
type rule struct {
	group, peer string
	egress      bool
	port        int
	description string
}

// firewallRules is the whole reachability graph of the cluster, in one table so a
// reviewer reads it at once: the world reaches the ALB only; the ALB reaches the
// app tasks on the web port only; the back ends take connections from the app and
// cron groups (and the proxy) only, and open none themselves.
func firewallRules(s topology.Spec) []rule {
	web := s.Web.Port
	rules := []rule{
		{sgALB, sgApp, true, web, "to nginx in the app tasks"},
		{sgApp, sgALB, false, web, "nginx from the load balancer"},
	}
	switch {
	case s.AWS.CloudFront.Enabled:
		// CloudFront redirects to HTTPS itself and is the ALB's only client.
		rules = append(rules, rule{sgALB, cloudFrontOrigins, false, httpsPort, "HTTPS from CloudFront only"})
	case s.AWS.CertificateARN != "":
		rules = append(rules,
			rule{sgALB, anywhere, false, httpPort, "HTTP from the internet (redirected to HTTPS)"},
			rule{sgALB, anywhere, false, httpsPort, "HTTPS from the internet"})
	default:
		rules = append(rules, rule{sgALB, anywhere, false, httpPort, "HTTP from the internet (a plain-HTTP test site)"})
	}
	type backend struct {
		group string
		port  int
		what  string
	}
	backends := []backend{
		{sgDatabase, postgresPort, "PostgreSQL"},
		{sgCache, redisPort, "Redis (TLS)"},
		{sgFiles, nfsPort, "NFS (TLS) to EFS"},
	}
	if s.Database.Pooler == topology.PoolerRDSProxy {
		backends = append(backends, backend{sgProxy, postgresPort, "PostgreSQL through RDS Proxy"})
		rules = append(rules,
			rule{sgDatabase, sgProxy, false, postgresPort, "PostgreSQL from RDS Proxy"},
			rule{sgProxy, sgDatabase, true, postgresPort, "RDS Proxy to PostgreSQL"})
	}
	for _, client := range []string{sgApp, sgCron} {
		for _, b := range backends {
			rules = append(rules,
				rule{b.group, client, false, b.port, b.what + " from the " + client + " tasks"},
				rule{client, b.group, true, b.port, b.what})
		}
		rules = append(rules,
			rule{client, anywhere, true, httpsPort, "HTTPS out: AWS APIs, ECR, plugin and feed downloads"},
			rule{client, anywhere, true, httpPort, "HTTP out: feeds and repositories Moodle fetches"})
		// Moodle's mail leaves for the relay's port only (mail.port, or the TLS
		// mode's: 587 STARTTLS, 465 implicit TLS, 25 plain).
		if port := s.Mail.MailPort(); s.Mail.Enabled && port != httpsPort && port != httpPort {
			rules = append(rules, rule{client, anywhere, true, port, "SMTP to the mail relay (mail.host) for Moodle's mail"})
		}
	}
	if s.AWS.VPCEndpoints {
		clients := []string{sgApp, sgCron}
		if s.App.LaunchType == topology.LaunchEC2 {
			clients = append(clients, sgInstances)
		}
		for _, client := range clients {
			rules = append(rules, rule{sgEndpoints, client, false, httpsPort, "HTTPS to the AWS API endpoints from the " + client + " group"})
		}
	}
	if s.App.LaunchType == topology.LaunchEC2 {
		// On EC2 the ECS agent on the host mounts EFS for the tasks.
		rules = append(rules,
			rule{sgFiles, sgInstances, false, nfsPort, "NFS (TLS) to EFS from the ECS container instances"},
			rule{sgInstances, sgFiles, true, nfsPort, "NFS (TLS) to EFS"},
			rule{sgInstances, anywhere, true, httpsPort, "HTTPS out: the ECS agent, ECR and SSM"})
	}
	return rules
}

// newSecurityGroups creates one group per role in the rules and then every rule as
// a resource of its own, so groups can refer to each other without a cycle.
func newSecurityGroups(ctx *pulumi.Context, name string, vpcID pulumi.StringInput, s topology.Spec, parent pulumi.ResourceOrInvokeOption) (SecurityGroups, error) {
	rules := firewallRules(s)
	prefixLists := map[string]string{}
	if s.AWS.CloudFront.Enabled {
		list, err := ec2.LookupManagedPrefixList(ctx, &ec2.LookupManagedPrefixListArgs{Name: pulumi.StringRef(cloudFrontPrefixList)}, parent)
		if err != nil {
			return nil, fmt.Errorf("look up the prefix list %s: %w", cloudFrontPrefixList, err)
		}
		prefixLists[cloudFrontOrigins] = list.Id
	}
	groups := map[string]*ec2.SecurityGroup{}
	for _, r := range rules {
		for _, role := range []string{r.group, r.peer} {
			if role == anywhere || prefixLists[role] != "" || groups[role] != nil {
				continue
			}
			sgName := name + "-" + role
			sg, err := ec2.NewSecurityGroup(ctx, sgName, &ec2.SecurityGroupArgs{
				VpcId:       vpcID,
				Description: pulumi.String("moodle " + role),
				Tags:        tags(sgName),
			}, parent)
			if err != nil {
				return nil, err
			}
			groups[role] = sg
		}
	}
	for _, r := range rules {
		direction, preposition := "in", "from"
		if r.egress {
			direction, preposition = "out", "to"
		}
		var cidr, peer, prefixList pulumi.StringPtrInput
		peerName := r.peer
		switch {
		case r.peer == anywhere:
			cidr, peerName = pulumi.String(anywhere), "anywhere"
		case prefixLists[r.peer] != "":
			prefixList = pulumi.String(prefixLists[r.peer])
		default:
			peer = groups[r.peer].ID()
		}
		ruleName := fmt.Sprintf("%s-%s-%s-%d-%s-%s", name, r.group, direction, r.port, preposition, peerName)
		var err error
		if r.egress {
			_, err = vpc.NewSecurityGroupEgressRule(ctx, ruleName, &vpc.SecurityGroupEgressRuleArgs{
				SecurityGroupId: groups[r.group].ID(), Description: pulumi.String(r.description),
				IpProtocol: pulumi.String("tcp"), FromPort: pulumi.Int(r.port), ToPort: pulumi.Int(r.port),
				CidrIpv4: cidr, ReferencedSecurityGroupId: peer, PrefixListId: prefixList,
			}, parent)
		} else {
			_, err = vpc.NewSecurityGroupIngressRule(ctx, ruleName, &vpc.SecurityGroupIngressRuleArgs{
				SecurityGroupId: groups[r.group].ID(), Description: pulumi.String(r.description),
				IpProtocol: pulumi.String("tcp"), FromPort: pulumi.Int(r.port), ToPort: pulumi.Int(r.port),
				CidrIpv4: cidr, ReferencedSecurityGroupId: peer, PrefixListId: prefixList,
			}, parent)
		}
		if err != nil {
			return nil, err
		}
	}
	out := SecurityGroups{}
	for role, sg := range groups {
		out[role] = sg.ID().ToStringOutput()
	}
	return out, nil
}
