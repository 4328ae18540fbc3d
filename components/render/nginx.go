package render

import (
	"net/url"
	"strconv"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// upstreamName is the load balancer's upstream block.
const upstreamName = "moodle_backend"

// lookupRecheckSeconds is how long an nginx worker trusts a file it found in the
// PHP location (the installed marker, the script) before it looks again. Lookups
// that fail are not cached: the site opens at the first request after the marker
// is written, whatever this is.
const lookupRecheckSeconds = 10

type nginxData struct {
	// Upstream lists the app nodes; empty for the per-node variant.
	Upstream     []HostPort
	UpstreamName string
	// Pass is the fastcgi_pass target: the upstream name or NodeFastCGI.
	Pass string
	// Edge is set when clients reach this nginx directly (the load balancer).
	Edge bool
	// BehindCloudFront: every request comes through CloudFront, which names the
	// viewer in CloudFront-Viewer-Address.
	BehindCloudFront bool
	Port             int
	ServerName       string
	Root             string
	DataRoot         string
	ClientMaxBodyMB  int
	ReadTimeout      int
	// KeepaliveTimeout outlasts the idle timeout of the load balancer in front.
	KeepaliveTimeout int
	StatusAllow      []string
	HTTPS            bool
	Scheme           string
	SitePort         int

	InstalledMarker string
	LookupRecheck   int

	HealthPath, NginxStatusPath, FPMStatusPath, FPMPingPath, DataRootAlias string
}

func nginx(s topology.Spec, upstream []HostPort, pass string, edge bool) string {
	scheme := "http"
	if s.HTTPS() {
		scheme = "https"
	}
	return execute("nginx.conf.tmpl", nginxData{
		Upstream:         upstream,
		UpstreamName:     upstreamName,
		Pass:             pass,
		Edge:             edge,
		BehindCloudFront: s.Target == topology.TargetAWS && s.AWS.CloudFront.Enabled,
		Port:             s.Web.Port,
		ServerName:       s.Hostname(),
		Root:             s.WebRoot(),
		DataRoot:         s.Paths.DataRoot,
		ClientMaxBodyMB:  s.Web.ClientMaxBodyMB,
		ReadTimeout:      s.Web.FastCGIReadTimeout,
		KeepaliveTimeout: s.Web.KeepaliveTimeout(),
		StatusAllow:      s.Web.StatusAllow,
		HTTPS:            s.HTTPS(),
		Scheme:           scheme,
		SitePort:         sitePort(s),
		InstalledMarker:  s.ReleaseMarker(),
		LookupRecheck:    lookupRecheckSeconds,
		HealthPath:       HealthPath,
		NginxStatusPath:  NginxStatusPath,
		FPMStatusPath:    FPMStatusPath,
		FPMPingPath:      FPMPingPath,
		DataRootAlias:    DataRootAlias,
	})
}

// sitePort is the port of the site URL as the browser uses it.
func sitePort(s topology.Spec) int {
	if u, err := url.Parse(s.SiteURL); err == nil {
		if p, err := strconv.Atoi(u.Port()); err == nil {
			return p
		}
	}
	if s.HTTPS() {
		return 443
	}
	return 80
}
