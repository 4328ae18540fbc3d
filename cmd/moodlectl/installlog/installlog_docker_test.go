//go:build docker

package installlog_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/dockerapi"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/dockerapi/dockertest"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/installlog"
)

// TestDockerWatcher_FollowsARealContainersLog runs a container that writes the
// hook's lines over a second and checks they reach the output, through the
// Engine API, while the (replayed) engine step is open.
func TestDockerWatcher_FollowsARealContainersLog(t *testing.T) {
	// The engine announces the step before the provider creates the container:
	// the watcher's clock starts before the container does.
	start := time.Now()
	name := dockertest.Container(t, "echo 'moodle-install-upgrade: empty database: installing Moodle'; sleep 1; echo 'moodle-install-upgrade: installed'; sleep 300")
	docker, err := dockerapi.New("")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	seen := make(chan struct{})
	printer := installlog.NewPrinter(&lineNotifier{w: &out, want: "installed", seen: seen}, start)
	w := installlog.NewDockerWatcher(context.Background(), docker, "moodle-dev-cron",
		func(time.Time) *installlog.Printer { return printer }, func() time.Time { return start })
	urn := "urn:pulumi:dev::moodle::x$docker:index/container:Container::moodle-dev-cron"
	w.Event(pre(apitype.OpCreate, "docker:index/container:Container", urn, name))
	<-seen
	w.Event(outputs(urn))
	w.Wait()
	for _, want := range []string{"] moodle-install-upgrade: empty database: installing Moodle\n", "] moodle-install-upgrade: installed\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("missing %q in:\n%s", want, out.String())
		}
	}
}

// lineNotifier closes seen once a written line contains want.
type lineNotifier struct {
	w    *bytes.Buffer
	want string
	seen chan struct{}
	done bool
}

func (n *lineNotifier) Write(p []byte) (int, error) {
	if !n.done && strings.Contains(string(p), n.want) {
		defer close(n.seen)
		n.done = true
	}
	return n.w.Write(p)
}
