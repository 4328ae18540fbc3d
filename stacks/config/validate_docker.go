package config

import (
	"net"
	"net/url"
	"strings"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// dockerTarget checks what only the Docker host reads: the code source and host
// folder, every container's limits, PgBouncer, the Redis container, the volumes
// and the images of the back ends.
func (p *problems) dockerTarget(s topology.Spec, site *url.URL) {
	if site != nil {
		host := site.Hostname()
		local := host == "localhost" || net.ParseIP(host).IsLoopback()
		if port := urlPort(site); local && site.Scheme == "http" && port != s.Docker.HTTPPort {
			p.add("siteUrl", s.SiteURL, "points at port %d of this host, but the load balancer publishes docker.httpPort %d; allowed: http://%s:%d",
				port, s.Docker.HTTPPort, host, s.Docker.HTTPPort)
		}
	}
	m := s.Moodle
	p.oneOf("moodle.codeSource", m.CodeSource, topology.CodeBuild, topology.CodeImage, topology.CodeHostPath)
	if m.CodeSource == topology.CodeHostPath && m.HostPath == "" {
		p.add("moodle.hostPath", nil, "not set; codeSource hostPath needs the absolute path of the Moodle folder on the Docker host")
	}
	p.build(s)
	p.resources("web", s.Web.Resources, 32)

	d := s.Database
	p.oneOf("database.pooler", d.Pooler, topology.PoolerNone, topology.PoolerPgBouncer)
	p.resources("database", d.Resources, 256)
	if d.Pooler == topology.PoolerPgBouncer {
		p.intRange("database.poolSize", d.PoolSize, 1, 1000)
		p.resources("database.pgbouncer", d.PgBouncer, 16)
	}

	c := s.Cache
	if !majorMinor.MatchString(c.Version) {
		p.add("cache.version", c.Version, "allowed: a Redis major.minor such as 7.2")
	}
	if c.TLS {
		p.add("cache.tls", c.TLS, "the Redis container serves plain TCP on the internal network; allowed on docker: false")
	}
	p.resources("cache", c.Resources, 64)
	p.resources("cache.muc", c.MUC.Resources, 64)

	p.dockerStorage(s.Storage)
	p.dockerImages(s)

	dt := s.Docker
	if net.ParseIP(dt.BindAddress) == nil {
		p.add("docker.bindAddress", dt.BindAddress, "allowed: a host IP address, 127.0.0.1 (this host only) or 0.0.0.0 (every interface)")
	}
}

func (p *problems) dockerStorage(st topology.Storage) {
	p.oneOf("storage.kind", st.Kind, topology.StorageVolume, topology.StorageNFS)
	if st.Kind != topology.StorageNFS {
		return
	}
	n := st.NFS
	switch {
	case n.Address == "":
		p.add("storage.nfs.address", nil, "not set; storage kind nfs needs the NFS server's host name or IP address")
	case !nfsHost.MatchString(n.Address):
		p.add("storage.nfs.address", n.Address, "allowed: a host name or IP address")
	}
	if !strings.HasPrefix(n.Device, ":/") {
		p.add("storage.nfs.device", n.Device, "allowed: the export as :/path, e.g. :/moodledata")
	}
	if n.Options == "" || strings.Contains(n.Options, "addr=") {
		p.add("storage.nfs.options", n.Options, "allowed: mount options without addr= (set storage.nfs.address), e.g. rw,nfsvers=4")
	}
}

// dockerImages checks the back ends' images: pinned, and running the versions
// config declares.
func (p *problems) dockerImages(s topology.Spec) {
	im := s.Images
	// Without a supported database.version (reported) there is no default image.
	if im.Database != "" || topology.DatabaseImage(s.Database.Version) != "" {
		p.pinned("images.database", im.Database)
	}
	p.pinned("images.cache", im.Cache)
	if s.Database.Pooler == topology.PoolerPgBouncer {
		p.pinned("images.pgbouncer", im.PgBouncer)
	}
	p.imageVersion("images.database", im.Database, "postgres", s.Database.Version, "database.version")
	p.imageVersion("images.cache", im.Cache, "redis", s.Cache.Version, "cache.version")
}
