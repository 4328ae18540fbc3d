package awscloud

import (
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// DatabaseArgs configure PostgreSQL on RDS.
type DatabaseArgs struct {
	Spec    topology.Spec
	Account Account
	// SubnetIDs are the isolated data subnets.
	SubnetIDs pulumi.StringArrayInput
	// SecurityGroupID guards the instances; ProxySecurityGroupID the RDS Proxy.
	SecurityGroupID      pulumi.StringInput
	ProxySecurityGroupID pulumi.StringInput
	KMSKeyARN            pulumi.StringInput
}

// Database is a Multi-AZ RDS PostgreSQL primary, its read replicas and, with the
// rdsproxy pooler, an RDS Proxy in front of the primary.
type Database struct {
	pulumi.ResourceState

	// Address is what Moodle's dbhost points at: the proxy, or the primary.
	Address pulumi.StringOutput `pulumi:"address"`
	// ReplicaAddresses go into dboptions['readonly'].
	ReplicaAddresses pulumi.StringArrayOutput `pulumi:"replicaAddresses"`
	// PasswordValueFrom is the ECS secrets reference of the master password.
	PasswordValueFrom pulumi.StringOutput `pulumi:"passwordValueFrom"`
	// SecretARN is the Secrets Manager secret that holds the login.
	SecretARN pulumi.StringOutput `pulumi:"secretArn"`
	// PrimaryID and ReplicaIDs are the DB instance identifiers the alarms watch.
	PrimaryID  pulumi.StringOutput
	ReplicaIDs []pulumi.StringOutput
}

// Settings every instance of the cluster shares.
const (
	postgresLogRetention    = 7
	monitoringIntervalSecs  = 60
	performanceInsightsDays = 7
	backupWindow            = "02:00-03:00"
	maintenanceWindow       = "sun:03:30-sun:04:30"
)

// NewDatabase creates the primary, its replicas and the optional proxy.
func NewDatabase(ctx *pulumi.Context, name string, args *DatabaseArgs, opts ...pulumi.ResourceOption) (*Database, error) {
	d := &Database{}
	if err := ctx.RegisterComponentResource("moodle:aws:Database", name, d, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(d)
	db := args.Spec.Database
	protect := args.Spec.AWS.Protect

	login, err := newGeneratedSecret(ctx, name+"-master", db.User, 40, args.KMSKeyARN, protect, parent)
	if err != nil {
		return nil, err
	}
	subnets, err := rds.NewSubnetGroup(ctx, name, &rds.SubnetGroupArgs{
		SubnetIds: args.SubnetIDs,
		Tags:      tags(name),
	}, parent)
	if err != nil {
		return nil, err
	}
	params, err := rds.NewParameterGroup(ctx, name, &rds.ParameterGroupArgs{
		Family:     pulumi.String("postgres" + db.Version),
		Parameters: parameters(args.Spec),
		Tags:       tags(name),
	}, parent)
	if err != nil {
		return nil, err
	}
	monitoring, err := iam.NewRole(ctx, name+"-monitoring", &iam.RoleArgs{
		AssumeRolePolicy:  assumeRolePolicy("monitoring.rds.amazonaws.com"),
		ManagedPolicyArns: pulumi.ToStringArray([]string{args.Account.managedPolicy("service-role/AmazonRDSEnhancedMonitoringRole")}),
		Tags:              tags(name + "-monitoring"),
	}, parent)
	if err != nil {
		return nil, err
	}

	// instance fills the settings the primary and the replicas share, so a replica
	// promoted after a failure is kept as well as the primary was.
	instance := func(instanceName string, a *rds.InstanceArgs) (*rds.Instance, error) {
		a.InstanceClass = pulumi.String(db.InstanceClass)
		a.StorageType = pulumi.String("gp3")
		a.MaxAllocatedStorage = pulumi.Int(db.MaxStorageGB)
		a.StorageEncrypted = pulumi.Bool(true)
		a.KmsKeyId = args.KMSKeyARN
		a.VpcSecurityGroupIds = pulumi.StringArray{args.SecurityGroupID}
		a.ParameterGroupName = params.Name
		a.PubliclyAccessible = pulumi.Bool(false)
		a.BackupRetentionPeriod = pulumi.Int(db.BackupRetentionDays)
		a.BackupWindow = pulumi.String(backupWindow)
		a.MaintenanceWindow = pulumi.String(maintenanceWindow)
		a.DeletionProtection = pulumi.Bool(protect)
		a.PerformanceInsightsEnabled = pulumi.Bool(true)
		a.PerformanceInsightsKmsKeyId = args.KMSKeyARN
		a.PerformanceInsightsRetentionPeriod = pulumi.Int(performanceInsightsDays)
		a.MonitoringInterval = pulumi.Int(monitoringIntervalSecs)
		a.MonitoringRoleArn = monitoring.Arn
		a.EnabledCloudwatchLogsExports = pulumi.ToStringArray([]string{"postgresql", "upgrade"})
		a.IamDatabaseAuthenticationEnabled = pulumi.Bool(true)
		a.AutoMinorVersionUpgrade = pulumi.Bool(true)
		a.CopyTagsToSnapshot = pulumi.Bool(true)
		a.Tags = tags(instanceName)
		return rds.NewInstance(ctx, instanceName, a, dataOptions(protect, parent)...)
	}

	primary, err := instance(name, &rds.InstanceArgs{
		Engine:            pulumi.String("postgres"),
		EngineVersion:     pulumi.String(db.Version),
		AllocatedStorage:  pulumi.Int(db.StorageGB),
		MultiAz:           pulumi.Bool(db.MultiAZ),
		DbName:            pulumi.String(db.Name),
		Username:          pulumi.String(db.User),
		Password:          login.Password.Result,
		DbSubnetGroupName: subnets.Name,
		// A deleted database leaves a final snapshot behind, named per stack so two
		// stacks in one account never collide.
		SkipFinalSnapshot:       pulumi.Bool(false),
		FinalSnapshotIdentifier: pulumi.String(fmt.Sprintf("%s-%s-%s-final", ctx.Project(), ctx.Stack(), name)),
		DeleteAutomatedBackups:  pulumi.Bool(false),
	})
	if err != nil {
		return nil, err
	}
	d.PrimaryID = primary.Identifier
	d.Address = primary.Address

	var replicaAddresses pulumi.StringArray
	for i := 1; i <= db.ReadReplicas; i++ {
		// A replica inherits engine, version, storage size, subnets and login from its
		// source; RDS takes no final snapshot of a replica.
		replica, err := instance(fmt.Sprintf("%s-replica-%d", name, i), &rds.InstanceArgs{
			ReplicateSourceDb: primary.Identifier,
			SkipFinalSnapshot: pulumi.Bool(true),
		})
		if err != nil {
			return nil, err
		}
		replicaAddresses = append(replicaAddresses, replica.Address)
		d.ReplicaIDs = append(d.ReplicaIDs, replica.Identifier)
	}
	d.ReplicaAddresses = replicaAddresses.ToStringArrayOutput()

	if db.Pooler == topology.PoolerRDSProxy {
		endpoint, err := newProxy(ctx, name, args, primary, login, parent)
		if err != nil {
			return nil, err
		}
		d.Address = endpoint
	}
	d.PasswordValueFrom = login.ValueFrom()
	d.SecretARN = login.Secret.Arn

	if err := ctx.RegisterResourceOutputs(d, pulumi.Map{
		"address":           d.Address,
		"replicaAddresses":  d.ReplicaAddresses,
		"passwordValueFrom": d.PasswordValueFrom,
		"secretArn":         d.SecretARN,
	}); err != nil {
		return nil, err
	}
	return d, nil
}

// newProxy puts RDS Proxy in front of the primary: it reads the login from the
// secret, requires TLS from clients, and returns its endpoint.
func newProxy(ctx *pulumi.Context, name string, args *DatabaseArgs, primary *rds.Instance, login generatedSecret, parent pulumi.ResourceOption) (pulumi.StringOutput, error) {
	proxyName := name + "-proxy"
	role, err := iam.NewRole(ctx, proxyName, &iam.RoleArgs{
		AssumeRolePolicy: assumeRolePolicy("rds.amazonaws.com"),
		Tags:             tags(proxyName),
	}, parent)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	if _, err := iam.NewRolePolicy(ctx, proxyName, &iam.RolePolicyArgs{
		Role: role.ID(),
		Policy: policy(
			allow("ReadLogin", []string{"secretsmanager:GetSecretValue"}, login.Secret.Arn),
			allow("DecryptLogin", []string{"kms:Decrypt"}, args.KMSKeyARN),
		),
	}, parent); err != nil {
		return pulumi.StringOutput{}, err
	}
	proxy, err := rds.NewProxy(ctx, proxyName, &rds.ProxyArgs{
		EngineFamily: pulumi.String("POSTGRESQL"),
		Auths: rds.ProxyAuthArray{rds.ProxyAuthArgs{
			AuthScheme:             pulumi.String("SECRETS"),
			SecretArn:              login.Secret.Arn,
			IamAuth:                pulumi.String("DISABLED"),
			ClientPasswordAuthType: pulumi.String("POSTGRES_SCRAM_SHA_256"),
			Description:            pulumi.String("Moodle's login"),
		}},
		RoleArn:             role.Arn,
		RequireTls:          pulumi.Bool(true),
		VpcSubnetIds:        args.SubnetIDs,
		VpcSecurityGroupIds: pulumi.StringArray{args.ProxySecurityGroupID},
		IdleClientTimeout:   pulumi.Int(1800),
		Tags:                tags(proxyName),
	}, parent)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	if _, err := rds.NewProxyDefaultTargetGroup(ctx, proxyName, &rds.ProxyDefaultTargetGroupArgs{
		DbProxyName: proxy.Name,
		ConnectionPoolConfig: rds.ProxyDefaultTargetGroupConnectionPoolConfigArgs{
			MaxConnectionsPercent:     pulumi.Int(90),
			MaxIdleConnectionsPercent: pulumi.Int(50),
			// Moodle's requests wait up to two minutes for a session lock; a pool
			// borrow should not fail sooner.
			ConnectionBorrowTimeout: pulumi.Int(120),
		},
	}, parent); err != nil {
		return pulumi.StringOutput{}, err
	}
	if _, err := rds.NewProxyTarget(ctx, proxyName, &rds.ProxyTargetArgs{
		DbProxyName:          proxy.Name,
		TargetGroupName:      pulumi.String("default"),
		DbInstanceIdentifier: primary.Identifier,
	}, parent); err != nil {
		return pulumi.StringOutput{}, err
	}
	return proxy.Endpoint, nil
}

// parameters force TLS and size max_connections from the cluster's connection
// budget, so the database admits every php-fpm child at the autoscaling ceiling.
func parameters(s topology.Spec) rds.ParameterGroupParameterArray {
	return rds.ParameterGroupParameterArray{
		rds.ParameterGroupParameterArgs{Name: pulumi.String("rds.force_ssl"), Value: pulumi.String("1")},
		rds.ParameterGroupParameterArgs{
			Name: pulumi.String("max_connections"), Value: pulumi.String(strconv.Itoa(s.ServerConnections())),
			ApplyMethod: pulumi.String("pending-reboot"),
		},
		// Statements slower than a second are logged and exported to CloudWatch.
		rds.ParameterGroupParameterArgs{Name: pulumi.String("log_min_duration_statement"), Value: pulumi.String("1000")},
	}
}
