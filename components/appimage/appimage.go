// Package appimage is the contract of the app image, docker/Dockerfile and the scripts
// beside it: where the image keeps its code, scripts and configuration, who runs
// them, and the build arguments and environment variables they read. Every other
// package names these through this one, and image_test.go reads the Dockerfile and
// the scripts against it, so the image and the program cannot drift apart.
//
// The package imports nothing of this project: the model (components/topology)
// builds its defaults from it.
package appimage

// The account every Moodle process runs as: www-data of the Debian-based official
// php image, whose uid and gid Debian fixes at 33 (base-passwd). moodledata belongs
// to it and is not world-readable, so every container that reads it (php-fpm,
// cron, the nginx workers of the load balancer) and the EFS access point use it.
const (
	User = "www-data"
	UID  = 33
	GID  = 33
)

// FPMPort is where php-fpm listens (EXPOSE in the Dockerfile; the health check's
// default FPM_LISTEN).
const FPMPort = 9000

// Default paths, the Dockerfile's ARG defaults. Moodle requires the same dirroot on
// every node; the program builds with these (BuildArgs) and renders config.php
// for them.
const (
	DefaultCodeDir       = "/var/www/moodle"
	DefaultDataRoot      = "/var/www/moodledata"
	DefaultLocalCacheDir = "/var/cache/moodle"
)

// Scripts of the image.
const (
	// Entrypoint refuses to start php-fpm or the cron runner without the rendered
	// config.php, and on a stack whose config.php needs the database CA bundle
	// without it.
	Entrypoint = "/usr/local/bin/moodle-entrypoint"
	// InstallHook installs an empty database or upgrades an outdated one; the cron
	// runner calls it once before its loop.
	InstallHook = "/usr/local/bin/moodle-install-upgrade"
	// Healthcheck checks a role: "fpm [PATH]", "nginx URL", "cron" or "adhoc".
	Healthcheck = "/usr/local/bin/moodle-healthcheck"
	// LibDir holds the PHP helpers of the install hook.
	LibDir = "/usr/local/lib/moodle"
	// InstallOKMarker is written by InstallHook once it has succeeded; the cron
	// health check passes only after that.
	InstallOKMarker = "/tmp/moodle-install-upgrade.ok"
	// CronRunner is where the Docker host puts the rendered cron runner: the entry
	// point and the cron health check recognise the runner by this path.
	CronRunner = "/usr/local/bin/moodle-cron"
	// AdhocWorker is where the Docker host puts the rendered ad hoc task worker; the
	// entry point and the adhoc health check recognise it by this path.
	AdhocWorker = "/usr/local/bin/moodle-adhoc"
)

// Configuration the stack puts into the image's containers.
const (
	// ConfigPHP is where the rendered config.php is mounted. The image's
	// dirroot/config.php only requires it, so the code directory can stay read-only
	// and identical on every node.
	ConfigPHP = "/etc/moodle/config.php"
	// PHPConfDir is the official php image's ini scan directory ($PHP_INI_DIR/conf.d).
	PHPConfDir = "/usr/local/etc/php/conf.d"
	// FPMConfDir holds the image's global php-fpm settings (FPMGlobalConf); php-fpm
	// reads every *.conf in it, so the stack adds its pool beside them.
	FPMConfDir    = "/usr/local/etc/php-fpm.d"
	FPMGlobalConf = FPMConfDir + "/00-global.conf"
	// NginxConfDir is included by the image's nginx.conf and empty in the image.
	NginxConfDir = "/etc/nginx/conf.d"
	// NginxMailbox is the folder, owned by User, through which the Docker host's load
	// balancer receives its site configuration.
	NginxMailbox = "/etc/nginx/moodle"
)

// CA bundles in the image.
const (
	// SystemCABundle is Debian's trust store (package ca-certificates).
	SystemCABundle = "/etc/ssl/certs/ca-certificates.crt"
	// DatabaseCABundle holds the Amazon RDS CAs (the RDS global bundle) and Amazon's
	// public roots (Amazon Root CA 1 to 4, for RDS Proxy). It exists only in an image
	// built with ArgDatabaseCASHA256 (docker/install-database-ca).
	DatabaseCABundle = "/usr/local/share/moodle/database-ca.pem"
	// DatabaseCAURL is where the build fetches the RDS global bundle.
	DatabaseCAURL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
)

