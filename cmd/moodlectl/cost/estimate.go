// Package cost estimates what a stack costs a month from the resources its program
// registers (or its state holds), priced with a pinned, dated table of the
// region's on-demand list prices. Usage-based charges (data processed, storage
// used, requests) are listed with their rates but left out of the total, as the
// resources alone do not say how much will be used.
package cost

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/inventory"
)

// HoursPerMonth is the month AWS prices are quoted for.
const HoursPerMonth = 730

// Line is the charge of one resource.
type Line struct {
	Type string `json:"type"`
	Name string `json:"name"`
	// What is being paid for, in words ("db.r6g.xlarge Multi-AZ + 200 GB gp3").
	What    string  `json:"what"`
	Monthly float64 `json:"monthlyUsd"`
	// Ceiling is the monthly cost with every autoscaled service at its maximum,
	// set only where that differs from Monthly.
	Ceiling float64 `json:"ceilingUsd,omitempty"`
	// Usage is a usage-based charge, not in Monthly: its rates.
	Usage  string `json:"usage,omitempty"`
	Source string `json:"source"`
}

// Key identifies the resource across two estimates.
func (l Line) Key() string { return l.Type + " " + l.Name }

// Estimate is a stack's monthly cost.
type Estimate struct {
	Stack  string `json:"stack"`
	Region string `json:"region,omitempty"`
	// AsOf is the date of the price table.
	AsOf  string  `json:"pricesAsOf,omitempty"`
	Lines []Line  `json:"lines"`
	Total float64 `json:"totalMonthlyUsd"`
	// CeilingTotal is the total with every autoscaled service at its maximum.
	CeilingTotal float64 `json:"ceilingMonthlyUsd"`
	// Free counts the resources that cost nothing of their own (subnets, roles,
	// security groups, everything on a Docker host).
	Free int `json:"freeResources"`
	// Unpriced are resource types this package does not know: a new kind of
	// resource in the program, to be added to the rules here.
	Unpriced []string `json:"unpriced,omitempty"`
}

// Of estimates inv. region selects the price table; a stack without AWS
// resources (the Docker target) needs none.
func Of(inv inventory.Inventory, region string) (Estimate, error) {
	est := Estimate{Stack: inv.Stack}
	if !hasAWS(inv) {
		est.Free = len(inv.Resources)
		return est, nil
	}
	t, err := TableFor(region)
	if err != nil {
		return est, err
	}
	est.Region, est.AsOf = t.Region, t.AsOf
	p := pricer{t: t, inv: inv}
	unpriced := map[string]bool{}
	for _, r := range inv.Resources {
		rule, known := rules[r.Type]
		switch {
		case !r.Custom || strings.HasPrefix(r.Type, "random:") || strings.HasPrefix(r.Type, "pulumi:providers:") || (known && rule == nil):
			// A provider (the us-east-1 one of aws.cloudFront) is no cloud resource.
			est.Free++
		case !known:
			unpriced[r.Type] = true
		default:
			line, err := rule(p, r)
			if errors.Is(err, errNoCharge) {
				est.Free++
				continue
			}
			if err != nil {
				return est, fmt.Errorf("%s %s: %w", r.Type, r.Name, err)
			}
			line.Type, line.Name = r.Type, r.Name
			line.Monthly, line.Ceiling = cents(line.Monthly), cents(line.Ceiling)
			if line.Ceiling == line.Monthly {
				line.Ceiling = 0
			}
			est.Lines = append(est.Lines, line)
		}
	}
	for _, l := range est.Lines {
		est.Total += l.Monthly
		est.CeilingTotal += max(l.Monthly, l.Ceiling)
	}
	est.Total, est.CeilingTotal = cents(est.Total), cents(est.CeilingTotal)
	for t := range unpriced {
		est.Unpriced = append(est.Unpriced, t)
	}
	sort.Strings(est.Unpriced)
	return est, nil
}

func hasAWS(inv inventory.Inventory) bool {
	for _, r := range inv.Resources {
		if strings.HasPrefix(r.Type, "aws:") {
			return true
		}
	}
	return false
}

func cents(v float64) float64 { return math.Round(v*100) / 100 }

