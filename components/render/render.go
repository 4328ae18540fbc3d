// Package render turns a topology.Spec into the files nginx, php-fpm, PHP and Moodle
// read, and the cron runner script. Every function is pure: the same Spec renders the
// same text for the Docker host, for an AWS task and for the loopback tests.
package render

import (
	"net"
	"strconv"

	"github.com/moodle-cluster/moodle-pulumi/components/appimage"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// HostPort is one TCP endpoint as the app nodes reach it.
type HostPort struct {
	Host string
	Port int
}

func (h HostPort) String() string { return net.JoinHostPort(h.Host, strconv.Itoa(h.Port)) }

// Endpoints are the addresses of the shared back ends, which only the target knows
// (Docker network aliases, RDS and ElastiCache endpoints, loopback ports).
type Endpoints struct {
	// Database is the primary, or the pooler in front of it.
	Database HostPort
	// ReadReplicas go into $CFG->dboptions['readonly'].
	ReadReplicas []HostPort
	// Redis holds the sessions; MUC, when set, is the separate Redis of the MUC
	// application cache (AWS). Without it the cache shares the sessions' server.
	Redis HostPort
	MUC   HostPort
	// MailCatcher is the SMTP port of the mail catcher the target runs when the
	// Spec names no relay (the Docker host's); empty otherwise.
	MailCatcher HostPort
}

// NodeFastCGI is where a per-node nginx reaches php-fpm in the same task or pod.
var NodeFastCGI = HostPort{Host: "127.0.0.1", Port: appimage.FPMPort}

// NginxLoadBalancer renders the load balancer's http-context configuration: the
// upstream over backends (least_conn) and the Moodle server block.
func NginxLoadBalancer(s topology.Spec, backends []HostPort) string {
	return nginx(s, backends, upstreamName, true)
}

// NginxNode renders the same server block for a web server beside php-fpm on one
// node, passing FastCGI to NodeFastCGI.
func NginxNode(s topology.Spec) string {
	return nginx(s, nil, NodeFastCGI.String(), false)
}

// PHPFPMPool renders the php-fpm pool, listening on listen ("9000", "127.0.0.1:9000").
func PHPFPMPool(s topology.Spec, listen string) string { return phpFPMPool(s, listen) }

// PHPIni renders the php.ini overrides.
func PHPIni(s topology.Spec) string { return phpIni(s) }

// ConfigPHP renders Moodle's config.php. Secrets are read at run time from the
// environment (or the files named by the *_FILE variables), never written into it.
func ConfigPHP(s topology.Spec, e Endpoints) string { return configPHP(s, e) }

// CronRunner renders the cron runner script.
func CronRunner(s topology.Spec) string { return cronRunner(s) }

// AdhocWorker renders the script of an ad hoc task worker.
func AdhocWorker(s topology.Spec) string { return adhocWorker(s) }
