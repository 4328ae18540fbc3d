package config

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/moodle-cluster/moodle-pulumi/components/appimage"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// awsTarget checks what only the AWS stack reads: https and the certificate, the
// prebuilt image, autoscaling and Fargate sizes, RDS, ElastiCache, EFS or S3, and
// the network.
func (p *problems) awsTarget(s topology.Spec, site *url.URL) {
	a := s.AWS
	if site != nil {
		v := s.SiteURL
		if site.Scheme == "http" && a.CertificateARN != "" {
			p.add("siteUrl", v, "must be https when aws.certificateArn is set (port 80 only redirects to https)")
		}
		if site.Scheme == "http" && a.CertificateARN == "" && !a.AllowPlainHTTP {
			p.add("siteUrl", v, "must be https on aws; allowed: https:// with aws.certificateArn, or http:// with aws.allowPlainHttp true")
		}
		if site.Scheme == "https" && a.CertificateARN == "" && a.AllowPlainHTTP {
			p.add("siteUrl", v, "https needs aws.certificateArn; allowed without a certificate: http://")
		}
	}
	p.oneOf("moodle.codeSource", s.Moodle.CodeSource, topology.CodeImage, topology.CodeBuild)
	p.build(s)
	p.awsBuild(s)

	app := s.App
	p.intRange("app.minReplicas", app.MinReplicas, 1, maxReplicas)
	if app.MinReplicas > app.Replicas {
		p.add("app.minReplicas", app.MinReplicas, "must not exceed app.replicas (%d)", app.Replicas)
	}
	if app.SpotPercent > 0 && app.LaunchType != topology.LaunchFargate {
		p.add("app.spotPercent", app.SpotPercent, "Fargate Spot runs Fargate tasks only; allowed with app.launchType %s: 0", app.LaunchType)
	}
	// "Linux tasks with the ARM64 architecture don't support the Fargate Spot
	// capacity provider" (Amazon ECS Developer Guide, Fargate capacity provider
	// considerations): the Spot share of the tasks would never start.
	if app.SpotPercent > 0 && app.CPUArchitecture == topology.ArchARM64 {
		p.add("app.spotPercent", app.SpotPercent, "Fargate Spot runs x86_64 tasks only; allowed with app.cpuArchitecture %s: 0", app.CPUArchitecture)
	}
	if app.LaunchType == topology.LaunchEC2 && graviton.MatchString(a.EC2InstanceType) != (app.CPUArchitecture == topology.ArchARM64) {
		p.add("aws.ec2InstanceType", a.EC2InstanceType, "does not run app.cpuArchitecture %s; allowed: a Graviton type (m7g.xlarge) for arm64, any other (m6i.xlarge) for x86_64", app.CPUArchitecture)
	}
	if app.LaunchType == topology.LaunchFargate {
		p.fargate("app", app.Resources)
		p.fargate("cron", s.Cron.Resources)
		if s.Cron.Adhoc.Workers > 0 {
			p.fargate("cron.adhoc", s.Cron.Adhoc.Resources)
		}
	}

	p.rds(s)
	p.backup(s.Backup)
	if n := len(a.Maintenance.Message); n > topology.MaintenanceMessageMax {
		p.add("aws.maintenance.message", fmt.Sprintf("%d bytes", n), "the load balancer's fixed response holds at most %d bytes", topology.MaintenanceMessageMax)
	}
	p.elastiCache(s.Cache)
	st := s.Storage
	p.oneOf("storage.kind", st.Kind, topology.StorageEFS, topology.StorageS3)
	if st.Kind == topology.StorageS3 {
		p.s3Plugins(s.Moodle.Plugins)
	}
	if st.S3.SizeThresholdBytes < 0 {
		p.add("storage.s3.sizeThresholdBytes", st.S3.SizeThresholdBytes, "allowed: 0 or more")
	}
	if st.RestoreFileSystemID != "" && !fileSystemID.MatchString(st.RestoreFileSystemID) {
		p.add("storage.restoreFileSystemId", st.RestoreFileSystemID, "allowed: an EFS file system id, fs- and 8 to 40 lower-case hexadecimal digits")
	}
	if st.RetireOriginal && st.RestoreFileSystemID == "" {
		p.add("storage.retireOriginal", st.RetireOriginal, "retires the file system a restore replaced; allowed without storage.restoreFileSystemId: false")
	}
	if st.S3.MinimumAgeSeconds < 0 {
		p.add("storage.s3.minimumAgeSeconds", st.S3.MinimumAgeSeconds, "allowed: 0 or more")
	}

	if a.AZCount != 2 && a.AZCount != 3 {
		p.add("aws.azCount", a.AZCount, "allowed: 2 or 3 (Multi-AZ RDS, ElastiCache failover and the ALB need two zones)")
	}
	p.network(a)
	if a.VPCEndpoints && a.VPCID != "" {
		p.add("aws.vpcEndpoints", a.VPCEndpoints, "interface endpoints go into a VPC the stack creates; allowed with aws.vpcId: false (add them to your VPC yourself)")
	}
	p.cloudFront(a)
	if a.HostedZoneID != "" && !hostedZoneID.MatchString(a.HostedZoneID) {
		p.add("aws.hostedZoneId", a.HostedZoneID, "allowed: a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ")
	}
	switch {
	case a.CertificateARN == "" && !a.AllowPlainHTTP:
		p.add("aws.certificateArn", nil, "not set; the HTTPS listener needs an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID), or set aws.allowPlainHttp true for a test site")
	case a.CertificateARN != "" && !acmARN.MatchString(a.CertificateARN):
		p.add("aws.certificateArn", a.CertificateARN, "allowed: an ACM certificate ARN, arn:aws:acm:REGION:ACCOUNT:certificate/ID")
	}
	p.email("aws.alarmEmail", a.AlarmEmail, true)
	if !logRetention(a.LogRetentionDays) {
		p.add("aws.logRetentionDays", a.LogRetentionDays, "allowed: a CloudWatch retention of 30 days or more: 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653")
	}
	if !ec2InstanceType.MatchString(a.EC2InstanceType) {
		p.add("aws.ec2InstanceType", a.EC2InstanceType, "allowed: an EC2 instance type such as m6i.xlarge")
	}
}