// rule prices one resource; a nil rule means the resource costs nothing itself,
// and so does a rule returning errNoCharge (a free kind of a priced type).
type rule func(pricer, inventory.Resource) (Line, error)

var errNoCharge = errors.New("no charge of its own")

// rules maps every AWS resource type the program registers to its rule. A type
// missing here is reported as unpriced, and a test fails until it is added.
var rules = map[string]rule{
	"aws:ecs/service:Service":                           (pricer).ecsService,
	"aws:autoscaling/group:Group":                       (pricer).ec2Instances,
	"aws:rds/instance:Instance":                         (pricer).rdsInstance,
	"aws:rds/proxy:Proxy":                               (pricer).rdsProxy,
	"aws:elasticache/replicationGroup:ReplicationGroup": (pricer).redis,
	"aws:ec2/natGateway:NatGateway":                     (pricer).natGateway,
	"aws:ec2/eip:Eip":                                   (pricer).publicIP,
	"aws:lb/loadBalancer:LoadBalancer":                  (pricer).loadBalancer,
	"aws:wafv2/webAcl:WebAcl":                           (pricer).webACL,
	"aws:kms/key:Key":                                   flat(func(t Table) Rate { return t.KMSKeyMonth }, "customer-managed key"),
	"aws:secretsmanager/secret:Secret":                  flat(func(t Table) Rate { return t.SecretMonth }, "secret"),
	"aws:cloudwatch/metricAlarm:MetricAlarm":            flat(func(t Table) Rate { return t.AlarmMonth }, "standard-resolution alarm"),
	"aws:cloudwatch/dashboard:Dashboard":                flat(func(t Table) Rate { return t.DashboardMonth }, "dashboard"),
	"aws:cloudwatch/logGroup:LogGroup":                  (pricer).logGroup,
	"aws:efs/fileSystem:FileSystem":                     (pricer).fileSystem,
	"aws:s3/bucketV2:BucketV2":                          (pricer).bucket,
	"aws:ec2/vpcEndpoint:VpcEndpoint":                   (pricer).vpcEndpoint,
	"aws:cloudfront/distribution:Distribution":          (pricer).distribution,
	"aws:route53/record:Record":                         (pricer).record,
	"aws:backup/vault:Vault":                            (pricer).backupVault,
	"aws:sesv2/emailIdentity:EmailIdentity":             (pricer).sesIdentity,
	"aws:ecr/repository:Repository":                     (pricer).repository,

	// No charge of their own: networking, identity, configuration, and the
	// pieces of the resources priced above.
	"aws:appautoscaling/policy:Policy":                                     nil,
	"aws:backup/plan:Plan":                                                 nil,
	"aws:backup/selection:Selection":                                       nil,
	"aws:appautoscaling/target:Target":                                     nil,
	"aws:cloudwatch/logResourcePolicy:LogResourcePolicy":                   nil,
	"aws:ec2/defaultSecurityGroup:DefaultSecurityGroup":                    nil,
	"aws:ec2/flowLog:FlowLog":                                              nil,
	"aws:ec2/internetGateway:InternetGateway":                              nil,
	"aws:ec2/launchTemplate:LaunchTemplate":                                nil,
	"aws:ec2/route:Route":                                                  nil,
	"aws:ec2/routeTable:RouteTable":                                        nil,
	"aws:ec2/routeTableAssociation:RouteTableAssociation":                  nil,
	"aws:ec2/securityGroup:SecurityGroup":                                  nil,
	"aws:ec2/subnet:Subnet":                                                nil,
	"aws:ec2/vpc:Vpc":                                                      nil,
	"aws:ecs/capacityProvider:CapacityProvider":                            nil,
	"aws:ecs/cluster:Cluster":                                              nil,
	"aws:ecs/clusterCapacityProviders:ClusterCapacityProviders":            nil,
	"aws:ecs/taskDefinition:TaskDefinition":                                nil,
	"aws:efs/accessPoint:AccessPoint":                                      nil,
	"aws:efs/backupPolicy:BackupPolicy":                                    nil,
	"aws:efs/fileSystemPolicy:FileSystemPolicy":                            nil,
	"aws:efs/mountTarget:MountTarget":                                      nil,
	"aws:elasticache/parameterGroup:ParameterGroup":                        nil,
	"aws:elasticache/subnetGroup:SubnetGroup":                              nil,
	"aws:iam/instanceProfile:InstanceProfile":                              nil,
	"aws:iam/role:Role":                                                    nil,
	"aws:iam/rolePolicy:RolePolicy":                                        nil,
	"aws:iam/rolePolicyAttachment:RolePolicyAttachment":                    nil,
	"aws:kms/alias:Alias":                                                  nil,
	"aws:lb/listener:Listener":                                             nil,
	"aws:lb/listenerRule:ListenerRule":                                     nil,
	"aws:cloudfront/cachePolicy:CachePolicy":                               nil,
	"aws:lb/targetGroup:TargetGroup":                                       nil,
	"aws:rds/parameterGroup:ParameterGroup":                                nil,
	"aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup":              nil,
	"aws:rds/proxyTarget:ProxyTarget":                                      nil,
	"aws:rds/subnetGroup:SubnetGroup":                                      nil,
	"aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2": nil,
	"aws:s3/bucketOwnershipControls:BucketOwnershipControls":               nil,
	"aws:s3/bucketPolicy:BucketPolicy":                                     nil,
	"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":               nil,
	"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": nil,
	"aws:s3/bucketVersioningV2:BucketVersioningV2":                                               nil,
	"aws:secretsmanager/secretVersion:SecretVersion":                                             nil,
	"aws:sns/topic:Topic":                                             nil,
	"aws:sns/topicSubscription:TopicSubscription":                     nil,
	"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":         nil,
	"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":       nil,
	"aws:wafv2/webAclAssociation:WebAclAssociation":                   nil,
	"aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": nil,
	"aws:iam/serviceLinkedRole:ServiceLinkedRole":                     nil,
	"aws:iam/user:User":                                               nil,
	"aws:iam/userPolicy:UserPolicy":                                   nil,
	"aws:iam/accessKey:AccessKey":                                     nil,
	"aws:ecr/lifecyclePolicy:LifecyclePolicy":                         nil,
	// codeSource build: built where up runs and pushed to the repository, which
	// is priced above.
	"docker:index/image:Image": nil,
	// The filter is free; the metric it publishes is a custom metric (about 0.30
	// USD a month), which the table does not price yet.
	"aws:cloudwatch/logMetricFilter:LogMetricFilter": nil,
}

