package awscloud

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Account is where the stack deploys: the partition, region and account id that
// ARNs, service principals and key policies are spelled with.
type Account struct {
	Partition string
	Region    string
	ID        string
	// DNSSuffix is the partition's domain: amazonaws.com, amazonaws.com.cn.
	DNSSuffix string
}

// lookupAccount asks the provider once; every component receives the result.
func lookupAccount(ctx *pulumi.Context, opts ...pulumi.InvokeOption) (Account, error) {
	partition, err := aws.GetPartition(ctx, nil, opts...)
	if err != nil {
		return Account{}, fmt.Errorf("look up the AWS partition: %w", err)
	}
	region, err := aws.GetRegion(ctx, nil, opts...)
	if err != nil {
		return Account{}, fmt.Errorf("look up the AWS region: %w", err)
	}
	caller, err := aws.GetCallerIdentity(ctx, nil, opts...)
	if err != nil {
		return Account{}, fmt.Errorf("look up the AWS account: %w", err)
	}
	return Account{Partition: partition.Partition, Region: region.Name, ID: caller.AccountId, DNSSuffix: partition.DnsSuffix}, nil
}

// arn spells an ARN of this account.
func (a Account) arn(service, resource string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", a.Partition, service, a.Region, a.ID, resource)
}

// registry is the host of the account's private ECR registry in the region,
// aws_account_id.dkr.ecr.region.amazonaws.com (Amazon ECR User Guide, private
// registry concepts).
func (a Account) registry() string {
	return fmt.Sprintf("%s.dkr.ecr.%s.%s", a.ID, a.Region, a.DNSSuffix)
}

// managedPolicy is the ARN of an AWS managed IAM policy.
func (a Account) managedPolicy(name string) string {
	return fmt.Sprintf("arn:%s:iam::aws:policy/%s", a.Partition, name)
}

// newDataKey is the customer-managed key that encrypts everything the cluster
// stores: the database and its snapshots, Performance Insights, EFS, the objectfs
// bucket, Redis, the secrets, the log groups, the alarm topic and (ec2) the
// instances' volumes, which autoScalingRole creates. Losing it loses the data, so
// it is protected like the data, and a destroy leaves it in the account
// (retainOnDelete): the final snapshots of RDS and Redis and the retained
// automated backups outlive the stack and are readable only with it. Scheduling
// its deletion is the operator's step once those are gone (docs/aws.md).
func newDataKey(ctx *pulumi.Context, name string, a Account, autoScalingRole pulumi.StringInput, protect bool, opts ...pulumi.ResourceOption) (*kms.Key, error) {
	statements := keyStatements(a)
	if autoScalingRole != nil {
		statements = append(statements, autoScalingKeyStatements(autoScalingRole)...)
	}
	key, err := kms.NewKey(ctx, name, &kms.KeyArgs{
		Description:          pulumi.String("moodle data key (" + name + ")"),
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(30),
		Policy:               policy(statements...),
		Tags:                 tags(name),
	}, append(dataOptions(protect, opts...), pulumi.RetainOnDelete(true))...)
	if err != nil {
		return nil, fmt.Errorf("kms key %s: %w", name, err)
	}
	return key, nil
}

// autoScalingKeyStatements are what AWS requires of a key that encrypts the volumes
// of instances an Auto Scaling group launches: its service-linked role uses the key
// and hands grants to EC2 for the volumes.
func autoScalingKeyStatements(role pulumi.StringInput) []map[string]any {
	return []map[string]any{
		{
			"Sid":       "AutoScalingUsesKey",
			"Effect":    "Allow",
			"Principal": map[string]any{"AWS": role},
			"Action":    list([]string{"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"}),
			"Resource":  "*",
		},
		{
			"Sid":       "AutoScalingGrantsKeyToVolumes",
			"Effect":    "Allow",
			"Principal": map[string]any{"AWS": role},
			"Action":    "kms:CreateGrant",
			"Resource":  "*",
			"Condition": map[string]any{"Bool": map[string]any{"kms:GrantIsForAWSResource": true}},
		},
	}
}

// keyStatements are the statements every data key has.
func keyStatements(a Account) []map[string]any {
	return []map[string]any{
		map[string]any{
			"Sid":       "AccountAdministers",
			"Effect":    "Allow",
			"Principal": map[string]any{"AWS": fmt.Sprintf("arn:%s:iam::%s:root", a.Partition, a.ID)},
			"Action":    "kms:*",
			"Resource":  "*",
		},
		// The encryption context names the log group, this account's included: the
		// way CloudWatch Logs' "Encrypt log data in CloudWatch Logs using AWS KMS"
		// restricts a key "to be used with a single account", so the confused-deputy
		// guard an aws:SourceAccount condition would add is already there.
		map[string]any{
			"Sid":       "CloudWatchLogsEncrypt",
			"Effect":    "Allow",
			"Principal": map[string]any{"Service": fmt.Sprintf("logs.%s.amazonaws.com", a.Region)},
			"Action":    list([]string{"kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"}),
			"Resource":  "*",
			"Condition": map[string]any{"ArnLike": map[string]any{"kms:EncryptionContext:aws:logs:arn": a.arn("logs", "log-group:*")}},
		},
		map[string]any{
			// CloudWatch alarms publish to the encrypted alarm topic.
			"Sid":       "CloudWatchAlarmsPublish",
			"Effect":    "Allow",
			"Principal": map[string]any{"Service": "cloudwatch.amazonaws.com"},
			"Action":    list([]string{"kms:Decrypt", "kms:GenerateDataKey*"}),
			"Resource":  "*",
		},
	}
}
