package dockerhost

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// The back ends' names on the internal network.
var (
	databaseEndpoint  = render.HostPort{Host: "db", Port: topology.PostgresPort}
	redisEndpoint     = render.HostPort{Host: "redis", Port: topology.RedisPort}
	mucEndpoint       = render.HostPort{Host: "redis-muc", Port: topology.RedisPort}
	pgbouncerEndpoint = render.HostPort{Host: "pgbouncer", Port: 6432}
)

// endpoints are the addresses config.php points at: PgBouncer when it is in front
// of PostgreSQL, else PostgreSQL itself; the read replicas directly.
func endpoints(s topology.Spec) render.Endpoints {
	e := render.Endpoints{Database: databaseEndpoint, Redis: redisEndpoint, MUC: mucEndpoint}
	if s.UsesCatcher() {
		e.MailCatcher = mailCatcherEndpoint
	}
	if s.Database.Pooler == topology.PoolerPgBouncer {
		e.Database = pgbouncerEndpoint
	}
	for _, r := range replicaNames(s.Database.ReadReplicas) {
		e.ReadReplicas = append(e.ReadReplicas, render.HostPort{Host: r, Port: databaseEndpoint.Port})
	}
	return e
}

// replicaNames are the read replicas' names on the internal network (and their
// container keys): db-replica-1 .. db-replica-N.
func replicaNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-replica-%d", databaseEndpoint.Host, i+1)
	}
	return names
}

// The official postgres and redis entry points start as root to take ownership of
// their data directory, then drop to their service user: they keep exactly those
// capabilities, named as Docker stores them (see nginxCapabilities).
var (
	postgresCapabilities = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_SETGID", "CAP_SETUID"}
	redisCapabilities    = []string{"CAP_CHOWN", "CAP_SETGID", "CAP_SETUID"}
)

// backendWaitSeconds bounds how long a deployment waits for a back end to report
// healthy (PostgreSQL initialising an empty volume takes the longest);
// backendStopGraceSeconds how long one may take to stop cleanly.
const (
	backendWaitSeconds      = 180
	backendStopGraceSeconds = 60
)

const (
	// pgdataMount is where the volume is mounted; PGDATA is a directory inside it,
	// as the postgres image recommends for mounted volumes.
	pgdataMount = "/var/lib/postgresql/data"
	pgdata      = pgdataMount + "/pgdata"
	redisConf   = "/usr/local/etc/redis/redis.conf"
	// pgHBA is the client authentication file the primary and the replicas run
	// with, instead of the one initdb leaves in PGDATA.
	pgHBA = "/etc/postgresql/moodle-pg_hba.conf"
	// replicaScript starts a read replica (scripts/pg-replica.sh).
	replicaScript = "/usr/local/bin/moodle-pg-replica"
	// walKeep is how much WAL the primary keeps for a replica that falls behind
	// (no replication slot: a replica gone for good must not fill the primary's disk).
	walKeep   = "1GB"
	redisData = "/data"
	// The PgBouncer image (edoburu/pgbouncer) uses the files in /etc/pgbouncer as
	// they are when pgbouncer.ini exists, and runs as an unprivileged user.
	pgbouncerIni      = "/etc/pgbouncer/pgbouncer.ini"
	pgbouncerUserlist = "/etc/pgbouncer/userlist.txt"
)

//go:embed scripts/pg-replica.sh
var replicaScriptText string

// pgHBAConf lets local connections in (the image's own tools, health checks) and
// every other client, replicas too, only with a password (scram-sha-256).
const pgHBAConf = `# Rendered by moodle-pulumi; do not edit.
local   all          all                 trust
host    all          all   127.0.0.1/32  trust
host    all          all   all           scram-sha-256
host    replication  all   all           scram-sha-256
`

// postgresCommand is the server command of the primary and of its replicas: a hot
// standby refuses to start with fewer max_connections than its primary.
func (b *builder) postgresCommand() []string {
	return []string{"postgres",
		// The official image's postgresql.conf says so too; said here, it holds
		// for any image and for the replicas.
		"-c", "listen_addresses=*",
		"-c", "max_connections=" + strconv.Itoa(b.spec.ServerConnections()),
		"-c", "shared_buffers=" + strconv.Itoa(b.spec.Database.MemoryMB/4) + "MB",
		"-c", "hba_file=" + pgHBA,
		"-c", "wal_keep_size=" + walKeep,
	}
}