// pricer prices resources against one table, looking up related resources (a
// service's task definition, a replica's primary) in the same inventory.
type pricer struct {
	t   Table
	inv inventory.Inventory
}

// named returns the resource of type token with the given name.
func (p pricer) named(token, name string) (inventory.Resource, bool) {
	for _, r := range p.inv.Resources {
		if r.Type == token && r.Name == name {
			return r, true
		}
	}
	return inventory.Resource{}, false
}

// flat is a rule for a fixed monthly price.
func flat(rate func(Table) Rate, what string) rule {
	return func(p pricer, _ inventory.Resource) (Line, error) {
		r := rate(p.t)
		return Line{What: what, Monthly: r.USD, Source: r.Source}, nil
	}
}

// task is the size of one ECS task.
type task struct{ vcpu, memGB float64 }

// taskOf reads the task definition a service runs: the program gives both the
// same name (the service's task definition ARN is not known before deployment).
func (p pricer) taskOf(service inventory.Resource) (task, error) {
	td, ok := p.named("aws:ecs/taskDefinition:TaskDefinition", service.Name)
	if !ok {
		return task{}, fmt.Errorf("no task definition named %s", service.Name)
	}
	t := task{vcpu: td.Num("cpu") / 1024, memGB: td.Num("memory") / 1024}
	if t.vcpu == 0 || t.memGB == 0 {
		return task{}, fmt.Errorf("task definition %s has no cpu or memory", td.Name)
	}
	return t, nil
}

// counts returns a service's task count and its autoscaling ceiling.
func (p pricer) counts(service inventory.Resource) (desired, ceiling int) {
	desired = int(service.Num("desiredCount"))
	ceiling = desired
	if target, ok := p.named("aws:appautoscaling/target:Target", service.Name); ok {
		ceiling = max(desired, int(target.Num("maxCapacity")))
	}
	return desired, ceiling
}

