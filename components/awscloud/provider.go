package awscloud

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

// regionalProvider is an AWS provider for region with the stack's own aws:*
// settings. An explicit provider reads none of the stack's configuration, only its
// arguments: without these it would sign in another way than the stack (no
// profile, no assumed role), act in any account (allowedAccountIds unchecked) and
// tag nothing (defaultTags) while every other resource of the stack does.
func regionalProvider(ctx *pulumi.Context, name, region string, opts ...pulumi.ResourceOption) (*aws.Provider, error) {
	args, err := regionalProviderArgs(ctx, region)
	if err != nil {
		return nil, err
	}
	provider, err := aws.NewProvider(ctx, name, args, opts...)
	if err != nil {
		return nil, fmt.Errorf("provider %s: %w", region, err)
	}
	return provider, nil
}

// The object settings of the aws namespace, shaped as pulumi-aws reads them.
type (
	assumeRoleConfig struct {
		RoleArn           string            `json:"roleArn"`
		SessionName       string            `json:"sessionName"`
		ExternalID        string            `json:"externalId"`
		Duration          string            `json:"duration"`
		Policy            string            `json:"policy"`
		PolicyArns        []string          `json:"policyArns"`
		SourceIdentity    string            `json:"sourceIdentity"`
		Tags              map[string]string `json:"tags"`
		TransitiveTagKeys []string          `json:"transitiveTagKeys"`
	}
	defaultTagsConfig struct {
		Tags map[string]string `json:"tags"`
	}
	ignoreTagsConfig struct {
		Keys        []string `json:"keys"`
		KeyPrefixes []string `json:"keyPrefixes"`
	}
)

func regionalProviderArgs(ctx *pulumi.Context, region string) (*aws.ProviderArgs, error) {
	cfg := config.New(ctx, "aws")
	args := &aws.ProviderArgs{Region: pulumi.String(region)}
	if v := cfg.Get("profile"); v != "" {
		args.Profile = pulumi.String(v)
	}
	for key, into := range map[string]*pulumi.StringArrayInput{
		"allowedAccountIds": &args.AllowedAccountIds, "forbiddenAccountIds": &args.ForbiddenAccountIds,
		"sharedConfigFiles": &args.SharedConfigFiles, "sharedCredentialsFiles": &args.SharedCredentialsFiles,
	} {
		var list []string
		if err := object(cfg, key, &list); err != nil {
			return nil, err
		}
		if list != nil {
			*into = pulumi.ToStringArray(list)
		}
	}
	var role *assumeRoleConfig
	if err := object(cfg, "assumeRole", &role); err != nil {
		return nil, err
	}
	if role != nil {
		args.AssumeRole = aws.ProviderAssumeRoleArgs{
			RoleArn: optional(role.RoleArn), SessionName: optional(role.SessionName), ExternalId: optional(role.ExternalID),
			Duration: optional(role.Duration), Policy: optional(role.Policy), PolicyArns: pulumi.ToStringArray(role.PolicyArns),
			SourceIdentity: optional(role.SourceIdentity), Tags: pulumi.ToStringMap(role.Tags),
			TransitiveTagKeys: pulumi.ToStringArray(role.TransitiveTagKeys),
		}
	}
	var tags *defaultTagsConfig
	if err := object(cfg, "defaultTags", &tags); err != nil {
		return nil, err
	}
	if tags != nil {
		args.DefaultTags = aws.ProviderDefaultTagsArgs{Tags: pulumi.ToStringMap(tags.Tags)}
	}
	var ignore *ignoreTagsConfig
	if err := object(cfg, "ignoreTags", &ignore); err != nil {
		return nil, err
	}
	if ignore != nil {
		args.IgnoreTags = aws.ProviderIgnoreTagsArgs{Keys: pulumi.ToStringArray(ignore.Keys), KeyPrefixes: pulumi.ToStringArray(ignore.KeyPrefixes)}
	}
	// Static credentials stay secrets on their way to the provider.
	for key, into := range map[string]*pulumi.StringPtrInput{"accessKey": &args.AccessKey, "secretKey": &args.SecretKey, "token": &args.Token} {
		if cfg.Get(key) != "" {
			*into = cfg.GetSecret(key)
		}
	}
	return args, nil
}

// object decodes the aws:<key> setting into v, leaving v as it is when it is unset.
func object(cfg *config.Config, key string, v any) error {
	text := cfg.Get(key)
	if text == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(text), v); err != nil {
		return fmt.Errorf("aws:%s = %s: not the shape pulumi-aws reads: %w", key, text, err)
	}
	return nil
}

// optional is nil for an empty string, which the provider reads as unset.
func optional(s string) pulumi.StringPtrInput {
	if s == "" {
		return nil
	}
	return pulumi.String(s)
}
