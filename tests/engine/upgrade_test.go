//go:build engine

package engine_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/moodle-cluster/moodle-pulumi/tests/fakes/fakeprovider"
)

// A new app image is one release: the engine updates the cron service (whose
// runner upgrades the database) and only after it the app service, as the
// dependency it stores says.
func TestNewReleaseReachesTheCronRunnerBeforeTheWebTier(t *testing.T) {
	const cronService, appService = "aws:ecs/service:Service::moodle-cron", "aws:ecs/service:Service::moodle-app"
	ctx := context.Background()
	r := newRig(t)
	if _, err := r.stack(t, "prod", nil).Up(ctx); err != nil {
		t.Fatal(err)
	}
	_, resources := r.checkpoint(t, "prod")
	urn := func(suffix string) string {
		for _, res := range resources {
			if strings.HasSuffix(string(res.URN), suffix) {
				return string(res.URN)
			}
		}
		t.Fatalf("no %s in the state", suffix)
		return ""
	}
	cronURN := urn(cronService)
	for _, res := range resources {
		if strings.HasSuffix(string(res.URN), appService) && !slices.ContainsFunc(res.Dependencies, func(d resource.URN) bool { return string(d) == cronURN }) {
			t.Errorf("the app service does not depend on the cron service: %v", res.Dependencies)
		}
	}

	cfg := committedConfig(t, "prod")
	if err := cfg.Set("moodle:images.app", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/moodle-cluster/app:5.1.1"); err != nil {
		t.Fatal(err)
	}
	r.steps.take()
	if _, err := r.stack(t, "prod", cfg).Up(ctx); err != nil {
		t.Fatal(err)
	}
	updated := map[string]int{}
	for i, s := range r.steps.take() {
		if s.Op == apitype.OpUpdate || s.Op == apitype.OpReplace || s.Op == apitype.OpCreateReplacement {
			updated[s.URN] = i
		}
	}
	cron, cronOK := updated[cronURN]
	app, appOK := updated[urn(appService)]
	if !cronOK || !appOK {
		t.Fatalf("a new image updates the cron service %v and the app service %v, want both", cronOK, appOK)
	}
	if app < cron {
		t.Errorf("the app service was updated (step %d) before the cron service (step %d)", app, cron)
	}
}