// Fargate's two capacity providers, as a service's strategy names them.
const (
	capacityFargate     = "FARGATE"
	capacityFargateSpot = "FARGATE_SPOT"
)

// strategy is one entry of a service's capacity provider strategy.
type strategy struct {
	provider     string
	base, weight int
}

func strategies(s inventory.Resource) []strategy {
	list, _ := s.Inputs["capacityProviderStrategies"].([]any)
	var out []strategy
	for _, e := range list {
		m, _ := e.(map[string]any)
		name, _ := m["capacityProvider"].(string)
		base, _ := m["base"].(float64)
		weight, _ := m["weight"].(float64)
		out = append(out, strategy{provider: name, base: int(base), weight: int(weight)})
	}
	return out
}

// onFargate reports a service whose tasks run on Fargate: by launch type, or by a
// strategy of Fargate's capacity providers only (app.spotPercent). A strategy of
// the cluster's own capacity provider (app.launchType ec2) runs on its instances.
func onFargate(s inventory.Resource) bool {
	if s.Str("launchType") == "FARGATE" {
		return true
	}
	list := strategies(s)
	for _, e := range list {
		if e.provider != capacityFargate && e.provider != capacityFargateSpot {
			return false
		}
	}
	return len(list) > 0
}

// spotTasks is how many of n tasks a strategy puts on Fargate Spot: the bases
// first, then the rest split by weight, Spot's share rounded up (an upper bound:
// ECS rounds either way).
func spotTasks(list []strategy, n int) int {
	rest, spotWeight, total := n, 0, 0
	for _, e := range list {
		rest -= min(rest, e.base)
		total += e.weight
		if e.provider == capacityFargateSpot {
			spotWeight += e.weight
		}
	}
	if rest <= 0 || total == 0 {
		return 0
	}
	return (rest*spotWeight + total - 1) / total
}

// ecsService prices a service's Fargate tasks at the on-demand rate of their CPU
// architecture (the task definition's runtime platform). Tasks on Fargate Spot
// are priced at the on-demand rate too: Spot has no list price (AWS publishes
// the current price per region and changes it; it has been up to 70 % below
// on-demand), so the estimate is an upper bound for them and says so.
func (p pricer) ecsService(s inventory.Resource) (Line, error) {
	t, err := p.taskOf(s)
	if err != nil {
		return Line{}, err
	}
	desired, ceiling := p.counts(s)
	if !onFargate(s) {
		return Line{What: fmt.Sprintf("%d × %g vCPU / %g GB on the cluster's EC2 instances (priced there)", desired, t.vcpu, t.memGB)}, nil
	}
	vcpu, gb, src, arch := p.t.FargateVCPUHour, p.t.FargateGBHour, srcFargate, ""
	if p.arm64(s) {
		vcpu, gb, src, arch = p.t.FargateARMVCPUHour, p.t.FargateARMGBHour, srcFargateARM, " ARM"
	}
	perTask := (t.vcpu*vcpu.USD + t.memGB*gb.USD) * HoursPerMonth
	what := fmt.Sprintf("Fargate%s %d × %g vCPU / %g GB", arch, desired, t.vcpu, t.memGB)
	var notes []string
	if ceiling != desired {
		notes = append(notes, fmt.Sprintf("autoscaling to %d", ceiling))
	}
	line := Line{Monthly: perTask * float64(desired), Ceiling: perTask * float64(ceiling), Source: src}
	if spot := spotTasks(strategies(s), ceiling); spot > 0 {
		notes = append(notes, fmt.Sprintf("up to %d on Spot, priced on-demand", spot))
		line.Usage = "Fargate Spot tasks are billed at the Spot price of the hour, which has no list price: not deducted here"
	}
	if len(notes) > 0 {
		what += " (" + strings.Join(notes, "; ") + ")"
	}
	line.What = what
	return line, nil
}

// arm64 reports a service whose task definition runs on Linux/ARM (Graviton).
func (p pricer) arm64(service inventory.Resource) bool {
	td, _ := p.named("aws:ecs/taskDefinition:TaskDefinition", service.Name)
	platform, _ := td.Inputs["runtimePlatform"].(map[string]any)
	arch, _ := platform["cpuArchitecture"].(string)
	return arch == "ARM64"
}

