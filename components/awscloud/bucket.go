package awscloud

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// privateBucket describes a bucket nobody outside the account reads.
type privateBucket struct {
	// KMSKeyARN encrypts objects; empty means SSE-S3 (AES256), which is all ALB
	// access-log delivery accepts.
	KMSKeyARN pulumi.StringInput
	// ExpireDays deletes current objects after so many days; 0 keeps them.
	ExpireDays int
	// NoncurrentDays deletes overwritten and deleted versions after so many days.
	NoncurrentDays int
	// Statements are added to the TLS-only bucket policy; they receive the bucket ARN.
	Statements func(bucketARN pulumi.StringOutput) []map[string]any
	Protect    bool
}

// newPrivateBucket creates a bucket with all four public-access blocks, ACLs
// disabled (BucketOwnerEnforced), default encryption, versioning, a lifecycle and a
// policy that refuses plain-HTTP requests. The objectfs store and the ALB logs are
// both made this way.
//
// A destroy leaves the bucket in the account (retainOnDelete): S3 deletes no
// bucket that holds objects or versions, and the versioned log bucket always
// does, so the destroy would fail half-way; and neither the site's files nor the
// logs are the destroy's to delete. The log bucket empties itself by its lifecycle;
// docs/aws.md says how to delete both by hand.
func newPrivateBucket(ctx *pulumi.Context, name string, b privateBucket, opts ...pulumi.ResourceOption) (*s3.BucketV2, pulumi.Resource, error) {
	bucket, err := s3.NewBucketV2(ctx, name, &s3.BucketV2Args{Tags: tags(name)},
		append(dataOptions(b.Protect, opts...), pulumi.RetainOnDelete(true))...)
	if err != nil {
		return nil, nil, err
	}
	block, err := s3.NewBucketPublicAccessBlock(ctx, name, &s3.BucketPublicAccessBlockArgs{
		Bucket:                bucket.ID(),
		BlockPublicAcls:       pulumi.Bool(true),
		BlockPublicPolicy:     pulumi.Bool(true),
		IgnorePublicAcls:      pulumi.Bool(true),
		RestrictPublicBuckets: pulumi.Bool(true),
	}, opts...)
	if err != nil {
		return nil, nil, err
	}
	if _, err := s3.NewBucketOwnershipControls(ctx, name, &s3.BucketOwnershipControlsArgs{
		Bucket: bucket.ID(),
		Rule:   s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, opts...); err != nil {
		return nil, nil, err
	}
	sse := s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{SseAlgorithm: pulumi.String("AES256")}
	if b.KMSKeyARN != nil {
		sse = s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
			SseAlgorithm: pulumi.String("aws:kms"), KmsMasterKeyId: b.KMSKeyARN,
		}
	}
	if _, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, name, &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
			ApplyServerSideEncryptionByDefault: sse,
			BucketKeyEnabled:                   pulumi.Bool(b.KMSKeyARN != nil),
		}},
	}, opts...); err != nil {
		return nil, nil, err
	}
	versioning, err := s3.NewBucketVersioningV2(ctx, name, &s3.BucketVersioningV2Args{
		Bucket:                  bucket.ID(),
		VersioningConfiguration: s3.BucketVersioningV2VersioningConfigurationArgs{Status: pulumi.String("Enabled")},
	}, opts...)
	if err != nil {
		return nil, nil, err
	}
	rule := s3.BucketLifecycleConfigurationV2RuleArgs{
		Id:                             pulumi.String("tidy"),
		Status:                         pulumi.String("Enabled"),
		Filter:                         s3.BucketLifecycleConfigurationV2RuleFilterArgs{},
		AbortIncompleteMultipartUpload: s3.BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{DaysAfterInitiation: pulumi.Int(7)},
		NoncurrentVersionExpiration:    s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionExpirationArgs{NoncurrentDays: pulumi.Int(b.NoncurrentDays)},
	}
	if b.ExpireDays > 0 {
		rule.Expiration = s3.BucketLifecycleConfigurationV2RuleExpirationArgs{Days: pulumi.Int(b.ExpireDays)}
	}
	if _, err := s3.NewBucketLifecycleConfigurationV2(ctx, name, &s3.BucketLifecycleConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules:  s3.BucketLifecycleConfigurationV2RuleArray{rule},
	}, append(opts, pulumi.DependsOn([]pulumi.Resource{versioning}))...); err != nil {
		return nil, nil, err
	}
	statements := []map[string]any{denyInsecureTransport("s3:*", bucket.Arn, pulumi.Sprintf("%s/*", bucket.Arn))}
	if b.Statements != nil {
		statements = append(statements, b.Statements(bucket.Arn)...)
	}
	// The policy waits for the public-access block: S3 rejects a policy written
	// while the block is still being applied.
	bucketPolicy, err := s3.NewBucketPolicy(ctx, name, &s3.BucketPolicyArgs{
		Bucket: bucket.ID(),
		Policy: policy(statements...),
	}, append(opts, pulumi.DependsOn([]pulumi.Resource{block}))...)
	if err != nil {
		return nil, nil, err
	}
	return bucket, bucketPolicy, nil
}
