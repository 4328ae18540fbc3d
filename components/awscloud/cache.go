package awscloud

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/elasticache"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// CacheArgs configure ElastiCache.
type CacheArgs struct {
	Cache topology.Cache
	AWS   topology.AWSTarget
	// SubnetIDs are the isolated data subnets.
	SubnetIDs       pulumi.StringArrayInput
	SecurityGroupID pulumi.StringInput
	KMSKeyARN       pulumi.StringInput
	// SlowLogGroup receives each group's slow log.
	SlowLogGroup pulumi.StringInput
}

// Cache is two Redis replication groups (cluster mode off): one for the PHP
// sessions, in logical database Spec.Cache.SessionDB, and one for Moodle's
// application cache (MUC).
//
// maxmemory-policy is per server, and it decides whether memory pressure can drop
// a session. Moodle's session keys carry a TTL and its MUC keys do not, so in one
// server volatile-lru would evict sessions first, allkeys-lru would evict idle
// sessions with the rest, and noeviction would let a full cache refuse every
// session write. Apart, each gets the policy it needs: the sessions noeviction
// (writes fail only when sessions alone fill the node, which the memory alarm
// reports long before), the MUC allkeys-lru (a cache miss only costs a rebuild).
type Cache struct {
	pulumi.ResourceState

	// Address is the sessions' primary endpoint, which follows a failover.
	Address pulumi.StringOutput `pulumi:"address"`
	// MUCAddress is the primary endpoint of the MUC group.
	MUCAddress pulumi.StringOutput `pulumi:"mucAddress"`
	// AuthValueFrom is the ECS secrets reference of the AUTH token both groups take.
	AuthValueFrom pulumi.StringOutput `pulumi:"authValueFrom"`
	// SecretARN is the secret that holds the token.
	SecretARN pulumi.StringOutput `pulumi:"secretArn"`
	// Nodes and MUCNodes are the cache cluster ids of every node, for the alarms.
	Nodes, MUCNodes []pulumi.StringOutput
}

// Eviction policies of the two groups; see Cache.
const (
	EvictionPolicy    = "noeviction"
	MUCEvictionPolicy = "allkeys-lru"
)

