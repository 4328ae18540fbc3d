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

// Cache is two Redis replication groups that share one AUTH token: one for PHP
// sessions with eviction switched off, one for Moodle's application cache (MUC)
// that evicts the least recently used keys.
//
// Why two groups and not two logical databases of one: maxmemory-policy is per
// server, not per database. Moodle's session keys carry a TTL and MUC keys do not,
// so under volatile-lru memory pressure evicts sessions first; under allkeys-lru it
// evicts idle sessions with the rest; under noeviction a full cache fails session
// writes too. Only separate servers let the sessions refuse eviction while the
// cache evicts freely, and a FLUSHALL during a cache purge cannot reach sessions.
type Cache struct {
	pulumi.ResourceState

	// SessionsAddress and MUCAddress are the primary endpoints (cluster mode off).
	SessionsAddress pulumi.StringOutput `pulumi:"sessionsAddress"`
	MUCAddress      pulumi.StringOutput `pulumi:"mucAddress"`
	// AuthValueFrom is the ECS secrets reference of the AUTH token.
	AuthValueFrom pulumi.StringOutput `pulumi:"authValueFrom"`
	// Nodes are the cache cluster ids of every node, for the alarms.
	Nodes []pulumi.StringOutput
}

// Eviction policies of the two groups.
const (
	sessionsPolicy = "noeviction"
	mucPolicy      = "allkeys-lru"
)

// NewCache creates the AUTH token, the subnet group and both replication groups.
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
	group := func(role, evictionPolicy string) (*elasticache.ReplicationGroup, error) {
		groupName := name + "-" + role
		params, err := elasticache.NewParameterGroup(ctx, groupName, &elasticache.ParameterGroupArgs{
			Family:      pulumi.String(redisFamily(spec.Cache.Version)),
			Description: pulumi.String("moodle " + role + ": maxmemory-policy " + evictionPolicy),
			Parameters: elasticache.ParameterGroupParameterArray{
				elasticache.ParameterGroupParameterArgs{Name: pulumi.String("maxmemory-policy"), Value: pulumi.String(evictionPolicy)},
			},
			Tags: tags(groupName),
		}, parent)
		if err != nil {
			return nil, err
		}
		return elasticache.NewReplicationGroup(ctx, groupName, &elasticache.ReplicationGroupArgs{
			Description:              pulumi.String("moodle " + role),
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
			FinalSnapshotIdentifier:  pulumi.String(fmt.Sprintf("%s-%s-%s-final", ctx.Project(), ctx.Stack(), groupName)),
			AutoMinorVersionUpgrade:  pulumi.Bool(true),
			LogDeliveryConfigurations: elasticache.ReplicationGroupLogDeliveryConfigurationArray{
				elasticache.ReplicationGroupLogDeliveryConfigurationArgs{
					Destination:     args.SlowLogGroup,
					DestinationType: pulumi.String("cloudwatch-logs"),
					LogFormat:       pulumi.String("json"),
					LogType:         pulumi.String("slow-log"),
				},
			},
			Tags: tags(groupName),
		}, dataOptions(spec.AWS.Protect, parent)...)
	}
	sessions, err := group("sessions", sessionsPolicy)
	if err != nil {
		return nil, err
	}
	muc, err := group("muc", mucPolicy)
	if err != nil {
		return nil, err
	}
	c.SessionsAddress = sessions.PrimaryEndpointAddress
	c.MUCAddress = muc.PrimaryEndpointAddress
	c.AuthValueFrom = token.ValueFrom()
	for _, g := range []*elasticache.ReplicationGroup{sessions, muc} {
		for i := 1; i <= spec.Cache.Replicas; i++ {
			// ElastiCache names the nodes of a cluster-mode-off group <id>-001, -002...
			c.Nodes = append(c.Nodes, pulumi.Sprintf("%s-%03d", g.ID(), i))
		}
	}
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"sessionsAddress": c.SessionsAddress,
		"mucAddress":      c.MUCAddress,
		"authValueFrom":   c.AuthValueFrom,
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
