//go:build engine

package engine_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
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
// first (internal/fakeprovider's capacityProviderStrategyForcesNew mirrors it).
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