// fargate checks that r is a task size Fargate runs (Linux, platform 1.4).
func (p *problems) fargate(key string, r topology.Resources) {
	sizes := []struct {
		cpus            float64
		low, high, step int
	}{
		{0.25, 512, 2048, 512}, {0.5, 1024, 4096, 1024}, {1, 2048, 8192, 1024}, {2, 4096, 16384, 1024},
		{4, 8192, 30720, 1024}, {8, 16384, 61440, 4096}, {16, 32768, 122880, 8192},
	}
	for _, sz := range sizes {
		if sz.cpus != r.CPUs {
			continue
		}
		m := r.MemoryMB
		// 0.25 vCPU takes 512, 1024 or 2048 only.
		ok := m >= sz.low && m <= sz.high && m%sz.step == 0 && (sz.cpus != 0.25 || m != 1536)
		if !ok {
			p.add(key+".memoryMb", m, "not a Fargate size for %s vCPU (%s.cpus); allowed: %d..%d in steps of %d",
				num(r.CPUs), key, sz.low, sz.high, sz.step)
		}
		return
	}
	p.add(key+".cpus", r.CPUs, "not a Fargate task size; allowed: 0.25, 0.5, 1, 2, 4, 8, 16")
}

// rds checks the RDS settings and the pooler AWS offers.
func (p *problems) rds(s topology.Spec) {
	d := s.Database
	p.oneOf("database.pooler", d.Pooler, topology.PoolerNone, topology.PoolerRDSProxy)
	// A protected stack is a production site: the read replica carries the safe reads
	// and is the warm copy a failed Multi-AZ pair can be rebuilt from.
	if s.AWS.Protect && d.ReadReplicas == 0 {
		p.add("database.readReplicas", d.ReadReplicas, "a protected (production) aws stack needs at least one read replica; allowed: 1..%d, or aws.protect false for a test stack", maxReadReplicas)
	}
	if !instanceClass.MatchString(d.InstanceClass) {
		p.add("database.instanceClass", d.InstanceClass, "allowed: an RDS instance class such as db.r6g.large")
	}
	if d.MaxStorageGB <= d.StorageGB || d.MaxStorageGB > 65536 {
		p.add("database.maxStorageGb", d.MaxStorageGB, "storage autoscaling needs a ceiling above database.storageGb; allowed: %d..65536", d.StorageGB+1)
	}
	if d.RestoreFromSnapshot != "" && !dbSnapshot.MatchString(d.RestoreFromSnapshot) {
		p.add("database.restoreFromSnapshot", d.RestoreFromSnapshot, "allowed: an RDS DB snapshot identifier (a letter, then letters, digits and single hyphens; rds: or awsbackup: before an automated or AWS Backup one) or its ARN arn:aws:rds:REGION:ACCOUNT:snapshot:ID")
	}
	if d.RetireOriginal && d.RestoreFromSnapshot == "" {
		p.add("database.retireOriginal", d.RetireOriginal, "retires the instances a restore replaced; allowed without database.restoreFromSnapshot: false")
	}
	p.rdsConnections(s)
}

