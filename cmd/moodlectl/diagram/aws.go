package diagram

import (
	"fmt"
	"strings"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/inventory"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// aws draws the services of the AWS target: the ALB, the ECS services, RDS,
// ElastiCache and the file stores, inside the VPC's zones.
func (b *builder) aws() error {
	inv := b.inv
	albs := inv.OfType("aws:lb/loadBalancer:LoadBalancer")
	services := inv.OfType("aws:ecs/service:Service")
	if len(albs) == 0 || len(services) == 0 {
		return fmt.Errorf("stack %s registers no load balancer or ECS service", inv.Stack)
	}
	nats := len(inv.OfType("aws:ec2/natGateway:NatGateway"))
	zones := albs[0].Len("subnets")
	b.out.Network = fmt.Sprintf("VPC %s over %d availability zones, %d NAT gateway(s); data in isolated subnets",
		b.orDefault(b.spec.AWS.VPCID, b.spec.AWS.VPCCIDR), zones, nats)

	b.node("users", TierEntrance, "internet", b.output("siteUrl", b.spec.SiteURL))
	alb := []string{"HTTPS 443, 80 redirects", "DNS " + b.output("loadBalancerDns", "(after deployment)")}
	if acls := inv.OfType("aws:wafv2/webAcl:WebAcl"); len(acls) > 0 {
		alb = append(alb, fmt.Sprintf("WAF web ACL, %d rules", acls[0].Len("rules")))
	}
	b.node("lb", TierEntrance, "Application Load Balancer", alb...)
	b.edge("users", "lb", "HTTPS")

	for _, s := range services {
		td, ok := b.named("aws:ecs/taskDefinition:TaskDefinition", s.Name)
		if !ok {
			return fmt.Errorf("ECS service %s has no task definition of the same name", s.Name)
		}
		size := fmt.Sprintf("%g vCPU / %g MB each", td.Num("cpu")/1024, td.Num("memory"))
		// Services name no launch type, only capacity provider strategies.
		launch := "Fargate"
		if b.spec.App.LaunchType == topology.LaunchEC2 {
			launch = "EC2 " + b.spec.AWS.EC2InstanceType
		}
		count := fmt.Sprintf("%d", int(s.Num("desiredCount")))
		if target, ok := b.named("aws:appautoscaling/target:Target", s.Name); ok {
			count = fmt.Sprintf("%d (autoscaled %d..%d)", int(s.Num("desiredCount")), int(target.Num("minCapacity")), int(target.Num("maxCapacity")))
		}
		if s.Len("loadBalancers") > 0 {
			b.node("app", TierApp, "ECS service app × "+count, launch+": nginx + php-fpm, "+size, pool(b.spec))
			b.edge("lb", "app", fmt.Sprintf("HTTP :%d", b.spec.Web.Port))
		} else if strings.HasSuffix(s.Name, "-adhoc") {
			b.node("adhoc", TierApp, "ECS service ad hoc task workers × "+count, launch+", "+size, "adhoc_task.php")
		} else {
			b.node("cron", TierApp, "ECS service cron × "+count, launch+", "+size, "install/upgrade once, then the scheduled tasks (cron.php); never two")
		}
	}

	dbTarget := "db"
	for _, db := range inv.OfType("aws:rds/instance:Instance") {
		deployment := "Single-AZ"
		if db.Bool("multiAz") {
			deployment = "Multi-AZ"
		}
		if _, replica := db.Inputs["replicateSourceDb"]; replica {
			continue
		}
		b.node("db", TierData, "RDS PostgreSQL "+b.spec.Database.Version,
			fmt.Sprintf("%s %s, %g GB gp3 (to %g)", db.Str("instanceClass"), deployment, db.Num("allocatedStorage"), db.Num("maxAllocatedStorage")),
			fmt.Sprintf("max_connections about %d", b.spec.MaxConnections()),
			"endpoint "+b.output("databaseAddress", "(after deployment)"))
	}
	if n := len(inv.OfType("aws:rds/instance:Instance")) - 1; n > 0 {
		b.node("replica", TierData, fmt.Sprintf("read replicas × %d", n), b.spec.Database.InstanceClass+", dboptions['readonly']")
		b.edge("db", "replica", "replication")
		b.edge("app", "replica", "reads")
	}
	if len(inv.OfType("aws:rds/proxy:Proxy")) > 0 {
		b.node("pooler", TierData, "RDS Proxy", "TLS required, in front of the primary")
		b.edge("pooler", "db", "")
		dbTarget = "pooler"
	}
	for _, g := range inv.OfType("aws:elasticache/replicationGroup:ReplicationGroup") {
		b.node("redis", TierData, "ElastiCache Redis "+g.Str("engineVersion"),
			fmt.Sprintf("%g × %s, TLS + AUTH, failover", g.Num("numCacheClusters"), g.Str("nodeType")),
			"sessions and MUC cache, noeviction")
	}
	files := []string{"EFS, elastic throughput, access point " + b.spec.Paths.DataRoot}
	if b.spec.Storage.Kind == topology.StorageS3 {
		files = append(files, "file pool in S3 through tool_objectfs")
	}
	b.node("files", TierData, "moodledata", files...)
	for _, from := range b.appTier() {
		b.edge(from, dbTarget, "SQL, TLS")
		b.edge(from, "redis", "TLS")
		b.edge(from, "files", "NFS, TLS")
	}
	return nil
}

func (b *builder) named(token, name string) (inventory.Resource, bool) {
	for _, r := range b.inv.OfType(token) {
		if r.Name == name {
			return r, true
		}
	}
	return inventory.Resource{}, false
}

func (b *builder) orDefault(v, def string) string {
	if strings.TrimSpace(v) != "" {
		return v
	}
	return def
}
