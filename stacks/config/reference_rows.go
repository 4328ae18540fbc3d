package config

import (
	"fmt"
	"strings"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// keys declares the top-level keys, in Pulumi.yaml's order, with the description
// Pulumi.yaml gives each (`pulumi config` and editors show it) and docs/config.md's
// table of keys repeats. A key only one target reads says so from its tag. In
// these texts and the rows', {{docker PATH}} and {{aws PATH}} stand for the
// setting's default on that target.
var keys = []keyDecl{
	{"target", "Where the cluster runs: docker (one Docker host, the dev stack) or aws (ECS, RDS, ElastiCache, EFS; the prod stack). Required."},
	{"siteUrl", "Moodle's wwwroot: an absolute http(s) URL without path or trailing slash. docker: http://localhost:<docker.httpPort> when empty; aws: required, https unless aws.allowPlainHttp."},
	{"moodle", "The Moodle code: version (a " + orList(releaseLines(), "") + " release; default {{docker moodle.version}}), codeSource (docker: build | image | hostPath; aws: image | build, built and pushed to ECR by up), build {context, dockerfile, args} (codeSource build; on aws args.DATABASE_CA_SHA256 is required), hostPath, plugins [{component, version, source, sha256 or contentSha256}], adminUser, adminEmail, siteName."},
	{"web", "nginx: port, clientMaxBodyMb, fastcgiReadTimeout, statusAllow (CIDRs); on docker also the load balancer's cpus, memoryMb, reservedCpus, reservedMemoryMb."},
	{"app", "The php-fpm app nodes: replicas (1..50), maxReplicas (aws: the autoscaling ceiling; docker: the node count the database connection budget is sized for), minReplicas (aws), cpus, memoryMb, reservedCpus, reservedMemoryMb, launchType (aws: fargate | ec2), cpuArchitecture (aws: x86_64 | arm64), spotPercent (aws: Fargate Spot share above minReplicas), phpFpm {...} and php {...} overrides."},
	{"database", "PostgreSQL: version (" + postgresVersions[0] + ".." + postgresVersions[len(postgresVersions)-1] + ", at least what the Moodle release needs), name, user, pooler (none | pgbouncer on docker | rdsproxy on aws), poolMode, poolSize, readReplicas; docker: cpus, memoryMb, reservedCpus, reservedMemoryMb, pgbouncer {cpus, memoryMb, reservedCpus, reservedMemoryMb}; aws: instanceClass, storageGb, maxStorageGb, backupRetentionDays, multiAz, restoreFromSnapshot (a DB snapshot the site's database is restored from, into a new instance beside the current one), retireOriginal (with restoreFromSnapshot: stop registering the instances the restore replaced)."},
	{"cache", "Redis for sessions and the MUC cache: version, sessionDb, sessionPrefix, cachePrefix, tls; docker: cpus, memoryMb, reservedCpus, reservedMemoryMb, muc {cpus, memoryMb, reservedCpus, reservedMemoryMb} (the MUC cache's own Redis container); aws: nodeType, replicas, snapshotRetentionDays, muc {nodeType, replicas} (the MUC cache's own replication group)."},
	{"storage", "moodledata: kind (docker: volume | nfs; aws: efs | s3), nfs {address, device, options}, s3 {sizeThresholdBytes, minimumAgeSeconds, deleteLocal}; aws: restoreFileSystemId (an EFS file system AWS Backup restored, which the site moves to beside the current one), retireOriginal (with restoreFileSystemId: stop registering the file system the restore replaced)."},
	{"cron", "Moodle's task processing, the single cron runner and the ad hoc task workers: intervalSeconds, keepAliveSeconds, cpus, memoryMb, reservedCpus, reservedMemoryMb, adhoc (workers, concurrencyLimit, keepAliveSeconds, cpus, memoryMb, reservedCpus, reservedMemoryMb)."},
	{"mail", "Outgoing mail: enabled, host (the SMTP relay; empty = docker's mail catcher, refused on aws), port, tls (none | starttls | tls), authType (LOGIN | PLAIN | NTLM | CRAM-MD5), user, noReplyAddress, maxBulk, fromVia (never | always | noReplyOnly); docker: catcher {webPort, cpus, memoryMb, reservedCpus, reservedMemoryMb}; aws: passwordSecretArn (an existing Secrets Manager secret holding the relay password), ses (true: the stack makes the Amazon SES identity, its DKIM records in aws.hostedZoneId, an SMTP user and its credentials, and sends through SES in its region)."},
	{"mailPassword", "The SMTP relay's password for mail.user, set as a secret: pulumi config set --secret moodle:mailPassword. A plain-text value is refused."},
	{"images", "Container images, each pinned (a tag other than latest, or a digest): app, web, database, cache, pgbouncer, mailCatcher. Point them at your own registry for offline sites."},
	{"backup", "The stack's AWS Backup plan of the RDS primary and the EFS file system: enabled (default {{aws backup.enabled}}), schedule (an AWS cron expression in UTC with six fields, at most hourly; default {{aws backup.schedule}}), retentionDays (7..36500, default {{aws backup.retentionDays}})."},
	{"docker", "httpPort (the host port the load balancer publishes) and bindAddress ({{docker docker.bindAddress}} by default)."},
	{"aws", "azCount, natGateways, vpcCidr, or vpcId with publicSubnetIds, privateSubnetIds and dataSubnetIds, certificateArn, allowPlainHttp, waf, alarmEmail, logRetentionDays, protect, ec2InstanceType, ecsExec, vpcEndpoints, hostedZoneId, cloudFront {enabled, certificateArn, originReadTimeout}, maintenance {enabled, message} (the load balancer answers 503 with message and the ad hoc workers stop, for an upgrade)."},
}

// reference documents every setting, table by table, in the order of docs/config.md.
var reference = []table{
	{key: "moodle", rows: []row{
		{fields: "version", text: "a release of Moodle " + orList(releaseLines(), "") + ", as `X.Y` or `X.Y.Z` (the release table in the README: layout, PHP range, minimum PostgreSQL, oldest release it upgrades from, each from that release's `admin/environment.xml`); `database.version` must be at least the release's PostgreSQL, and a `build.args.PHP_IMAGE` naming a PHP minor must be in its PHP range; the image refuses code of another branch at build and at start (`docker/check-image.php`)"},
		{fields: "codeSource", text: "docker: `build` (the app image is built from the repo's Dockerfile), `image` (a prebuilt image, `images.app`), `hostPath` (a host folder bind-mounted read-only, the seed's `./html`); aws: `image` (ECS pulls the prebuilt `images.app` from a registry, in practice ECR) or `build` (`pulumi up` builds the app image from `build` for `app.cpuArchitecture`, pushes it to an ECR repository of the stack and pins the task definitions to the pushed digest: [aws.md](aws.md#the-app-image))"},
		{fields: "hostPath", text: "required with `hostPath`, an absolute path; only allowed with `hostPath`"},
		{fields: "build.context", text: "with `build`: the app image's build context, relative to the project folder (where `Pulumi.yaml` is) or absolute; the program hands it to the Docker provider as an absolute path. A site's own context holds the project's `docker/` files and its code tree under `moodle/` (core with its plugins and themes)"},
		{fields: "build.dockerfile", text: "a path inside `build.context`"},
		{fields: "build.args", text: "extra build arguments: `PHP_IMAGE` (a base of the site's own, e.g. one that already has the extensions, so the build needs no internet), `MOODLE_CODE` (`release`: download `version`; `context`: the context's `moodle/`), `MOODLE_SHA256` (the release archive's checksum). Names are build-argument names; the ones the program sets from the config (`MOODLE_VERSION`, `MOODLE_BRANCH`, `MOODLE_WEBROOT`, `MOODLE_DIRROOT`, `MOODLE_DATAROOT`, `MOODLE_LOCALCACHEDIR`, `MOODLE_PLUGINS`) are refused. Only allowed with `codeSource: build`. On aws `DATABASE_CA_SHA256` is required: the SHA-256 (64 lower-case hex digits) of the RDS global bundle (`https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem`), which the build downloads and checks (`docker/install-database-ca`)"},
		{fields: "plugins", text: "plugins and themes baked into the app image's code (not read with `hostPath`). Each: `component` (Frankenstyle `type_name`), `version` (the release's `$plugin->version`, e.g. `\"2024120600\"`), `source` (https URL of a zip or tar.gz holding one folder), and exactly one checksum: `sha256` (of the archive file) or `contentSha256` (of its files: `php docker/install-plugins.php digest FOLDER`). With `build` the program passes them to the Dockerfile as `MOODLE_PLUGINS`; with `image` they declare what the prebuilt image was built with. `storage.kind: s3` requires `tool_objectfs` and `local_aws` at the releases in [aws.md](aws.md#s3-mode-storagekind-s3)"},
		{fields: "adminUser", text: "1-100 lower-case letters, digits and `_ . @ -`"},
		{fields: "adminEmail", text: "an e-mail address"},
		{fields: "siteName", text: "1-255 characters"},
	}},
	{key: "web", rows: []row{
		{fields: "port", rule: Range(1024, 65535).Because("nginx runs as a non-root user and cannot bind lower ports"), text: "nginx runs as a non-root user"},
		{fields: "clientMaxBodyMb", rule: Range(1, 4096), text: "PHP's `upload_max_filesize`/`post_max_size` follow it"},
		{fields: "fastcgiReadTimeout", rule: Range(30, 3600), text: "in seconds. The ALB idle timeout is this + 5 s (at least 60), nginx's `keepalive_timeout` on an AWS node that + 15 s, and the target group drains a leaving task this + 5 s (at most 3600)"},
		{fields: "statusAllow", text: "each a CIDR, none of them `/0`; who may read `stub_status` and the php-fpm status page (Docker's bridge networks are carved out of 172.16.0.0/12)"},
		{fields: "cpus memoryMb reservedCpus reservedMemoryMb", text: "the load balancer container's limits (see [limits](#limits-and-reservations)); on aws nginx shares the app task"},
	}},
	{key: "app", rows: []row{
		{fields: "replicas", text: "1..50"},
		{fields: "minReplicas", text: "1..50 and `minReplicas <= replicas` (the autoscaling floor)"},
		{fields: "maxReplicas", text: "1..50 and `>= replicas`. aws: the autoscaling ceiling; a deployment runs up to twice it, and the connection budget (every php-fpm child of those tasks) must stay under what `database.instanceClass` allows unless `database.pooler` is `rdsproxy`. docker: the node count the database connection budget (`max_connections`, PgBouncer `max_client_conn`) is sized for, so scaling `replicas` up to it never restarts PostgreSQL"},
		{fields: "cpus memoryMb", text: "limits; on Fargate a valid task size (below)"},
		{fields: "reservedCpus reservedMemoryMb", text: "within the limits"},
		{fields: "launchType", rule: OneOf(topology.LaunchFargate, topology.LaunchEC2), text: "`ec2` runs the tasks on an Auto Scaling group of `aws.ec2InstanceType`"},
		{fields: "cpuArchitecture", rule: OneOf(topology.ArchX86, topology.ArchARM64), text: "of the app and cron tasks (`arm64`: Graviton); the app image must be built for it (`docker buildx build --platform linux/amd64,linux/arm64`); with `ec2` a Graviton `aws.ec2InstanceType` (`m7g.xlarge`)"},
		{fields: "spotPercent", rule: Range(0, 100), text: "above 0 with `fargate` and `x86_64` only (Fargate Spot runs no ARM64 tasks): the share of the app tasks above `minReplicas` that run on Fargate Spot (the minimum and the cron runner always run on regular Fargate)"},
	}},
	{key: "app.phpFpm", rows: []row{
		{fields: "maxChildren", text: "`0` derives it from the memory limit (below); an explicit value must fit: `maxChildren × workerMemoryMb + reserveMemoryMb <= memoryMb`"},
		{fields: "startServers minSpareServers maxSpareServers", text: "`0` derives each from `maxChildren` (below); explicit values keep `minSpare <= maxSpare <= maxChildren`, `minSpare <= start <= maxSpare`"},
		{fields: "maxRequests", text: "0 (never recycle) or more"},
		{fields: "workerMemoryMb", rule: Range(16, 4096), text: "the average RSS of one Moodle worker"},
		{fields: "reserveMemoryMb", text: "at least `php.opcacheMemoryMb + 64`: the fpm master and OS (64 MB) plus OPcache (128 MB); aws adds 64 MB for the nginx sidecar"},
	}},
	{key: "app.php", rows: []row{
		{fields: "memoryLimitMb", text: "at least 256 (Moodle's requirement) and at most `memoryMb - reserveMemoryMb`"},
		{fields: "opcacheMemoryMb", rule: Range(64, 4096), text: "`opcache.memory_consumption`, part of `phpFpm.reserveMemoryMb`"},
		{fields: "maxInputVars", text: "at least 5000 (Moodle refuses to install below)"},
		{fields: "maxExecutionTime", text: "seconds: 30..3600 and at most `web.fastcgiReadTimeout`"},
	}},
	{key: "database", rows: []row{
		{fields: "version", text: orList(postgresVersions, "`\"") + ", and at least what `moodle.version` needs (" + releasePostgres() + ") (docker picks the matching pinned image); on aws a higher major version upgrades the instances in place at the next `pulumi up` (replicas with the primary), with a parameter group of the new family"},
		{fields: "name user", text: "PostgreSQL identifiers"},
		{fields: "pooler", text: "docker: `none` or `pgbouncer`; aws: `none` or `rdsproxy`"},
		{fields: "poolMode", rule: OneOf(topology.PoolModeSession, topology.PoolModeTransaction), text: "config.php switches `dbhandlesoptions`, `fetchbuffersize` and the lock factory accordingly. Session by default: Moodle's backup and restore, course copy and import create temporary tables (`database_manager::create_temp_table`), which live in the server connection that made them, and transaction pooling hands the next statement to another one"},
		{fields: "poolSize", text: "docker with PgBouncer: 1..1000 server connections"},
		{fields: "pgbouncer", text: "docker with PgBouncer: the container's limits"},
		{fields: "readReplicas", text: "aws: 0..5 (1..5 when `aws.protect`, a production stack), wired into `dboptions['readonly']`; docker: 0..5 PostgreSQL streaming replicas (`db-replica-N`, each on a volume of its own, copied from the primary with `pg_basebackup` on first start, with the database's limits), wired the same way"},
		{fields: "cpus memoryMb reservedCpus reservedMemoryMb", text: "memory at least 256; on aws size the instance with `instanceClass`"},
		{fields: "instanceClass", text: "an RDS class `db.<family>.<size>` of the `m`, `r`, `x`, `z` or burstable `t` families. `max_connections` is RDS's own formula `LEAST({DBInstanceClassMemory/9531392},5000)`, so it changes only with the class (whose change restarts the instance and applies it); validation keeps the app tier's connection budget under about that number. Changes apply at `pulumi up`, not in the maintenance window"},
		{fields: "storageGb", rule: Range(20, 65536), text: "gp3, encrypted"},
		{fields: "maxStorageGb", text: "above `storageGb`, at most 65536 (storage autoscaling ceiling)"},
		{fields: "backupRetentionDays", rule: Range(7, 35), text: "days RDS keeps its automated backups (point-in-time recovery)"},
		{fields: "multiAz", text: "a standby of the primary in another zone, which RDS fails over to"},
		{fields: "restoreFromSnapshot", text: "a DB snapshot (identifier, `rds:` automated or `awsbackup:` AWS Backup one, or its ARN) the site's database is restored from. The program then creates a new primary from it, and new replicas of that primary, beside the current instances, and points the site at them; the current instances stay as they are, protected, until you remove them (see [Backups on AWS](aws.md#backups-on-aws)). `moodlectl restore --stack prod --from ID` sets it. Changing it to another snapshot would replace the restored instances, which Pulumi refuses while they are protected (`moodlectl restore` refuses it first); the instances it stood in for are never touched"},
		{fields: "retireOriginal", text: "with `restoreFromSnapshot`: stop registering the instances the site used before the restore, once checked and taken out of the state ([the steps](aws.md#restore-a-new-database-beside-the-current-one)); while they are still in the state, protected, a preview refuses to delete them"},
	}},
	{key: "cache", rows: []row{
		{fields: "version", text: "docker: `N.N` matching `images.cache`; aws: an ElastiCache Redis OSS engine " + orList(topology.RedisVersions, "`")},
		{fields: "sessionDb", rule: Range(0, 15), text: "the Redis logical database of the sessions"},
		{fields: "cachePrefix", text: "1-64 of letters, digits, `_ : . -`; neither it nor `sessionPrefix` may start with the other. Keys the MUC application cache (written into Moodle's cache configuration by the image's install/upgrade step). Moodle's Redis cache store cannot select a database, so prefixes keep a cache purge away from sessions"},
		{fields: "sessionPrefix", text: "1-64 letters, digits and `_ : . -`"},
		{fields: "tls", text: "docker: false (plain TCP on the internal network); aws: true (in-transit encryption, CKV_AWS_30)"},
		{fields: "cpus memoryMb reservedCpus reservedMemoryMb", text: "memory at least 64; on aws use `nodeType`"},
		{fields: "nodeType", text: "an ElastiCache node type `cache.<family>.<size>`"},
		{fields: "replicas", text: "2..6 nodes in the replication group (automatic failover needs two)"},
		{fields: "snapshotRetentionDays", rule: Range(1, 35), text: "days of snapshots, for both groups"},
		{fields: "muc.nodeType", text: "the node type of the MUC application cache's own replication group (`allkeys-lru`); the sessions' group (`nodeType`, `noeviction`) holds sessions only"},
		{fields: "muc.replicas", text: "2..6 nodes"},
		{fields: "muc.cpus muc.memoryMb muc.reservedCpus muc.reservedMemoryMb", text: "the limits of the MUC cache's own Redis container (`redis-muc`, `allkeys-lru`, maxmemory three quarters of `muc.memoryMb`, nothing on disk); the sessions' Redis (`redis`, `noeviction`, append-only) holds sessions only. Apart, a full cache evicts instead of refusing session writes"},
	}},
	{key: "storage", rows: []row{
		{fields: "kind", text: "docker: `volume` (a local named volume) or `nfs` (the seed's `nfs-moodledata` volume); aws: `efs` or `s3` (tool_objectfs, with EFS still serving the shared cache and temp dirs)"},
		{fields: "nfs.address", text: "required with `nfs`: the NFS server's host name or IP"},
		{fields: "nfs.device", text: "the export as `:/path`"},
		{fields: "nfs.options", text: "mount options without `addr=`; the volume's `o` option is `addr=<address>,<options>`"},
		{fields: "s3.sizeThresholdBytes", text: "0 or more: smaller files stay on EFS"},
		{fields: "s3.minimumAgeSeconds", text: "0 or more: files move to S3 after this age"},
		{fields: "s3.deleteLocal", text: "drop the EFS copy once the file is in S3"},
		{fields: "restoreFileSystemId", text: "an EFS file system id (`fs-` and 8 to 40 lower-case hexadecimal digits) that AWS Backup restored from the stack's recovery point. The program gives it mount targets in the app subnets, the TLS-only policy, automatic backups, an access point at `/moodledata` that every task mounts and one at `/` that only the cron runner mounts (at `/mnt/restored-efs`, to move the files out of AWS Backup's recovery directory once); the current file system and everything on it stay as they are, protected (see [Backups on AWS](aws.md#backups-on-aws)). `moodlectl restore --stack prod --from ID` sets it"},
		{fields: "retireOriginal", text: "with `restoreFileSystemId`: stop registering the file system the site used before the restore and what is attached to it, once checked and taken out of the state ([the steps](aws.md#restore-a-new-file-system-beside-the-current-one)); while it is still in the state, protected, a preview refuses to delete it"},
	}},
	{key: "cron", rows: []row{
		{fields: "intervalSeconds", rule: Range(60, 3600), text: "Moodle wants 60: the shortest time between the starts of two cron.php runs; runs never overlap, and one that outlasts it is followed at once"},
		// Moodle cuts a longer keep-alive to \core\cron::MAX_MAIN_PROCESS_KEEPALIVE,
		// 15 minutes (public/lib/classes/cron.php of moodle/moodle at 159259a3).
		{fields: "keepAliveSeconds", rule: Range(0, 900), text: "cron.php's `--keep-alive`, how long one run keeps checking for due tasks (Moodle's default; it cuts anything above 15 minutes)"},
		{fields: "cpus memoryMb", text: "limits; memory at least `app.php.memoryLimitMb`; a Fargate size on Fargate"},
		{fields: "reservedCpus reservedMemoryMb", text: "within the limits"},
		{fields: "adhoc.workers", text: "0..20: containers (docker: `adhoc-1..N`) or tasks of the ECS service `<name>-cron-adhoc` (aws), started once cron has installed or upgraded this release. `0` leaves the ad hoc tasks to cron.php, between its scheduled ones: a long backup then holds up every scheduled task"},
		{fields: "adhoc.concurrencyLimit", text: "`adhoc.workers`..20: Moodle's `task_adhoc_concurrency_limit`, forced in config.php while there are workers. Each worker holds one of these runner slots for its whole run, so with as many slots as workers cron.php finds none free and keeps to the scheduled tasks; each slot above that lets cron.php run ad hoc tasks too. Raise it with `adhoc.workers`"},
		{fields: "adhoc.keepAliveSeconds", text: "0..1800: adhoc_task.php's `--keep-alive`, how long a worker waits for new tasks before its runner starts a fresh PHP process (5 s later at the soonest); Moodle stops taking tasks after `task_adhoc_max_runtime`, 30 minutes by default"},
		{fields: "adhoc.cpus adhoc.memoryMb", text: "per worker, as for cron"},
		{fields: "adhoc.reservedCpus adhoc.reservedMemoryMb", text: "within the limits"},
	}},
	{key: "mail", rows: []row{
		{fields: "enabled", text: "`false` sets `$CFG->noemailever`: Moodle sends nothing at all (a throw-away site); nothing else in `mail` is then checked"},
		{fields: "host", text: "the relay's host name or IP address. docker: empty runs the mail catcher (below); aws: **required** — a site without mail cannot reset a password, so an aws stack without a relay is refused rather than left silently mute"},
		{fields: "port", text: "1..65535; `0` means 587 (`starttls`), 465 (`tls`), 25 (`none`). On aws the app and cron tasks may send to this port and no other SMTP port"},
		{fields: "tls", text: "`none` (`$CFG->smtpsecure = ''`), `starttls` (`'tls'`: STARTTLS on a plain connection), `tls` (`'ssl'`: TLS from the first byte). Moodle turns PHPMailer's opportunistic STARTTLS off, so `none` really is clear text"},
		{fields: "authType", text: "`LOGIN`, `PLAIN`, `NTLM` or `CRAM-MD5` (`$CFG->smtpauthtype`, Moodle's choices); `XOAUTH2` is refused: it needs an OAuth 2 issuer in Moodle's database. Used only with `user`"},
		{fields: "user", text: "the relay login (`$CFG->smtpuser`); empty means no AUTH. 1-255 printable characters without spaces or quotes. Needs a password (`moodle:mailPassword`, or on aws `passwordSecretArn`), and `tls` other than `none`: the password never crosses the network in clear text. Not with the catcher"},
		{fields: "ses", text: "`true` makes the Amazon SES sender (identity, DKIM records, SMTP user and credentials) and uses SES's endpoint in the stack's region as the relay; see below"},
		{fields: "passwordSecretArn", text: "an existing Secrets Manager secret whose whole value is the relay password (`arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME`); the execution roles may read it. Its KMS key must let them decrypt (the account's `aws/secretsmanager` key does). Not together with `moodle:mailPassword`"},
		{fields: "noReplyAddress", text: "an e-mail address (`$CFG->noreplyaddress`): the envelope sender, and the From of every message not sent from a user's own address. Empty keeps Moodle's default `noreply@<siteUrl host>`; docker sets one because `noreply@localhost` is no sender PHPMailer accepts"},
		{fields: "maxBulk", text: "1..1000 (`$CFG->smtpmaxbulk`, Moodle's default 1): messages sent over one SMTP session"},
		{fields: "fromVia", text: "`never`, `always` or `noReplyOnly` (`$CFG->emailfromvia` 0, 1, 2, Moodle's default 1): whether the From name reads \"Name (via site)\""},
		{fields: "catcher.webPort", text: "docker without `host`: the host port of the catcher's web page, published on 127.0.0.1 only; 1..65535 and not `docker.httpPort`"},
		{fields: "catcher.cpus catcher.memoryMb catcher.reservedCpus catcher.reservedMemoryMb", text: "the catcher container's limits (memory at least 16)"},
	}},
	{key: "images", rows: []row{
		{fields: "app", text: "`moodle-cluster/app:<moodle.version>` unless set; used by php-fpm, cron and (unless `web` is set) nginx. With `codeSource: build` on docker it is the tag given to the built image; on aws the program names the image it pushes (`<account>.dkr.ecr.<region>.amazonaws.com/<project>-<stack>-moodle-app-image:<content tag>`) and refuses an `app` of the stack's own; with `image`, the prebuilt image to run"},
		{fields: "web", text: "used by nginx; the app image unless set"},
		{fields: "database", text: "used by PostgreSQL; unless set, the image pinned for `database.version`: " + databaseImages()},
		{fields: "cache", text: "used by Redis"},
		{fields: "pgbouncer", text: "used by PgBouncer (with `database.pooler: pgbouncer`)"},
		{fields: "mailCatcher", text: "used by the mail catcher (docker without `mail.host`); any image keeping Mailpit's contract: SMTP on 1025, web page and `/api/v1/messages` on 8025, `/mailpit readyz` as its health check"},
	}},
	{key: "backup", rows: []row{
		{fields: "enabled", text: "`false` creates no plan (the vault and the role stay: `moodlectl backup` uses them)"},
		{fields: "schedule", text: "an AWS cron expression in UTC: `cron(minutes hours day-of-month month day-of-week year)`, six fields, one of the two day fields `?` (EventBridge's cron syntax); at most hourly (the minutes one number), since AWS Backup refuses jobs less than 60 minutes apart. The default is AWS Backup's own, after the database's backup (02:00-03:00) and maintenance (Sunday 03:30-04:30) windows"},
		{fields: "retentionDays", text: "7..36500: days each recovery point is kept; at least a week, as every backup of the database (CKV_AWS_133)"},
	}},
	{key: "docker", rows: []row{
		{fields: "httpPort", rule: Range(1, 65535), text: "the one host port published, by the load balancer"},
		{fields: "bindAddress", text: "an IP address. The dev stack answers on this host only; `0.0.0.0` publishes it on every interface (put TLS in front before doing that)"},
	}},
	{key: "aws", rows: []row{
		{fields: "azCount", text: "2 or 3 (Multi-AZ RDS, ElastiCache failover and the ALB need two)"},
		{fields: "natGateways", rule: OneOf(topology.NATPerAZ, topology.NATSingle), text: "`single` is cheaper, but its one zone's NAT is a single point of failure"},
		{fields: "vpcCidr", text: "an IPv4 CIDR /16../20 for a new VPC"},
		{fields: "vpcId", text: "an existing VPC (`vpc-...`); it then needs the subnet ids below"},
		{fields: "publicSubnetIds privateSubnetIds dataSubnetIds", text: "with `vpcId`: at least `azCount` `subnet-...` ids each, the private ones in `vpcId` and each in a zone of its own (EFS takes one mount target per zone; looked up before anything is created); without `vpcId`: none"},
		{fields: "certificateArn", text: "an ACM certificate ARN `arn:aws:acm:REGION:ACCOUNT:certificate/ID`; required unless `allowPlainHttp`"},
		{fields: "allowPlainHttp", text: "a test site without a certificate (http only)"},
		{fields: "waf", text: "WAFv2 web ACL with AWS managed rules on the ALB"},
		{fields: "alarmEmail", text: "an e-mail address subscribed to the alarm topic (none when empty)"},
		{fields: "logRetentionDays", text: "a CloudWatch retention of 30 days or more: 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653"},
		{fields: "protect", text: "data resources protected from `pulumi destroy` and replacement, and the services' deletion protection; `false` for throw-away stacks"},
		{fields: "ec2InstanceType", text: "an EC2 instance type (with `app.launchType: ec2`); a Graviton type (`m7g.xlarge`) exactly when `app.cpuArchitecture` is `arm64`"},
		{fields: "ecsExec", text: "ECS Exec into the app and cron tasks (`aws ecs execute-command`): root filesystems stay read-only, the SSM agent writes to two task volumes, every session is encrypted with the data key and logged to a log group of the stack's retention"},
		{fields: "vpcEndpoints", text: "interface endpoints (ECR API and registry, Secrets Manager, Logs; ECS Exec's `ssmmessages`, and with `ec2` the ECS agent's and Session Manager's, `ssm` among them) in the private subnets of a created VPC, so the tasks reach those APIs without the NAT gateways; not with `vpcId`"},
		{fields: "hostedZoneId", text: "a Route 53 hosted zone id (`Z...`): an alias A record for the `siteUrl` host name pointing at the ALB (or the CloudFront distribution)"},
		{fields: "cloudFront.enabled", text: "a CloudFront distribution in front of the ALB (cache, its own web ACL); needs `certificateArn` for the ALB as well"},
		{fields: "cloudFront.certificateArn", text: "with `cloudFront.enabled`: an ACM certificate ARN in `us-east-1` for the site's host name"},
		{fields: "cloudFront.originReadTimeout", text: "seconds, 1..180: how long CloudFront waits for the ALB; above 60 only after AWS raised the account's quota. Requests longer than this end in a 504 from CloudFront"},
		{fields: "maintenance.enabled", text: "the site closed to its users: the load balancer answers every request with `maintenance.message` and a 503 (a listener rule at priority 1, before every other), and the ad hoc task workers' service runs 0 tasks; the cron service runs on. `moodlectl upgrade --stack prod` sets it around the backup and the upgrade and clears it when the site is back ([docs/aws.md](aws.md#upgrades-one-release-at-a-time))"},
		{fields: "maintenance.message", text: "at most 1024 bytes (the ALB's fixed-response body limit), served as `text/html`"},
	}}}

// databaseImages lists the image pinned for each PostgreSQL version.
func databaseImages() string {
	images := make([]string, len(postgresVersions))
	for i, v := range postgresVersions {
		images[i] = v + ": `" + topology.DatabaseImage(v) + "`"
	}
	return strings.Join(images, ", ")
}

// orList writes items as prose, "a, b or c", each between quote (a backtick, a
// backtick and a double quote, or nothing) and its reverse.
func orList(items []string, quote string) string {
	end := []rune(quote)
	for i, j := 0, len(end)-1; i < j; i, j = i+1, j-1 {
		end[i], end[j] = end[j], end[i]
	}
	q := make([]string, len(items))
	for i, item := range items {
		q[i] = quote + item + string(end)
	}
	if len(q) < 2 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// releaseLines are the Moodle release lines the project deploys, oldest first.
func releaseLines() []string {
	var out []string
	for _, r := range topology.Releases() {
		out = append(out, r.Version)
	}
	return out
}

// releasePostgres names the PostgreSQL each release needs: "4.5: 13, 5.1: 15".
func releasePostgres() string {
	var out []string
	for _, r := range topology.Releases() {
		out = append(out, fmt.Sprintf("%s: %d", r.Version, r.PostgresMin))
	}
	return strings.Join(out, ", ")
}
