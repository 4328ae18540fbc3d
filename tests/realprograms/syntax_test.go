//go:build integration

// Package realprograms checks the rendered files with the programs that read them:
// nginx, php-fpm, PHP and sh check their syntax, and a loopback cluster runs them.
package realprograms

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/tests/harness/loopback"
)

// variants are the committed stacks whose files must pass: dev (the load balancer in
// front of php-fpm) and prod on AWS (the per-node web server, https, Redis over TLS,
// a read replica).
func variants(t *testing.T, root string) []struct {
	name string
	spec topology.Spec
} {
	return []struct {
		name string
		spec topology.Spec
	}{
		{"dev", loopback.DevSpec(t, root, 8080)},
		{"prod", loopback.StackSpec(t, "prod", root)},
		{"prod-cloudfront", prodBehindCloudFront(t, root)},
	}
}

func prodBehindCloudFront(t *testing.T, root string) topology.Spec {
	s := loopback.StackSpec(t, "prod", root)
	s.AWS.CloudFront.Enabled = true
	return s
}

// The node's nginx behind CloudFront computes the address PHP gets as
// X-Forwarded-For from CloudFront-Viewer-Address ("IP:port", IPv6 unbracketed, as
// CloudFront sends it): real nginx evaluates the rendered map for each form.
func TestNginxTakesTheViewerAddressCloudFrontSends(t *testing.T) {
	root := loopback.NewRoot(t)
	as := loopback.ServiceAccount(t)
	rendered := render.NginxNode(prodBehindCloudFront(t, root))
	start := strings.Index(rendered, "map $http_cloudfront_viewer_address")
	end := strings.Index(rendered[start:], "\n}\n")
	if start < 0 || end < 0 {
		t.Fatalf("no map of CloudFront-Viewer-Address in the node's nginx:\n%s", rendered)
	}
	port := loopback.FreePort(t)
	loopback.ExpectPortsClosed(t, port)
	site := rendered[start:start+end+3] + fmt.Sprintf(`server {
    listen 127.0.0.1:%d;
    location / {
        default_type text/plain;
        return 200 "$moodle_client_address";
    }
}
`, port)
	loopback.StartNginx(t, filepath.Join(root, "nginx"), "nginx-cloudfront", site, port, as)
	for _, c := range []struct {
		viewer, forwarded, want string
	}{
		{"203.0.113.9:46532", "203.0.113.9, 130.176.0.1", "203.0.113.9"},
		{"2001:db8::7:3a:443", "2001:db8::7:3a, 130.176.0.1", "2001:db8::7:3a"},
		{"", "198.51.100.4", "198.51.100.4"},
	} {
		req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/", port), nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.viewer != "" {
			req.Header.Set("CloudFront-Viewer-Address", c.viewer)
		}
		req.Header.Set("X-Forwarded-For", c.forwarded)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != c.want {
			t.Errorf("viewer %q, X-Forwarded-For %q: PHP would get %q, want %q", c.viewer, c.forwarded, body, c.want)
		}
	}
}

func endpoints(s topology.Spec) render.Endpoints {
	e := render.Endpoints{
		Database: render.HostPort{Host: "db.internal", Port: 5432},
		Redis:    render.HostPort{Host: "redis.internal", Port: 6379},
	}
	for i := range s.Database.ReadReplicas {
		e.ReadReplicas = append(e.ReadReplicas, render.HostPort{Host: fmt.Sprintf("replica-%d.internal", i+1), Port: 5432})
	}
	return e
}

