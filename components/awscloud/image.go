package awscloud

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// AppImageArgs configure the app image's build and repository.
type AppImageArgs struct {
	// Spec's Moodle.Build says what to build (an absolute context), its
	// ImageBuildArgs with what, and App.Platform for which architecture.
	Spec    topology.Spec
	Account Account
	// KMSKeyARN encrypts the repository's images.
	KMSKeyARN pulumi.StringInput
}

// AppImage is the app image built from the stack's build context and pushed by
// `pulumi up` to an ECR repository of the stack's own, as Pulumi's awsx.ecr.Image
// does (pulumi-awsx awsx/ecr/image.ts: a docker.Image given the registry
// credentials of aws.ecr.getAuthorizationToken, awsx/ecr/auth.ts), with the
// repository awsx.ecr.Repository makes plus a lifecycle policy
// (awsx/ecr/repository.ts).
type AppImage struct {
	pulumi.ResourceState

	// Ref is the pushed tag, known before anything runs: the tag is a hash of
	// what the build reads, so it names one content and the release the tasks
	// derive their markers from (topology.Spec.ReleaseMarker).
	Ref string
	// Digest is repository@sha256:..., what the task definitions pull: the
	// manifest the push stored, not a tag anything could move.
	Digest pulumi.StringOutput `pulumi:"digest"`
	// RepositoryURL is where the image is pushed.
	RepositoryURL pulumi.StringOutput `pulumi:"repositoryUrl"`
}

// keptImages is how many pushed images the lifecycle policy keeps: the running
// release and those a rollback (`images` of an earlier up) may still pin.
const keptImages = 10