// ec2Instances prices the Auto Scaling group of the ec2 launch type: as many
// instances as the services' tasks need, placed first-fit by CPU and memory.
func (p pricer) ec2Instances(g inventory.Resource) (Line, error) {
	lt, ok := p.named("aws:ec2/launchTemplate:LaunchTemplate", g.Name)
	if !ok {
		return Line{}, fmt.Errorf("no launch template named %s", g.Name)
	}
	typ := lt.Str("instanceType")
	rate, ok := p.t.EC2Hour[typ]
	if !ok {
		return Line{}, fmt.Errorf("no %s price for instance type %q: add it to the table in cmd/moodlectl/cost/prices.go", p.t.Region, typ)
	}
	inst := task{vcpu: p.t.InstanceVCPUs[typ], memGB: p.t.InstanceMemoryGiB[typ] - reservedGiB}
	var now, top []task
	for _, s := range p.inv.OfType("aws:ecs/service:Service") {
		if onFargate(s) {
			continue
		}
		t, err := p.taskOf(s)
		if err != nil {
			return Line{}, err
		}
		desired, ceiling := p.counts(s)
		now, top = repeat(now, t, desired), repeat(top, t, ceiling)
	}
	n, nTop := max(int(g.Num("minSize")), place(now, inst)), max(int(g.Num("minSize")), place(top, inst))
	disk := rootVolumeGB(lt)
	perInstance := rate.USD*HoursPerMonth + disk*p.t.EBSGp3GBMonth.USD
	what := fmt.Sprintf("%d × %s + %g GB gp3 each", n, typ, disk)
	if nTop != n {
		what += fmt.Sprintf(" (%d at the autoscaling ceiling)", nTop)
	}
	return Line{What: what, Monthly: perInstance * float64(n), Ceiling: perInstance * float64(nTop), Source: srcEC2 + "; " + srcEBS}, nil
}

// reservedGiB is the memory an ECS-optimised instance keeps for the OS and the
// agent, not available to tasks.
const reservedGiB = 0.5

func repeat(ts []task, t task, n int) []task {
	for range n {
		ts = append(ts, t)
	}
	return ts
}

// place returns the instances first-fit decreasing placement needs for tasks.
func place(tasks []task, inst task) int {
	sort.Slice(tasks, func(i, j int) bool { return tasks[i].vcpu > tasks[j].vcpu })
	var free []task
	for _, t := range tasks {
		placed := false
		for i := range free {
			if free[i].vcpu >= t.vcpu && free[i].memGB >= t.memGB {
				free[i].vcpu -= t.vcpu
				free[i].memGB -= t.memGB
				placed = true
				break
			}
		}
		if !placed {
			free = append(free, task{inst.vcpu - t.vcpu, inst.memGB - t.memGB})
		}
	}
	return len(free)
}

func rootVolumeGB(lt inventory.Resource) float64 {
	mappings, _ := lt.Inputs["blockDeviceMappings"].([]any)
	for _, m := range mappings {
		mm, _ := m.(map[string]any)
		ebs, _ := mm["ebs"].(map[string]any)
		if size, ok := ebs["volumeSize"].(float64); ok {
			return size
		}
	}
	return 0
}

// isReplica reports an RDS read replica: its source is another instance. The
// source's identifier is unknown before deployment, but the input is set.
func isReplica(r inventory.Resource) bool {
	_, ok := r.Inputs["replicateSourceDb"]
	return ok
}

func (p pricer) rdsInstance(r inventory.Resource) (Line, error) {
	class := r.Str("instanceClass")
	rate, ok := p.t.RDSPostgresHour[class]
	if !ok {
		return Line{}, fmt.Errorf("no %s price for RDS PostgreSQL class %q: add it to the table in cmd/moodlectl/cost/prices.go", p.t.Region, class)
	}
	storage := r.Num("allocatedStorage")
	if storage == 0 && isReplica(r) {
		// A replica inherits its source's storage size.
		if primary, ok := p.primary(); ok {
			storage = primary.Num("allocatedStorage")
		}
	}
	copies, deployment := 1.0, "Single-AZ"
	if r.Bool("multiAz") {
		copies, deployment = 2, "Multi-AZ"
	}
	if isReplica(r) {
		deployment += " read replica"
	}
	monthly := copies * (rate.USD*HoursPerMonth + storage*p.t.RDSGp3GBMonth.USD)
	return Line{What: fmt.Sprintf("PostgreSQL %s %s + %g GB gp3", class, deployment, storage),
		Monthly: monthly, Usage: "backup storage beyond the allocated size",
		Source: srcRDS + "; " + srcRDSStorage}, nil
}

