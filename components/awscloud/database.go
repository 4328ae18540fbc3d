package awscloud

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// DatabaseArgs configure PostgreSQL on RDS.
type DatabaseArgs struct {
	Database topology.Database
	// Protect and LogRetentionDays are aws.protect and aws.logRetentionDays.
	Protect          bool
	LogRetentionDays int
	Account          Account
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
	// PrimaryID and ReplicaIDs are the DB instance identifiers the alarms watch:
	// the instances the site uses (the restored ones after a restore).
	PrimaryID  pulumi.StringOutput `pulumi:"primaryId"`
	ReplicaIDs []pulumi.StringOutput
	// PrimaryARN is what the backup plan selects.
	PrimaryARN pulumi.StringOutput `pulumi:"primaryArn"`
}

// instanceSet is a primary and its read replicas.
type instanceSet struct {
	primary  *rds.Instance
	replicas []*rds.Instance
}

// postgresLogExports are the logs every instance exports to CloudWatch.
var postgresLogExports = []string{"postgresql", "upgrade"}

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
	if err := ctx.RegisterComponentResource(TypeDatabase, name, d, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(d)
	db := args.Database
	protect := args.Protect

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
		Parameters: parameters(),
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
	// promoted after a failure is kept as well as the primary was. Only settings a
	// same-region PostgreSQL replica accepts are shared (replicaSettings lists them).
	instance := func(instanceName string, keepers pulumi.StringMap, a *rds.InstanceArgs) (*rds.Instance, error) {
		id, logs, err := instanceIdentity(ctx, instanceName, keepers, args.LogRetentionDays, args.KMSKeyARN, parent)
		if err != nil {
			return nil, err
		}
		a.Identifier = id
		// A deleted primary leaves a final snapshot behind, named after the
		// instance: every replacement has a name of its own, so no snapshot of an
		// earlier one is in the way. RDS takes no final snapshot of a replica.
		a.SkipFinalSnapshot = pulumi.Bool(a.ReplicateSourceDb != nil)
		if a.ReplicateSourceDb == nil {
			a.FinalSnapshotIdentifier = pulumi.Sprintf("%s-final", id)
		}
		a.InstanceClass = pulumi.String(db.InstanceClass)
		a.StorageType = pulumi.String("gp3")
		a.MaxAllocatedStorage = pulumi.Int(db.MaxStorageGB)
		// A replica reports the encryption of its source; saying so keeps the
		// provider from planning to replace it.
		a.StorageEncrypted = pulumi.Bool(true)
		// Major versions (database.version) change in place, with the parameter
		// group of the new family; the change applies at pulumi up, not in the
		// maintenance window, so the old parameter group is free to go.
		a.AllowMajorVersionUpgrade = pulumi.Bool(true)
		a.ApplyImmediately = pulumi.Bool(true)
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
		a.EnabledCloudwatchLogsExports = pulumi.ToStringArray(postgresLogExports)
		a.IamDatabaseAuthenticationEnabled = pulumi.Bool(true)
		a.AutoMinorVersionUpgrade = pulumi.Bool(true)
		a.CopyTagsToSnapshot = pulumi.Bool(true)
		a.Tags = tags(instanceName)
		i, err := rds.NewInstance(ctx, instanceName, a, dataOptions(protect, parent, pulumi.DependsOn(logs))...)
		if err != nil {
			return nil, fmt.Errorf("db instance %s: %w", instanceName, err)
		}
		return i, nil
	}

	// The primary is replaced only when one of these changes (the provider's
	// ForceNew arguments that the stack sets); its replacement gets a new name.
	primaryKeepers := pulumi.StringMap{
		"engine": pulumi.String("postgres"), "dbName": pulumi.String(db.Name), "username": pulumi.String(db.User),
		"kmsKeyId": args.KMSKeyARN,
	}
	primaryArgs := func() *rds.InstanceArgs {
		return &rds.InstanceArgs{
			KmsKeyId:               args.KMSKeyARN,
			Engine:                 pulumi.String("postgres"),
			EngineVersion:          pulumi.String(db.Version),
			AllocatedStorage:       pulumi.Int(db.StorageGB),
			MultiAz:                pulumi.Bool(db.MultiAZ),
			DbName:                 pulumi.String(db.Name),
			Username:               pulumi.String(db.User),
			Password:               login.Password.Result,
			DbSubnetGroupName:      subnets.Name,
			DeleteAutomatedBackups: pulumi.Bool(false),
		}
	}
	// set is a primary and its read replicas. A replica inherits engine, version,
	// storage size, subnets, login and its KMS key from its source (RDS refuses
	// another key in the same region); it is replaced with its source.
	set := func(primaryName string, keepers pulumi.StringMap, a *rds.InstanceArgs) (instanceSet, error) {
		primary, err := instance(primaryName, keepers, a)
		if err != nil {
			return instanceSet{}, err
		}
		out := instanceSet{primary: primary}
		for i := 1; i <= db.ReadReplicas; i++ {
			replica, err := instance(fmt.Sprintf("%s-replica-%d", primaryName, i), pulumi.StringMap{"source": primary.Identifier}, &rds.InstanceArgs{
				ReplicateSourceDb: primary.Identifier,
			})
			if err != nil {
				return instanceSet{}, err
			}
			out.replicas = append(out.replicas, replica)
		}
		return out, nil
	}
	// The instances the site used before a restore stay until the operator
	// retires them (RetireOriginal), having taken them out of the state first.
	var serving instanceSet
	if !db.RetireOriginal {
		if serving, err = set(name, primaryKeepers, primaryArgs()); err != nil {
			return nil, err
		}
	}
	if db.RestoreFromSnapshot != "" {
		// A restore never touches the instances above: they stay, protected, with
		// their data, until the operator has checked the restored copy and removes
		// them (docs/aws.md, "Backups on AWS"). The restored primary is a new
		// resource under a name of its own, created by RestoreDBInstanceFromDBSnapshot
		// (terraform-provider-aws internal/service/rds/instance.go, the
		// snapshot_identifier branch of resourceInstanceCreate: snapshot_identifier is
		// ForceNew; db_name is not passed for PostgreSQL, nor username, kms_key_id or
		// storage_encrypted, which come from the snapshot; the password, storage,
		// backup retention, windows, engine version and monitoring are applied by a
		// ModifyDBInstance right after). So the restored instance takes the same login
		// secret, and the same settings, as the one it stands in for; the site and
		// new replicas of it follow the restored primary.
		restoredKeepers := pulumi.StringMap{"snapshot": pulumi.String(db.RestoreFromSnapshot)}
		for k, v := range primaryKeepers {
			restoredKeepers[k] = v
		}
		a := primaryArgs()
		a.SnapshotIdentifier = pulumi.String(db.RestoreFromSnapshot)
		if serving, err = set(name+"-restored", restoredKeepers, a); err != nil {
			return nil, err
		}
	}
	primary := serving.primary
	d.PrimaryID, d.PrimaryARN = primary.Identifier, primary.Arn
	d.Address = primary.Address
	var replicaAddresses pulumi.StringArray
	for _, replica := range serving.replicas {
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
		"primaryId":         d.PrimaryID,
		"primaryArn":        d.PrimaryARN,
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
	// RDS Proxy logs to /aws/rds/proxy/<its name> (the group the RDS Proxy
	// troubleshooting guide's CloudWatch logs are in; terraform-aws-modules'
	// rds-proxy main.tf creates that same group before the proxy). A name known
	// first lets the group exist first, encrypted and retention-bound. The name is
	// fixed, so a replacement must delete the old proxy before creating the new.
	physical := physicalName(ctx, proxyName, rdsIdentifierLength)
	group, err := namedLogGroup(ctx, proxyName, pulumi.String("/aws/rds/proxy/"+physical),
		args.LogRetentionDays, args.KMSKeyARN, parent)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	proxy, err := rds.NewProxy(ctx, proxyName, &rds.ProxyArgs{
		Name:         pulumi.String(physical),
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
	}, parent, pulumi.DependsOn([]pulumi.Resource{group}), pulumi.DeleteBeforeReplace(true))
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("rds proxy %s: %w", proxyName, err)
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

// instanceIdentity names one DB instance before it exists: a random part that
// changes exactly when keepers do (when the instance is replaced) makes the
// identifier, and the final snapshot named after it, new for every replacement.
// Knowing the name first lets the log groups RDS exports to be created first,
// encrypted and retention-bound, instead of by RDS without either.
func instanceIdentity(ctx *pulumi.Context, name string, keepers pulumi.StringMap, retentionDays int, kmsKeyARN pulumi.StringInput, parent pulumi.ResourceOption) (pulumi.StringOutput, []pulumi.Resource, error) {
	suffix, err := random.NewRandomId(ctx, name, &random.RandomIdArgs{ByteLength: pulumi.Int(4), Keepers: keepers}, parent)
	if err != nil {
		return pulumi.StringOutput{}, nil, fmt.Errorf("db instance name %s: %w", name, err)
	}
	id := pulumi.Sprintf("%s-%s", physicalName(ctx, name, rdsIdentifierLength-9), suffix.Hex)
	var logs []pulumi.Resource
	for _, export := range postgresLogExports {
		group, err := namedLogGroup(ctx, fmt.Sprintf("%s-%s", name, export),
			pulumi.Sprintf("/aws/rds/instance/%s/%s", id, export), retentionDays, kmsKeyARN, parent)
		if err != nil {
			return pulumi.StringOutput{}, nil, err
		}
		logs = append(logs, group)
	}
	return id, logs, nil
}

// rdsIdentifierLength is the longest DB instance identifier RDS takes.
const rdsIdentifierLength = 63

// parameters force TLS and leave max_connections to the instance class (see
// topology.RDSMaxConnectionsFormula); validation keeps the connection budget of
// the app tier below it.
func parameters() rds.ParameterGroupParameterArray {
	return rds.ParameterGroupParameterArray{
		rds.ParameterGroupParameterArgs{Name: pulumi.String("rds.force_ssl"), Value: pulumi.String("1")},
		rds.ParameterGroupParameterArgs{
			Name: pulumi.String("max_connections"), Value: pulumi.String(topology.RDSMaxConnectionsFormula),
			// A static parameter: RDS takes it at the next restart, which a change
			// of the instance class (the only thing that changes the value) is.
			ApplyMethod: pulumi.String("pending-reboot"),
		},
		// Statements slower than a second are logged and exported to CloudWatch.
		rds.ParameterGroupParameterArgs{Name: pulumi.String("log_min_duration_statement"), Value: pulumi.String("1000")},
	}
}
