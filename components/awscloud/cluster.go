package awscloud

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// ClusterArgs is the validated topology to provision.
type ClusterArgs struct {
	Spec topology.Spec
	// MailPassword is the relay password for Spec.Mail.User, a secret
	// (moodle:mailPassword), kept in a Secrets Manager secret of the stack's own;
	// nil when the relay takes no login or Spec.Mail.PasswordSecretARN names an
	// existing secret.
	MailPassword pulumi.StringInput
}

// Cluster is a whole Moodle site on AWS.
type Cluster struct {
	pulumi.ResourceState

	SiteURL         pulumi.StringOutput `pulumi:"siteUrl"`
	LoadBalancerDNS pulumi.StringOutput `pulumi:"loadBalancerDns"`
	// SiteDNS is what the site's name must point at: the distribution or the ALB.
	SiteDNS          pulumi.StringOutput      `pulumi:"siteDns"`
	DatabaseAddress  pulumi.StringOutput      `pulumi:"databaseAddress"`
	ReplicaAddresses pulumi.StringArrayOutput `pulumi:"replicaAddresses"`
	RedisAddress     pulumi.StringOutput      `pulumi:"redisAddress"`
	MUCRedisAddress  pulumi.StringOutput      `pulumi:"mucRedisAddress"`
	FileSystemID     pulumi.StringOutput      `pulumi:"fileSystemId"`
	BucketName       pulumi.StringOutput      `pulumi:"bucketName"`
	ECSClusterName   pulumi.StringOutput      `pulumi:"ecsClusterName"`
	// The services and the log group `moodlectl status` and `upgrade` read, by
	// the names AWS knows them by: the tools take them from here, not from the
	// program's logical names.
	AppServiceName   pulumi.StringOutput `pulumi:"appServiceName"`
	CronServiceName  pulumi.StringOutput `pulumi:"cronServiceName"`
	CronLogGroupName pulumi.StringOutput `pulumi:"cronLogGroupName"`
	// What `moodlectl backup` and `restore` act on: the DB instance the site uses,
	// the file system's ARN, and the vault and role of the stack's AWS Backup.
	DatabaseInstanceID pulumi.StringOutput `pulumi:"databaseInstanceId"`
	FileSystemARN      pulumi.StringOutput `pulumi:"fileSystemArn"`
	BackupVaultName    pulumi.StringOutput `pulumi:"backupVaultName"`
	BackupRoleARN      pulumi.StringOutput `pulumi:"backupRoleArn"`
	// DataKeyARN is the key a file system restored from the stack's recovery
	// point is encrypted with, as the stack's own.
	DataKeyARN    pulumi.StringOutput `pulumi:"dataKeyArn"`
	AlarmTopicARN pulumi.StringOutput `pulumi:"alarmTopicArn"`
	DashboardName pulumi.StringOutput `pulumi:"dashboardName"`
	// AppImage is the image the app tasks pull: images.app as given, or the
	// digest of the image this up built and pushed.
	AppImage pulumi.StringOutput `pulumi:"appImage"`
}

