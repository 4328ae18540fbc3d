package awscloud

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/elasticache"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// CacheArgs configure ElastiCache.
type CacheArgs struct {
	Spec topology.Spec
	// SubnetIDs are the isolated data subnets.
	SubnetIDs       pulumi.StringArrayInput
	SecurityGroupID pulumi.StringInput
	KMSKeyARN       pulumi.StringInput
	// SlowLogGroup receives each group's slow log.
	SlowLogGroup pulumi.StringInput
}

// Cache is one Redis replication group (cluster mode off) holding PHP sessions in
// logical database Spec.Cache.SessionDB and, under its own key prefix, Moodle's
// application cache (MUC).
//
// maxmemory-policy is per server, not per database, and it decides whether memory
// pressure can drop a session. Moodle's session keys carry a TTL and its MUC keys do
// not, so volatile-lru would evict sessions first and allkeys-lru would evict idle
// sessions with the rest. noeviction never drops a key: when the node is full,
// writes fail instead, which the memory alarm warns about long before. A MUC purge
// deletes only the cache's own prefixed keys.
type Cache struct {
	pulumi.ResourceState

	// Address is the primary endpoint, which follows a failover.
	Address pulumi.StringOutput `pulumi:"address"`
	// AuthValueFrom is the ECS secrets reference of the AUTH token.
	AuthValueFrom pulumi.StringOutput `pulumi:"authValueFrom"`
	// SecretARN is the secret that holds the token.
	SecretARN pulumi.StringOutput `pulumi:"secretArn"`
	// Nodes are the cache cluster ids of every node, for the alarms.
	Nodes []pulumi.StringOutput
}

// EvictionPolicy is the group's maxmemory-policy; see Cache.
const EvictionPolicy = "noeviction"

// NewCache creates the AUTH token, the subnet group and the replication group.
func NewCache(ctx *pulumi.Context, name string, args *CacheArgs, opts ...pulumi.ResourceOption) (*Cache, error) {
	c := &Cache{}
	if err := ctx.RegisterComponentResource("moodle:aws:Cache", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	spec := args.Spec
	token, err := newGeneratedSecret(ctx, name+"-auth", "", 64, args.KMSKeyARN, spec.AWS.Protect, parent)
	if err != nil {
		return nil, err
	}
	subnets, err := elasticache.NewSubnetGroup(ctx, name, &elasticache.SubnetGroupArgs{
		Description: pulumi.String("moodle redis data subnets"),
		SubnetIds:   args.SubnetIDs,
		Tags:        tags(name),
	}, parent)
	if err != nil {
		return nil, err
	}
	params, err := elasticache.NewParameterGroup(ctx, name, &elasticache.ParameterGroupArgs{
		Family:      pulumi.String(redisFamily(spec.Cache.Version)),
		Description: pulumi.String("moodle sessions and MUC: maxmemory-policy " + EvictionPolicy),
		Parameters: elasticache.ParameterGroupParameterArray{
			elasticache.ParameterGroupParameterArgs{Name: pulumi.String("maxmemory-policy"), Value: pulumi.String(EvictionPolicy)},
		},
		Tags: tags(name),
	}, parent)
	if err != nil {
		return nil, err
	}
	group, err := elasticache.NewReplicationGroup(ctx, name, &elasticache.ReplicationGroupArgs{
		Description:              pulumi.String("moodle sessions and MUC"),
		Engine:                   pulumi.String("redis"),
		EngineVersion:            pulumi.String(spec.Cache.Version),
		NodeType:                 pulumi.String(spec.Cache.NodeType),
		NumCacheClusters:         pulumi.Int(spec.Cache.Replicas),
		AutomaticFailoverEnabled: pulumi.Bool(spec.Cache.Replicas > 1),
		MultiAzEnabled:           pulumi.Bool(spec.Cache.Replicas > 1),
		AtRestEncryptionEnabled:  pulumi.Bool(true),
		KmsKeyId:                 args.KMSKeyARN,
		TransitEncryptionEnabled: pulumi.Bool(true),
		TransitEncryptionMode:    pulumi.String("required"),
		AuthToken:                token.Password.Result,
		Port:                     pulumi.Int(redisPort),
		SubnetGroupName:          subnets.Name,
		SecurityGroupIds:         pulumi.StringArray{args.SecurityGroupID},
		ParameterGroupName:       params.Name,
		SnapshotRetentionLimit:   pulumi.Int(spec.Cache.SnapshotRetentionDays),
		SnapshotWindow:           pulumi.String("01:00-02:00"),
		MaintenanceWindow:        pulumi.String("sun:04:30-sun:05:30"),
		FinalSnapshotIdentifier:  pulumi.String(fmt.Sprintf("%s-%s-%s-final", ctx.Project(), ctx.Stack(), name)),
		AutoMinorVersionUpgrade:  pulumi.Bool(true),
		LogDeliveryConfigurations: elasticache.ReplicationGroupLogDeliveryConfigurationArray{
			elasticache.ReplicationGroupLogDeliveryConfigurationArgs{
				Destination:     args.SlowLogGroup,
				DestinationType: pulumi.String("cloudwatch-logs"),
				LogFormat:       pulumi.String("json"),
				LogType:         pulumi.String("slow-log"),
			},
		},
		Tags: tags(name),
	}, dataOptions(spec.AWS.Protect, parent)...)
	if err != nil {
		return nil, err
	}
	c.Address = group.PrimaryEndpointAddress
	c.AuthValueFrom, c.SecretARN = token.ValueFrom(), token.Secret.Arn
	for i := 1; i <= spec.Cache.Replicas; i++ {
		// ElastiCache names the nodes of a cluster-mode-off group <id>-001, -002...
		c.Nodes = append(c.Nodes, pulumi.Sprintf("%s-%03d", group.ID(), i))
	}
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"address":       c.Address,
		"authValueFrom": c.AuthValueFrom,
		"secretArn":     c.SecretARN,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// redisFamily is the parameter group family of a Redis OSS version: "7.1" -> redis7.
func redisFamily(version string) string {
	major, _, _ := strings.Cut(version, ".")
	return "redis" + major
}
