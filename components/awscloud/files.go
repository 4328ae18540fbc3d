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
	Storage topology.Storage
	// Protect is aws.protect.
	Protect bool
	// SubnetIDs are the app subnets; each gets a mount target. SubnetCount is their
	// number, known before the ids are.
	SubnetIDs       pulumi.StringArrayInput
	SubnetCount     int
	SecurityGroupID pulumi.StringInput
	KMSKeyARN       pulumi.StringInput
	// Account spells the ARN of a file system AWS Backup restored, which the
	// program references by the id the restore gave it and does not create.
	Account Account
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
	// RootAccessPointID and RootAccessPointARN are, with storage.restoreFileSystemId,
	// the restored file system's access point rooted at /, which only the cron
	// runner mounts (at appimage.RestoredRootMount) to move the site's files out of
	// AWS Backup's recovery directory; empty otherwise.
	RootAccessPointID  pulumi.StringOutput `pulumi:"rootAccessPointId"`
	RootAccessPointARN pulumi.StringOutput `pulumi:"rootAccessPointArn"`
	// MountTargets are what a task that mounts the file system waits for: without
	// one in its subnet the mount, and so the task, fails to start
	// (ResourceInitializationError), and the service's first deployment with it.
	MountTargets []pulumi.Resource

	s3 bool
	// restored is true with storage.restoreFileSystemId.
	restored bool
	// kmsKeyARN is needed by the task role to read and write the bucket's objects.
	kmsKeyARN pulumi.StringInput
}

// NewFiles creates the file system, its mount targets and access point, and the
// objectfs bucket when the spec asks for one.
func NewFiles(ctx *pulumi.Context, name string, args *FilesArgs, opts ...pulumi.ResourceOption) (*Files, error) {
	f := &Files{s3: args.Storage.Kind == topology.StorageS3, restored: args.Storage.RestoreFileSystemID != "", kmsKeyARN: args.KMSKeyARN}
	if err := ctx.RegisterComponentResource(TypeFiles, name, f, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(f)
	protect := args.Protect

	// The file system the site used before a restore stays until the operator
	// retires it (RetireOriginal), having taken it out of the state first.
	if !args.Storage.RetireOriginal {
		if err := f.original(ctx, name, args, parent); err != nil {
			return nil, err
		}
	}
	if id := args.Storage.RestoreFileSystemID; id != "" {
		// AWS Backup restored the file system (moodlectl restore); the program
		// gives it what the current one has, and the site moves to it. The current
		// file system and its attachments stay registered as they were, with the
		// site's files, whatever the restored copy turns out to be, until retired.
		arn := pulumi.String(args.Account.arn("elasticfilesystem", "file-system/"+id)).ToStringOutput()
		restored, err := attach(ctx, name+"-restored", pulumi.String(id).ToStringOutput(), arn, args, parent)
		if err != nil {
			return nil, err
		}
		// AWS Backup restores into a recovery directory off the root, never onto
		// it (AWS Backup Developer Guide, "Restore an Amazon EFS file system"): the
		// cron runner reaches that directory through the root to move the site's
		// files where the access point above roots (docker/move-restored-moodledata).
		root, err := efs.NewAccessPoint(ctx, name+"-restored-root", &efs.AccessPointArgs{
			FileSystemId:  pulumi.String(id),
			PosixUser:     efs.AccessPointPosixUserArgs{Uid: pulumi.Int(AppUID), Gid: pulumi.Int(AppGID)},
			RootDirectory: efs.AccessPointRootDirectoryArgs{Path: pulumi.String("/")},
			Tags:          tags(name + "-restored-root"),
		}, parent)
		if err != nil {
			return nil, err
		}
		f.FileSystemID, f.FileSystemARN = pulumi.String(id).ToStringOutput(), arn
		f.AccessPointID, f.AccessPointARN, f.MountTargets = restored.accessPoint.ID().ToStringOutput(), restored.accessPoint.Arn, restored.mountTargets
		f.RootAccessPointID, f.RootAccessPointARN = root.ID().ToStringOutput(), root.Arn
	}
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
		"fileSystemId":       f.FileSystemID,
		"fileSystemArn":      f.FileSystemARN,
		"accessPointId":      f.AccessPointID,
		"accessPointArn":     f.AccessPointARN,
		"rootAccessPointId":  f.RootAccessPointID,
		"rootAccessPointArn": f.RootAccessPointARN,
		"bucketName":         f.BucketName,
		"bucketArn":          f.BucketARN,
	}); err != nil {
		return nil, err
	}
	return f, nil
}