// NewCluster provisions spec: the network, the edge, the back ends, the compute
// capacity, the cron runner, the web tier and the alarms, in that order of
// dependence.
func NewCluster(ctx *pulumi.Context, name string, args *ClusterArgs, opts ...pulumi.ResourceOption) (*Cluster, error) {
	c := &Cluster{}
	if err := ctx.RegisterComponentResource(TypeCluster, name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	spec := args.Spec
	protect := spec.AWS.Protect
	retention := spec.AWS.LogRetentionDays

	account, err := lookupAccount(ctx, pulumi.Parent(c))
	if err != nil {
		return nil, err
	}
	// With mail.ses the relay is SES's SMTP endpoint in the stack's own region,
	// where the identity and the credentials are made (SMTP passwords are
	// derived per region).
	if spec.Mail.Enabled && spec.Mail.SES {
		spec.Mail.Host = sesSMTPHost(account.Region)
	}
	// EC2 Auto Scaling launches the instances, and so creates their encrypted root
	// volumes, with its service-linked role: the key must trust that role first.
	var autoScalingRole pulumi.StringInput
	if spec.App.LaunchType == topology.LaunchEC2 {
		role, err := newAutoScalingRole(ctx, name+"-autoscaling", parent)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name+"-autoscaling", err)
		}
		autoScalingRole = role.Arn
	}
	key, err := newDataKey(ctx, name+"-data", account, autoScalingRole, protect, parent)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name+"-data", err)
	}
	net, err := NewNetwork(ctx, name+"-network", &NetworkArgs{Spec: spec, Region: account.Region, KMSKeyARN: key.Arn}, parent)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name+"-network", err)
	}
	sg := net.SecurityGroups

	var originSecret pulumi.StringInput
	if spec.AWS.CloudFront.Enabled {
		// Only letters and digits: an ALB header condition reads * and ? as
		// wildcards. 48 of them are about 285 bits.
		secret, err := random.NewRandomPassword(ctx, name+"-origin-secret", &random.RandomPasswordArgs{
			Length: pulumi.Int(48), Special: pulumi.Bool(false),
		}, parent)
		if err != nil {
			return nil, err
		}
		originSecret = secret.Result
	}
	edge, err := NewEdge(ctx, name+"-edge", &EdgeArgs{
		AWS: spec.AWS, Web: spec.Web, Account: account, VPCID: net.VPCID, SubnetIDs: net.PublicSubnetIDs, SecurityGroupID: sg[sgALB],
		KMSKeyARN: key.Arn, OriginSecret: originSecret,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name+"-edge", err)
	}
	db, err := NewDatabase(ctx, name+"-db", &DatabaseArgs{
		Database: spec.Database, Protect: spec.AWS.Protect, LogRetentionDays: spec.AWS.LogRetentionDays,
		Account: account, SubnetIDs: net.DataSubnetIDs,
		SecurityGroupID: sg[sgDatabase], ProxySecurityGroupID: sg[sgProxy], KMSKeyARN: key.Arn,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name+"-db", err)
	}
	slowLog, err := logGroup(ctx, name+"-redis-slow-log", retention, key.Arn, parent)
	if err != nil {
		return nil, err
	}
	cache, err := NewCache(ctx, name+"-redis", &CacheArgs{
		Cache: spec.Cache, AWS: spec.AWS, SubnetIDs: net.DataSubnetIDs, SecurityGroupID: sg[sgCache], KMSKeyARN: key.Arn,
		SlowLogGroup: slowLog.Name,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name+"-redis", err)
	}
	files, err := NewFiles(ctx, name+"-files", &FilesArgs{
		Storage: spec.Storage, Protect: spec.AWS.Protect, SubnetIDs: net.PrivateSubnetIDs, SubnetCount: appSubnetCount(spec.AWS),
		SecurityGroupID: sg[sgFiles], KMSKeyARN: key.Arn, Account: account,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name+"-files", err)
	}
	// EFS is backed up in both storage kinds: with s3 it still holds the files
	// objectfs has not moved yet.
	backups, err := NewBackup(ctx, name+"-backup", &BackupArgs{
		Plan: spec.Backup, Protect: protect, Account: account, KMSKeyARN: key.Arn,
		Resources: pulumi.StringArray{db.PrimaryARN, files.FileSystemARN},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name+"-backup", err)
	}

	upgradeKey, err := newGeneratedSecret(ctx, name+"-upgrade-key", "", 32, key.Arn, protect, parent)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name+"-upgrade-key", err)
	}
	adminPassword, err := newGeneratedSecret(ctx, name+"-admin-password", "", 24, key.Arn, protect, parent)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name+"-admin-password", err)
	}

	// Container Insights writes to a log group named after the ECS cluster, so
	// both names are fixed before either exists.
	clusterName := physicalName(ctx, name, 255)
	insights, err := namedLogGroup(ctx, name+"-container-insights",
		pulumi.String("/aws/ecs/containerinsights/"+clusterName+"/performance"), retention, key.Arn, parent)
	if err != nil {
		return nil, err
	}
	var execLogName, execLogARN pulumi.StringInput
	if spec.AWS.ECSExec {
		execLog, err := logGroup(ctx, name+"-ecs-exec", retention, key.Arn, parent)
		if err != nil {
			return nil, err
		}
		execLogName, execLogARN = execLog.Name, execLog.Arn
	}
	compute, err := NewCompute(ctx, name+"-compute", &ComputeArgs{
		App: spec.App, OtherTasks: 1 + spec.PeakAdhocWorkers(), AWS: spec.AWS, ClusterName: clusterName, Account: account, KMSKeyARN: key.Arn,
		InsightsLogGroup: insights, ExecLogGroup: execLogName,
		SubnetIDs: net.PrivateSubnetIDs, InstanceSecurityGroupID: sg[sgInstances], AutoScalingRoleARN: autoScalingRole,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name+"-compute", err)
	}

	shared := []TaskSecret{
		{Name: render.EnvDBPassword, ValueFrom: db.PasswordValueFrom, SecretARN: db.SecretARN},
		{Name: render.EnvRedisPassword, ValueFrom: cache.AuthValueFrom, SecretARN: cache.SecretARN},
		{Name: render.EnvUpgradeKey, ValueFrom: upgradeKey.ValueFrom(), SecretARN: upgradeKey.Secret.Arn},
	}
	if spec.Mail.Enabled && spec.Mail.SES {
		if args.MailPassword != nil {
			return nil, fmt.Errorf("%s: mail.ses makes the SMTP password; moodle:mailPassword is set as well", name)
		}
		ses, err := NewMail(ctx, name+"-ses", &MailArgs{Domain: spec.SESDomain(), HostedZoneID: spec.AWS.HostedZoneID, KMSKeyARN: key.Arn}, parent)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name+"-ses", err)
		}
		shared = append(shared, ses.Secrets...)
	} else {
		mail, err := mailSecret(ctx, name+"-smtp-password", spec.Mail, args.MailPassword, key.Arn, protect, parent)
		if err != nil {
			return nil, err
		}
		if mail != nil {
			shared = append(shared, *mail)
		}
	}
	// The tasks pull images.app as given, or the image this up built and pushed
	// by its digest; the built image's content tag names the release.
	appImage := pulumi.String(spec.Images.App).ToStringOutput()
	if spec.Moodle.CodeSource == topology.CodeBuild {
		built, err := NewAppImage(ctx, name+"-app-image", &AppImageArgs{Spec: spec, Account: account, KMSKeyARN: key.Arn}, parent)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name+"-app-image", err)
		}
		if spec.Images.Web == spec.Images.App {
			spec.Images.Web = built.Ref
		}
		spec.Images.App, appImage = built.Ref, built.Digest
	}
	environment := map[string]pulumi.StringInput{}
	if spec.Storage.Kind == topology.StorageS3 {
		environment[render.EnvS3Bucket] = files.BucketName
		environment[render.EnvS3Region] = pulumi.String(account.Region)
	}
	tasks := TaskEnvironment{
		Spec: spec, Account: account, AppImage: appImage, SubnetIDs: net.PrivateSubnetIDs, KMSKeyARN: key.Arn, Files: files,
		ConfigPHP: configPHP(spec, db, cache), Secrets: shared, Environment: environment, ExecLogGroupARN: execLogARN,
	}
	cron, err := NewCron(ctx, CronName(name), &CronArgs{
		TaskEnvironment: tasks, SecurityGroupID: sg[sgCron], ClusterARN: compute.ClusterARN, Placement: compute.Cron,
		AdminPassword: TaskSecret{Name: render.EnvAdminPassword, ValueFrom: adminPassword.ValueFrom(), SecretARN: adminPassword.Secret.Arn},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", CronName(name), err)
	}
	// New code reaches the web tier only after the runner of that code has
	// upgraded the database (see docs/aws.md, "Upgrades").
	app, err := NewApp(ctx, name+"-app", &AppArgs{
		TaskEnvironment: tasks, SecurityGroupID: sg[sgApp], ClusterARN: compute.ClusterARN, ClusterName: compute.ClusterName,
		Placement: compute.App, Edge: edge, After: cron.Upgraded,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name+"-app", err)
	}
	obs, err := NewObservability(ctx, name+"-alarms", &ObservabilityArgs{
		AlarmEmail: spec.AWS.AlarmEmail, DatabaseConfig: spec.Database, CronConfig: spec.Cron,
		Account: account, KMSKeyARN: key.Arn, Edge: edge, Database: db, Cache: cache,
		ClusterName: compute.ClusterName, App: app, Cron: cron,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name+"-alarms", err)
	}
	// The site's name points at the distribution when there is one, else the ALB.
	siteDNS, siteZone := edge.DNSName, edge.ZoneID
	if spec.AWS.CloudFront.Enabled {
		cdn, err := NewCDN(ctx, name+"-cdn", &CDNArgs{CloudFront: spec.AWS.CloudFront, Hostname: spec.Hostname(), Protect: spec.AWS.Protect,
			LogRetentionDays: spec.AWS.LogRetentionDays, Account: account, OriginDNSName: edge.DNSName, OriginSecret: originSecret}, parent)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name+"-cdn", err)
		}
		siteDNS, siteZone = cdn.DomainName, cdn.ZoneID
	}
	if spec.AWS.HostedZoneID != "" {
		if err := aliasRecord(ctx, name+"-site", spec, siteDNS, siteZone, parent); err != nil {
			return nil, err
		}
	}

	c.SiteURL = pulumi.String(spec.SiteURL).ToStringOutput()
	c.LoadBalancerDNS, c.SiteDNS = edge.DNSName, siteDNS
	c.DatabaseAddress, c.ReplicaAddresses = db.Address, db.ReplicaAddresses
	c.RedisAddress, c.MUCRedisAddress = cache.Address, cache.MUCAddress
	c.FileSystemID, c.BucketName = files.FileSystemID, files.BucketName
	c.ECSClusterName = compute.ClusterName
	c.AppServiceName, c.CronServiceName, c.CronLogGroupName = app.ServiceName, cron.ServiceName, cron.LogGroupName
	c.DatabaseInstanceID, c.FileSystemARN = db.PrimaryID, files.FileSystemARN
	c.BackupVaultName, c.BackupRoleARN, c.DataKeyARN = backups.VaultName, backups.RoleARN, key.Arn
	c.AlarmTopicARN, c.DashboardName = obs.TopicARN, obs.DashboardName
	c.AppImage = appImage
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"siteUrl":            c.SiteURL,
		"loadBalancerDns":    c.LoadBalancerDNS,
		"siteDns":            c.SiteDNS,
		"databaseAddress":    c.DatabaseAddress,
		"replicaAddresses":   c.ReplicaAddresses,
		"redisAddress":       c.RedisAddress,
		"mucRedisAddress":    c.MUCRedisAddress,
		"fileSystemId":       c.FileSystemID,
		"bucketName":         c.BucketName,
		"ecsClusterName":     c.ECSClusterName,
		"appServiceName":     c.AppServiceName,
		"cronServiceName":    c.CronServiceName,
		"cronLogGroupName":   c.CronLogGroupName,
		"databaseInstanceId": c.DatabaseInstanceID,
		"fileSystemArn":      c.FileSystemARN,
		"backupVaultName":    c.BackupVaultName,
		"backupRoleArn":      c.BackupRoleARN,
		"dataKeyArn":         c.DataKeyARN,
		"alarmTopicArn":      c.AlarmTopicARN,
		"dashboardName":      c.DashboardName,
		"appImage":           c.AppImage,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// configPHP renders config.php once the endpoints are known. Endpoints are not
