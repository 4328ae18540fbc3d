//go:build realdocker

package realdocker_test

import (
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// execIn runs a command in a running container and returns its combined output.
func execIn(container string, command ...string) (string, error) {
	out, err := exec.Command("docker", append([]string{"exec", container}, command...)...).CombinedOutput()
	return string(out), err
}

// ids maps container names to their Docker ids: a replaced container gets a new one.
func ids(t *testing.T, names []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, n := range names {
		out[n] = inspect(t, "{{.Id}}", n)
	}
	return out
}

// volumeIdentities maps the stack's volumes to the inode of their folder on the host:
// a recreated volume (its data gone) gets a new folder. (Docker's CreatedAt of a
// local volume follows the folder's modification time, so it moves with every write.)
func volumeIdentities(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, v := range dockerList(t, "volume", "ls", "-q", "--filter", "name="+prefix) {
		st, err := os.Stat(inspect(t, "{{.Mountpoint}}", v))
		if err != nil {
			t.Fatal(err)
		}
		out[v] = fmt.Sprint(st.Sys().(*syscall.Stat_t).Ino)
	}
	if len(out) == 0 {
		t.Fatal("the stack has no volumes")
	}
	return out
}

// waitFor polls cond every second until it holds, failing the test after limit.
func waitFor(t testing.TB, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting %s for %s", limit, what)
		}
		time.Sleep(time.Second)
	}
}

func keys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }

// lockedWriter serialises writes from the goroutines that follow logs.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