// primary is the RDS instance that is no replica.
func (p pricer) primary() (inventory.Resource, bool) {
	for _, r := range p.inv.OfType("aws:rds/instance:Instance") {
		if !isReplica(r) {
			return r, true
		}
	}
	return inventory.Resource{}, false
}

// rdsProxy is billed per vCPU of the instance behind it, the primary.
func (p pricer) rdsProxy(_ inventory.Resource) (Line, error) {
	primary, ok := p.primary()
	if !ok {
		return Line{}, fmt.Errorf("no primary RDS instance behind the proxy")
	}
	class := primary.Str("instanceClass")
	vcpus, ok := p.t.InstanceVCPUs[class]
	if !ok {
		return Line{}, fmt.Errorf("no vCPU count for %q: add it to the table in cmd/moodlectl/cost/prices.go", class)
	}
	return Line{What: fmt.Sprintf("RDS Proxy over %g vCPUs (%s)", vcpus, class),
		Monthly: vcpus * p.t.RDSProxyVCPUHour.USD * HoursPerMonth, Source: srcRDSProxy}, nil
}

func (p pricer) redis(r inventory.Resource) (Line, error) {
	typ := r.Str("nodeType")
	rate, ok := p.t.ElastiCacheHour[typ]
	if !ok {
		return Line{}, fmt.Errorf("no %s price for ElastiCache node type %q: add it to the table in cmd/moodlectl/cost/prices.go", p.t.Region, typ)
	}
	n := r.Num("numCacheClusters")
	return Line{What: fmt.Sprintf("%g × %s", n, typ), Monthly: n * rate.USD * HoursPerMonth,
		Usage: "backup storage beyond one snapshot", Source: srcElastiCache}, nil
}

func (p pricer) natGateway(inventory.Resource) (Line, error) {
	return Line{What: "NAT gateway", Monthly: p.t.NATHour.USD * HoursPerMonth,
		Usage: fmt.Sprintf("%g USD per GB processed", p.t.NATDataGB.USD), Source: srcVPC}, nil
}

func (p pricer) publicIP(inventory.Resource) (Line, error) {
	return Line{What: "public IPv4 address", Monthly: p.t.PublicIPv4Hour.USD * HoursPerMonth, Source: srcVPC}, nil
}

// loadBalancer: an internet-facing ALB has a public IPv4 address in each subnet.
func (p pricer) loadBalancer(r inventory.Resource) (Line, error) {
	ips := 0
	if !r.Bool("internal") {
		ips = r.Len("subnets")
	}
	return Line{What: fmt.Sprintf("Application Load Balancer + %d public IPv4", ips),
		Monthly: (p.t.ALBHour.USD + float64(ips)*p.t.PublicIPv4Hour.USD) * HoursPerMonth,
		Usage:   fmt.Sprintf("%g USD per LCU-hour", p.t.ALBLCUHour.USD), Source: srcELB + "; " + srcVPC}, nil
}

func (p pricer) webACL(r inventory.Resource) (Line, error) {
	rules := r.Len("rules")
	return Line{What: fmt.Sprintf("WAF web ACL with %d rules", rules),
		Monthly: p.t.WAFACLMonth.USD + float64(rules)*p.t.WAFRuleMonth.USD,
		Usage:   fmt.Sprintf("%g USD per million requests", p.t.WAFMillionRequests.USD), Source: srcWAF}, nil
}

func (p pricer) logGroup(inventory.Resource) (Line, error) {
	return Line{What: "log group", Usage: fmt.Sprintf("%g USD per GB ingested, %g USD per GB-month stored",
		p.t.LogsIngestGB.USD, p.t.LogsStoreGBMonth.USD), Source: srcCloudWatch}, nil
}

