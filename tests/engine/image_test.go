//go:build engine

package engine_test

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// A file edited under the build context changes the provider's context digest, the
// app image is built again under the same tag, and every container that runs it is
// replaced for its image-revision label (the tag they run did not change): without
// the label, the rebuilt image would reach no container until something else
// replaced it. Nothing else changes.
func TestDevAnEditedBuildContextReplacesEveryContainerOfTheImage(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	buildContext := copiedBuildContext(t)
	cfg := committedConfigWith(t, "dev", map[string]any{"moodle:moodle.build.context": buildContext})
	if _, err := r.stack(t, "dev", cfg).Up(ctx); err != nil {
		t.Fatal(err)
	}
	r.steps.take()

	editBuildContext(t, buildContext)
	if _, err := r.stack(t, "dev", cfg).Up(ctx); err != nil {
		t.Fatal(err)
	}
	got := map[string][]apitype.OpType{}
	for _, s := range r.steps.take() {
		if s.Op == apitype.OpSame {
			continue
		}
		got[s.Name()] = append(got[s.Name()], s.Op)
		// The cron runner also gets the image's id, to purge Moodle's caches once.
		want := []string{"labels"}
		switch s.Name() {
		case "moodle-dev-cron":
			want = []string{"envs", "labels"}
		case "moodle-dev-lb-config":
			// Its configuration names the app node containers, whose ids are
			// unknown until they are recreated: the engine replaces it on the
			// unknown, before the provider names a key.
			want = nil
		}
		if keys := slices.Sorted(slices.Values(s.Keys)); s.Op == apitype.OpReplace && !slices.Equal(keys, want) {
			t.Errorf("%s replaced for %v, want %v", s.URN, keys, want)
		}
	}
	replaced := []apitype.OpType{apitype.OpDeleteReplaced, apitype.OpReplace, apitype.OpCreateReplacement}
	want := map[string][]apitype.OpType{"moodle-dev-app-image": {apitype.OpUpdate}}
	for _, c := range []string{"app-1", "app-2", "app-3", "cron", "adhoc-1", "lb", "lb-config"} {
		want["moodle-dev-"+c] = replaced
	}
	for name := range got {
		slices.Sort(got[name])
	}
	for name := range want {
		slices.Sort(want[name])
	}
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("up after an edit under the build context: steps %v, want exactly %v", got, want)
	}
}