// Build arguments of docker/Dockerfile.
const (
	// ArgPHPImage is the base image, ArgMoodleCode where the code comes from
	// (release or the build context's moodle/), ArgMoodleSHA256 the release
	// archive's checksum: a site sets them in moodle:moodle.build.args.
	ArgPHPImage     = "PHP_IMAGE"
	ArgMoodleCode   = "MOODLE_CODE"
	ArgMoodleSHA256 = "MOODLE_SHA256"
	// The program sets these from the Spec (topology.Spec.BuildArgs).
	ArgMoodleVersion = "MOODLE_VERSION"
	// ArgMoodleBranch is the release's version.php $branch, which the built code
	// must declare; ArgWebRoot where the release keeps its web root, lib/ and
	// admin/cli/ (the code root, or its public/ folder).
	ArgMoodleBranch  = "MOODLE_BRANCH"
	ArgWebRoot       = "MOODLE_WEBROOT"
	ArgDirroot       = "MOODLE_DIRROOT"
	ArgDataRoot      = "MOODLE_DATAROOT"
	ArgLocalCacheDir = "MOODLE_LOCALCACHEDIR"
	// ArgPlugins lists the plugins baked into the code (PluginsArg).
	ArgPlugins = "MOODLE_PLUGINS"
	// ArgDatabaseCASHA256 pins the RDS bundle fetched from ArgDatabaseCAURL (default
	// DatabaseCAURL); without it the image has no DatabaseCABundle.
	ArgDatabaseCASHA256 = "DATABASE_CA_SHA256"
	ArgDatabaseCAURL    = "DATABASE_CA_URL"
)

// Labels of the image: what it was built with, for whoever inspects it.
const (
	LabelPlugins    = "org.moodle-cluster.plugins"
	LabelDatabaseCA = "org.moodle-cluster.database-ca-sha256"
)

// Environment variables the image's scripts read.
const (
	// EnvDirroot and EnvDataRoot locate the code and moodledata (the paths the image
	// was built with, which the stack passes on).
	EnvDirroot  = "MOODLE_DIRROOT"
	EnvDataRoot = "MOODLE_DATAROOT"
	// EnvWebRoot is the release's web root (ArgWebRoot) and EnvBranch its branch
	// (ArgMoodleBranch): the scripts find admin/cli/ there, and check the code.
	EnvWebRoot = "MOODLE_WEBROOT"
	EnvBranch  = "MOODLE_BRANCH"
	// EnvImageRevision names the image the cron runner runs (its id, or its
	// reference where no id is known): a new one purges Moodle's caches once.
	EnvImageRevision = "MOODLE_IMAGE_REVISION"
	// EnvRestoredRoot is where the cron task mounts the root of a file system AWS
	// Backup restored (aws, storage.restoreFileSystemId): the install hook moves
	// the site's files out of the restore's recovery directory under it first
	// (docker/move-restored-moodledata). Unset everywhere else.
	EnvRestoredRoot = "MOODLE_RESTORED_ROOT"
	// RestoredRootMount is that mount's path in the cron container.
	RestoredRootMount = "/mnt/restored-efs"
	// The installer's environment: the admin account and the site's names
	// (docker/install-database.php).
	EnvAdminUser     = "MOODLE_ADMIN_USER"
	EnvAdminEmail    = "MOODLE_ADMIN_EMAIL"
	EnvSiteFullName  = "MOODLE_SITE_FULLNAME"
	EnvSiteShortName = "MOODLE_SITE_SHORTNAME"
	EnvAdminPassword = "MOODLE_ADMIN_PASSWORD"
	// EnvLang is the language of the install (default en).
	EnvLang = "MOODLE_LANG"
	// EnvFPMListen is where the fpm health check reaches php-fpm (default
	// 127.0.0.1:FPMPort).
	EnvFPMListen = "FPM_LISTEN"
	// FileSuffix turns a variable name into the name of the variable that holds the
	// path of a file with the value: MOODLE_ADMIN_PASSWORD_FILE. The image's scripts
	// and the rendered config.php read secrets this way.
	FileSuffix = "_FILE"
)