// NewCache creates the AUTH token, the subnet group and both replication groups.
func NewCache(ctx *pulumi.Context, name string, args *CacheArgs, opts ...pulumi.ResourceOption) (*Cache, error) {
	c := &Cache{}
	if err := ctx.RegisterComponentResource(TypeCache, name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	token, err := newGeneratedSecret(ctx, name+"-auth", "", 64, args.KMSKeyARN, args.AWS.Protect, parent)
	if err != nil {
		return nil, err
	}
	subnets, err := elasticache.NewSubnetGroup(ctx, name, &elasticache.SubnetGroupArgs{
		Description: pulumi.String("moodle redis data subnets"),
		SubnetIds:   args.SubnetIDs,
		Tags:        tags(name),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("cache subnet group %s: %w", name, err)
	}
	g := redisGroup{args: args, subnets: subnets.Name, token: token.Password.Result}
	sessions, err := g.create(ctx, name, "moodle sessions", args.Cache.NodeType, args.Cache.Replicas, EvictionPolicy, parent)
	if err != nil {
		return nil, err
	}
	muc, err := g.create(ctx, name+"-muc", "moodle MUC application cache", args.Cache.MUC.NodeType, args.Cache.MUC.Replicas, MUCEvictionPolicy, parent)
	if err != nil {
		return nil, err
	}
	c.Address, c.MUCAddress = sessions.PrimaryEndpointAddress, muc.PrimaryEndpointAddress
	c.AuthValueFrom, c.SecretARN = token.ValueFrom(), token.Secret.Arn
	c.Nodes, c.MUCNodes = nodeIDs(sessions, args.Cache.Replicas), nodeIDs(muc, args.Cache.MUC.Replicas)
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"address":       c.Address,
		"mucAddress":    c.MUCAddress,
		"authValueFrom": c.AuthValueFrom,
		"secretArn":     c.SecretARN,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// nodeIDs are the cache cluster ids ElastiCache gives the nodes of a
// cluster-mode-off group: <id>-001, -002...
func nodeIDs(group *elasticache.ReplicationGroup, nodes int) []pulumi.StringOutput {
	var out []pulumi.StringOutput
	for i := 1; i <= nodes; i++ {
		out = append(out, pulumi.Sprintf("%s-%03d", group.ID(), i))
	}
	return out
}

// redisGroup is what both replication groups share.
type redisGroup struct {
	args    *CacheArgs
	subnets pulumi.StringInput
	token   pulumi.StringInput
}

// create makes one replication group with its parameter group: Multi-AZ failover,
// encrypted at rest and in transit with AUTH, snapshots, the slow log, and a final
// snapshot of its own.
func (g redisGroup) create(ctx *pulumi.Context, name, what, nodeType string, nodes int, eviction string, parent pulumi.ResourceOption) (*elasticache.ReplicationGroup, error) {
	args := g.args
	params, err := elasticache.NewParameterGroup(ctx, name, &elasticache.ParameterGroupArgs{
		Family:      pulumi.String(redisFamily(args.Cache.Version)),
		Description: pulumi.String(what + ": maxmemory-policy " + eviction),
		Parameters: elasticache.ParameterGroupParameterArray{
			elasticache.ParameterGroupParameterArgs{Name: pulumi.String("maxmemory-policy"), Value: pulumi.String(eviction)},
		},
		Tags: tags(name),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("cache parameter group %s: %w", name, err)
	}
	// The final snapshot is named anew whenever the group is replaced (the keepers
	// are the provider's ForceNew arguments the stack sets), so a second
	// replacement or delete never meets the snapshot of the first.
	final, err := random.NewRandomId(ctx, name+"-final", &random.RandomIdArgs{
		ByteLength: pulumi.Int(4),
		Keepers: pulumi.StringMap{
			"kmsKeyId": args.KMSKeyARN, "subnetGroupName": g.subnets, "port": pulumi.String(fmt.Sprint(redisPort)),
		},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("final snapshot name of %s: %w", name, err)
	}
	group, err := elasticache.NewReplicationGroup(ctx, name, &elasticache.ReplicationGroupArgs{
		Description:              pulumi.String(what),
		Engine:                   pulumi.String("redis"),
		EngineVersion:            pulumi.String(args.Cache.Version),
		NodeType:                 pulumi.String(nodeType),
		NumCacheClusters:         pulumi.Int(nodes),
		AutomaticFailoverEnabled: pulumi.Bool(nodes > 1),
		MultiAzEnabled:           pulumi.Bool(nodes > 1),
		AtRestEncryptionEnabled:  pulumi.Bool(true),
		KmsKeyId:                 args.KMSKeyARN,
		TransitEncryptionEnabled: pulumi.Bool(true),
		TransitEncryptionMode:    pulumi.String("required"),
		AuthToken:                g.token,
		Port:                     pulumi.Int(redisPort),
		SubnetGroupName:          g.subnets,
		SecurityGroupIds:         pulumi.StringArray{args.SecurityGroupID},
		ParameterGroupName:       params.Name,
		SnapshotRetentionLimit:   pulumi.Int(args.Cache.SnapshotRetentionDays),
		SnapshotWindow:           pulumi.String("01:00-02:00"),
		MaintenanceWindow:        pulumi.String("sun:04:30-sun:05:30"),
		FinalSnapshotIdentifier:  pulumi.Sprintf("%s-final-%s", physicalName(ctx, name, 40), final.Hex),
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
	}, dataOptions(args.AWS.Protect, parent)...)
	if err != nil {
		return nil, fmt.Errorf("replication group %s: %w", name, err)
	}
	return group, nil
}

// redisFamily is the parameter group family of a Redis OSS version. ElastiCache
// names the family of the 6.x engines "redis6.x" and that of 7.x "redis7"; there
// is no "redis6" or "redis7.x" family, so one rule for both would fail one of them.
func redisFamily(version string) string {
	major, _, _ := strings.Cut(version, ".")
	if major == "6" {
		return "redis6.x"
	}
	return "redis" + major
}
