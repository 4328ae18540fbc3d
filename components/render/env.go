package render

import "github.com/moodle-cluster/moodle-pulumi/components/appimage"

// Environment variables the rendered files read at run time. Components set them on
// the app, web and cron containers; a secret may instead be mounted as a file whose
// path is in NAME + FileSuffix (Docker secrets, ECS secrets written to a tmpfs).
// No renderer takes a secret value: secrets never enter a rendered file.
const (
	// EnvDBPassword is the PostgreSQL (or pooler) password of Spec.Database.User.
	EnvDBPassword = "MOODLE_DB_PASSWORD"
	// EnvRedisPassword is the Redis AUTH password (ElastiCache AUTH token).
	EnvRedisPassword = "MOODLE_REDIS_PASSWORD"
	// EnvSMTPPassword is $CFG->smtppass, the relay password of Spec.Mail.User
	// (moodle:mailPassword, or on aws the Secrets Manager secret it is kept in).
	EnvSMTPPassword = "MOODLE_SMTP_PASSWORD"
	// EnvSMTPUser is $CFG->smtpuser when the stack makes the relay login itself
	// (aws mail.ses: the access key id of an IAM user, known only once the key
	// exists, delivered from the same secret as the password).
	EnvSMTPUser = "MOODLE_SMTP_USER"
	// EnvUpgradeKey is $CFG->upgradekey, asked for by the web upgrade pages.
	EnvUpgradeKey = "MOODLE_UPGRADE_KEY"
	// EnvAdminPassword is used once, by the image's install hook, for the admin
	// account; the components deliver it beside the secrets above.
	EnvAdminPassword = appimage.EnvAdminPassword

	// EnvS3Bucket and EnvS3Region name the tool_objectfs bucket. They are provider
	// outputs, known only after the bucket exists, so config.php reads them at run
	// time instead of baking them into the rendered text.
	EnvS3Bucket = "MOODLE_S3_BUCKET"
	EnvS3Region = "MOODLE_S3_REGION"

	// FileSuffix turns a variable name into the name of the variable that holds
	// the path of a file with the value: MOODLE_DB_PASSWORD_FILE. The image's
	// scripts follow the same convention.
	FileSuffix = appimage.FileSuffix

	// EnvPHPBin and EnvInstallHook override the PHP binary and the install hook
	// the cron runner calls, so a loopback test can substitute both.
	EnvPHPBin      = "PHP_BIN"
	EnvInstallHook = "MOODLE_INSTALL_HOOK"
)

// ConfigPHPPath is where ConfigPHP's output is mounted in the app image
// (appimage.ConfigPHP).
const ConfigPHPPath = appimage.ConfigPHP

// Paths nginx and php-fpm agree on: php-fpm answers these itself, nginx routes
// them to it and restricts who may ask.
const (
	FPMStatusPath   = "/fpm-status"
	FPMPingPath     = "/fpm-ping"
	FPMPingResponse = "pong"
	// NginxStatusPath serves stub_status.
	NginxStatusPath = "/nginx_status"
	// HealthPath is answered by nginx alone: the liveness of the web tier.
	HealthPath = "/healthz"
	// DataRootAlias is the internal location X-Accel-Redirect points into.
	DataRootAlias = "/dataroot/"
)
