package dockerhost

import (
	"fmt"
	"path/filepath"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// image is what a container runs: ref is the image reference handed to Docker, and
// revision changes whenever the image content does, so containers are replaced when
// the image is rebuilt under the same tag.
type image struct {
	ref, revision pulumi.StringOutput
}

// images are the images of one cluster, by role.
type images struct {
	app, web, database, cache, pgbouncer, mailCatcher image
}

// newImages resolves every image the spec names. The app image is built from
// docker/Dockerfile (CodeBuild) or taken as a prebuilt image (CodeImage, and
// CodeHostPath, which bind-mounts the code over it); every other image is a pinned
// remote image. Remote images are looked up locally first and pulled only when
// missing, and kept on destroy, so a host without registry access runs on images
// preloaded with `docker load`.
func newImages(ctx *pulumi.Context, name string, spec topology.Spec, opts ...pulumi.ResourceOption) (images, error) {
	var imgs images
	var err error
	if spec.Moodle.CodeSource == topology.CodeBuild {
		imgs.app, err = buildApp(ctx, name, spec, opts...)
	} else {
		imgs.app, err = remote(ctx, name+"-app-image", spec.Images.App, opts...)
	}
	if err != nil {
		return imgs, err
	}
	imgs.web = imgs.app
	if spec.Images.Web != "" && spec.Images.Web != spec.Images.App {
		if imgs.web, err = remote(ctx, name+"-web-image", spec.Images.Web, opts...); err != nil {
			return imgs, err
		}
	}
	if imgs.database, err = remote(ctx, name+"-db-image", spec.Images.Database, opts...); err != nil {
		return imgs, err
	}
	if imgs.cache, err = remote(ctx, name+"-redis-image", spec.Images.Cache, opts...); err != nil {
		return imgs, err
	}
	if spec.Database.Pooler == topology.PoolerPgBouncer {
		if imgs.pgbouncer, err = remote(ctx, name+"-pgbouncer-image", spec.Images.PgBouncer, opts...); err != nil {
			return imgs, err
		}
	}
	if spec.UsesCatcher() {
		if imgs.mailCatcher, err = remote(ctx, name+"-mailpit-image", spec.Images.MailCatcher, opts...); err != nil {
			return imgs, err
		}
	}
	return imgs, nil
}

// buildApp builds the app image on the Docker host from spec.Moodle.Build, tagged
// spec.Images.App and never pushed. The paths and the release are build arguments
// set from the Spec, so the image agrees with the rendered files.
func buildApp(ctx *pulumi.Context, name string, spec topology.Spec, opts ...pulumi.ResourceOption) (image, error) {
	b := spec.Moodle.Build
	// The provider resolves relative paths against its own working directory, which
	// is not the project folder under the Automation API.
	if !filepath.IsAbs(b.Context) {
		return image{}, fmt.Errorf("app image: build context %q is not absolute", b.Context)
	}
	args := pulumi.ToStringMap(spec.ImageBuildArgs())
	img, err := docker.NewImage(ctx, name+"-app-image", &docker.ImageArgs{
		ImageName: pulumi.String(spec.Images.App),
		SkipPush:  pulumi.Bool(true),
		Build: &docker.DockerBuildArgs{
			Context:    pulumi.String(b.Context),
			Dockerfile: pulumi.String(filepath.Join(b.Context, b.Dockerfile)),
			Args:       args,
		},
	}, opts...)
	if err != nil {
		return image{}, fmt.Errorf("app image: %w", err)
	}
	// repoDigest of a local build is the built image's ID (pulumi-docker >= 4.4).
	return image{ref: img.ImageName, revision: img.RepoDigest}, nil
}

func remote(ctx *pulumi.Context, resourceName, ref string, opts ...pulumi.ResourceOption) (image, error) {
	img, err := docker.NewRemoteImage(ctx, resourceName, &docker.RemoteImageArgs{
		Name:        pulumi.String(ref),
		KeepLocally: pulumi.Bool(true),
	}, opts...)
	if err != nil {
		return image{}, fmt.Errorf("image %s: %w", ref, err)
	}
	return image{ref: img.ImageId, revision: img.ImageId}, nil
}