// NewAppImage creates the repository and its lifecycle policy, and builds and
// pushes the image. The image's name carries the content tag, so an unchanged
// tree registers the same inputs (pulumi-docker's Diff compares its stored inputs,
// the build context's digest included, provider/provider.go:271-328; registry
// credentials alone are no change, :330-349): no build, no push, and the task
// definitions keep their digest. A changed tree is a new tag, which an
// IMMUTABLE repository accepts, and a new digest.
func NewAppImage(ctx *pulumi.Context, name string, args *AppImageArgs, opts ...pulumi.ResourceOption) (*AppImage, error) {
	img := &AppImage{}
	if err := ctx.RegisterComponentResource(TypeAppImage, name, img, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(img)
	spec := args.Spec
	tag, err := ImageTag(spec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	// ECR names allow lower-case letters, digits, and - _ . / (CreateRepository,
	// repositoryName), which physicalName keeps to.
	repoName := physicalName(ctx, name, 256)
	img.Ref = fmt.Sprintf("%s/%s:%s", args.Account.registry(), repoName, tag)

	repo, err := ecr.NewRepository(ctx, name, &ecr.RepositoryArgs{
		Name: pulumi.String(repoName),
		// A pushed tag never moves (CKV_AWS_51): the tag is the content's hash.
		ImageTagMutability: pulumi.String("IMMUTABLE"),
		// Every push is scanned (CKV_AWS_163).
		ImageScanningConfiguration: ecr.RepositoryImageScanningConfigurationArgs{ScanOnPush: pulumi.Bool(true)},
		// The stack's key (CKV_AWS_136).
		EncryptionConfigurations: ecr.RepositoryEncryptionConfigurationArray{ecr.RepositoryEncryptionConfigurationArgs{
			EncryptionType: pulumi.String("KMS"),
			KmsKey:         args.KMSKeyARN,
		}},
		// Images are rebuilt from the code at the next up; a destroy must not
		// stop at a repository that holds some.
		ForceDelete: pulumi.Bool(true),
		Tags:        tags(name),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("%s: repository: %w", name, err)
	}
	if _, err := ecr.NewLifecyclePolicy(ctx, name, &ecr.LifecyclePolicyArgs{
		Repository: repo.Name,
		Policy:     pulumi.String(lifecyclePolicy()),
	}, parent); err != nil {
		return nil, fmt.Errorf("%s: lifecycle policy: %w", name, err)
	}

	// The registry's own credentials, valid 12 hours (ECR
	// GetAuthorizationToken), asked at every run: a token is never stored
	// beyond the state's secret, and a new one is no change of the image.
	creds := ecr.GetAuthorizationTokenOutput(ctx, ecr.GetAuthorizationTokenOutputArgs{RegistryId: repo.RegistryId}, parent)
	built, err := PushAppImage(ctx, name, ImagePush{
		Spec: spec, Repository: repo.RepositoryUrl, Tag: tag,
		Registry: docker.RegistryArgs{
			Server:   creds.ProxyEndpoint(),
			Username: creds.UserName(),
			Password: pulumi.ToSecret(creds.Password()).(pulumi.StringOutput),
		},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	// After a push repoDigest is <name without tag>@<digest> of the pushed
	// manifest (provider/image.go:344-380).
	img.Digest, img.RepositoryURL = built.RepoDigest, repo.RepositoryUrl
	if err := ctx.RegisterResourceOutputs(img, pulumi.Map{"digest": img.Digest, "repositoryUrl": img.RepositoryURL}); err != nil {
		return nil, err
	}
	return img, nil
}

// ImagePush is an app image build and where it goes.
type ImagePush struct {
	// Spec's Moodle.Build (an absolute context), ImageBuildArgs and App.Platform
	// make the image.
	Spec topology.Spec
	// Repository is the image's name without a tag (ECR's repository URL), Tag
	// ImageTag(Spec).
	Repository pulumi.StringInput
	Tag        string
	// Registry signs the push in.
	Registry docker.RegistryArgs
}

// PushAppImage builds the app image and pushes it as Repository:Tag; its
// RepoDigest is what tasks pin.
func PushAppImage(ctx *pulumi.Context, name string, p ImagePush, opts ...pulumi.ResourceOption) (*docker.Image, error) {
	b := p.Spec.Moodle.Build
	// The provider resolves relative paths against its own working directory.
	if !filepath.IsAbs(b.Context) {
		return nil, fmt.Errorf("image: build context %q is not absolute", b.Context)
	}
	img, err := docker.NewImage(ctx, name, &docker.ImageArgs{
		ImageName: pulumi.Sprintf("%s:%s", p.Repository, p.Tag),
		Build: docker.DockerBuildArgs{
			Context:    pulumi.String(b.Context),
			Dockerfile: pulumi.String(filepath.Join(b.Context, b.Dockerfile)),
			Args:       pulumi.ToStringMap(p.Spec.ImageBuildArgs()),
			// The tasks' architecture, not the building host's (the provider
			// defaults to the host's, provider.go:211-236).
			Platform: pulumi.String(p.Spec.App.Platform()),
		},
		Registry: p.Registry,
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	return img, nil
}

// lifecyclePolicy expires what no task can need: untagged images (layers of an
// interrupted push) after a day, and all but the newest keptImages. ECR evaluates
// the rule of tagStatus "any" last and requires it to have the highest priority
// (Amazon ECR User Guide, lifecycle policy properties, rulePriority).
func lifecyclePolicy() string {
	rule := func(priority int, description, status, countType string, count int) map[string]any {
		selection := map[string]any{"tagStatus": status, "countType": countType, "countNumber": count}
		if countType == "sinceImagePushed" {
			selection["countUnit"] = "days"
		}
		return map[string]any{"rulePriority": priority, "description": description, "selection": selection, "action": map[string]any{"type": "expire"}}
	}
	doc, _ := json.Marshal(map[string]any{"rules": []any{
		rule(1, "untagged layers of interrupted pushes", "untagged", "sinceImagePushed", 1),
		rule(2, fmt.Sprintf("keep the newest %d images", keptImages), "any", "imageCountMoreThan", keptImages),
	}})
	return string(doc)
}

// ImageTag is the hash of everything the build reads: the files of the context
// that .dockerignore lets through (path, mode, content), the Dockerfile, the
// build arguments and the platform. The same tree gives the same tag on any
// machine; any change another.
func ImageTag(spec topology.Spec) (string, error) {
	b := spec.Moodle.Build
	h := sha256.New()
	fmt.Fprintf(h, "dockerfile=%s\x00platform=%s\x00", b.Dockerfile, spec.App.Platform())
	buildArgs := spec.ImageBuildArgs()
	keys := make([]string, 0, len(buildArgs))
	for k := range buildArgs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "arg %s=%s\x00", k, buildArgs[k])
	}
	ignore, err := dockerignore(filepath.Join(b.Context, ".dockerignore"))
	if err != nil {
		return "", err
	}
	err = filepath.WalkDir(b.Context, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(b.Context, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() || ignore.excludes(rel) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "file %s %s\x00", rel, info.Mode())
		if info.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := io.Copy(h, f); err != nil {
				return err
			}
		} else if info.Mode()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			fmt.Fprint(h, target)
		}
		_, err = h.Write([]byte{0})
		return err
	})
	if err != nil {
		return "", fmt.Errorf("hash the build context %s: %w", b.Context, err)
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// ignorePatterns are the lines of a .dockerignore, read as Docker reads them
// (Docker docs, build context, .dockerignore files): path.Match patterns against
// the path relative to the context, a leading ! makes an exception, the last
// line that matches a path or one of its parent folders decides. "**" is not
// supported: a pattern with it matches nothing here, so such a file is hashed,
// never wrongly left out.
type ignorePatterns []string

func dockerignore(file string) (ignorePatterns, error) {
	f, err := os.Open(file)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out ignorePatterns
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	return out, s.Err()
}

func (ps ignorePatterns) excludes(rel string) bool {
	excluded := false
	for _, p := range ps {
		keep := strings.HasPrefix(p, "!")
		p = path.Clean(strings.TrimPrefix(strings.TrimPrefix(p, "!"), "/"))
		for dir := rel; dir != "." && dir != "/"; dir = path.Dir(dir) {
			if ok, _ := path.Match(p, dir); ok {
				excluded = !keep
				break
			}
		}
	}
	return excluded
}
