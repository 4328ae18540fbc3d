package awscloud

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// passwordSpecials are the punctuation both RDS master passwords and ElastiCache
// AUTH tokens accept.
const passwordSpecials = "!#$^<>-"

// generatedSecret is a random password kept in Secrets Manager as a JSON object
// {"password": ...} (plus "username" for a database login, the shape RDS Proxy
// reads). ECS containers receive it through `secrets` with ValueFrom, so the value
// never appears in a task definition.
type generatedSecret struct {
	Password *random.RandomPassword
	Secret   *secretsmanager.Secret
}

// ValueFrom is the ECS `secrets` reference to the password inside the JSON.
func (g generatedSecret) ValueFrom() pulumi.StringOutput {
	return pulumi.Sprintf("%s:password::", g.Secret.Arn)
}

// newGeneratedSecret creates the password and its secret. username is empty for a
// secret that is not a login.
func newGeneratedSecret(ctx *pulumi.Context, name, username string, length int, kmsKeyARN pulumi.StringInput, protect bool, opts ...pulumi.ResourceOption) (generatedSecret, error) {
	password, err := random.NewRandomPassword(ctx, name, &random.RandomPasswordArgs{
		Length:          pulumi.Int(length),
		Special:         pulumi.Bool(true),
		OverrideSpecial: pulumi.String(passwordSpecials),
		MinSpecial:      pulumi.Int(1),
		MinUpper:        pulumi.Int(1),
		MinLower:        pulumi.Int(1),
		MinNumeric:      pulumi.Int(1),
	}, opts...)
	if err != nil {
		return generatedSecret{}, err
	}
	secret, err := secretsmanager.NewSecret(ctx, name, &secretsmanager.SecretArgs{
		Description: pulumi.String("moodle " + name),
		KmsKeyId:    kmsKeyARN,
		Tags:        tags(name),
	}, dataOptions(protect, opts...)...)
	if err != nil {
		return generatedSecret{}, err
	}
	value := pulumi.ToSecret(password.Result.ApplyT(func(p string) (string, error) {
		doc := map[string]string{"password": p}
		if username != "" {
			doc["username"] = username
		}
		b, err := json.Marshal(doc)
		if err != nil {
			return "", fmt.Errorf("secret %s: %w", name, err)
		}
		return string(b), nil
	})).(pulumi.StringOutput)
	if _, err := secretsmanager.NewSecretVersion(ctx, name, &secretsmanager.SecretVersionArgs{
		SecretId:     secret.ID(),
		SecretString: value,
	}, dataOptions(protect, opts...)...); err != nil {
		return generatedSecret{}, err
	}
	return generatedSecret{Password: password, Secret: secret}, nil
}

// mailSecret is the ECS secret config.php reads the relay password from
// (render.EnvSMTPPassword): an existing Secrets Manager secret the stack names
// (mail.passwordSecretArn, its whole value the password), or one the stack keeps
// the Pulumi secret moodle:mailPassword in, encrypted with the data key. nil when
// the relay takes no login.
func mailSecret(ctx *pulumi.Context, name string, m topology.Mail, password pulumi.StringInput, kmsKeyARN pulumi.StringInput, protect bool, opts ...pulumi.ResourceOption) (*TaskSecret, error) {
	switch {
	case !m.Enabled || m.User == "":
		if password != nil {
			return nil, fmt.Errorf("%s: a relay password without mail.user", name)
		}
		return nil, nil
	case m.PasswordSecretARN != "":
		if password != nil {
			return nil, fmt.Errorf("%s: both mail.passwordSecretArn and a relay password", name)
		}
		arn := pulumi.String(m.PasswordSecretARN)
		return &TaskSecret{Name: render.EnvSMTPPassword, ValueFrom: arn, SecretARN: arn}, nil
	case password == nil:
		return nil, fmt.Errorf("%s: mail.user %q has no password", name, m.User)
	}
	secret, err := secretsmanager.NewSecret(ctx, name, &secretsmanager.SecretArgs{
		Description: pulumi.String("moodle " + name + ": the SMTP relay password of mail.user"),
		KmsKeyId:    kmsKeyARN,
		Tags:        tags(name),
	}, dataOptions(protect, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	if _, err := secretsmanager.NewSecretVersion(ctx, name, &secretsmanager.SecretVersionArgs{
		SecretId:     secret.ID(),
		SecretString: pulumi.ToSecret(password).(pulumi.StringOutput),
	}, dataOptions(protect, opts...)...); err != nil {
		return nil, fmt.Errorf("secret version %s: %w", name, err)
	}
	return &TaskSecret{Name: render.EnvSMTPPassword, ValueFrom: secret.Arn, SecretARN: secret.Arn}, nil
}
