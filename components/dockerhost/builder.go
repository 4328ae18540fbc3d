package dockerhost

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// builder registers the children of one Cluster and collects what its outputs report.
type builder struct {
	ctx  *pulumi.Context
	name string
	spec topology.Spec
	// noSwapLimit: the host cannot limit swap (ClusterArgs.NoSwapLimit).
	noSwapLimit bool
	// mailPassword is the relay password (ClusterArgs.MailPassword).
	mailPassword pulumi.StringInput
	parent       pulumi.ResourceOption

	secrets secrets
	nets    networks
	vols    volumes
	imgs    images

	containerNames []string
	limits         pulumi.Map
}

// build registers everything in dependency order: credentials, networks, volumes
// and images first, then the back ends, the app nodes and cron that use them, the
// ad hoc task workers once cron has installed Moodle, the load balancer's configuration for the app nodes, and last the load balancer, once
// the app nodes run and cron has installed Moodle.
func (b *builder) build() error {
	var err error
	if b.secrets, err = newSecrets(b.ctx, b.name, b.parent); err != nil {
		return err
	}
	b.secrets.mail = b.mailPassword
	if b.nets, err = newNetworks(b.ctx, b.name, b.parent); err != nil {
		return err
	}
	if b.vols, err = newVolumes(b.ctx, b.name, b.spec, b.parent); err != nil {
		return err
	}
	if b.imgs, err = newImages(b.ctx, b.name, b.spec, b.parent); err != nil {
		return err
	}
	backends, err := b.backends()
	if err != nil {
		return err
	}
	apps, err := b.appNodes(backends)
	if err != nil {
		return err
	}
	cron, err := b.cron(backends)
	if err != nil {
		return err
	}
	if err := b.adhocWorkers(cron); err != nil {
		return err
	}
	lbConfig, err := b.lbConfig(apps)
	if err != nil {
		return err
	}
	_, err = b.loadBalancer([]pulumi.Resource{lbConfig, cron})
	return err
}

// backends starts PostgreSQL with its read replicas, Redis and, when configured,
// PgBouncer, and returns them for the containers that must start after them.
func (b *builder) backends() ([]pulumi.Resource, error) {
	db, err := b.database()
	if err != nil {
		return nil, err
	}
	cache, err := b.cache()
	if err != nil {
		return nil, err
	}
	muc, err := b.mucCache()
	if err != nil {
		return nil, err
	}
	replicas, err := b.replicas(db)
	if err != nil {
		return nil, err
	}
	out := append([]pulumi.Resource{db, cache, muc}, replicas...)
	if b.spec.UsesCatcher() {
		catcher, err := b.mailCatcher()
		if err != nil {
			return nil, err
		}
		out = append(out, catcher)
	}
	if b.spec.Database.Pooler == topology.PoolerPgBouncer {
		pooler, err := b.pgbouncer(db)
		if err != nil {
			return nil, err
		}
		out = append(out, pooler)
	}
	return out, nil
}
