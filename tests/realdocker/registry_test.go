//go:build realdocker

package realdocker_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/automation"
	"github.com/moodle-cluster/moodle-pulumi/components/awscloud"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// registry is a Distribution registry (Debian's docker-registry, the registry
// ECR speaks the API of) on the loopback address, with htpasswd basic auth.
// Docker treats registries on 127.0.0.0/8 as insecure without configuration
// ("Local registries, whose IP address falls in the 127.0.0.0/8 range, are
// automatically marked as insecure", dockerd reference, insecure registries),
// so it needs no TLS; the push goes from the daemon on this same host.
type registry struct {
	host, user, password string
}

// startRegistry runs docker-registry on a free port with one user, and stops it
// when the test ends. Only bcrypt passwords are read (Distribution's htpasswd
// auth), which `htpasswd -B` writes.
func startRegistry(t *testing.T) registry {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Fatal("no docker-registry on PATH (Debian package docker-registry)")
	}
	htpasswdBin, err := exec.LookPath("htpasswd")
	if err != nil {
		t.Fatal("no htpasswd on PATH (Debian package apache2-utils)")
	}
	dir := t.TempDir()
	r := registry{host: fmt.Sprintf("127.0.0.1:%d", freePort(t)), user: "ecrtest", password: "ecrtest-" + fmt.Sprint(time.Now().UnixNano())}
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(run(t, htpasswdBin, "-Bbn", r.user, r.password)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`version: 0.1
storage:
  filesystem:
    rootdirectory: %s
http:
  addr: %s
auth:
  htpasswd:
    realm: ecrtest
    path: %s
`, filepath.Join(dir, "data"), r.host, htpasswd)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", cfg)
	cmd.Stdout, cmd.Stderr = testWriter{t}, testWriter{t}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + r.host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return r
			}
			t.Fatalf("the registry answers /v2/ without credentials with %s, want 401", resp.Status)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the registry at %s does not answer: %v", r.host, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// manifestDigest asks the registry for the manifest of repository:tag as a
// client that pulls it, and returns the digest the registry names it by.
func (r registry) manifestDigest(t *testing.T, repository, tag string, authenticated bool) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodHead, "http://"+r.host+"/v2/"+repository+"/manifests/"+tag, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, media := range []string{
		"application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json",
		"application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
	} {
		req.Header.Add("Accept", media)
	}
	if authenticated {
		req.SetBasicAuth(r.user, r.password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Docker-Content-Digest")
}

// The app image of an aws stack with codeSource build goes through the function
// the program pushes it to ECR with (awscloud.PushAppImage: the real
// pulumi-docker Image, the model's build arguments, the tasks' platform, the
// content tag) into a registry that refuses anonymous clients. The push signs in
// with the registry credentials; the repoDigest the program pins in the task
// definitions is the digest the registry serves the tag's manifest by; a second
// up over the same tree pushes nothing.
func TestBuiltImageIsPushedWithCredentialsAndPinnedByTheRegistrysDigest(t *testing.T) {
	ctx := context.Background()
	reg := startRegistry(t)
	spec, err := topology.Defaults(topology.TargetAWS)
	if err != nil {
		t.Fatal(err)
	}
	spec.Moodle.Version = "5.1"
	spec.Moodle.CodeSource = topology.CodeBuild
	spec.Moodle.Build.Context = siteContext(t, "5.1")
	spec.Moodle.Build.Args = map[string]string{"PHP_IMAGE": phpBase, "MOODLE_CODE": "context"}
	spec.App.CPUArchitecture = topology.ArchX86
	tag, err := awscloud.ImageTag(spec)
	if err != nil {
		t.Fatal(err)
	}
	const repository = "ecrtest/moodle-app"
	ref := reg.host + "/" + repository + ":" + tag
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", ref).Run() })

	program := func(ctx *pulumi.Context) error {
		img, err := awscloud.PushAppImage(ctx, "ecrtest-app-image", awscloud.ImagePush{
			Spec: spec, Repository: pulumi.String(reg.host + "/" + repository), Tag: tag,
			Registry: docker.RegistryArgs{
				Server:   pulumi.String(reg.host),
				Username: pulumi.String(reg.user),
				Password: pulumi.ToSecret(pulumi.String(reg.password)).(pulumi.StringOutput),
			},
		})
		if err != nil {
			return err
		}
		ctx.Export("repoDigest", img.RepoDigest)
		ctx.Export("platform", img.Platform)
		return nil
	}
	stack, err := automation.New(ctx, "ecrtest",
		automation.WithProgram(program),
		// Pulumi.yaml requires a target; this program reads no config.
		automation.WithConfig(automation.Config{"moodle:target": "aws"}),
		automation.WithProjectDir(projectDir),
		automation.WithStateDir(t.TempDir()),
		automation.WithPassphrase(passphrase),
		automation.WithProgress(testWriter{t}),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := stack.Destroy(context.Background()); err != nil {
			t.Logf("destroy: %v", err)
		}
	})
	res, err := stack.Up(ctx)
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	pinned, _ := res.Outputs["repoDigest"].Value.(string)
	name, digest, ok := strings.Cut(pinned, "@")
	if !ok || name != reg.host+"/"+repository || !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("repoDigest %q, want %s/%s@sha256:<digest>", pinned, reg.host, repository)
	}
	if platform, _ := res.Outputs["platform"].Value.(string); platform != "linux/amd64" {
		t.Errorf("built for %q, want the tasks' linux/amd64", platform)
	}

	if status, _ := reg.manifestDigest(t, repository, tag, false); status != http.StatusUnauthorized {
		t.Errorf("the registry serves the manifest without credentials: %d", status)
	}
	status, served := reg.manifestDigest(t, repository, tag, true)
	if status != http.StatusOK {
		t.Fatalf("manifest %s:%s: %d, want 200: the push did not arrive", repository, tag, status)
	}
	if served != digest {
		t.Errorf("the registry serves %s:%s as %s, the program pins %s", repository, tag, served, digest)
	}
	t.Logf("pushed %s, pinned %s", ref, pinned)

	again, err := stack.Up(ctx)
	if err != nil {
		t.Fatalf("second up: %v", err)
	}
	for op, n := range *again.Summary.ResourceChanges {
		if op != string(apitype.OpSame) && n > 0 {
			t.Errorf("second up over the same tree: %d %s, want only sames", n, op)
		}
	}
	if again.Outputs["repoDigest"].Value != pinned {
		t.Errorf("second up pins %v, want %s", again.Outputs["repoDigest"].Value, pinned)
	}
}
