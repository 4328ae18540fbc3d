//go:build engine

package engine_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

const (
	tECRImage      = "docker:index/image:Image"
	tECRRepository = "aws:ecr/repository:Repository"
	tTaskDef       = "aws:ecs/taskDefinition:TaskDefinition"
)

// With codeSource build, one up creates the repository and pushes the image,
// and the task definitions run the pushed digest. A second up over the same tree
// plans nothing, though ECR hands out a new token every time: no build, no push,
// no new revision. An edited file of the context is a new content tag and
// digest, so the image is pushed again and the task definitions follow it; the
// repository stays.
func TestProdBuiltImagePushesOnceAndFollowsTheTree(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	buildContext := copiedBuildContext(t)
	cfg := committedConfigWith(t, "prod", map[string]any{
		"moodle:moodle.codeSource": "build", "moodle:images.app": nil, "moodle:moodle.build.context": buildContext,
		"moodle:moodle.build.args.DATABASE_CA_SHA256": strings.Repeat("0f", 32),
	})
	created := upSettles(t, r, cfg)
	for typ, want := range map[string]int{tECRRepository: 1, "aws:ecr/lifecyclePolicy:LifecyclePolicy": 1, tECRImage: 1} {
		if created[typ] != want {
			t.Errorf("up created %d %s, want %d", created[typ], typ, want)
		}
	}
	digest := checkTasksRunThePushedImage(t, r)

	editBuildContext(t, buildContext)
	if _, err := r.stack(t, "prod", cfg).Up(ctx); err != nil {
		t.Fatal(err)
	}
	changed := map[string][]apitype.OpType{}
	for _, s := range r.steps.take() {
		if s.Op != apitype.OpSame && !strings.HasPrefix(s.Type, "pulumi:") {
			changed[s.Type] = append(changed[s.Type], s.Op)
		}
	}
	if ops := changed[tECRImage]; !slices.Equal(ops, []apitype.OpType{apitype.OpUpdate}) {
		t.Errorf("image steps %v after an edit, want one update (a build and push under the new tag)", ops)
	}
	if ops := changed[tECRRepository]; len(ops) > 0 {
		t.Errorf("repository steps %v after an edit, want none", ops)
	}
	if n := slices.Index(changed[tTaskDef], apitype.OpCreateReplacement); n < 0 {
		t.Errorf("task definition steps %v after an edit, want new revisions", changed[tTaskDef])
	}
	if next := checkTasksRunThePushedImage(t, r); next == digest {
		t.Errorf("the tasks still run %s after the tree changed", digest)
	}
	t.Logf("steps after an edit: %v", slices.Sorted(maps.Keys(changed)))
}

// checkTasksRunThePushedImage reads the state: the image's repoDigest is on the
// repository's URL, every container of every task definition runs it, and the
// stack's appImage output (what moodlectl backup records) names it.
func checkTasksRunThePushedImage(t *testing.T, r *rig) string {
	t.Helper()
	_, resources := r.checkpoint(t, "prod")
	var digest, repoURL, exported string
	for _, res := range resources {
		switch string(res.Type) {
		case "pulumi:pulumi:Stack":
			exported, _ = res.Outputs["appImage"].(string)
		case tECRImage:
			digest, _ = res.Outputs["repoDigest"].(string)
		case tECRRepository:
			repoURL, _ = res.Outputs["repositoryUrl"].(string)
		}
	}
	if repoURL == "" || !strings.HasPrefix(digest, repoURL+"@sha256:") {
		t.Fatalf("repoDigest %q, want %s@sha256:<digest>", digest, repoURL)
	}
	if exported != digest {
		t.Errorf("the stack exports appImage %q, want the pushed %q", exported, digest)
	}
	tasks := 0
	for _, res := range resources {
		if string(res.Type) != tTaskDef {
			continue
		}
		tasks++
		text, _ := res.Inputs["containerDefinitions"].(string)
		var defs []struct{ Name, Image string }
		if err := json.Unmarshal([]byte(text), &defs); err != nil {
			t.Fatalf("%s: %v", res.URN, err)
		}
		for _, d := range defs {
			if d.Image != digest {
				t.Errorf("%s container %s runs %q, want %q", res.URN.Name(), d.Name, d.Image, digest)
			}
		}
	}
	if tasks == 0 {
		t.Fatal("no task definition in the state")
	}
	return digest
}
