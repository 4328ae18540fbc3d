// Package devstatus reads the dev stack's containers for status: nginx's
// stub_status and the containers' health from the load balancer's side, each app
// node's php-fpm status page over FastCGI, psql, redis-cli, df and the cron
// runner's lock file and log, all through `docker exec` (or the Engine API).
package devstatus

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/dockerapi"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/status"
	"github.com/moodle-cluster/moodle-pulumi/components/appimage"
	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// Docker is what the collector needs from the Docker host; *dockerapi.Client
// is the real one.
type Docker interface {
	// Exec runs cmd in container as its own user and returns its standard output;
	// a command that exits non-zero is an error carrying its standard error.
	Exec(ctx context.Context, container string, cmd ...string) (string, error)
	// Health is the container's health state: healthy, unhealthy or starting.
	Health(ctx context.Context, container string) (string, error)
	// Logs returns the container's last lines, each with the time Docker
	// received it.
	Logs(ctx context.Context, container string, tail int) ([]dockerapi.LogLine, error)
}

// Collector reads the containers of one dev stack, named <Prefix>-<role>.
type Collector struct {
	Docker Docker
	Spec   topology.Spec
	// Prefix is the cluster's name (stacks.DockerClusterName).
	Prefix string
}

func (c Collector) name(role string) string { return c.Prefix + "-" + role }

// exec runs cmd in container; a container that is stopped or gone makes the
// reading fail as down (status.ErrDown), which is worse than unread.
func (c Collector) exec(ctx context.Context, container string, cmd ...string) (string, error) {
	out, err := c.Docker.Exec(ctx, container, cmd...)
	if errors.Is(err, dockerapi.ErrNotRunning) || errors.Is(err, dockerapi.ErrNotFound) {
		err = fmt.Errorf("%w: %s: %w", status.ErrDown, container, err)
	}
	return out, err
}

// Commands are what the collector runs, per container role; the real-Docker tier
// runs them against a deployed stack.
func (c Collector) Commands() map[string][]string {
	s := c.Spec
	return map[string][]string{
		"lb":          {"curl", "-fsS", "--max-time", "4", fmt.Sprintf("http://127.0.0.1:%d%s", s.Web.Port, render.NginxStatusPath)},
		"app":         {"sh", "-c", "SCRIPT_NAME=" + render.FPMStatusPath + " SCRIPT_FILENAME=" + render.FPMStatusPath + " QUERY_STRING=json REQUEST_METHOD=GET cgi-fcgi -bind -connect 127.0.0.1:" + strconv.Itoa(appimage.FPMPort)},
		"df":          {"df", "-P", "-k", s.Paths.DataRoot},
		"db":          {"psql", "-U", s.Database.User, "-d", s.Database.Name, "-At", "-F", "|", "-c", dbQuery},
		"redis":       {"sh", "-c", `REDISCLI_AUTH="$(cat "$REDIS_PASSWORD_FILE")" redis-cli info`},
		"lock":        {"cat", s.Paths.CronLockFile()},
		"release":     {"php", s.WebRoot() + "/admin/cli/cfg.php", "--name=release"},
		"maintenance": {"php", s.WebRoot() + "/admin/cli/cfg.php", "--name=maintenance_enabled"},
	}
}

// dbQuery returns the client connections, then one row per streaming replica
// with its replay lag in seconds.
const dbQuery = `SELECT 'connections', count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'
UNION ALL SELECT coalesce(application_name, client_addr::text), coalesce(extract(epoch FROM replay_lag), 0) FROM pg_stat_replication`

// cronLogLines is how much of the cron runner's log is searched for the last run.
const cronLogLines = 400

// Collect reads every tier; a tier that fails carries its error.
func (c Collector) Collect(ctx context.Context) status.Readings {
	var r status.Readings
	cmd := c.Commands()
	r.LB, r.LBErr = c.lb(ctx, cmd["lb"])
	for _, node := range c.Spec.AppNodes() {
		n := status.Node{Name: node, Pool: true}
		out, err := c.exec(ctx, c.name(node), cmd["app"]...)
		if err == nil {
			n, err = parseFPMStatus(node, out)
		}
		n.Err = err
		r.Nodes = append(r.Nodes, n)
	}
	if out, err := c.exec(ctx, c.name("db"), cmd["db"]...); err != nil {
		r.DBErr = err
	} else {
		r.DB, r.DBErr = parseDB(out)
	}
	if out, err := c.exec(ctx, c.name("redis"), cmd["redis"]...); err != nil {
		r.RedisErr = err
	} else {
		r.Redis, r.RedisErr = parseRedisInfo(out)
	}
	if out, err := c.exec(ctx, c.name("app-1"), cmd["df"]...); err != nil {
		r.FilesErr = err
	} else {
		r.Files, r.FilesErr = parseDF(out)
	}
	r.Cron, r.CronErr = c.cron(ctx, cmd["lock"])
	r.Moodle, r.MoodleErr = c.moodle(ctx, cmd["release"], cmd["maintenance"])
	return r
}

// lb reads stub_status and, for each app node, the health Docker keeps from the
// node's php-fpm ping: nginx without the commercial API does not expose its
// own view of the upstreams.
func (c Collector) lb(ctx context.Context, cmd []string) (*status.LB, error) {
	out, err := c.exec(ctx, c.name("lb"), cmd...)
	if err != nil {
		return nil, err
	}
	lb, err := parseStubStatus(out)
	if err != nil {
		return nil, err
	}
	for _, node := range c.Spec.AppNodes() {
		state, err := c.Docker.Health(ctx, c.name(node))
		if err != nil {
			state = "missing: " + err.Error()
		}
		lb.Upstreams = append(lb.Upstreams, status.Upstream{Name: node, Healthy: state == "healthy", State: state})
	}
	return lb, nil
}

func (c Collector) cron(ctx context.Context, lockCmd []string) (*status.Cron, error) {
	holder, err := c.exec(ctx, c.name("cron"), lockCmd...)
	if err != nil {
		return nil, fmt.Errorf("read the runner lock: %w", err)
	}
	lines, err := c.Docker.Logs(ctx, c.name("cron"), cronLogLines)
	if err != nil {
		return nil, fmt.Errorf("read the cron log: %w", err)
	}
	cr := lastRun(lines)
	cr.LockHolder = firstLine(holder)
	return &cr, nil
}

func (c Collector) moodle(ctx context.Context, releaseCmd, maintenanceCmd []string) (*status.Moodle, error) {
	release, err := c.exec(ctx, c.name("cron"), releaseCmd...)
	if err != nil {
		return nil, fmt.Errorf("read the release: %w", err)
	}
	maintenance, err := c.exec(ctx, c.name("cron"), maintenanceCmd...)
	if err != nil {
		return nil, fmt.Errorf("read maintenance mode: %w", err)
	}
	return &status.Moodle{Release: firstLine(release), Maintenance: firstLine(maintenance) == "1", Reachable: true}, nil
}