func (p pricer) fileSystem(inventory.Resource) (Line, error) {
	return Line{What: "EFS, Elastic Throughput", Usage: fmt.Sprintf("%g USD per GB-month stored (Standard), %g USD per GB read",
		p.t.EFSStandardGBMonth.USD, p.t.EFSElasticTransferGB.USD), Source: srcEFS}, nil
}

// repository: codeSource build's image repository, billed by what it stores
// (the lifecycle policy keeps at most its newest images).
func (p pricer) repository(inventory.Resource) (Line, error) {
	return Line{What: "ECR repository", Usage: fmt.Sprintf("%g USD per GB-month stored", p.t.ECRStorageGBMonth.USD), Source: srcECR}, nil
}

func (p pricer) bucket(inventory.Resource) (Line, error) {
	return Line{What: "S3 bucket", Usage: fmt.Sprintf("%g USD per GB-month stored (Standard), plus requests", p.t.S3StandardGBMonth.USD),
		Source: srcS3}, nil
}

// vpcEndpoint: an interface endpoint is billed per zone (subnet) it is in and per
// GB it processes; a gateway endpoint (S3) costs nothing.
func (p pricer) vpcEndpoint(r inventory.Resource) (Line, error) {
	if r.Str("vpcEndpointType") != "Interface" {
		return Line{}, errNoCharge
	}
	zones := r.Len("subnetIds")
	return Line{What: fmt.Sprintf("interface VPC endpoint in %d zones", zones),
		Monthly: float64(zones) * p.t.InterfaceEndpointHour.USD * HoursPerMonth,
		Usage:   fmt.Sprintf("%g USD per GB processed", p.t.InterfaceEndpointDataGB.USD), Source: srcPrivateLink}, nil
}

// distribution: CloudFront has no fixed charge, only data out and requests
// (origin fetches from the ALB are free). Its web ACL and key are priced as such.
func (p pricer) distribution(inventory.Resource) (Line, error) {
	return Line{What: "CloudFront distribution", Usage: fmt.Sprintf("%g USD per GB out to the internet (Europe, North America), %g USD per 10,000 HTTPS requests (Europe); the first 1 TB and 10 million requests a month are free",
		p.t.CloudFrontDataOutGB.USD, p.t.CloudFrontHTTPS10k.USD), Source: srcCloudFront}, nil
}

// record: Route 53 does not charge for a record, nor for queries of an alias to
// an AWS resource (the ALB, a CloudFront distribution); queries of any other
// record (SES's DKIM CNAMEs, asked by every receiving server) are standard
// queries. The hosted zone is the user's, billed whether or not this stack adds
// a record to it.
func (p pricer) record(r inventory.Resource) (Line, error) {
	if r.Len("aliases") == 0 {
		return Line{What: "Route 53 " + r.Str("type") + " record", Usage: fmt.Sprintf("%g USD per million queries; the hosted zone (%g USD a month) is yours, not the stack's",
			p.t.Route53MillionQueries.USD, p.t.Route53HostedZoneMonth.USD), Source: srcRoute53}, nil
	}
	return Line{What: "Route 53 alias record", Usage: fmt.Sprintf("none: alias queries to the ALB or CloudFront are free; the hosted zone (%g USD a month) is yours, not the stack's",
		p.t.Route53HostedZoneMonth.USD), Source: srcRoute53}, nil
}

// sesIdentity: an identity costs nothing; SES bills what is sent through it.
func (p pricer) sesIdentity(inventory.Resource) (Line, error) {
	return Line{What: "SES domain identity", Usage: fmt.Sprintf("%g USD per 1,000 messages sent, %g USD per GB of attachments",
		p.t.SESThousandMessages.USD, p.t.SESAttachmentGB.USD), Source: srcSES}, nil
}

// backupVault is billed by what it holds, which grows with the site: the EFS
// recovery points by the GB-month of warm storage, and restores by the GB. The
// RDS snapshots AWS Backup takes are RDS backup storage, billed as RDS's
// (beyond the allocated size). No rate is pinned here yet, so the line names the
// page instead of guessing a number.
func (p pricer) backupVault(inventory.Resource) (Line, error) {
	return Line{What: "AWS Backup vault", Usage: "EFS recovery points by the GB-month (warm storage) and restores by the GB; the RDS snapshots count as RDS backup storage",
		Source: srcBackup}, nil
}
