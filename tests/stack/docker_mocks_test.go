package stack_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// dockerOutputs returns what the docker provider computes on create.
func dockerOutputs(token, name string, inputs resource.PropertyMap) resource.PropertyMap {
	str := resource.NewStringProperty
	switch token {
	case "docker:index/image:Image":
		// A local build (skipPush) reports the built image's ID as its repoDigest;
		// a push the repository without the tag @ the pushed manifest's digest
		// (pulumi-docker provider/image.go:308-380).
		digest := imageID("build:" + name)
		if skip := inputs["skipPush"]; !skip.IsBool() || !skip.BoolValue() {
			repo, _, _ := strings.Cut(inputs["imageName"].StringValue(), ":")
			digest = repo + "@" + imageID("manifest:"+inputs["imageName"].StringValue())
		}
		return resource.PropertyMap{
			"repoDigest":     str(digest),
			"baseImageName":  inputs["imageName"],
			"registryServer": str(""),
		}
	case "docker:index/remoteImage:RemoteImage":
		ref := inputs["name"].StringValue()
		return resource.PropertyMap{
			"imageId":    str(imageID(ref)),
			"repoDigest": str(ref + "@" + imageID("manifest:"+ref)),
		}
	case "docker:index/volume:Volume":
		return resource.PropertyMap{
			"mountpoint": str("/var/lib/docker/volumes/" + inputs["name"].StringValue() + "/_data"),
		}
	case "docker:index/network:Network":
		return resource.PropertyMap{"scope": str("local")}
	case "docker:index/container:Container":
		var nets []resource.PropertyValue
		if adv, ok := inputs["networksAdvanced"]; ok && adv.IsArray() {
			for _, n := range adv.ArrayValue() {
				nets = append(nets, resource.NewObjectProperty(resource.PropertyMap{
					"networkName": n.ObjectValue()["name"],
				}))
			}
		}
		return resource.PropertyMap{
			"networkDatas": resource.NewArrayProperty(nets),
			"exitCode":     resource.NewNullProperty(),
		}
	}
	return nil
}

// imageID is a stable, fake sha256 image ID.
func imageID(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return "sha256:" + hex.EncodeToString(sum[:])
}
