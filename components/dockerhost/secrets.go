package dockerhost

import (
	"fmt"
	"path"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/render"
)

// secretsDir is where secret files are uploaded in every container. The files are
// world-readable inside their container (uploads are owned by root, and the service
// drops to its own user), which is the container's own boundary: nothing else mounts
// them.
const secretsDir = "/run/secrets"

// secrets are the generated credentials of one cluster.
type secrets struct {
	database, redis, admin, upgradeKey *random.RandomPassword
	// mail is the relay password the operator set (moodle:mailPassword), nil
	// when the relay takes no login.
	mail pulumi.StringInput
}

// newSecrets generates the cluster's passwords. Database, Redis and upgrade key are
// alphanumeric (32 characters, about 190 bits): they are written into pgbouncer's
// userlist and redis.conf, where quoting rules differ, and alphanumerics need none.
// The admin password must pass Moodle's default password policy (upper, lower, digit
// and a non-alphanumeric character), so it draws from a small special set.
func newSecrets(ctx *pulumi.Context, name string, opts ...pulumi.ResourceOption) (secrets, error) {
	alnum := &random.RandomPasswordArgs{Length: pulumi.Int(32), Special: pulumi.Bool(false)}
	var s secrets
	var err error
	if s.database, err = random.NewRandomPassword(ctx, name+"-db-password", alnum, opts...); err != nil {
		return s, fmt.Errorf("database password: %w", err)
	}
	if s.redis, err = random.NewRandomPassword(ctx, name+"-redis-password", alnum, opts...); err != nil {
		return s, fmt.Errorf("redis password: %w", err)
	}
	if s.upgradeKey, err = random.NewRandomPassword(ctx, name+"-upgrade-key", alnum, opts...); err != nil {
		return s, fmt.Errorf("upgrade key: %w", err)
	}
	if s.admin, err = random.NewRandomPassword(ctx, name+"-admin-password", &random.RandomPasswordArgs{
		Length:          pulumi.Int(24),
		MinUpper:        pulumi.Int(1),
		MinLower:        pulumi.Int(1),
		MinNumeric:      pulumi.Int(1),
		MinSpecial:      pulumi.Int(1),
		OverrideSpecial: pulumi.String("-_.+!"),
	}, opts...); err != nil {
		return s, fmt.Errorf("admin password: %w", err)
	}
	return s, nil
}

// secretFile is one secret as a container sees it: an environment variable naming
// the file (VAR_FILE=/run/secrets/...) and the upload that writes it.
type secretFile struct {
	env    string
	upload docker.ContainerUploadArgs
}

// fileSecret delivers value as the file envVar+"_FILE" names, the convention
// config.php, the install script and the official images (POSTGRES_PASSWORD_FILE)
// read.
func fileSecret(envVar, file string, value pulumi.StringOutput) secretFile {
	p := path.Join(secretsDir, file)
	return secretFile{
		env:    envVar + "_FILE=" + p,
		upload: upload(p, pulumi.ToSecret(value).(pulumi.StringOutput), "0444"),
	}
}

// moodleSecrets are the files config.php reads on every node.
func (s secrets) moodleSecrets() []secretFile {
	files := []secretFile{
		fileSecret(render.EnvDBPassword, "db-password", s.database.Result),
		fileSecret(render.EnvRedisPassword, "redis-password", s.redis.Result),
		fileSecret(render.EnvUpgradeKey, "upgrade-key", s.upgradeKey.Result),
	}
	if s.mail != nil {
		files = append(files, fileSecret(render.EnvSMTPPassword, "smtp-password", s.mail.ToStringOutput()))
	}
	return files
}

// script writes an executable file into the container before it starts.
func script(file, content string) docker.ContainerUploadArgs {
	return docker.ContainerUploadArgs{
		File:        pulumi.String(file),
		Content:     pulumi.String(content),
		Executable:  pulumi.Bool(true),
		Permissions: pulumi.String("0555"),
	}
}

// upload writes content to file in the container before it starts.
func upload(file string, content pulumi.StringInput, permissions string) docker.ContainerUploadArgs {
	return docker.ContainerUploadArgs{
		File:        pulumi.String(file),
		Content:     content,
		Permissions: pulumi.String(permissions),
	}
}
