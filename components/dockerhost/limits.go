package dockerhost

import "github.com/moodle-cluster/moodle-pulumi/components/topology"

// LimitedContainer is a kind of container the cluster runs: the config key of its
// limits, how many run, and the limits.
type LimitedContainer struct {
	Key       string
	Count     int
	Resources topology.Resources
}

// ContainerLimits lists the containers spec runs with the config key of their limits.
func ContainerLimits(spec topology.Spec) []LimitedContainer {
	out := []LimitedContainer{
		{"web", 1, spec.Web.Resources},
		{"app", spec.App.Replicas, spec.App.Resources},
		{"cron", 1, spec.Cron.Resources},
		{"database", 1 + spec.Database.ReadReplicas, spec.Database.Resources},
		{"cache", 1, spec.Cache.Resources},
		{"cache.muc", 1, spec.Cache.MUC.Resources},
	}
	if spec.Database.Pooler == topology.PoolerPgBouncer {
		out = append(out, LimitedContainer{"database.pgbouncer", 1, spec.Database.PgBouncer})
	}
	if spec.UsesCatcher() {
		out = append(out, LimitedContainer{"mail.catcher", 1, spec.Mail.Catcher.Resources})
	}
	return out
}

// NamedImage is an image the cluster runs and the config key that names it.
type NamedImage struct{ Key, Ref string }

// RunImages are the images spec runs that are not built on the host.
func RunImages(spec topology.Spec) []NamedImage {
	im := spec.Images
	var out []NamedImage
	if spec.Moodle.CodeSource != topology.CodeBuild {
		out = append(out, NamedImage{"images.app", im.App})
	}
	if im.Web != im.App {
		out = append(out, NamedImage{"images.web", im.Web})
	}
	out = append(out, NamedImage{"images.database", im.Database}, NamedImage{"images.cache", im.Cache})
	if spec.Database.Pooler == topology.PoolerPgBouncer {
		out = append(out, NamedImage{"images.pgbouncer", im.PgBouncer})
	}
	if spec.UsesCatcher() {
		out = append(out, NamedImage{"images.mailCatcher", im.MailCatcher})
	}
	return out
}
