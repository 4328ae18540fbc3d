//go:build integration

package realprograms

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moodle-cluster/moodle-pulumi/components/appimage"
	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/tests/harness/loopback"
)

// testPKI is a CA that signs a server certificate for the name "localhost" only,
// and a second CA that signs nothing the servers present.
type testPKI struct {
	ca, otherCA, cert, key string
}

// newTestPKI writes the CA bundles and the server's certificate and key into dir.
func newTestPKI(t *testing.T, dir string) testPKI {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	serial := int64(0)
	sign := func(tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, signer *ecdsa.PrivateKey) []byte {
		serial++
		tmpl.SerialNumber = big.NewInt(serial)
		tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	newCA := func(name string) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
		key := newKey()
		tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: name}, IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign}
		return tmpl, key, sign(tmpl, tmpl, &key.PublicKey, key)
	}
	ca, caKey, caPEM := newCA("moodle-pulumi test CA")
	_, _, otherPEM := newCA("another CA")
	serverKey := newKey()
	certPEM := sign(&x509.Certificate{Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}},
		ca, &serverKey.PublicKey, caKey)
	keyDER, err := x509.MarshalPKCS8PrivateKey(serverKey)
	if err != nil {
		t.Fatal(err)
	}
	p := testPKI{ca: filepath.Join(dir, "ca.pem"), otherCA: filepath.Join(dir, "other-ca.pem"),
		cert: filepath.Join(dir, "server.pem"), key: filepath.Join(dir, "server.key")}
	for path, data := range map[string][]byte{p.ca: caPEM, p.otherCA: otherPEM, p.cert: certPEM,
		p.key: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// tlsCase is one connection attempt: the CA bundle config.php names, the host the
// client connects to, and whether the connection must be refused.
type tlsCase struct {
	name, ca, host string
	refused        bool
}

func tlsCases(p testPKI) []tlsCase {
	return []tlsCase{
		{name: "the server's CA and its name", ca: p.ca, host: "localhost"},
		{name: "another CA", ca: p.otherCA, host: "localhost", refused: true},
		{name: "a name the certificate does not carry", ca: p.ca, host: "127.0.0.1", refused: true},
	}
}

// TestDatabaseConnectionIsVerified runs the prod stack's config.php with PHP's pgsql,
// connecting the way Moodle's pgsql driver does and the way the app image's install
// check (docker/site-installed.php) does, against a real PostgreSQL with TLS:
// with the CA bundle the model names and the server's name it connects; with another
// CA or another name libpq refuses, where sslmode prefer (no 'ssl' in dboptions)
// would have connected without checking anything.
func TestDatabaseConnectionIsVerified(t *testing.T) {
	root := loopback.NewRoot(t)
	as := loopback.ServiceAccount(t)
	pgDir := filepath.Join(root, "postgres")
	pki := newTestPKI(t, filepath.Join(pgDir, "tls"))
	port := loopback.FreePort(t)
	loopback.ExpectPortsClosed(t, port)
	spec := loopback.StackSpec(t, "prod", root)
	as.OwnDataRoot(t, spec)
	pg := loopback.StartPostgres(t, pgDir, port, spec.ServerConnections(), as)
	password := loopback.Password(t)
	if _, err := pg.SQL(`CREATE ROLE :"user" LOGIN PASSWORD :'password';
CREATE DATABASE :"db" OWNER :"user";
ALTER SYSTEM SET ssl_cert_file = :'cert';
ALTER SYSTEM SET ssl_key_file = :'key';
ALTER SYSTEM SET ssl = on;
SELECT pg_reload_conf();`, "user="+spec.Database.User, "password="+password, "db="+spec.Database.Name,
		"cert="+pki.cert, "key="+pki.key); err != nil {
		t.Fatalf("set up the database with TLS: %v", err)
	}
	pg.WaitFor(t, 15*time.Second, "TLS on", func() error {
		if out, err := pg.SQL("SHOW ssl"); err != nil || out != "on" {
			return fmt.Errorf("ssl is %q (%v)", out, err)
		}
		return nil
	})
	loopback.CopyProbeApp(t, spec.Paths.CodeDir)
	env := phpCLI(t, root, spec, map[string]string{render.EnvDBPassword: password})
	// The service account runs the image's copy: it may not enter the clone.
	imageLayout(t, root)
	siteInstalled := filepath.Join(root, appimage.LibDir, "site-installed.php")

	for _, c := range tlsCases(pki) {
		t.Run(c.name, func(t *testing.T) {
			s := spec
			s.Paths.DatabaseCA = c.ca
			writeFile(t, filepath.Join(s.Paths.CodeDir, "config.php"),
				render.ConfigPHP(s, render.Endpoints{Database: render.HostPort{Host: c.host, Port: port}, Redis: endpoints(s).Redis}))
			// The probe's db action connects with the settings Moodle's driver takes.
			out, err := loopback.Run(as, env, loopback.PHPBin, "-r", `$_GET = ['action' => 'db']; require $argv[1];`,
				filepath.Join(s.WebRoot(), "probe.php"))
			var got probe
			connected := err == nil && json.Unmarshal([]byte(out), &got) == nil && got.DBUser == s.Database.User
			if connected == c.refused {
				t.Errorf("connected: %v, want %v (%v): %s", connected, !c.refused, err, out)
			}
			if c.refused && !strings.Contains(out, "cannot connect to PostgreSQL") {
				t.Errorf("refused for another reason than the connection: %s", out)
			}
			// The image's install check connects on its own, with the same settings.
			out, err = loopback.Run(as, append(env, "MOODLE_DIRROOT="+s.Paths.CodeDir), loopback.PHPBin,
				siteInstalled)
			if connected := err == nil && strings.TrimSpace(out) == "empty"; connected == c.refused {
				t.Errorf("site-installed.php connected: %v, want %v (%v): %s", connected, !c.refused, err, out)
			}
		})
	}
}

// phpCLI is the environment of PHP's CLI as the cron runner runs it: Debian's
// extensions and the rendered php.ini, and every secret config.php reads, the given
// values or placeholders for those the test does not use.
func phpCLI(t *testing.T, root string, s topology.Spec, secrets map[string]string) []string {
	t.Helper()
	iniDir := filepath.Join(root, "php")
	writeFile(t, filepath.Join(iniDir, "zz-moodle.ini"), render.PHPIni(s))
	env := []string{loopback.PHPEnv("cli", iniDir)}
	for _, name := range []string{render.EnvDBPassword, render.EnvRedisPassword, render.EnvUpgradeKey, render.EnvSMTPPassword} {
		value, ok := secrets[name]
		if !ok {
			value = "unused"
		}
		env = append(env, name+"="+value)
	}
	return env
}

// TestRedisConnectionIsVerified runs the prod stack's config.php against a real Redis
// that speaks only TLS, connecting with phpredis the way Moodle does: its session
// handler (\core\session\redis, one server: the host and port, session_redis_encrypt
// as the 'stream' context) and its cache store as the image's install step
// configures it from $CFG->moodle_cluster_muc (cachestore_redis: tls:// before the
// host, the cafile as the context). Both verify
// the server's certificate and name against the CA bundle the model names.
func TestRedisConnectionIsVerified(t *testing.T) {
	root := loopback.NewRoot(t)
	as := loopback.ServiceAccount(t)
	dir := filepath.Join(root, "redis")
	pki := newTestPKI(t, filepath.Join(dir, "tls"))
	port := loopback.FreePort(t)
	loopback.ExpectPortsClosed(t, port)
	password := loopback.Password(t)
	conf := writeFile(t, filepath.Join(dir, "redis.conf"), fmt.Sprintf("bind 127.0.0.1\nport 0\ntls-port %d\n"+
		"tls-cert-file %s\ntls-key-file %s\ntls-ca-cert-file %s\ntls-auth-clients no\nrequirepass \"%s\"\n"+
		"save \"\"\nappendonly no\ndir %s\n", port, pki.cert, pki.key, pki.ca, password, dir))
	as.Own(t, dir)
	redis := loopback.Start(t, loopback.Command{Name: "redis-tls", Path: loopback.RedisBin, Args: []string{conf}, As: as, Logs: dir})
	redis.WaitFor(t, 15*time.Second, "listening", loopback.Listening(port))

	spec := loopback.StackSpec(t, "prod", root)
	if !spec.Cache.TLS {
		t.Fatal("the prod stack does not use TLS to Redis")
	}
	loopback.CopyProbeApp(t, spec.Paths.CodeDir)
	as.OwnDataRoot(t, spec)
	env := phpCLI(t, root, spec, map[string]string{render.EnvRedisPassword: password})
	const script = `define('CLI_SCRIPT', true);
require $argv[1];
$ping = function (string $host, int $port, array $context) use ($CFG): string {
    try {
        $redis = new Redis();
        $redis->connect($host, $port, 3, null, 100, 3, $context);
        $redis->auth($CFG->session_redis_auth);
        return $redis->ping() === true ? 'ok' : 'no answer';
    } catch (Throwable $e) {
        return 'refused: ' . $e->getMessage();
    }
};
// \core\session\redis, one server: the SSL context goes under 'stream'.
$sessions = $ping($CFG->session_redis_host, $CFG->session_redis_port, ['stream' => $CFG->session_redis_encrypt]);
// cachestore_redis, one server with encryption: tls:// and the cafile as the context.
$store = $CFG->moodle_cluster_muc['configuration'];
[$host, $port] = explode(':', $store['server']);
$context = ['cafile' => $store['cafile']];
$muc = empty($store['encryption']) ? 'no encryption' : $ping('tls://' . $host, (int)$port, $context + ['stream' => $context]);
echo json_encode(['sessions' => $sessions, 'muc' => $muc]);`
	for _, c := range tlsCases(pki) {
		t.Run(c.name, func(t *testing.T) {
			s := spec
			s.Paths.CacheCA = c.ca
			config := writeFile(t, filepath.Join(s.Paths.CodeDir, "config.php"),
				render.ConfigPHP(s, render.Endpoints{Database: endpoints(s).Database, Redis: render.HostPort{Host: c.host, Port: port}}))
			out, err := loopback.Run(as, env, loopback.PHPBin, "-r", script, config)
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			var got struct{ Sessions, MUC string }
			if err := json.Unmarshal([]byte(out[strings.LastIndex(out, "{"):]), &got); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			for client, result := range map[string]string{"sessions": got.Sessions, "MUC": got.MUC} {
				if refused := strings.HasPrefix(result, "refused"); refused != c.refused || (!refused && result != "ok") {
					t.Errorf("%s: %s, want refused %v", client, result, c.refused)
				}
			}
		})
	}
}
