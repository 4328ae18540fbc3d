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

// A change that replaces the cron service (its launch type here) deletes the old
// service before it creates the new one: the old runner holds the lock in
// moodledata, so a new one started beside it exits at once and a service waiting
// for its steady state would hang the update. The app service, which has no lock,
// keeps serving: its replacement comes first.
func TestAReplacedCronServiceGoesBeforeItsReplacementComes(t *testing.T) {
	const cronService, appService = "aws:ecs/service:Service::moodle-cron", "aws:ecs/service:Service::moodle-app"
	ctx := context.Background()
	r := newRig(t)
	if _, err := r.stack(t, "prod", nil).Up(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := committedConfig(t, "prod")
	if err := cfg.Set("moodle:app.launchType", "ec2"); err != nil {
		t.Fatal(err)
	}
	r.steps.take()
	if _, err := r.stack(t, "prod", cfg).Up(ctx); err != nil {
		t.Fatal(err)
	}
	order := map[string]map[apitype.OpType]int{}
	for i, s := range r.steps.take() {
		for _, suffix := range []string{cronService, appService} {
			if strings.HasSuffix(s.URN, suffix) {
				if order[suffix] == nil {
					order[suffix] = map[apitype.OpType]int{}
				}
				order[suffix][s.Op] = i
			}
		}
	}
	for suffix, deleteFirst := range map[string]bool{cronService: true, appService: false} {
		ops := order[suffix]
		deleted, okD := ops[apitype.OpDeleteReplaced]
		created, okC := ops[apitype.OpCreateReplacement]
		if !okD || !okC {
			t.Fatalf("%s: steps %v, want a replacement", suffix, ops)
		}
		if (deleted < created) != deleteFirst {
			t.Errorf("%s: deleted at step %d, its replacement created at step %d; want the deletion first: %v", suffix, deleted, created, deleteFirst)
		}
	}
}
