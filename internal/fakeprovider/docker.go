package fakeprovider

import (
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

const hexDigits = "0123456789abcdef"

func dockerID(Env, Resource) string { return randomFrom(hexDigits, 64) }

// dockerPackage fakes pulumi-docker v4.10.0, a bridge of the kreuzwerker Terraform
// provider: almost every container argument is ForceNew there, only the ones
// `docker update` can change in place (restart policy, memory, CPU shares/set) and
// the provider's own lifecycle flags are updated without replacement. Volumes and
// networks have only ForceNew arguments.
func dockerPackage() *Package {
	return &Package{
		Name:    "docker",
		Version: "4.10.0",
		Kinds: map[string]*Kind{
			"docker:index/container:Container": {
				ForceNew: allBut(
					"restart", "maxRetryCount", "memory", "memorySwap", "cpuShares", "cpuSet",
					"rm", "start", "wait", "waitTimeout", "attach", "logs", "mustRun",
					"removeVolumes", "tmpfs", "destroyGraceSeconds", "healthcheck", "init",
					"containerReadRefreshTimeoutMilliseconds",
				),
				ID: dockerID,
				Outputs: func(env Env, r Resource) resource.PropertyMap {
					return resource.PropertyMap{
						"bridge": str(""),
						"networkData": resource.NewArrayProperty([]resource.PropertyValue{
							resource.NewObjectProperty(resource.PropertyMap{
								"networkName": str("bridge"),
								"ipAddress":   str("172.18.0." + randomFrom("123456789", 2)),
								"gateway":     str("172.18.0.1"),
							}),
						}),
					}
				},
			},
			"docker:index/volume:Volume": {
				ForceNew: every,
				ID:       dockerID,
				Outputs: func(env Env, r Resource) resource.PropertyMap {
					name := r.StrOr("name", r.ID)
					return resource.PropertyMap{
						"name":       str(name),
						"driver":     str("local"),
						"mountpoint": str("/var/lib/docker/volumes/" + name + "/_data"),
					}
				},
			},
			"docker:index/network:Network": {
				ForceNew: every,
				ID:       dockerID,
				Outputs: func(env Env, r Resource) resource.PropertyMap {
					return resource.PropertyMap{
						"name":   str(r.StrOr("name", r.ID)),
						"driver": str("bridge"),
						"scope":  str("local"),
					}
				},
			},
			"docker:index/remoteImage:RemoteImage": {
				ForceNew: only("name", "pullTriggers", "triggers", "build", "platform"),
				Outputs: func(env Env, r Resource) resource.PropertyMap {
					digest := "sha256:" + randomFrom(hexDigits, 64)
					return resource.PropertyMap{
						"imageId":    str(digest),
						"repoDigest": str(r.Str("name") + "@" + digest),
					}
				},
			},
			// docker.Image builds (and optionally pushes) an image; a changed build
			// is an update that rebuilds, not a replacement.
			"docker:index/image:Image": {
				Outputs: func(env Env, r Resource) resource.PropertyMap {
					return resource.PropertyMap{
						"baseImageName": str(r.Str("imageName")),
						"repoDigest":    str(""),
					}
				},
			},
		},
		Default: &Kind{ForceNew: every, ID: dockerID},
		Invokes: map[string]InvokeFunc{},
	}
}