func writeFile(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRenderedFilesPassTheProgramsOwnChecks(t *testing.T) {
	root := loopback.NewRoot(t)
	as := loopback.ServiceAccount(t)
	for _, v := range variants(t, root) {
		dir := filepath.Join(root, v.name)
		iniDir := filepath.Join(dir, "php")
		writeFile(t, filepath.Join(iniDir, "zz-moodle.ini"), render.PHPIni(v.spec))
		backends := make([]render.HostPort, len(v.spec.AppNodes()))
		for i := range backends {
			backends[i] = render.HostPort{Host: "127.0.0.1", Port: 9001 + i}
		}

		checks := []struct {
			name string
			run  func(t *testing.T) (string, error)
		}{
			{"nginx -t accepts the load balancer", func(t *testing.T) (string, error) {
				conf := loopback.WriteNginx(t, filepath.Join(dir, "nginx-lb"), render.NginxLoadBalancer(v.spec, backends), as)
				return loopback.Run(as, nil, loopback.NginxBin, loopback.NginxArgs(conf, "-t")...)
			}},
			{"nginx -t accepts the per-node web server", func(t *testing.T) (string, error) {
				conf := loopback.WriteNginx(t, filepath.Join(dir, "nginx-node"), render.NginxNode(v.spec), as)
				return loopback.Run(as, nil, loopback.NginxBin, loopback.NginxArgs(conf, "-t")...)
			}},
			{"php-fpm -t accepts the pool", func(t *testing.T) (string, error) {
				fpmDir := filepath.Join(dir, "php-fpm")
				pool := render.PHPFPMPool(v.spec, render.NodeFastCGI.String())
				writeFile(t, filepath.Join(fpmDir, "pool.conf"), pool)
				conf := writeFile(t, filepath.Join(fpmDir, "php-fpm.conf"), loopback.FPMConfig(fpmDir, pool, nil))
				as.Own(t, fpmDir)
				return loopback.Run(as, []string{loopback.PHPEnv("fpm", iniDir)}, loopback.PHPFPMBin, "-t", "--fpm-config", conf)
			}},
			{"php -l accepts config.php", func(t *testing.T) (string, error) {
				conf := writeFile(t, filepath.Join(dir, "code", "config.php"), render.ConfigPHP(v.spec, endpoints(v.spec)))
				return loopback.Run(as, nil, loopback.PHPBin, "-n", "-l", conf)
			}},
			{"php starts with php.ini alone without a warning", func(t *testing.T) (string, error) {
				return silentPHP(as, nil, "-n", "-c", filepath.Join(iniDir, "zz-moodle.ini"), "-r", `echo "ok";`)
			}},
			{"php starts with Debian's extensions and php.ini without a warning", func(t *testing.T) (string, error) {
				return silentPHP(as, []string{loopback.PHPEnv("cli", iniDir)}, "-r", `echo "ok";`)
			}},
			{"sh -n accepts the cron runner", func(t *testing.T) (string, error) {
				script := writeFile(t, filepath.Join(dir, "cron-runner.sh"), render.CronRunner(v.spec))
				return loopback.Run(as, nil, "/bin/sh", "-n", script)
			}},
		}
		for _, c := range checks {
			t.Run(v.name+"/"+c.name, func(t *testing.T) {
				if out, err := c.run(t); err != nil {
					t.Fatalf("%v", err)
				} else if strings.Contains(out, "[warn]") || strings.Contains(out, "WARNING") {
					t.Errorf("passes with warnings:\n%s", out)
				}
			})
		}
		t.Run(v.name+"/php.ini takes effect", func(t *testing.T) { phpIniTakesEffect(t, v.spec, as, iniDir) })
	}
}

// silentPHP runs php and fails unless it prints exactly "ok": a startup warning or a
// deprecation notice from the rendered php.ini would come first.
func silentPHP(as loopback.Account, env []string, args ...string) (string, error) {
	out, err := loopback.Run(as, env, loopback.PHPBin, args...)
	if err == nil && out != "ok" {
		err = fmt.Errorf("php printed more than ok:\n%s", out)
	}
	return out, err
}

// phpIniTakesEffect reads the values back from PHP loaded the way the app image loads
// it: Debian's extensions first, the rendered file last.
func phpIniTakesEffect(t *testing.T, s topology.Spec, as loopback.Account, iniDir string) {
	out, err := loopback.Run(as, []string{loopback.PHPEnv("cli", iniDir)}, loopback.PHPBin, "-r", `echo json_encode([
		"memory_limit" => ini_parse_quantity(ini_get("memory_limit")),
		"post_max_size" => ini_parse_quantity(ini_get("post_max_size")),
		"upload_max_filesize" => ini_parse_quantity(ini_get("upload_max_filesize")),
		"max_input_vars" => (int)ini_get("max_input_vars"),
		"opcache.memory_consumption" => (int)ini_get("opcache.memory_consumption"),
		"opcache.validate_timestamps" => (bool)ini_get("opcache.validate_timestamps"),
	]);`)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	const mb = 1 << 20
	want := map[string]any{
		"memory_limit":                float64(s.App.PHP.MemoryLimitMB * mb),
		"post_max_size":               float64(s.Web.ClientMaxBodyMB * mb),
		"upload_max_filesize":         float64(s.Web.ClientMaxBodyMB * mb),
		"max_input_vars":              float64(s.App.PHP.MaxInputVars),
		"opcache.memory_consumption":  float64(s.App.PHP.OPcacheMemoryMB),
		"opcache.validate_timestamps": true,
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %v, want %v", k, got[k], w)
		}
	}
}
