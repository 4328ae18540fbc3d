package awscloud

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/backup"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// BackupArgs configure the stack's AWS Backup plan.
type BackupArgs struct {
	Plan    topology.Backup
	Protect bool
	Account Account
	// KMSKeyARN encrypts the vault's recovery points (EFS's; an RDS snapshot keeps
	// the key of its instance).
	KMSKeyARN pulumi.StringInput
	// Resources are the ARNs the plan backs up: the RDS primary and the EFS file
	// system.
	Resources pulumi.StringArrayInput
}

// Backup is a vault, the role AWS Backup assumes, and (Plan.Enabled) a plan with
// one rule and a selection of Resources. The vault and the role exist either way:
// `moodlectl backup` starts its on-demand jobs with them.
type Backup struct {
	pulumi.ResourceState

	VaultName pulumi.StringOutput `pulumi:"vaultName"`
	VaultARN  pulumi.StringOutput `pulumi:"vaultArn"`
	RoleARN   pulumi.StringOutput `pulumi:"roleArn"`
}

// The AWS managed policies of AWS Backup's service role: what it needs to take
// backups of, and restore, every resource type it supports (AWS Backup
// Developer Guide, "Managed policies for AWS Backup").
var backupManagedPolicies = []string{
	"service-role/AWSBackupServiceRolePolicyForBackup",
	"service-role/AWSBackupServiceRolePolicyForRestores",
}

// NewBackup creates the vault, the role and, when enabled, the plan.
func NewBackup(ctx *pulumi.Context, name string, args *BackupArgs, opts ...pulumi.ResourceOption) (*Backup, error) {
	b := &Backup{}
	if err := ctx.RegisterComponentResource(TypeBackup, name, b, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(b)

	// The vault holds the recovery points: protected like the data, and left in
	// the account by a destroy (AWS refuses to delete a vault that still holds
	// recovery points, and they are the copies a destroyed stack is rebuilt from).
	vault, err := backup.NewVault(ctx, name, &backup.VaultArgs{
		KmsKeyArn: args.KMSKeyARN,
		Tags:      tags(name),
	}, append(dataOptions(args.Protect, parent), pulumi.RetainOnDelete(true))...)
	if err != nil {
		return nil, fmt.Errorf("backup vault %s: %w", name, err)
	}
	managed := make([]string, 0, len(backupManagedPolicies))
	for _, p := range backupManagedPolicies {
		managed = append(managed, args.Account.managedPolicy(p))
	}
	role, err := iam.NewRole(ctx, name, &iam.RoleArgs{
		AssumeRolePolicy:  assumeRolePolicy("backup.amazonaws.com"),
		ManagedPolicyArns: pulumi.ToStringArray(managed),
		Tags:              tags(name),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("backup role %s: %w", name, err)
	}

	if args.Plan.Enabled {
		plan, err := backup.NewPlan(ctx, name, &backup.PlanArgs{
			Rules: backup.PlanRuleArray{backup.PlanRuleArgs{
				RuleName:        pulumi.String("scheduled"),
				TargetVaultName: vault.Name,
				Schedule:        pulumi.String(args.Plan.Schedule),
				Lifecycle:       backup.PlanRuleLifecycleArgs{DeleteAfter: pulumi.Int(args.Plan.RetentionDays)},
				// Each recovery point names the stack it was taken of.
				RecoveryPointTags: tags(name),
			}},
			Tags: tags(name),
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("backup plan %s: %w", name, err)
		}
		if _, err := backup.NewSelection(ctx, name, &backup.SelectionArgs{
			PlanId:     plan.ID(),
			IamRoleArn: role.Arn,
			Resources:  args.Resources,
		}, parent); err != nil {
			return nil, fmt.Errorf("backup selection %s: %w", name, err)
		}
	}

	b.VaultName, b.VaultARN, b.RoleARN = vault.Name, vault.Arn, role.Arn
	if err := ctx.RegisterResourceOutputs(b, pulumi.Map{
		"vaultName": b.VaultName,
		"vaultArn":  b.VaultARN,
		"roleArn":   b.RoleARN,
	}); err != nil {
		return nil, err
	}
	return b, nil
}
