//go:build integration

package realprograms

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/appimage"
	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/tests/harness/loopback"
)

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// serve answers each path with its bytes from a server on 127.0.0.1 until the test
// ends: the builds' downloads without the internet.
func serve(t *testing.T, files map[string][]byte) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestImageStartsOnlyWhatItCanServe runs the entry point's check
// (docker/check-image.php config) on rendered config.php files: an AWS config.php
// verifies the database against the CA bundle, so an image without it refuses to
// start; S3 storage needs tool_objectfs and local_aws in the code; and code other
// of another branch than the image's release is refused (the build runs the same
// check in its code mode).
func TestImageStartsOnlyWhatItCanServe(t *testing.T) {
	root := loopback.NewRoot(t)
	as := loopback.ServiceAccount(t)
	pki := newTestPKI(t, filepath.Join(root, "pki"))
	as.Own(t, filepath.Join(root, "pki"))
	imageLayout(t, filepath.Join(root, "image"))
	check := filepath.Join(root, "image", appimage.LibDir, "check-image.php")
	prod := loopback.StackSpec(t, "prod", root)
	s3 := prod
	s3.Storage.Kind = topology.StorageS3
	dev := loopback.StackSpec(t, "dev", root)
	as.OwnDataRoot(t, dev) // every stack here shares root's dataroot

	cases := []struct {
		name string
		spec topology.Spec
		// ca is the bundle config.php names (aws), plugins the folders the code
		// has, branch what its version.php declares.
		ca      string
		plugins []string
		branch  string
		// refused is part of the refusal, "" when the image may start.
		refused string
	}{
		{"the Docker host's config.php needs nothing beyond the code", dev, "", nil, "501", ""},
		{"an AWS image with the CA bundle starts", prod, pki.ca, nil, "501", ""},
		{"an AWS image without the CA bundle refuses", prod, filepath.Join(root, "missing.pem"), nil, "501",
			"which this image does not have: build it with --build-arg DATABASE_CA_SHA256="},
		{"a CA bundle without a certificate is no bundle", prod, writeFile(t, filepath.Join(root, "empty.pem"), "not a certificate\n"), nil, "501",
			"which this image does not have"},
		{"S3 storage with objectfs and local_aws starts", s3, pki.ca, []string{"admin/tool/objectfs", "local/aws"}, "501", ""},
		{"S3 storage without local_aws refuses", s3, pki.ca, []string{"admin/tool/objectfs"}, "501",
			"stores files in S3 through tool_objectfs, but this image has no local_aws"},
		{"code of another Moodle branch refuses", dev, "", nil, "502",
			"declares branch 502; allowed: 501, the release this image is built for (moodle:moodle.version)"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := c.spec
			s.Paths.CodeDir = filepath.Join(root, fmt.Sprintf("code-%d", i))
			if s.Paths.DatabaseCA != "" {
				s.Paths.DatabaseCA = c.ca
			}
			loopback.CopyProbeApp(t, s.Paths.CodeDir)
			version := filepath.Join(s.WebRoot(), "version.php")
			b, err := os.ReadFile(version)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, version, strings.Replace(string(b), "'501'", "'"+c.branch+"'", 1))
			for _, dir := range c.plugins {
				writeFile(t, filepath.Join(s.WebRoot(), dir, "version.php"), "<?php\n")
			}
			writeFile(t, filepath.Join(s.Paths.CodeDir, "config.php"), render.ConfigPHP(s, endpoints(s)))
			env := append(phpCLI(t, filepath.Join(root, fmt.Sprintf("php-%d", i)), s, nil),
				render.EnvS3Bucket+"=b", render.EnvS3Region+"=eu-west-1")
			for k, v := range s.ImageEnv() {
				env = append(env, k+"="+v)
			}
			out, err := loopback.Run(as, env, loopback.PHPBin, check, "config")
			if c.refused == "" && err != nil {
				t.Errorf("refused (%v):\n%s", err, out)
			}
			if c.refused != "" && (err == nil || !strings.Contains(out, c.refused)) {
				t.Errorf("started (%v), want a refusal with %q:\n%s", err, c.refused, out)
			}
		})
	}
}

// TestDatabaseCABundleIsPinned runs the image's build step for the database CA
// bundle (docker/install-database-ca) against a bundle served on 127.0.0.1: the
// download must have the pinned sha256 and hold a certificate, and the bundle is it
// followed by Debian's Amazon Root CA 1 to 4, in that order.
func TestDatabaseCABundleIsPinned(t *testing.T) {
	root := loopback.NewRoot(t)
	pki := newTestPKI(t, filepath.Join(root, "pki"))
	rds, err := os.ReadFile(pki.ca)
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, map[string][]byte{"/global-bundle.pem": rds, "/page.html": []byte("<html>maintenance</html>\n")})
	script := filepath.Join(loopback.RepoRoot(), "docker", "install-database-ca")
	want := string(rds)
	for n := 1; n <= 4; n++ {
		b, err := os.ReadFile(fmt.Sprintf("/usr/share/ca-certificates/mozilla/Amazon_Root_CA_%d.crt", n))
		if err != nil {
			t.Fatal(err)
		}
		want += string(b)
	}

	cases := []struct {
		name, path, sha256 string
		refused            string
	}{
		{"the pinned bundle", "/global-bundle.pem", sha256Hex(rds), ""},
		{"another bundle than the pinned one", "/global-bundle.pem", sha256Hex([]byte("another")), "has sha256 " + sha256Hex(rds)},
		{"a download without a certificate", "/page.html", sha256Hex([]byte("<html>maintenance</html>\n")), "holds no certificate"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bundle := filepath.Join(root, fmt.Sprintf("out-%d", i), "database-ca.pem")
			out, err := loopback.Run(loopback.Account{}, nil, script, url+c.path, c.sha256, bundle)
			got, readErr := os.ReadFile(bundle)
			switch {
			case c.refused == "" && (err != nil || readErr != nil || string(got) != want):
				t.Errorf("bundle (%v, %v) is not the RDS bundle followed by Amazon Root CA 1-4:\n%s", err, readErr, out)
			case c.refused != "" && (err == nil || !strings.Contains(out, c.refused)):
				t.Errorf("accepted (%v), want a refusal with %q:\n%s", err, c.refused, out)
			case c.refused != "" && readErr == nil:
				t.Errorf("a refused download left a bundle behind")
			}
		})
	}
	// The bundle is the image's path the model names on AWS.
	if topology.DatabaseCABundle != appimage.DatabaseCABundle {
		t.Errorf("the model names %s, the image writes %s", topology.DatabaseCABundle, appimage.DatabaseCABundle)
	}
}