// rdsConnections keeps the app tier's connection budget, deployment surge included,
// under the max_connections RDS gives the instance class. With RDS Proxy the
// proxy multiplexes the clients, so only a direct connection is counted.
func (p *problems) rdsConnections(s topology.Spec) {
	d := s.Database
	// A budget past any instance's limit is reported as such (connections).
	if !instanceClass.MatchString(d.InstanceClass) || s.ServerConnections() > maxServerConnections {
		return
	}
	limit, ok := topology.RDSMaxConnections(d.InstanceClass)
	switch {
	case !ok:
		p.add("database.instanceClass", d.InstanceClass, "max_connections cannot be known for this class; allowed: the db.m*, db.r*, db.x*, db.z* and burstable db.t* classes")
	case d.Pooler == topology.PoolerNone && s.ServerConnections() > limit:
		p.add("database.instanceClass", d.InstanceClass,
			"allows about %d connections, but %d app nodes at the peak (app.maxReplicas during a deployment) × %d php-fpm children need %d; allowed: a larger class, fewer nodes or children, or database.pooler rdsproxy",
			limit, s.PeakNodes(), s.App.Sizing().MaxChildren, s.ServerConnections())
	}
}

func (p *problems) elastiCache(c topology.Cache) {
	p.oneOf("cache.version", c.Version, topology.RedisVersions...)
	if !c.TLS {
		p.add("cache.tls", c.TLS, "ElastiCache runs with in-transit encryption (CKV_AWS_30); allowed on aws: true")
	}
	if !nodeType.MatchString(c.NodeType) {
		p.add("cache.nodeType", c.NodeType, "allowed: an ElastiCache node type such as cache.r6g.large")
	}
	if c.Replicas < 2 || c.Replicas > 6 {
		p.add("cache.replicas", c.Replicas, "automatic failover needs a primary and a replica; allowed: 2..6 nodes")
	}
	if !nodeType.MatchString(c.MUC.NodeType) {
		p.add("cache.muc.nodeType", c.MUC.NodeType, "allowed: an ElastiCache node type such as cache.r6g.large")
	}
	if c.MUC.Replicas < 2 || c.MUC.Replicas > 6 {
		p.add("cache.muc.replicas", c.MUC.Replicas, "automatic failover needs a primary and a replica; allowed: 2..6 nodes")
	}
}

func (p *problems) network(a topology.AWSTarget) {
	if ip, n, err := net.ParseCIDR(a.VPCCIDR); err != nil || ip.To4() == nil {
		p.add("aws.vpcCidr", a.VPCCIDR, "allowed: an IPv4 CIDR from /16 to /20, e.g. 10.0.0.0/16")
	} else if ones, _ := n.Mask.Size(); ones < 16 || ones > 20 {
		p.add("aws.vpcCidr", a.VPCCIDR, "allowed: an IPv4 CIDR from /16 to /20, e.g. 10.0.0.0/16")
	}
	subnets := []struct {
		key string
		ids []string
	}{{"aws.publicSubnetIds", a.PublicSubnetIDs}, {"aws.privateSubnetIds", a.PrivateSubnetIDs}, {"aws.dataSubnetIds", a.DataSubnetIDs}}
	if a.VPCID == "" {
		for _, sn := range subnets {
			if len(sn.ids) > 0 {
				p.add(sn.key, sn.ids, "subnet ids belong to an existing VPC; set aws.vpcId too, or remove them to create a VPC")
			}
		}
		return
	}
	if !vpcID.MatchString(a.VPCID) {
		p.add("aws.vpcId", a.VPCID, "allowed: a VPC id such as vpc-0123456789abcdef0")
	}
	for _, sn := range subnets {
		if len(sn.ids) < a.AZCount {
			p.add(sn.key, sn.ids, "an existing VPC needs one subnet per zone; allowed: at least aws.azCount (%d) subnet ids", a.AZCount)
		}
		for _, id := range sn.ids {
			if !subnetID.MatchString(id) {
				p.add(sn.key, sn.ids, "%q is not a subnet id; allowed: ids such as subnet-0123456789abcdef0", id)
			}
		}
	}
}

// logRetention reports a CloudWatch Logs retention of at least 30 days (CKV_AWS_338).
func logRetention(days int) bool {
	for _, d := range []int{30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653} {
		if d == days {
			return true
		}
	}
	return false
}

