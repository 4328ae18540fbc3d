package awscloud

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/efs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/appimage"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// AppUID and AppGID are the app image's account: the user php-fpm, nginx and cron
// run as, and the owner of moodledata.
const (
	AppUID = appimage.UID
	AppGID = appimage.GID
)

// FilesArgs configure moodledata.
type FilesArgs struct {
	Spec topology.Spec
	// SubnetIDs are the app subnets; each gets a mount target. SubnetCount is their
	// number, known before the ids are.
	SubnetIDs       pulumi.StringArrayInput
	SubnetCount     int
	SecurityGroupID pulumi.StringInput
	KMSKeyARN       pulumi.StringInput
}

// Files is moodledata: an EFS file system mounted on every task through an access
// point and, with storage kind s3, a bucket tool_objectfs moves the file pool to.
// In s3 mode EFS still holds what Moodle needs shared and cannot keep in objects:
// the temp, cache and lock directories and files objectfs has not moved yet.
type Files struct {
	pulumi.ResourceState

	FileSystemID   pulumi.StringOutput `pulumi:"fileSystemId"`
	FileSystemARN  pulumi.StringOutput `pulumi:"fileSystemArn"`
	AccessPointID  pulumi.StringOutput `pulumi:"accessPointId"`
	AccessPointARN pulumi.StringOutput `pulumi:"accessPointArn"`
	// BucketName and BucketARN are set with storage kind s3 only.
	BucketName pulumi.StringOutput `pulumi:"bucketName"`
	BucketARN  pulumi.StringOutput `pulumi:"bucketArn"`
	// MountTargets are what a task that mounts the file system waits for: without
	// one in its subnet the mount, and so the task, fails to start
	// (ResourceInitializationError), and the service's first deployment with it.
	MountTargets []pulumi.Resource

	s3 bool
	// kmsKeyARN is needed by the task role to read and write the bucket's objects.
	kmsKeyARN pulumi.StringInput
}

// NewFiles creates the file system, its mount targets and access point, and the
// objectfs bucket when the spec asks for one.
func NewFiles(ctx *pulumi.Context, name string, args *FilesArgs, opts ...pulumi.ResourceOption) (*Files, error) {
	f := &Files{s3: args.Spec.Storage.Kind == topology.StorageS3, kmsKeyARN: args.KMSKeyARN}
	if err := ctx.RegisterComponentResource("moodle:aws:Files", name, f, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(f)
	protect := args.Spec.AWS.Protect

	fs, err := efs.NewFileSystem(ctx, name, &efs.FileSystemArgs{
		Encrypted:       pulumi.Bool(true),
		KmsKeyId:        args.KMSKeyARN,
		PerformanceMode: pulumi.String("generalPurpose"),
		// Elastic throughput follows Moodle's bursts (backups, course restores)
		// without provisioning for the peak.
		ThroughputMode: pulumi.String("elastic"),
		LifecyclePolicies: efs.FileSystemLifecyclePolicyArray{
			efs.FileSystemLifecyclePolicyArgs{TransitionToIa: pulumi.String("AFTER_30_DAYS")},
			efs.FileSystemLifecyclePolicyArgs{TransitionToPrimaryStorageClass: pulumi.String("AFTER_1_ACCESS")},
		},
		Tags: tags(name),
	}, dataOptions(protect, parent)...)
	if err != nil {
		return nil, err
	}
	if _, err := efs.NewBackupPolicy(ctx, name, &efs.BackupPolicyArgs{
		FileSystemId: fs.ID(),
		BackupPolicy: efs.BackupPolicyBackupPolicyArgs{Status: pulumi.String("ENABLED")},
	}, parent); err != nil {
		return nil, err
	}
	if _, err := efs.NewFileSystemPolicy(ctx, name, &efs.FileSystemPolicyArgs{
		FileSystemId: fs.ID(),
		Policy:       policy(denyInsecureTransport("*", fs.Arn)),
	}, parent); err != nil {
		return nil, err
	}
	for i := 0; i < args.SubnetCount; i++ {
		target, err := efs.NewMountTarget(ctx, fmt.Sprintf("%s-%d", name, i+1), &efs.MountTargetArgs{
			FileSystemId:   fs.ID(),
			SubnetId:       args.SubnetIDs.ToStringArrayOutput().Index(pulumi.Int(i)),
			SecurityGroups: pulumi.StringArray{args.SecurityGroupID},
		}, parent)
		if err != nil {
			return nil, err
		}
		f.MountTargets = append(f.MountTargets, target)
	}
	// The access point pins every client to the app user and to one directory, so
	// a task can neither act as root on the file system nor see outside moodledata.
	ap, err := efs.NewAccessPoint(ctx, name, &efs.AccessPointArgs{
		FileSystemId: fs.ID(),
		PosixUser:    efs.AccessPointPosixUserArgs{Uid: pulumi.Int(AppUID), Gid: pulumi.Int(AppGID)},
		RootDirectory: efs.AccessPointRootDirectoryArgs{
			Path: pulumi.String("/moodledata"),
			CreationInfo: efs.AccessPointRootDirectoryCreationInfoArgs{
				OwnerUid: pulumi.Int(AppUID), OwnerGid: pulumi.Int(AppGID), Permissions: pulumi.String("0750"),
			},
		},
		Tags: tags(name),
	}, parent)
	if err != nil {
		return nil, err
	}
	f.FileSystemID, f.FileSystemARN = fs.ID().ToStringOutput(), fs.Arn
	f.AccessPointID, f.AccessPointARN = ap.ID().ToStringOutput(), ap.Arn
	f.BucketName, f.BucketARN = pulumi.String("").ToStringOutput(), pulumi.String("").ToStringOutput()

	if f.s3 {
		bucket, _, err := newPrivateBucket(ctx, name+"-objectfs", privateBucket{
			KMSKeyARN:      args.KMSKeyARN,
			NoncurrentDays: 90,
			Protect:        protect,
		}, parent)
		if err != nil {
			return nil, err
		}
		f.BucketName, f.BucketARN = bucket.Bucket, bucket.Arn
	}
	if err := ctx.RegisterResourceOutputs(f, pulumi.Map{
		"fileSystemId":   f.FileSystemID,
		"fileSystemArn":  f.FileSystemARN,
		"accessPointId":  f.AccessPointID,
		"accessPointArn": f.AccessPointARN,
		"bucketName":     f.BucketName,
		"bucketArn":      f.BucketARN,
	}); err != nil {
		return nil, err
	}
	return f, nil
}

// taskStatements are what a task role needs to use moodledata: mount and write
// through the access point only, and with s3 read and write that one bucket.
func (f *Files) taskStatements() []map[string]any {
	mount := allow("MountMoodledata", []string{"elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"}, f.FileSystemARN)
	mount["Condition"] = map[string]any{"StringEquals": map[string]any{"elasticfilesystem:AccessPointArn": f.AccessPointARN}}
	statements := []map[string]any{mount}
	if f.s3 {
		statements = append(statements,
			allow("ListObjectfsBucket", []string{"s3:ListBucket", "s3:GetBucketLocation"}, f.BucketARN),
			allow("UseObjectfsObjects", []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}, pulumi.Sprintf("%s/*", f.BucketARN)),
			allow("UseObjectfsKey", []string{"kms:Decrypt", "kms:GenerateDataKey"}, f.kmsKeyARN),
		)
	}
	return statements
}
