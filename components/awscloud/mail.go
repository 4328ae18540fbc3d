package awscloud

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sesv2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/render"
)

// sesDKIMRecords is how many CNAME records Easy DKIM asks for: "Amazon SES
// generates a public-private key pair ... and provides three CNAME records"
// (SES Developer Guide, "Easy DKIM in Amazon SES"), one per token of the
// identity's DkimAttributes.Tokens.
const sesDKIMRecords = 3

// sesDKIMTTL is the records' TTL, the one SES's console proposes; a rotated key
// reaches the resolvers within half an hour.
const sesDKIMTTL = 1800

// sesSMTPHost is the SES SMTP endpoint of a region ("Connecting to an Amazon SES
// SMTP endpoint", SES Developer Guide: email-smtp.<region>.amazonaws.com).
func sesSMTPHost(region string) string {
	return "email-smtp." + region + ".amazonaws.com"
}

// MailArgs configure the stack's Amazon SES sender (mail.ses).
type MailArgs struct {
	// Domain is the domain the identity verifies (topology.Spec.SESDomain).
	Domain string
	// HostedZoneID, when set, is the Route 53 zone of Domain, which gets the
	// DKIM records.
	HostedZoneID string
	// KMSKeyARN encrypts the secret the SMTP credentials are kept in.
	KMSKeyARN pulumi.StringInput
}

// Mail is Amazon SES sending for the site: the domain identity of Domain with
// Easy DKIM (its records in HostedZoneID when one is given), an IAM user whose only permission is ses:SendRawEmail on that
// identity, and its SMTP credentials in a Secrets Manager secret.
type Mail struct {
	pulumi.ResourceState

	// IdentityARN is the SES identity the user may send as.
	IdentityARN pulumi.StringOutput `pulumi:"identityArn"`
	// DKIMTokens name the CNAME records <token>._domainkey.<domain> to publish
	// where the domain's zone is not the stack's.
	DKIMTokens pulumi.StringArrayOutput `pulumi:"dkimTokens"`
	// Secrets deliver the login (render.EnvSMTPUser) and the password
	// (render.EnvSMTPPassword) to the tasks.
	Secrets []TaskSecret
}

// NewMail creates the identity, its DKIM records, the sending user and the
// secret of its SMTP credentials.
func NewMail(ctx *pulumi.Context, name string, args *MailArgs, opts ...pulumi.ResourceOption) (*Mail, error) {
	m := &Mail{}
	if err := ctx.RegisterComponentResource(TypeMail, name, m, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(m)
	domain := args.Domain

	// A domain identity: SES then accepts any address of the domain as a sender
	// once the domain is verified, which Easy DKIM's records do ("Verifying a
	// DKIM domain identity with your DNS provider"). Easy DKIM is what
	// CreateEmailIdentity sets up when no signing attributes are given.
	identity, err := sesv2.NewEmailIdentity(ctx, name, &sesv2.EmailIdentityArgs{
		EmailIdentity: pulumi.String(domain),
		Tags:          tags(name),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("ses identity %s: %w", domain, err)
	}
	tokens := identity.DkimSigningAttributes.Tokens()
	if zone := args.HostedZoneID; zone != "" {
		for i := range sesDKIMRecords {
			token := tokens.Index(pulumi.Int(i))
			recordName := fmt.Sprintf("%s-dkim-%d", name, i+1)
			if _, err := route53.NewRecord(ctx, recordName, &route53.RecordArgs{
				ZoneId:  pulumi.String(zone),
				Name:    pulumi.Sprintf("%s._domainkey.%s", token, domain),
				Type:    pulumi.String(string(route53.RecordTypeCNAME)),
				Ttl:     pulumi.Int(sesDKIMTTL),
				Records: pulumi.StringArray{pulumi.Sprintf("%s.dkim.amazonses.com", token)},
			}, parent); err != nil {
				return nil, fmt.Errorf("dkim record %s: %w", recordName, err)
			}
		}
	}

	// SMTP credentials are an IAM user's access key: the user name is the key
	// id, the password the secret key turned into an SES SMTP password with
	// SigV4 ("Obtaining Amazon SES SMTP credentials", SES Developer Guide), which
	// the provider computes as the key's ses_smtp_password_v4 for its region
	// (terraform-provider-aws internal/service/iam/access_key.go,
	// sesSMTPPasswordFromSecretKeySigV4). The guide's policy for such a user
	// allows ses:SendRawEmail, what the SMTP interface checks; here only on the
	// site's identity.
	user, err := iam.NewUser(ctx, name+"-smtp", &iam.UserArgs{Tags: tags(name + "-smtp")}, parent)
	if err != nil {
		return nil, fmt.Errorf("ses smtp user: %w", err)
	}
	if _, err := iam.NewUserPolicy(ctx, name+"-smtp", &iam.UserPolicyArgs{
		User:   user.Name,
		Policy: policy(allow("SendAsTheSite", []string{"ses:SendRawEmail"}, identity.Arn)),
	}, parent); err != nil {
		return nil, fmt.Errorf("ses smtp user policy: %w", err)
	}
	key, err := iam.NewAccessKey(ctx, name+"-smtp", &iam.AccessKeyArgs{User: user.Name}, parent)
	if err != nil {
		return nil, fmt.Errorf("ses smtp access key: %w", err)
	}
	secret, err := secretsmanager.NewSecret(ctx, name+"-smtp", &secretsmanager.SecretArgs{
		Description: pulumi.String("moodle " + name + ": the Amazon SES SMTP credentials of the site's mail"),
		KmsKeyId:    args.KMSKeyARN,
		Tags:        tags(name + "-smtp"),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("secret %s-smtp: %w", name, err)
	}
	value := pulumi.ToSecret(pulumi.All(key.ID(), key.SesSmtpPasswordV4).ApplyT(func(v []any) (string, error) {
		b, err := json.Marshal(map[string]string{"username": string(v[0].(pulumi.ID)), "password": v[1].(string)})
		if err != nil {
			return "", fmt.Errorf("secret %s-smtp: %w", name, err)
		}
		return string(b), nil
	})).(pulumi.StringOutput)
	if _, err := secretsmanager.NewSecretVersion(ctx, name+"-smtp", &secretsmanager.SecretVersionArgs{
		SecretId:     secret.ID(),
		SecretString: value,
	}, parent); err != nil {
		return nil, fmt.Errorf("secret version %s-smtp: %w", name, err)
	}

	m.IdentityARN, m.DKIMTokens = identity.Arn, tokens
	m.Secrets = []TaskSecret{
		{Name: render.EnvSMTPUser, ValueFrom: pulumi.Sprintf("%s:username::", secret.Arn), SecretARN: secret.Arn},
		{Name: render.EnvSMTPPassword, ValueFrom: pulumi.Sprintf("%s:password::", secret.Arn), SecretARN: secret.Arn},
	}
	if err := ctx.RegisterResourceOutputs(m, pulumi.Map{"identityArn": m.IdentityARN, "dkimTokens": m.DKIMTokens}); err != nil {
		return nil, err
	}
	return m, nil
}
