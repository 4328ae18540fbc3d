package stack_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/moodle-cluster/moodle-pulumi/components/appimage"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

const (
	tRepository      = "aws:ecr/repository:Repository"
	tLifecyclePolicy = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
	appImageName     = "moodle-app-image"
	// mockBundleSHA256 stands for the RDS global bundle's checksum.
	mockBundleSHA256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

// builtProd is the prod stack with the app image built from docker/ by up.
func builtProd(more map[string]any) map[string]any {
	return mergeEdits(map[string]any{
		"moodle.codeSource":                    "build",
		"images.app":                           nil,
		"moodle.build.args.DATABASE_CA_SHA256": mockBundleSHA256,
	}, more)
}

// checkRepository: the repository is what awsx.ecr.Repository makes and what
// the checks ask of one (a security rule of TestProdSecurityRules): tags never
// move, every push is scanned, images are encrypted with the stack's key, and a
// lifecycle policy expires what no task needs.
func checkRepository(t *testing.T, rec *recorder, _ topology.Spec) {
	repo := rec.one(t, tRepository, appImageName)
	if got := repo.str("imageTagMutability"); got != "IMMUTABLE" {
		t.Errorf("imageTagMutability %q, want IMMUTABLE", got)
	}
	if !repo.boolean("imageScanningConfiguration.scanOnPush") {
		t.Error("images are not scanned on push")
	}
	enc := repo.input("encryptionConfigurations")
	if !enc.IsArray() || len(enc.ArrayValue()) != 1 {
		t.Fatalf("encryptionConfigurations %v, want one", enc)
	}
	key := mockARN("aws:kms/key:Key", "moodle-data")
	if typ, kmsKey := at(enc.ArrayValue()[0], "encryptionType"), at(enc.ArrayValue()[0], "kmsKey"); typ.StringValue() != "KMS" || kmsKey.StringValue() != key {
		t.Errorf("encryption %v with key %v, want KMS with the data key %s", typ, kmsKey, key)
	}

	var policy struct {
		Rules []struct {
			RulePriority int `json:"rulePriority"`
			Selection    struct {
				TagStatus   string `json:"tagStatus"`
				CountType   string `json:"countType"`
				CountNumber int    `json:"countNumber"`
			} `json:"selection"`
			Action struct {
				Type string `json:"type"`
			} `json:"action"`
		} `json:"rules"`
	}
	lifecycle := rec.one(t, tLifecyclePolicy, appImageName)
	if err := json.Unmarshal([]byte(lifecycle.str("policy")), &policy); err != nil {
		t.Fatal(err)
	}
	if lifecycle.str("repository") != repo.str("name") {
		t.Errorf("lifecycle policy on %q, want the repository %q", lifecycle.str("repository"), repo.str("name"))
	}
	last := policy.Rules[len(policy.Rules)-1]
	// "A rule with a tagStatus value of any must have the highest value for
	// rulePriority and be evaluated last" (Amazon ECR User Guide, lifecycle
	// policy properties).
	if last.Selection.TagStatus != "any" || last.Selection.CountType != "imageCountMoreThan" || last.Action.Type != "expire" {
		t.Errorf("last rule %+v, want: expire any image beyond a count", last)
	}
	for _, r := range policy.Rules[:len(policy.Rules)-1] {
		if r.RulePriority >= last.RulePriority || r.Selection.TagStatus == "any" {
			t.Errorf("rule %+v comes after or beside the any rule", r)
		}
	}
}

// The image is built from docker/ for the tasks' architecture, with the model's
// build arguments, the stack's plugins and the pinned RDS bundle, and pushed with
// the credentials of the registry's authorization token (a secret).
func TestProdBuildsTheAppImageForTheTasksArchitecture(t *testing.T) {
	for _, tc := range []struct {
		arch, platform string
	}{{"x86_64", "linux/amd64"}, {"arm64", "linux/arm64"}} {
		t.Run(tc.arch, func(t *testing.T) {
			rec := mustRun(t, "prod", builtProd(map[string]any{"app.cpuArchitecture": tc.arch}))
			img := rec.one(t, tImage, appImageName)
			spec := stackSpec(t, "prod", builtProd(map[string]any{"app.cpuArchitecture": tc.arch}))
			if got := img.str("build.platform"); got != tc.platform {
				t.Errorf("platform %q, want %q", got, tc.platform)
			}
			if got, want := img.str("build.context"), filepath.Join(spec.Moodle.Build.Context); got != want {
				t.Errorf("context %q, want %q", got, want)
			}
			for k, want := range spec.ImageBuildArgs() {
				if got := img.str("build.args." + k); got != want {
					t.Errorf("build arg %s = %q, want %q", k, got, want)
				}
			}
			if got := img.str("build.args." + appimage.ArgDatabaseCASHA256); got != mockBundleSHA256 {
				t.Errorf("%s = %q, want the stack's %s", appimage.ArgDatabaseCASHA256, got, mockBundleSHA256)
			}
			if img.boolean("skipPush") {
				t.Error("the image is not pushed")
			}
			repoURL := mockAccount + ".dkr.ecr." + mockRegion + ".amazonaws.com/" + rec.one(t, tRepository, appImageName).str("name")
			if name := img.str("imageName"); !strings.HasPrefix(name, repoURL+":") || len(name) != len(repoURL)+1+32 {
				t.Errorf("image name %q, want %s:<content tag>", name, repoURL)
			}
			if got := img.str("registry.server"); got != "https://"+mockAccount+".dkr.ecr."+mockRegion+".amazonaws.com" {
				t.Errorf("registry server %q, want the token's proxy endpoint", got)
			}
			if img.str("registry.password") != mockECRToken || !img.Inputs["registry"].ContainsSecrets() {
				t.Errorf("registry %v, want the token's password as a secret", img.Inputs["registry"])
			}
			for _, s := range plainStrings(resource.NewObjectProperty(img.Inputs)) {
				if strings.Contains(s, mockECRToken) {
					t.Error("the registry password is in the image's inputs in plain text")
				}
			}
		})
	}
}

// The tasks pull the pushed manifest by digest, never by a tag; the content tag
// names the release whose markers they wait for.
func TestProdTaskDefinitionsPinThePushedDigest(t *testing.T) {
	rec := mustRun(t, "prod", builtProd(nil))
	img := rec.one(t, tImage, appImageName)
	tag := img.str("imageName")
	repo, _, _ := strings.Cut(tag, ":")
	digest := repo + "@" + imageID("manifest:"+tag)
	for _, name := range []string{appName, cronName, cronName + "-adhoc"} {
		td := rec.one(t, tTaskDef, name)
		for _, c := range td.containers(t) {
			if c.Image != digest {
				t.Errorf("%s/%s runs %q, want the pushed %q", name, c.Name, c.Image, digest)
			}
			for _, e := range c.Environment {
				if e.Name == appimage.EnvImageRevision && e.Value != tag {
					t.Errorf("%s/%s: %s = %q, want the content tag %q", name, c.Name, e.Name, e.Value, tag)
				}
			}
		}
	}
	nginx := rec.one(t, tTaskDef, appName).renderedFiles(t)["MOODLE_FILE_NGINX_CONF"]
	spec := stackSpec(t, "prod", builtProd(nil))
	if spec.Images.App != tag {
		t.Errorf("the model runs %q, the image is pushed as %q", spec.Images.App, tag)
	}
	if !strings.Contains(nginx, spec.ReleaseMarker()) {
		t.Errorf("the web tier does not wait for the built release's marker %s", spec.ReleaseMarker())
	}
}

// A prebuilt image (codeSource image, the default) is pulled as images.app names
// it: no repository, no build.
func TestProdPrebuiltImageIsPulledAsGiven(t *testing.T) {
	const prebuilt = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/site/moodle@sha256:" + mockBundleSHA256
	rec := mustRun(t, "prod", map[string]any{"images.app": prebuilt})
	if n := len(rec.ofType(tRepository)) + len(rec.ofType(tImage)) + len(rec.ofType(tLifecyclePolicy)); n != 0 {
		t.Errorf("%d repository or image resources for a prebuilt image", n)
	}
	for _, name := range []string{appName, cronName} {
		for _, c := range rec.one(t, tTaskDef, name).containers(t) {
			if c.Image != prebuilt {
				t.Errorf("%s/%s runs %q, want images.app %q", name, c.Name, c.Image, prebuilt)
			}
		}
	}
}
