package installlog

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/dockerapi"
)

// Follower streams a container's log; *dockerapi.Client is the real one.
type Follower interface {
	Follow(ctx context.Context, container string, since time.Time, emit func(dockerapi.LogLine)) error
}

// containerType is the resource the dev stack's cron runner is.
const containerType = "docker:index/container:Container"

// retryEvery is how long the watcher waits before asking again for a cron
// container the provider has not created yet.
const retryEvery = time.Second

// DockerWatcher follows the cron container while the engine creates or replaces
// it: the provider waits for the container's health check, which passes once
// the install or upgrade has succeeded (up to 30 minutes on a first install).
// Give Event to automation.WithEvents; Wait after the operation.
type DockerWatcher struct {
	ctx     context.Context
	docker  Follower
	cron    string
	printer func(start time.Time) *Printer
	now     func() time.Time

	mu      sync.Mutex
	running map[string]context.CancelFunc // by URN
	wg      sync.WaitGroup
}

// NewDockerWatcher follows the container the program names cron
// (dockerhost.CronContainerName) with docker and prints through printer,
// started at the time the engine begins the container's step.
func NewDockerWatcher(ctx context.Context, docker Follower, cron string, printer func(start time.Time) *Printer, now func() time.Time) *DockerWatcher {
	return &DockerWatcher{ctx: ctx, docker: docker, cron: cron, printer: printer, now: now, running: map[string]context.CancelFunc{}}
}

// Event starts following when the engine starts a step that (re)creates the
// cron container and stops when the step ends, either way.
func (w *DockerWatcher) Event(e events.EngineEvent) {
	switch {
	case e.ResourcePreEvent != nil:
		m := e.ResourcePreEvent.Metadata
		if m.Type != containerType || !strings.HasSuffix(m.URN, "::"+w.cron) || m.New == nil {
			return
		}
		switch m.Op {
		case apitype.OpCreate, apitype.OpReplace, apitype.OpCreateReplacement, apitype.OpUpdate:
		default:
			return
		}
		name, _ := m.New.Inputs["name"].(string)
		if name != "" {
			w.start(m.URN, name)
		}
	case e.ResOutputsEvent != nil:
		w.stop(e.ResOutputsEvent.Metadata.URN)
	case e.ResOpFailedEvent != nil:
		w.stop(e.ResOpFailedEvent.Metadata.URN)
	}
}

func (w *DockerWatcher) start(urn, container string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.running[urn]; ok {
		return
	}
	ctx, cancel := context.WithCancel(w.ctx)
	w.running[urn] = cancel
	begin := w.now()
	p := w.printer(begin)
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		p.Line(begin, "waiting for "+container+" to install or upgrade Moodle (its log follows)")
		if err := FollowRunner(ctx, w.docker, container, begin, w.now, func(l dockerapi.LogLine) { p.Line(l.Time, l.Text) }); err != nil {
			p.Line(w.now(), "cannot follow "+container+": "+err.Error())
		}
	}()
}

// FollowRunner gives emit every line the container named container writes from
// since on, across its replacement and its restarts, until ctx ends (nil) or the
// engine fails otherwise than with a missing container.
//
// Before the provider has created the container there is nothing to follow, and
// since stays: the container the provider creates during the wait logs from its
// start, often the whole install. After it, Follow returns when the container
// stops, and a restarted runner is followed again from the stop, not from the
// end of the wait.
func FollowRunner(ctx context.Context, docker Follower, container string, since time.Time, now func() time.Time, emit func(dockerapi.LogLine)) error {
	for ctx.Err() == nil {
		err := docker.Follow(ctx, container, since, emit)
		switch {
		case err == nil:
			since = now()
		case !errors.Is(err, dockerapi.ErrNotFound):
			return err
		}
		select {
		case <-ctx.Done():
		case <-time.After(retryEvery):
		}
	}
	return nil
}

func (w *DockerWatcher) stop(urn string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if cancel, ok := w.running[urn]; ok {
		cancel()
		delete(w.running, urn)
	}
}

// Wait stops following and waits for the followers to end.
func (w *DockerWatcher) Wait() {
	w.mu.Lock()
	for urn, cancel := range w.running {
		cancel()
		delete(w.running, urn)
	}
	w.mu.Unlock()
	w.wg.Wait()
}
