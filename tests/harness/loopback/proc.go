//go:build integration

// Package loopback runs the rendered topology for real on 127.0.0.1: a throw-away
// PostgreSQL, Redis, one php-fpm master per app node and nginx, all Debian's own
// programs, each in a session of its own so that teardown reaches every process it
// forked. The tests in tests/realprograms and the benchmark in bench share it.
package loopback

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/tests/harness/ports"
)

// T is the part of testing.TB the harness needs; the benchmark program supplies its own.
type T interface {
	Helper()
	Cleanup(func())
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
}

// ServiceUser is the account the servers run as when the harness runs as root:
// PostgreSQL refuses to run as root, and the rendered files must work for the
// unprivileged user the containers use.
const ServiceUser = "www-data"

// Account is who a server runs as; the zero value is the caller itself.
type Account struct {
	cred *syscall.Credential
}

// ServiceAccount returns ServiceUser when running as root, the caller otherwise.
func ServiceAccount(t T) Account {
	t.Helper()
	if os.Geteuid() != 0 {
		return Account{}
	}
	u, err := user.Lookup(ServiceUser)
	if err != nil {
		t.Fatalf("look up %s: %v", ServiceUser, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return Account{cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
}

// Own hands paths (recursively) to the account, so a server running as it can write.
func (a Account) Own(t T, paths ...string) {
	t.Helper()
	if a.cred == nil {
		return
	}
	for _, root := range paths {
		err := filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, int(a.cred.Uid), int(a.cred.Gid))
		})
		if err != nil {
			t.Fatalf("hand %s to %s: %v", root, ServiceUser, err)
		}
	}
}

// Command describes one server process.
type Command struct {
	Name string
	Path string
	Args []string
	// Env is added to a minimal environment (PATH only): nothing of the caller's
	// environment leaks into the servers.
	Env  []string
	As   Account
	Dir  string
	Logs string // directory for <Name>.log
	// Stop is the signal for an orderly stop (SIGTERM when zero).
	Stop syscall.Signal
}

// Process is a running server and everything it forked.
type Process struct {
	Name    string
	LogPath string
	cmd     *exec.Cmd
	stop    syscall.Signal
	done    chan struct{}
	err     error
}

// Run runs a short command to completion as the account and returns its combined
// output. The output goes through a file the account owns, as a server's does, so a
// program that reopens its stderr by path (php-fpm's error_log) can.
func Run(as Account, env []string, name string, args ...string) (string, error) {
	f, err := os.CreateTemp("", "loopback-run-")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if as.cred != nil {
		if err := f.Chown(int(as.cred.Uid), int(as.cred.Gid)); err != nil {
			return "", err
		}
	}
	cmd := command(as, env, "", name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	runErr := cmd.Run()
	out, err := os.ReadFile(f.Name())
	if err != nil {
		return "", err
	}
	if runErr != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), runErr, out)
	}
	return string(out), nil
}

// command prepares a program to run as the account, with env added to the base
// environment, in dir or else in "/". A program run as another user would otherwise
// inherit the caller's working directory, which that user may not be able to enter
// (a clone in a home folder of mode 0700): psql then warns "could not change
// directory", and a test reading its output reads the warning too.
func command(as Account, env []string, dir, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = append(baseEnv(), env...)
	cmd.Dir = cmp.Or(dir, "/")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: as.cred}
	return cmd
}

func baseEnv() []string {
	return []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}
}

// Start starts the command in a new session and stops it (and every process left in
// its session) when the test ends.
func Start(t T, c Command) *Process {
	t.Helper()
	p := startProcess(t, c)
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("stop %s: %v", p.Name, err)
		}
	})
	return p
}

func startProcess(t T, c Command) *Process {
	t.Helper()
	logPath := filepath.Join(c.Logs, c.Name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatalf("start %s: %v", c.Name, err)
	}
	defer logFile.Close()
	// Servers reopen their stderr by path (php-fpm's error_log = /proc/self/fd/2).
	if c.As.cred != nil {
		if err := logFile.Chown(int(c.As.cred.Uid), int(c.As.cred.Gid)); err != nil {
			t.Fatalf("start %s: %v", c.Name, err)
		}
	}
	cmd := command(c.As, c.Env, c.Dir, c.Path, c.Args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr.Setsid = true
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", c.Name, err)
	}
	stop := c.Stop
	if stop == 0 {
		stop = syscall.SIGTERM
	}
	p := &Process{Name: c.Name, LogPath: logPath, cmd: cmd, stop: stop, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p
}

// Pid is the session leader's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the session leader has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitCode is the leader's exit status; valid once Done is closed.
func (p *Process) ExitCode() int { return p.cmd.ProcessState.ExitCode() }

// Log returns what the process wrote so far.
func (p *Process) Log() string {
	b, _ := os.ReadFile(p.LogPath)
	return string(b)
}

// Stop sends the orderly stop signal and waits; whatever is left after ten seconds,
// and every process still in the session, is killed.
func (p *Process) Stop() error { return p.Signal(p.stop) }

// Kill ends the whole session at once, as a crash or an OOM kill would.
func (p *Process) Kill() error { return p.Signal(syscall.SIGKILL) }

// Signal sends sig to every process of the session and waits until none is left.
func (p *Process) Signal(sig syscall.Signal) error {
	sid := p.Pid()
	signalSession(sid, sig)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		signalSession(sid, syscall.SIGKILL)
		<-p.done
	}
	// Children outlive a leader that was killed; they must not outlive the test.
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := sessionMembers(sid)
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v of %s survived SIGKILL", left, p.Name)
		}
		signalSession(sid, syscall.SIGKILL)
		time.Sleep(20 * time.Millisecond)
	}
}

func signalSession(sid int, sig syscall.Signal) {
	for _, pid := range sessionMembers(sid) {
		_ = syscall.Kill(pid, sig)
	}
}

// sessionMembers lists the live processes whose session id is sid. A process group
// is not enough: timeout(1) and pg_ctl move children into groups of their own.
func sessionMembers(sid int) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readStat(pid)
		if err != nil || st.session != sid || st.state == "Z" {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

type procStat struct {
	state         string
	ppid, session int
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	// The command name may hold spaces and parentheses; the fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errors.New("malformed stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 4 {
		return procStat{}, errors.New("malformed stat")
	}
	ppid, _ := strconv.Atoi(f[1])
	session, _ := strconv.Atoi(f[3])
	return procStat{state: f[0], ppid: ppid, session: session}, nil
}

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on now (ports.Free).
func FreePort(t T) int { return ports.Free(t) }

// PortOpen reports whether something accepts connections on 127.0.0.1:port.
func PortOpen(port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// WaitFor polls ready every 20 ms until it returns nil, the process dies or the
// timeout passes; the error names the last failure and carries the process log.
func (p *Process) WaitFor(t T, timeout time.Duration, what string, ready func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := ready()
		if err == nil {
			return
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited (%v) before %s:\n%s", p.Name, p.err, what, p.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %s after %s: %v\n%s", p.Name, what, timeout, err, p.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Listening is a readiness check for a TCP port.
func Listening(port int) func() error {
	return func() error {
		if !PortOpen(port) {
			return fmt.Errorf("port %d closed", port)
		}
		return nil
	}
}

// OwnDataRoot creates s's dataroot for the account: Moodle's setup.php ends every
// script whose user cannot write it.
func (a Account) OwnDataRoot(t T, s topology.Spec) {
	t.Helper()
	if err := os.MkdirAll(s.Paths.DataRoot, 0o755); err != nil {
		t.Fatalf("create the dataroot: %v", err)
	}
	a.Own(t, s.Paths.DataRoot)
}