// s3Plugins checks that the code of the app image can serve S3 storage. On AWS the
// image is prebuilt (codeSource image), so what it holds is what moodle.plugins
// declares it was built with (MOODLE_PLUGINS): the plugins S3 storage needs must be
// there, at the releases proven with Moodle 5.1 (topology.S3Plugins). Preview fails
// here rather than the tasks at start, where the image's entry point refuses a
// config.php naming tool_objectfs without its code.
func (p *problems) s3Plugins(listed []topology.Plugin) {
	for _, want := range topology.S3Plugins {
		i := slices.IndexFunc(listed, func(have topology.Plugin) bool { return have.Component == want.Component })
		switch {
		case i < 0:
			p.add("moodle.plugins", nil, "storage.kind s3 needs %s %s in the app image, and moodle.plugins (what the image "+
				"was built with) does not list it; build the image with it and list it (docs/aws.md gives the entry)", want.Component, want.Version)
		case listed[i].Version != want.Version:
			p.add(fmt.Sprintf("moodle.plugins[%d].version", i), listed[i].Version,
				"storage.kind s3 needs %s %s, the release proven with Moodle 5.1; allowed: %s", want.Component, want.Version, want.Version)
		}
	}
}

// cloudFront checks the CDN in front of the ALB: CloudFront takes certificates from
// us-east-1 only, reaches the ALB over HTTPS (so the ALB needs its own), and waits
// for the origin at most 180 s.
func (p *problems) cloudFront(a topology.AWSTarget) {
	cf := a.CloudFront
	p.intRange("aws.cloudFront.originReadTimeout", cf.OriginReadTimeout, 1, 180)
	if !cf.Enabled {
		if cf.CertificateARN != "" {
			p.add("aws.cloudFront.certificateArn", cf.CertificateARN, "only read with aws.cloudFront.enabled true")
		}
		return
	}
	if !acmARN.MatchString(cf.CertificateARN) || !strings.HasPrefix(strings.TrimPrefix(cf.CertificateARN, "arn:aws:acm:"), "us-east-1:") {
		p.add("aws.cloudFront.certificateArn", cf.CertificateARN, "allowed: an ACM certificate ARN in us-east-1 (CloudFront takes no other), arn:aws:acm:us-east-1:ACCOUNT:certificate/ID")
	}
	if a.CertificateARN == "" {
		p.add("aws.cloudFront.enabled", cf.Enabled, "CloudFront reaches the ALB over HTTPS; allowed with aws.certificateArn set")
	}
}

// backup checks the AWS Backup plan. Its schedule is an AWS cron expression (six
// fields, minutes hours day-of-month month day-of-week year, one of the two day
// fields "?": the EventBridge cron syntax AWS Backup takes, BackupRule
// ScheduleExpression in the AWS Backup API reference) at most hourly: AWS Backup
// refuses backup jobs less than 60 minutes apart, so the minutes field is one
// number. The recovery points are kept at least a week, the floor the security
// rules set for every backup of the database (CKV_AWS_133), and at most 100 years.
func (p *problems) backup(b topology.Backup) {
	if !b.Enabled {
		return
	}
	if !awsCron(b.Schedule) {
		p.add("backup.schedule", b.Schedule, "allowed: an AWS cron expression in UTC with six fields, minutes hours day-of-month month day-of-week year, "+
			"one of the day fields ?, at most hourly (the minutes one number), e.g. cron(0 5 ? * * *) daily at 05:00")
	}
	p.intRange("backup.retentionDays", b.RetentionDays, 7, 36500)
}

// awsCron reports whether v is cron(...) with the six fields of an AWS cron
// expression, at most hourly.
func awsCron(v string) bool {
	inner, ok := strings.CutPrefix(v, "cron(")
	if !ok || !strings.HasSuffix(inner, ")") {
		return false
	}
	f := strings.Fields(strings.TrimSuffix(inner, ")"))
	if len(f) != 6 || !cronMinute.MatchString(f[0]) {
		return false
	}
	for _, field := range f[1:] {
		if !cronField.MatchString(field) {
			return false
		}
	}
	// "You can't specify the Day-of-month and Day-of-week fields in the same cron
	// expression. If you specify a value or a * in one of the fields, you must use
	// a ? in the other." (EventBridge, cron expressions reference.)
	return (f[2] == "?") != (f[4] == "?")
}

// awsBuild checks what `up` needs to build the app image for ECS: the pinned RDS
// bundle every AWS image holds (the tasks verify the database with it), and no
// images.app, which names a prebuilt image the build would silently replace.
func (p *problems) awsBuild(s topology.Spec) {
	if s.Moodle.CodeSource != topology.CodeBuild {
		return
	}
	if sum := s.Moodle.Build.Args[appimage.ArgDatabaseCASHA256]; !sha256Hex.MatchString(sum) {
		p.add("moodle.build.args."+appimage.ArgDatabaseCASHA256, sum,
			"the image for aws must hold the RDS CA bundle; allowed: the SHA-256 (64 lower-case hex digits) of %s", appimage.DatabaseCAURL)
	}
	if s.Images.App != topology.DefaultAppImage(s.Moodle.Version) {
		p.add("images.app", s.Images.App, "names a prebuilt image, read with moodle.codeSource image; with build, up pushes the image it builds to the stack's ECR repository")
	}
}