// secret, and the renderer takes no secret, so neither is the text.
func configPHP(spec topology.Spec, db *Database, cache *Cache) pulumi.StringOutput {
	return pulumi.All(db.Address, db.ReplicaAddresses, cache.Address, cache.MUCAddress).ApplyT(func(v []any) string {
		e := render.Endpoints{
			Database: render.HostPort{Host: v[0].(string), Port: postgresPort},
			Redis:    render.HostPort{Host: v[2].(string), Port: redisPort},
			MUC:      render.HostPort{Host: v[3].(string), Port: redisPort},
		}
		for _, r := range v[1].([]string) {
			e.ReadReplicas = append(e.ReadReplicas, render.HostPort{Host: r, Port: postgresPort})
		}
		return render.ConfigPHP(spec, e)
	}).(pulumi.StringOutput)
}

// AllowStatusFromVPC lets the ALB's health checks reach php-fpm's ping page: they
// come straight from the load balancer's addresses inside the VPC, which in an
// existing VPC may sit in any of its ranges, the secondary ones too. The program
// calls it before NewCluster, so that the Spec is final before any component
// reads it.
func AllowStatusFromVPC(ctx *pulumi.Context, spec topology.Spec) (topology.Spec, error) {
	cidrs := []string{spec.AWS.VPCCIDR}
	if spec.AWS.VPCID != "" {
		vpc, err := ec2.LookupVpc(ctx, &ec2.LookupVpcArgs{Id: pulumi.StringRef(spec.AWS.VPCID)})
		if err != nil {
			return spec, fmt.Errorf("look up aws.vpcId %s: %w", spec.AWS.VPCID, err)
		}
		cidrs = vpcRanges(vpc)
	}
	spec.Web.StatusAllow = append(append([]string{}, spec.Web.StatusAllow...), cidrs...)
	return spec, nil
}

// vpcRanges are the IPv4 ranges of a VPC: the primary and every associated
// secondary one (a range still being associated or removed holds no ALB node).
func vpcRanges(vpc *ec2.LookupVpcResult) []string {
	ranges := []string{vpc.CidrBlock}
	for _, a := range vpc.CidrBlockAssociations {
		if a.State == "associated" && !slices.Contains(ranges, a.CidrBlock) {
			ranges = append(ranges, a.CidrBlock)
		}
	}
	return ranges
}

// appSubnetCount is the number of private app subnets.
func appSubnetCount(a topology.AWSTarget) int {
	if a.VPCID != "" {
		return len(a.PrivateSubnetIDs)
	}
	return a.AZCount
}

// CronName is the name of cluster's cron component, and of its service and log
// group, which moodlectl watches while up replaces them.
func CronName(cluster string) string { return cluster + "-cron" }