// database is PostgreSQL, with max_connections from the cluster's connection budget
// and a quarter of its memory limit as shared_buffers (PostgreSQL's own guidance).
func (b *builder) database() (*docker.Container, error) {
	d := b.spec.Database
	return b.container(b.postgres(postgresService{
		key:     "db",
		command: b.postgresCommand(),
		env:     []string{"POSTGRES_DB=" + d.Name},
		aliases: []string{databaseEndpoint.Host},
		volume:  b.vols.database,
	}))
}

// replicas are PostgreSQL streaming replicas of db, wired into config.php's
// dboptions['readonly']: Moodle sends them the reads that may lag, and keeps writes
// (and reads of tables it just wrote) on the primary.
func (b *builder) replicas(db pulumi.Resource) ([]pulumi.Resource, error) {
	var out []pulumi.Resource
	for i, name := range replicaNames(b.spec.Database.ReadReplicas) {
		c, err := b.container(b.postgres(postgresService{
			key:       name,
			command:   append([]string{replicaScript}, b.postgresCommand()...),
			env:       []string{"PRIMARY_HOST=" + databaseEndpoint.Host, "REPLICA_NAME=" + b.name + "-" + name},
			uploads:   docker.ContainerUploadArray{script(replicaScript, replicaScriptText)},
			aliases:   []string{name},
			volume:    b.vols.replicas[i],
			dependsOn: []pulumi.Resource{db},
		}))
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// postgres completes s as a PostgreSQL container: the database image, its user and
// password, its client authentication (pgHBAConf), its data volume, the limits,
// health check and clean stop every server of the cluster shares.
func (b *builder) postgres(s postgresService) service {
	d := b.spec.Database
	return service{
		key:     s.key,
		image:   b.imgs.database,
		command: s.command,
		env:     append([]string{"POSTGRES_USER=" + d.User, "PGDATA=" + pgdata}, s.env...),
		secrets: []secretFile{
			fileSecret("POSTGRES_PASSWORD", "db-password", b.secrets.database.Result),
		},
		uploads:  append(docker.ContainerUploadArray{upload(pgHBA, pulumi.String(pgHBAConf), "0444")}, s.uploads...),
		networks: []attachment{{network: b.nets.backend, aliases: s.aliases}},
		volumes: docker.ContainerVolumeArray{docker.ContainerVolumeArgs{
			VolumeName: s.volume.Name, ContainerPath: pulumi.String(pgdataMount),
		}},
		limits:      d.Resources,
		health:      []string{"CMD", "pg_isready", "-h", "127.0.0.1", "-U", d.User, "-d", d.Name},
		startPeriod: time.Minute,
		capAdd:      postgresCapabilities,
		waitSeconds: backendWaitSeconds,
		// Fast shutdown: sessions are ended and the server checkpoints, so the next
		// start needs no crash recovery.
		stopSignal:       "SIGINT",
		stopGraceSeconds: backendStopGraceSeconds,
		// Parallel queries allocate from /dev/shm; Docker's 64 MB default is too small.
		shmSizeMB: max(64, d.MemoryMB/8),
		dependsOn: s.dependsOn,
	}
}

// postgresService is what differs between the primary and a replica.
type postgresService struct {
	key       string
	command   []string
	env       []string
	uploads   docker.ContainerUploadArray
	aliases   []string
	volume    *docker.Volume
	dependsOn []pulumi.Resource
}

// cache is the sessions' Redis, with append-only persistence (render.RedisConf).
func (b *builder) cache() (*docker.Container, error) {
	return b.redis(redisEndpoint, render.RedisConf(b.spec, redisEndpoint.Port, redisData), b.spec.Cache.Resources,
		docker.ContainerVolumeArray{docker.ContainerVolumeArgs{
			VolumeName: b.vols.redis.Name, ContainerPath: pulumi.String(redisData),
		}})
}

// mucCache is the Redis of the MUC application cache (render.MUCRedisConf): the
// sessions' Redis never evicts, this one does. Nothing of it is kept on disk, so it
// has no volume; it takes the sessions' password.
func (b *builder) mucCache() (*docker.Container, error) {
	return b.redis(mucEndpoint, render.MUCRedisConf(b.spec, mucEndpoint.Port), b.spec.Cache.MUC.Resources, nil)
}

// redis runs a Redis named after its endpoint from conf. Its password is appended
// to redis.conf, which is uploaded as a secret; the health check reads it from a
// file into REDISCLI_AUTH so it never appears on a command line.
func (b *builder) redis(endpoint render.HostPort, conf string, limits topology.Resources, volumes docker.ContainerVolumeArray) (*docker.Container, error) {
	password := fileSecret("REDIS_PASSWORD", "redis-password", b.secrets.redis.Result)
	withPassword := b.secrets.redis.Result.ApplyT(func(pw string) string {
		return conf + "requirepass " + pw + "\n"
	}).(pulumi.StringOutput)
	return b.container(service{
		key:   endpoint.Host,
		image: b.imgs.cache,
		// Operators' tools (redis-cli, moodlectl status) find the password here.
		env:     []string{password.env},
		command: []string{"redis-server", redisConf},
		uploads: docker.ContainerUploadArray{
			upload(redisConf, pulumi.ToSecret(withPassword).(pulumi.StringOutput), "0444"),
			password.upload,
		},
		networks: []attachment{{network: b.nets.backend, aliases: []string{endpoint.Host}}},
		volumes:  volumes,
		limits:   limits,
		health: []string{"CMD-SHELL", fmt.Sprintf(
			`REDISCLI_AUTH="$(cat %s/redis-password)" redis-cli -h 127.0.0.1 ping | grep -q PONG`, secretsDir)},
		capAdd:      redisCapabilities,
		waitSeconds: backendWaitSeconds,
		// Redis flushes its append-only file (if it keeps one) on SIGTERM before
		// it exits.
		stopSignal:       "SIGTERM",
		stopGraceSeconds: backendStopGraceSeconds,
	})
}

// pgbouncer pools Moodle's connections: max_client_conn covers every php-fpm child
// of every node up to the connection ceiling plus cron, while PostgreSQL sees at most
// PoolSize server connections. Clients authenticate with SCRAM against userlist.txt,
// which holds the generated password and is uploaded as a secret.
func (b *builder) pgbouncer(db pulumi.Resource) (*docker.Container, error) {
	d := b.spec.Database
	userlist := b.secrets.database.Result.ApplyT(func(pw string) string {
		return pgbouncerQuote(d.User) + " " + pgbouncerQuote(pw) + "\n"
	}).(pulumi.StringOutput)
	return b.container(service{
		key:     "pgbouncer",
		image:   b.imgs.pgbouncer,
		command: []string{"pgbouncer", pgbouncerIni},
		uploads: docker.ContainerUploadArray{
			upload(pgbouncerIni, pulumi.String(pgbouncerConfig(b.spec)), "0444"),
			upload(pgbouncerUserlist, pulumi.ToSecret(userlist).(pulumi.StringOutput), "0444"),
		},
		networks:    []attachment{{network: b.nets.backend, aliases: []string{pgbouncerEndpoint.Host}}},
		limits:      d.PgBouncer,
		health:      []string{"CMD-SHELL", "nc -z 127.0.0.1 " + strconv.Itoa(pgbouncerEndpoint.Port)},
		waitSeconds: backendWaitSeconds,
		// Safe shutdown: PgBouncer waits for the transactions in flight.
		stopSignal:       "SIGINT",
		stopGraceSeconds: backendStopGraceSeconds,
		dependsOn:        []pulumi.Resource{db},
	})
}

// pgbouncerConfig is pgbouncer.ini. config.php sets dbhandlesoptions (PgBouncer
// rejects startup options) and, in transaction mode, fetchbuffersize 0 and the
// db_record lock factory; the render package keeps those consistent with PoolMode.
func pgbouncerConfig(s topology.Spec) string {
	d := s.Database
	lines := []string{
		"[databases]",
		fmt.Sprintf("%s = host=%s port=%d dbname=%s", d.Name, databaseEndpoint.Host, databaseEndpoint.Port, d.Name),
		"",
		"[pgbouncer]",
		"listen_addr = 0.0.0.0",
		"listen_port = " + strconv.Itoa(pgbouncerEndpoint.Port),
		"auth_type = scram-sha-256",
		"auth_file = " + pgbouncerUserlist,
		"pool_mode = " + d.PoolMode,
		"default_pool_size = " + strconv.Itoa(d.PoolSize),
		"max_db_connections = " + strconv.Itoa(d.PoolSize),
		"max_client_conn = " + strconv.Itoa(s.ClientConnections()),
		"stats_users = " + d.User,
		"ignore_startup_parameters = extra_float_digits",
	}
	return strings.Join(lines, "\n") + "\n"
}

// pgbouncerQuote quotes a userlist.txt field: double quotes, doubled inside.
func pgbouncerQuote(v string) string { return `"` + strings.ReplaceAll(v, `"`, `""`) + `"` }
