package dockerhost

import (
	"fmt"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// networks separate the tiers. Back ends (PostgreSQL, PgBouncer, Redis) sit only on
// the internal network, which has no route off the host. The load balancer alone
// joins the front network, whose port it publishes. App nodes and the cron runner
// also join an egress network, with no published ports, so Moodle can reach mail
// servers, LTI tools and update feeds.
type networks struct {
	backend, front, egress *docker.Network
}

func newNetworks(ctx *pulumi.Context, name string, opts ...pulumi.ResourceOption) (networks, error) {
	mk := func(suffix string, internal bool) (*docker.Network, error) {
		n, err := docker.NewNetwork(ctx, name+"-"+suffix, &docker.NetworkArgs{
			Name:     pulumi.String(name + "-" + suffix),
			Driver:   pulumi.String("bridge"),
			Internal: pulumi.Bool(internal),
		}, append(opts, pulumi.DeleteBeforeReplace(true))...)
		if err != nil {
			return nil, fmt.Errorf("network %s: %w", suffix, err)
		}
		return n, nil
	}
	var n networks
	var err error
	if n.backend, err = mk("backend", true); err != nil {
		return n, err
	}
	if n.front, err = mk("front", false); err != nil {
		return n, err
	}
	if n.egress, err = mk("egress", false); err != nil {
		return n, err
	}
	return n, nil
}

// volumes hold everything that must outlive a container, and the load balancer's
// configuration mailbox.
type volumes struct {
	database, redis, moodledata, lbConfig *docker.Volume
	// replicas hold the read replicas' copies of the database, one each.
	replicas []*docker.Volume
}

// newVolumes creates the named volumes. Their inputs depend only on the stack name
// and the storage settings, so scaling or replacing containers never touches them.
// moodledata is a local volume, or the seed's nfs-moodledata: the local driver
// mounting an NFS export (the export must be writable by uid 33, www-data).
func newVolumes(ctx *pulumi.Context, name string, spec topology.Spec, opts ...pulumi.ResourceOption) (volumes, error) {
	st := spec.Storage
	mk := func(suffix string, driverOpts pulumi.StringMap) (*docker.Volume, error) {
		v, err := docker.NewVolume(ctx, name+"-"+suffix, &docker.VolumeArgs{
			Name:       pulumi.String(name + "-" + suffix),
			Driver:     pulumi.String("local"),
			DriverOpts: driverOpts,
		}, opts...)
		if err != nil {
			return nil, fmt.Errorf("volume %s: %w", suffix, err)
		}
		return v, nil
	}
	var v volumes
	var err error
	if v.database, err = mk("pgdata", nil); err != nil {
		return v, err
	}
	if v.redis, err = mk("redisdata", nil); err != nil {
		return v, err
	}
	var moodledataOpts pulumi.StringMap
	if st.Kind == topology.StorageNFS {
		moodledataOpts = pulumi.StringMap{
			"type":   pulumi.String("nfs"),
			"o":      pulumi.String(st.NFS.MountOptions()),
			"device": pulumi.String(st.NFS.Device),
		}
	}
	if v.moodledata, err = mk("moodledata", moodledataOpts); err != nil {
		return v, err
	}
	if v.lbConfig, err = mk("lbconf", nil); err != nil {
		return v, err
	}
	for i := range spec.Database.ReadReplicas {
		vol, err := mk(fmt.Sprintf("pgreplica-%d", i+1), nil)
		if err != nil {
			return v, err
		}
		v.replicas = append(v.replicas, vol)
	}
	return v, nil
}
