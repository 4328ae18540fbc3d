package render

import "github.com/moodle-cluster/moodle-pulumi/components/topology"

type configData struct {
	ConfigPath, FileSuffix string

	DB         HostPort
	DatabaseCA string
	// PGSSLRootCert is the environment entry that names DatabaseCA to libpq.
	PGSSLRootCert          string
	DBName, DBUser         string
	Pooler                 bool
	PoolerName             string
	TransactionPool        bool
	RecordLocks, RDSProxy  bool
	Replicas               []HostPort
	WWWRoot                string
	HTTPS                  bool
	DataRoot, CacheDir     string
	TempDir, BackupTempDir string
	LocalCacheDir          string
	AdhocWorkers           int
	AdhocConcurrencyLimit  int

	Redis, MUC              HostPort
	SessionDB               int
	SessionPrefix           string
	TablePrefix             string
	CachePrefix             string
	LockExpire              int
	AcquireLockTimeout      int
	RedisTLS                bool
	CacheCA                 string
	S3                      bool
	S3Storage               topology.S3Storage
	PresignedURLSeconds     int
	PresignedTypes          string
	DataRootAlias, SetupPHP string

	Mail mailData

	EnvDBPassword, EnvRedisPassword, EnvUpgradeKey string
	EnvS3Bucket, EnvS3Region                       string
}

func configPHP(s topology.Spec, e Endpoints) string {
	db := s.Database
	transaction := db.Pooler == topology.PoolerPgBouncer && db.PoolMode == topology.PoolModeTransaction
	return execute("config.php.tmpl", configData{
		ConfigPath:            ConfigPHPPath,
		FileSuffix:            FileSuffix,
		DB:                    e.Database,
		DatabaseCA:            s.Paths.DatabaseCA,
		PGSSLRootCert:         "PGSSLROOTCERT=" + s.Paths.DatabaseCA,
		DBName:                db.Name,
		DBUser:                db.User,
		Pooler:                db.Pooler == topology.PoolerPgBouncer || db.Pooler == topology.PoolerRDSProxy,
		PoolerName:            poolerName(db.Pooler),
		TransactionPool:       transaction,
		RecordLocks:           transaction,
		RDSProxy:              db.Pooler == topology.PoolerRDSProxy,
		Replicas:              e.ReadReplicas,
		WWWRoot:               s.SiteURL,
		HTTPS:                 s.HTTPS(),
		DataRoot:              s.Paths.DataRoot,
		CacheDir:              s.Paths.CacheDir(),
		TempDir:               s.Paths.TempDir(),
		BackupTempDir:         s.Paths.BackupTempDir(),
		LocalCacheDir:         s.Paths.LocalCacheDir,
		AdhocWorkers:          s.Cron.Adhoc.Workers,
		AdhocConcurrencyLimit: s.Cron.Adhoc.ConcurrencyLimit,
		Redis:                 e.Redis,
		MUC:                   mucEndpoint(e),
		SessionDB:             s.Cache.SessionDB,
		SessionPrefix:         s.Cache.SessionPrefix,
		TablePrefix:           topology.TablePrefix,
		CachePrefix:           s.Cache.CachePrefix,
		LockExpire:            s.Web.FastCGIReadTimeout,
		AcquireLockTimeout:    acquireLockTimeout(s.Web.FastCGIReadTimeout),
		RedisTLS:              s.Cache.TLS,
		CacheCA:               s.Paths.CacheCA,
		S3:                    s.Storage.Kind == topology.StorageS3,
		S3Storage:             s.Storage.S3,
		PresignedURLSeconds:   presignedURLSeconds,
		PresignedTypes:        presignedTypes,
		DataRootAlias:         DataRootAlias,
		SetupPHP:              MoodleFile(s, "lib/setup.php"),
		Mail:                  mailSettings(s, e),
		EnvDBPassword:         EnvDBPassword,
		EnvRedisPassword:      EnvRedisPassword,
		EnvUpgradeKey:         EnvUpgradeKey,
		EnvS3Bucket:           EnvS3Bucket,
		EnvS3Region:           EnvS3Region,
	})
}

// acquireLockTimeout is how long a request waits for its session's lock before
// Moodle gives up with its "sessioncannotobtainlock" error: Moodle's default, 120 s,
// unless php-fpm would kill the waiting request first (request_terminate_timeout is
// the fastcgi_read_timeout). Moodle's handler gives up only once more than the
// timeout's whole seconds have passed and polls about once a second after the
// first five (public/lib/classes/session/redis.php at 838ec452, lines 853-888), so
// the timeout stays 5 s short of the request's.
func acquireLockTimeout(requestTimeout int) int { return min(120, requestTimeout-5) }

// mucEndpoint is where the MUC application cache lives: its own Redis when the
// target gives it one, else the sessions' server.
func mucEndpoint(e Endpoints) HostPort {
	if e.MUC.Host == "" {
		return e.Redis
	}
	return e.MUC
}

// MoodleFile is the absolute path of a file of the Moodle code under its web root:
// from Moodle 5.1 all of it (lib/, admin/cli/, plugins) lives under public/, and
// only config.php, composer.json and vendor/ stay in the code root.
func MoodleFile(s topology.Spec, rel string) string { return s.WebRoot() + "/" + rel }

// tool_objectfs's presigned URLs: how long one is valid when Moodle sends no
// Expires header (an hour; S3 honours a URL signed with the task role's temporary
// credentials only while those are valid anyway), and the file types that are
// redirected (its signingwhitelist, in Moodle's file type syntax).
const (
	presignedURLSeconds = 3600
	presignedTypes      = ".pdf .doc .docx .odt .rtf .xls .xlsx .ods .csv .ppt .pptx .odp " +
		".zip .7z .gz .tgz .mbz .h5p .mp4 .m4v .webm .mov .mkv .mp3 .m4a .ogg .oga .wav .flac " +
		".jpg .jpeg .png .gif .webp"
)

// poolerName names the pooler in config.php's comments; it is only asked when
// there is one.
func poolerName(p string) string {
	if p == topology.PoolerRDSProxy {
		return "RDS Proxy"
	}
	return "PgBouncer"
}
