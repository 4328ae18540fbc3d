//go:build integration

package loopback

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// The Debian 12 programs the harness runs (scripts/install-test-deps.sh installs them).
const (
	NginxBin    = "/usr/sbin/nginx"
	PHPFPMBin   = "/usr/sbin/php-fpm8.2"
	PHPBin      = "/usr/bin/php8.2"
	RedisBin    = "/usr/bin/redis-server"
	PostgresDir = "/usr/lib/postgresql/15/bin"
	// PHPConfDir holds Debian's per-SAPI conf.d (the extensions it enables).
	PHPConfDir = "/etc/php/8.2"
)

func write(t T, path, text string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatalf("create %s: %v", filepath.Dir(path), err)
	}
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

func mkdirs(t T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatalf("create %s: %v", d, err)
		}
	}
}

// Postgres is a throw-away cluster listening on 127.0.0.1.
type Postgres struct {
	Addr render.HostPort
	*Process
	socketDir string
	as        Account
}

// StartPostgres initialises a cluster in dir and starts it. Local connections over
// the socket in dir are trusted (for setup); TCP connections need a password, as
// they do from the app nodes.
func StartPostgres(t T, dir string, port, maxConnections int, as Account) *Postgres {
	t.Helper()
	data, sock := filepath.Join(dir, "data"), filepath.Join(dir, "sock")
	mkdirs(t, sock)
	as.Own(t, dir)
	if out, err := Run(as, nil, filepath.Join(PostgresDir, "initdb"), "-D", data, "-U", "postgres",
		"--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	p := &Postgres{Addr: render.HostPort{Host: "127.0.0.1", Port: port}, socketDir: sock, as: as}
	p.Process = Start(t, Command{
		Name: "postgres", Path: filepath.Join(PostgresDir, "postgres"), As: as, Logs: dir,
		Args: []string{"-D", data, "-p", strconv.Itoa(port), "-c", "listen_addresses=127.0.0.1",
			"-c", "unix_socket_directories=" + sock, "-c", "max_connections=" + strconv.Itoa(maxConnections),
			// A throw-away cluster: durability is not what this test is about.
			"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"},
		// Fast shutdown: roll back open transactions and exit.
		Stop: syscall.SIGINT,
	})
	p.WaitFor(t, 30*time.Second, "accepting connections", func() error {
		_, err := p.SQL("SELECT 1")
		return err
	})
	return p
}

// SQL runs a script as the superuser over the local socket. psql variables given as
// name=value pairs are set by \set lines ahead of the script on standard input and
// read in it as :'name' or :"name", so values such as passwords never appear in the
// process list.
func (p *Postgres) SQL(script string, vars ...string) (string, error) {
	args := []string{"-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", p.socketDir,
		"-p", strconv.Itoa(p.Addr.Port), "-U", "postgres", "-d", "postgres", "-f", "-"}
	var set strings.Builder
	for _, v := range vars {
		name, value, _ := strings.Cut(v, "=")
		quoted := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(value)
		fmt.Fprintf(&set, "\\set %s '%s'\n", name, quoted)
	}
	cmd := command(p.as, nil, "", filepath.Join(PostgresDir, "psql"), args...)
	cmd.Stdin = strings.NewReader(set.String() + script)
	// The answer is what psql prints on stdout; its warnings go to stderr, and into
	// the error only.
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("psql: %w: %s%s", err, out, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// InstallSite does to database what the install hook leaves behind, as far as the
// probe's CLI scripts look: the site's version in <prefix>config, which is the
// version.php of the code under webRoot, the table owned by user.
func (p *Postgres) InstallSite(t T, database, user, webRoot string) {
	t.Helper()
	version, err := Run(Account{}, nil, PHPBin, "-r", `require $argv[1]; printf("%.2f", $version);`,
		filepath.Join(webRoot, "version.php"))
	if err != nil {
		t.Fatalf("read the code's version: %v", err)
	}
	if _, err := p.SQL(`\c `+database+`
CREATE TABLE mdl_config (name text PRIMARY KEY, value text NOT NULL);
INSERT INTO mdl_config VALUES ('version', :'version');
ALTER TABLE mdl_config OWNER TO :"user";`, "version="+version, "user="+user); err != nil {
		t.Fatalf("install the site in %s: %v", database, err)
	}
}

// Redis is a redis-server run from the configuration the program renders.
type Redis struct {
	Addr     render.HostPort
	password string
	conf     string
	dir      string
	as       Account
	*Process
	t T
}

// StartRedis starts Redis as the dev stack runs it: from render.RedisConf (listen on
// every address with protected mode, the append-only file, maxmemory with
// noeviction), on port and with its files in dir, and the password appended as the
// program appends it.
func StartRedis(t T, spec topology.Spec, dir string, port int, password string, as Account) *Redis {
	t.Helper()
	return startRedis(t, render.RedisConf(spec, port, dir), dir, port, password, as)
}

// StartMUCRedis starts the dev stack's Redis of the MUC cache, from
// render.MUCRedisConf (allkeys-lru, nothing on disk).
func StartMUCRedis(t T, spec topology.Spec, dir string, port int, password string, as Account) *Redis {
	t.Helper()
	return startRedis(t, render.MUCRedisConf(spec, port), dir, port, password, as)
}

func startRedis(t T, conf, dir string, port int, password string, as Account) *Redis {
	t.Helper()
	r := &Redis{Addr: render.HostPort{Host: "127.0.0.1", Port: port}, password: password,
		conf: filepath.Join(dir, "redis.conf"), dir: dir, as: as, t: t}
	// The password lives in a file only the server reads, never on its command line.
	write(t, r.conf, conf+"requirepass "+password+"\n", 0o600)
	as.Own(t, dir)
	r.start()
	return r
}

func (r *Redis) start() {
	r.t.Helper()
	r.Process = Start(r.t, Command{Name: "redis", Path: RedisBin, Args: []string{r.conf}, As: r.as, Logs: r.dir})
	r.WaitFor(r.t, 15*time.Second, "PONG", r.ping)
}

// Restart stops Redis the way `docker restart` does (SIGTERM) and starts it again on
// the same port and files.
func (r *Redis) Restart() {
	r.t.Helper()
	if err := r.Stop(); err != nil {
		r.t.Fatalf("stop redis: %v", err)
	}
	r.start()
}

// ping authenticates and pings; a server still loading its append-only file answers
// LOADING, not PONG.
func (r *Redis) ping() error {
	replies, err := r.do([]string{"PING"})
	if err == nil && replies[0] != "+PONG" {
		err = fmt.Errorf("redis answered %q", replies[0])
	}
	return err
}

// Exists reports whether key is in logical database db.
func (r *Redis) Exists(db int, key string) (bool, error) {
	replies, err := r.do([]string{"SELECT", strconv.Itoa(db)}, []string{"EXISTS", key})
	if err != nil {
		return false, err
	}
	if replies[0] != "+OK" {
		return false, fmt.Errorf("SELECT %d: %s", db, replies[0])
	}
	return replies[1] == ":1", nil
}

// Query runs one command in logical database db and returns its reply whole: an
// array reply (KEYS, HGETALL) as its elements, a bulk string (GET) as one element
// (none when it is nil), an integer (TTL) or status as its text without the type
// byte. An error reply is an error.
func (r *Redis) Query(db int, args ...string) ([]string, error) {
	c, rd, err := r.send([]string{"SELECT", strconv.Itoa(db)}, args)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	for _, what := range []string{"AUTH", "SELECT"} {
		if reply, err := readRESP(rd); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		} else if len(reply) != 1 || reply[0] != "OK" {
			return nil, fmt.Errorf("%s: %v", what, reply)
		}
	}
	return readRESP(rd)
}

// readRESP reads one reply of the Redis protocol, flattening an array of strings.
func readRESP(rd *bufio.Reader) ([]string, error) {
	line, err := rd.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return nil, fmt.Errorf("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return []string{line[1:]}, nil
	case '-':
		return nil, fmt.Errorf("redis: %s", line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(rd, buf); err != nil {
			return nil, err
		}
		return []string{string(buf[:n])}, nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return nil, err
		}
		var out []string
		for range max(n, 0) {
			item, err := readRESP(rd)
			if err != nil {
				return nil, err
			}
			out = append(out, item...)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown reply %q", line)
}

// Command sends one command and returns its one-line reply ("+OK", ":3",
// "-OOM command not allowed ...").
func (r *Redis) Command(args ...string) (string, error) {
	replies, err := r.do(args)
	if err != nil {
		return "", err
	}
	return replies[0], nil
}

// do authenticates and sends commands on one connection, returning the one-line
// reply of each.
func (r *Redis) do(commands ...[]string) ([]string, error) {
	c, rd, err := r.send(commands...)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	replies := make([]string, len(commands)+1)
	for i := range replies {
		line, err := rd.ReadString('\n')
		if err != nil {
			return nil, err
		}
		replies[i] = strings.TrimSpace(line)
	}
	if replies[0] != "+OK" {
		return nil, fmt.Errorf("AUTH: %s", replies[0])
	}
	return replies[1:], nil
}

// send opens a connection and writes AUTH and commands to it in one request; the
// caller reads the replies, AUTH's first, and closes the connection.
func (r *Redis) send(commands ...[]string) (net.Conn, *bufio.Reader, error) {
	c, err := net.DialTimeout("tcp", r.Addr.String(), time.Second)
	if err != nil {
		return nil, nil, err
	}
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	var req strings.Builder
	for _, cmd := range append([][]string{{"AUTH", r.password}}, commands...) {
		fmt.Fprintf(&req, "*%d\r\n", len(cmd))
		for _, arg := range cmd {
			fmt.Fprintf(&req, "$%d\r\n%s\r\n", len(arg), arg)
		}
	}
	if _, err := io.WriteString(c, req.String()); err != nil {
		c.Close()
		return nil, nil, err
	}
	return c, bufio.NewReader(c), nil
}

// FPMConfig wraps a rendered pool in the smallest php-fpm.conf that runs it in the
// foreground with its pid under dir and its log (workers' output included) on stderr,
// the way the app image's php-fpm.conf includes its pool. Extra pool directives (test-only environment) follow the rendered
// pool in a second section of the same name, which php-fpm merges into it.
func FPMConfig(dir, pool string, extra []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[global]\npid = %s\nerror_log = /proc/self/fd/2\ndaemonize = no\n", filepath.Join(dir, "php-fpm.pid"))
	fmt.Fprintf(&b, "include = %s\n", filepath.Join(dir, "pool.conf"))
	if len(extra) > 0 {
		fmt.Fprintf(&b, "[%s]\n%s\n", PoolName(pool), strings.Join(extra, "\n"))
	}
	return b.String()
}

var poolSection = regexp.MustCompile(`(?m)^\s*\[([^\]]+)\]`)

// PoolName is the name of the first pool section of a rendered pool file.
func PoolName(pool string) string {
	if m := poolSection.FindStringSubmatch(pool); m != nil {
		return m[1]
	}
	return "www"
}

// PHPEnv is the environment that makes PHP (sapi "fpm" or "cli") read Debian's
// extension list and then the rendered php.ini in iniDir, as a conf.d drop-in in the
// app image does.
func PHPEnv(sapi, iniDir string) string {
	return "PHP_INI_SCAN_DIR=" + filepath.Join(PHPConfDir, sapi, "conf.d") + ":" + iniDir
}

// FPM is one app node: a php-fpm master with the rendered pool.
type FPM struct {
	Node string
	Addr render.HostPort
	*Process
	cmd Command
	t   T
}

// StartFPM writes the node's php-fpm.conf (the rendered pool listening on port) into
// dir and starts the master with env added to its environment.
func StartFPM(t T, dir, node string, pool string, port int, env []string, as Account) *FPM {
	t.Helper()
	mkdirs(t, dir)
	write(t, filepath.Join(dir, "pool.conf"), pool, 0o644)
	write(t, filepath.Join(dir, "php-fpm.conf"), FPMConfig(dir, pool, []string{"env[PROBE_NODE] = " + node}), 0o644)
	as.Own(t, dir)
	f := &FPM{Node: node, Addr: render.HostPort{Host: "127.0.0.1", Port: port}, t: t, cmd: Command{
		Name: "php-fpm-" + node, Path: PHPFPMBin, Env: env, As: as, Logs: dir,
		Args: []string{"--nodaemonize", "--fpm-config", filepath.Join(dir, "php-fpm.conf")},
		// SIGQUIT is php-fpm's graceful stop; SIGTERM drops requests in flight.
		Stop: syscall.SIGQUIT,
	}}
	f.start()
	return f
}

func (f *FPM) start() {
	f.t.Helper()
	f.Process = Start(f.t, f.cmd)
	f.WaitFor(f.t, 15*time.Second, "listening", Listening(f.Addr.Port))
}

// Restart starts the node's master again after it was stopped or killed.
func (f *FPM) Restart() {
	f.t.Helper()
	f.start()
}

// Tree returns the master's pid and the pids of its children.
func (f *FPM) Tree() []int {
	pids := []int{f.Pid()}
	for _, pid := range sessionMembers(f.Pid()) {
		if st, err := readStat(pid); err == nil && st.ppid == f.Pid() {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	return pids
}

// nginxWorkers is the number of nginx worker processes. More than one, as in
// production: without a shared zone each worker keeps its own upstream state.
const nginxWorkers = 2

// NginxConfig wraps a rendered http-context file in the smallest nginx.conf that runs
// it unprivileged: pid, logs and temporary files under dir, in the foreground.
func NginxConfig(dir, site string) string {
	tmp := func(name string) string { return filepath.Join(dir, "tmp", name) }
	return fmt.Sprintf(`daemon off;
worker_processes %d;
pid %s;
error_log %s warn;
events { worker_connections 1024; }
http {
    include mime.types;
    default_type application/octet-stream;
    access_log %s;
    client_body_temp_path %s;
    fastcgi_temp_path %s;
    proxy_temp_path %s;
    scgi_temp_path %s;
    uwsgi_temp_path %s;
    include %s;
}
`, nginxWorkers, filepath.Join(dir, "nginx.pid"), NginxErrorLog(dir), filepath.Join(dir, "access.log"),
		tmp("body"), tmp("fastcgi"), tmp("proxy"), tmp("scgi"), tmp("uwsgi"), site)
}

// NginxErrorLog is where the nginx laid out in dir logs its errors and warnings.
func NginxErrorLog(dir string) string { return filepath.Join(dir, "error.log") }

// WriteNginx lays out dir as nginx's prefix: the wrapper nginx.conf, the rendered site
// and Debian's parameter files beside them, where relative includes look. It returns
// the path of nginx.conf.
func WriteNginx(t T, dir, site string, as Account) string {
	t.Helper()
	mkdirs(t, filepath.Join(dir, "tmp"))
	for _, f := range []string{"mime.types", "fastcgi_params", "fastcgi.conf", "snippets"} {
		if err := os.Symlink(filepath.Join("/etc/nginx", f), filepath.Join(dir, f)); err != nil && !os.IsExist(err) {
			t.Fatalf("link %s: %v", f, err)
		}
	}
	write(t, filepath.Join(dir, "site.conf"), site, 0o644)
	conf := filepath.Join(dir, "nginx.conf")
	write(t, conf, NginxConfig(dir, filepath.Join(dir, "site.conf")), 0o644)
	as.Own(t, dir)
	return conf
}

// NginxArgs are the arguments that point nginx at conf, with errors on stderr until
// the configured error_log is open.
func NginxArgs(conf string, extra ...string) []string {
	return append([]string{"-e", "stderr", "-p", filepath.Dir(conf), "-c", conf}, extra...)
}

// StartNginx starts nginx on the rendered site and waits for port.
func StartNginx(t T, dir, name, site string, port int, as Account) *Process {
	t.Helper()
	conf := WriteNginx(t, dir, site, as)
	p := Start(t, Command{Name: name, Path: NginxBin, Args: NginxArgs(conf), As: as, Logs: dir})
	p.WaitFor(t, 15*time.Second, "listening", Listening(port))
	return p
}
