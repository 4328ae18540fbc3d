package awscloud

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// tags gives a resource its console name; names follow the component tree.
func tags(name string) pulumi.StringMap {
	return pulumi.StringMap{"Name": pulumi.String(name)}
}

// dataOptions are the options of every resource that holds data (databases,
// file systems, buckets, caches, their key and secrets): protected in prod, so
// neither `pulumi destroy` nor a config change that would replace them deletes
// them without an explicit `pulumi state unprotect`.
func dataOptions(protect bool, opts ...pulumi.ResourceOption) []pulumi.ResourceOption {
	return append(opts, pulumi.Protect(protect))
}

// physicalName is the AWS name of a resource whose name must be known before it
// exists: project, stack and the resource's own name, lower-case letters, digits
// and single hyphens only (what RDS identifiers, ECS clusters and log groups all
// accept), starting with a letter and at most limit characters long.
func physicalName(ctx *pulumi.Context, name string, limit int) string {
	return physicalNameOf(ctx.Project(), ctx.Stack(), name, limit)
}

func physicalNameOf(project, stack, name string, limit int) string {
	var b strings.Builder
	for _, r := range strings.ToLower(fmt.Sprintf("%s-%s-%s", project, stack, name)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case !strings.HasSuffix(b.String(), "-"):
			b.WriteRune('-')
		}
	}
	out := strings.TrimLeft(b.String(), "-0123456789")
	if len(out) > limit {
		out = out[:limit]
	}
	return strings.TrimRight(out, "-")
}

// logGroup is a CloudWatch log group with the stack's retention, encrypted with the
// cluster key.
func logGroup(ctx *pulumi.Context, name string, retentionDays int, kmsKeyARN pulumi.StringInput, opts ...pulumi.ResourceOption) (*cloudwatch.LogGroup, error) {
	return namedLogGroup(ctx, name, nil, retentionDays, kmsKeyARN, opts...)
}

// namedLogGroup is logGroup with a fixed name: the one AWS writes to on its own
// (RDS log exports, Container Insights), created first so that AWS does not create
// it unencrypted and kept forever. A nil logName lets Pulumi name the group.
func namedLogGroup(ctx *pulumi.Context, name string, logName pulumi.StringInput, retentionDays int, kmsKeyARN pulumi.StringInput, opts ...pulumi.ResourceOption) (*cloudwatch.LogGroup, error) {
	group, err := cloudwatch.NewLogGroup(ctx, name, &cloudwatch.LogGroupArgs{
		Name:            logName,
		RetentionInDays: pulumi.Int(retentionDays),
		KmsKeyId:        kmsKeyARN,
		Tags:            tags(name),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("log group %s: %w", name, err)
	}
	return group, nil
}