// Restored says whether the site runs on a file system AWS Backup restored.
func (f *Files) Restored() bool { return f.restored }

// taskStatements are what a task role needs to use moodledata: mount and write
// through the access point only (and, for the cron runner on a restored file
// system, through its root access point too), and with s3 read and write that
// one bucket.
func (f *Files) taskStatements(restoredRoot bool) []map[string]any {
	mount := allow("MountMoodledata", []string{"elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"}, f.FileSystemARN)
	var accessPoints any = f.AccessPointARN
	if restoredRoot && f.restored {
		accessPoints = []any{f.AccessPointARN, f.RootAccessPointARN}
	}
	mount["Condition"] = map[string]any{"StringEquals": map[string]any{"elasticfilesystem:AccessPointArn": accessPoints}}
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

// attachments are what a file system needs to serve the site.
type attachments struct {
	accessPoint  *efs.AccessPoint
	mountTargets []pulumi.Resource
}

// original registers the file system the program creates, with its
// attachments, and makes it the site's.
func (f *Files) original(ctx *pulumi.Context, name string, args *FilesArgs, parent pulumi.ResourceOption) error {
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
	}, dataOptions(args.Protect, parent)...)
	if err != nil {
		return err
	}
	current, err := attach(ctx, name, fs.ID().ToStringOutput(), fs.Arn, args, parent)
	if err != nil {
		return err
	}
	f.FileSystemID, f.FileSystemARN = fs.ID().ToStringOutput(), fs.Arn
	f.AccessPointID, f.AccessPointARN, f.MountTargets = current.accessPoint.ID().ToStringOutput(), current.accessPoint.Arn, current.mountTargets
	f.RootAccessPointID, f.RootAccessPointARN = pulumi.String("").ToStringOutput(), pulumi.String("").ToStringOutput()
	return nil
}

// attach gives a file system what the site needs of it: automatic backups, a
// policy refusing clients without TLS, a mount target in every app subnet and
// the access point the tasks mount moodledata through.
func attach(ctx *pulumi.Context, name string, id, arn pulumi.StringOutput, args *FilesArgs, parent pulumi.ResourceOption) (attachments, error) {
	var a attachments
	if _, err := efs.NewBackupPolicy(ctx, name, &efs.BackupPolicyArgs{
		FileSystemId: id,
		BackupPolicy: efs.BackupPolicyBackupPolicyArgs{Status: pulumi.String("ENABLED")},
	}, parent); err != nil {
		return a, err
	}
	if _, err := efs.NewFileSystemPolicy(ctx, name, &efs.FileSystemPolicyArgs{
		FileSystemId: id,
		Policy:       policy(denyInsecureTransport("*", arn)),
	}, parent); err != nil {
		return a, err
	}
	for i := 0; i < args.SubnetCount; i++ {
		target, err := efs.NewMountTarget(ctx, fmt.Sprintf("%s-%d", name, i+1), &efs.MountTargetArgs{
			FileSystemId:   id,
			SubnetId:       args.SubnetIDs.ToStringArrayOutput().Index(pulumi.Int(i)),
			SecurityGroups: pulumi.StringArray{args.SecurityGroupID},
		}, parent)
		if err != nil {
			return a, err
		}
		a.mountTargets = append(a.mountTargets, target)
	}
	// The access point pins every client to the app user and to one directory, so
	// a task can neither act as root on the file system nor see outside moodledata.
	ap, err := efs.NewAccessPoint(ctx, name, &efs.AccessPointArgs{
		FileSystemId: id,
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
		return a, err
	}
	a.accessPoint = ap
	return a, nil
}