// Turning Fargate Spot on (or changing app.minReplicas) changes the app service's
// capacity provider strategy, which the provider updates in place only when the
// service forces new deployments and neither strategy is empty; otherwise it
// replaces the service, starting a second one at app.replicas tasks beside the
// first (tests/fakes/fakeprovider's capacityProviderStrategyForcesNew mirrors it).
func TestASpotShareChangeRollsTheAppServiceInPlace(t *testing.T) {
	const appService = "aws:ecs/service:Service::moodle-app"
	ctx := context.Background()
	r := newRig(t)
	if _, err := r.stack(t, "prod", nil).Up(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := committedConfig(t, "prod")
	for _, edit := range []struct {
		key   string
		value int
	}{{"moodle:app.spotPercent", 50}, {"moodle:app.minReplicas", 2}} {
		if err := cfg.Set(edit.key, edit.value); err != nil {
			t.Fatal(err)
		}
		r.steps.take()
		if _, err := r.stack(t, "prod", cfg).Up(ctx); err != nil {
			t.Fatal(err)
		}
		var ops []apitype.OpType
		for _, s := range r.steps.take() {
			if strings.HasSuffix(s.URN, appService) {
				ops = append(ops, s.Op)
			}
		}
		if !slices.Equal(ops, []apitype.OpType{apitype.OpUpdate}) {
			t.Errorf("%s = %d: the app service's steps %v, want one update in place", edit.key, edit.value, ops)
		}
	}
}

// The release the tests below roll out after a first up of the committed prod stack.
const nextRelease = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/moodle-cluster/app:5.1.1"

// runnerMode is what a container of the cron task runs: "all" (the runner's
// install/upgrade hook, then cron), "upgrade" or "cron", as the rendered runner
// takes its argument; "" for any other container.
func runnerMode(c fakeprovider.ECSContainer) string {
	if len(c.Command) < 2 || !strings.HasSuffix(c.Command[1], "/moodle-cron") {
		return ""
	}
	if len(c.Command) == 2 {
		return "all"
	}
	return c.Command[2]
}

// moodleTasks is the code in the prod tasks' containers as the fake ECS runs it:
// the init container writes its files and exits 0; the runner's upgrade (in a
// container of its own, or before cron in the same one) takes upgradeTakes for
// nextRelease and exits with upgradeExit (0 for any other image); everything else
// runs, except phpFPMExit, when set, ends nextRelease's php-fpm.
type moodleTasks struct {
	upgradeTakes time.Duration
	upgradeExit  int
	phpFPMExit   *int

	mu sync.Mutex
	// upgradeDone is when nextRelease's upgrade finished; upgrades counts its starts.
	upgradeDone time.Time
	upgrades    int
}

func (m *moodleTasks) run(c fakeprovider.ECSContainer) fakeprovider.ECSRun {
	exit := func(code int, after time.Duration) fakeprovider.ECSRun {
		return fakeprovider.ECSRun{Runs: after, Exit: &code}
	}
	next := c.Image == nextRelease
	switch mode := runnerMode(c); {
	case c.Name == "render-files":
		return exit(0, 0)
	case (mode == "upgrade" || mode == "all") && next:
		m.mu.Lock()
		m.upgrades++
		m.upgradeDone = time.Now().Add(m.upgradeTakes)
		m.mu.Unlock()
		switch {
		case m.upgradeExit != 0 && mode == "all":
			// The runner exits when its hook fails.
			return exit(m.upgradeExit, m.upgradeTakes)
		case mode == "upgrade":
			return exit(m.upgradeExit, m.upgradeTakes)
		}
		// The single runner goes on to cron, the upgrade running meanwhile.
		return fakeprovider.ECSRun{}
	case mode == "upgrade":
		return exit(0, 0)
	case c.Name == "php-fpm" && next && m.phpFPMExit != nil:
		return exit(*m.phpFPMExit, 0)
	}
	return fakeprovider.ECSRun{}
}

// upgraded returns when nextRelease's last upgrade finished and how often it started.
func (m *moodleTasks) upgraded() (time.Time, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.upgradeDone, m.upgrades
}

// upToNextRelease deploys the committed prod stack, then nextRelease, with the
// fake ECS running the tasks as tasks says; it returns the second up's error.
func upToNextRelease(t *testing.T, tasks *moodleTasks) (*rig, error) {
	t.Helper()
	ctx := context.Background()
	r := newRig(t, fakeprovider.WithECSRuntime(tasks.run))
	if _, err := r.stack(t, "prod", nil).Up(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := committedConfig(t, "prod")
	if err := cfg.Set("moodle:images.app", nextRelease); err != nil {
		t.Fatal(err)
	}
	r.fakes.ResetRequests()
	_, err := r.stack(t, "prod", cfg).Up(ctx)
	return r, err
}

// changes returns the non-preview creates and updates of resources whose URN ends
// in suffix.
func changes(r *rig, suffix string) []fakeprovider.Request {
	var out []fakeprovider.Request
	for _, req := range r.fakes.Requests() {
		if !req.Preview && (req.Method == "Update" || req.Method == "Create") && strings.HasSuffix(req.URN, suffix) {
			out = append(out, req)
		}
	}
	return out
}

// pulumi up reaches the web tier only once the runner's upgrade has finished: the
// cron service is steady only when its task runs, which is after the upgrade
// container exited (tests/fakes/fakeprovider ecsTaskRuns and ecsSettle encode the ECS
// agent's and the provider's rules).
func TestUpUpdatesTheWebTierOnlyAfterTheRunnersUpgradeFinished(t *testing.T) {
	tasks := &moodleTasks{upgradeTakes: 3 * time.Second}
	r, err := upToNextRelease(t, tasks)
	if err != nil {
		t.Fatal(err)
	}
	done, upgrades := tasks.upgraded()
	app := changes(r, "aws:ecs/service:Service::moodle-app")
	if len(app) != 1 || upgrades != 1 {
		t.Fatalf("the app service was changed %d times and the upgrade ran %d times, want 1 and 1", len(app), upgrades)
	}
	if early := done.Sub(app[0].At); early > 0 {
		t.Errorf("the app service was updated %s before the runner's upgrade finished", early)
	}
}

// A failed upgrade fails pulumi up with a message that says so, and the web tier
// stays on the release it runs: ECS retries the upgrade up to the circuit
// breaker's threshold (3 tasks for a service of one), rolls the cron service back,
// and the provider reads the previous revision back, which the program refuses.
func TestAFailedUpgradeFailsUpBeforeTheWebTier(t *testing.T) {
	tasks := &moodleTasks{upgradeTakes: 100 * time.Millisecond, upgradeExit: 1}
	r, err := upToNextRelease(t, tasks)
	if err == nil {
		t.Fatal("up succeeded after a failed upgrade")
	}
	if want := "the cron runner's install/upgrade of " + nextRelease + " failed: ECS rolled the cron service back"; !strings.Contains(err.Error(), want) {
		t.Errorf("up failed with %v, want a message containing %q", err, want)
	}
	if app := changes(r, "aws:ecs/service:Service::moodle-app"); len(app) != 0 {
		t.Errorf("the app service was changed %d times after the failed upgrade", len(app))
	}
	if _, upgrades := tasks.upgraded(); upgrades != 3 {
		t.Errorf("the upgrade ran %d times, want 3 (the circuit breaker's threshold)", upgrades)
	}
}

// A web tier deployment the circuit breaker rolled back fails pulumi up: the app
// service waits for its steady state and the program refuses the previous
// revision the provider reads back.
func TestARolledBackWebTierDeploymentFailsUp(t *testing.T) {
	crash := 1
	_, err := upToNextRelease(t, &moodleTasks{phpFPMExit: &crash})
	if err == nil {
		t.Fatal("up succeeded although ECS rolled the web tier back")
	}
	if want := "the web tier's deployment of " + nextRelease + " failed: ECS rolled the app service back"; !strings.Contains(err.Error(), want) {
		t.Errorf("up failed with %v, want a message containing %q", err, want)
	}
}
