package dockerhost

import (
	"net"
	"strconv"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// The mail catcher follows Mailpit's contract (its Dockerfile, axllent/mailpit:
// EXPOSE 1025/tcp 8025/tcp, HEALTHCHECK CMD /mailpit readyz, ENTRYPOINT
// /mailpit; its documentation: SMTP on 1025, the web UI and the REST API,
// /api/v1/messages, on 8025). It accepts any message without a login, keeps the
// newest 500 (Mailpit's default --max) and delivers none.
var mailCatcherEndpoint = render.HostPort{Host: "mailpit", Port: topology.CatcherSMTPPort}

// catcherLoopback is the only host address the catcher's web page is published
// on: it shows every message the site sent, password reset links included.
const catcherLoopback = "127.0.0.1"

// mailCatcher runs the catcher on the internal network, where the app nodes and
// cron reach its SMTP port by the name mailpit. Docker publishes no port of a
// container attached only to internal networks, so it also joins the front
// network, and publishes its web port there on the host's loopback address
// alone; its SMTP port is published nowhere.
func (b *builder) mailCatcher() (*docker.Container, error) {
	c := b.spec.Mail.Catcher
	return b.container(service{
		key:   mailCatcherEndpoint.Host,
		image: b.imgs.mailCatcher,
		networks: []attachment{
			{network: b.nets.backend, aliases: []string{mailCatcherEndpoint.Host}},
			{network: b.nets.front},
		},
		ports: docker.ContainerPortArray{docker.ContainerPortArgs{
			Internal: pulumi.Int(topology.CatcherWebPort),
			External: pulumi.Int(c.WebPort),
			Ip:       pulumi.String(catcherLoopback),
			Protocol: pulumi.String("tcp"),
		}},
		limits:      c.Resources,
		health:      []string{"CMD", "/mailpit", "readyz"},
		waitSeconds: backendWaitSeconds,
		// Mailpit closes its database and exits on SIGTERM.
		stopSignal:       "SIGTERM",
		stopGraceSeconds: backendStopGraceSeconds,
	})
}

// mailCatcherURL is the catcher's web page as a browser on the host opens it, ""
// when the stack sends its mail to a relay.
func mailCatcherURL(s topology.Spec) string {
	if !s.UsesCatcher() {
		return ""
	}
	return "http://" + net.JoinHostPort(catcherLoopback, strconv.Itoa(s.Mail.Catcher.WebPort))
}
