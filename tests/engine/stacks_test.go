//go:build engine

package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/moodle-cluster/moodle-pulumi/automation"
)

// dataTypes hold data that must survive any change of the app tier.
var dataTypes = map[string]bool{
	"aws:rds/instance:Instance":                         true,
	"aws:elasticache/replicationGroup:ReplicationGroup": true,
	"aws:efs/fileSystem:FileSystem":                     true,
	"aws:s3/bucketV2:BucketV2":                          true,
	"aws:s3/bucket:Bucket":                              true,
	"aws:backup/vault:Vault":                            true,
	"docker:index/volume:Volume":                        true,
}

// isData reports whether a step touches data: a data resource, or the dev stack's
// PostgreSQL and Redis containers (named <cluster>-db and <cluster>-redis).
func isData(s step) bool {
	if dataTypes[s.Type] {
		return true
	}
	name := s.Name()
	return s.Type == "docker:index/container:Container" && (strings.HasSuffix(name, "-db") || strings.HasSuffix(name, "-redis"))
}

// TestStackLifecycle runs each committed stack file through the engine: the steps
// build on each other, so a failed step ends its stack's run.
func TestStackLifecycle(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) { lifecycle(t, stack) })
	}
}

func lifecycle(t *testing.T, stack string) {
	ctx := context.Background()
	r := newRig(t)
	s := r.stack(t, stack, nil)
	var total int

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"preview creates every resource and nothing else", func(t *testing.T) {
			res, err := s.Preview(ctx)
			if err != nil {
				t.Fatal(err)
			}
			total = res.ChangeSummary[apitype.OpCreate]
			if total < 2 || len(res.ChangeSummary) != 1 {
				t.Fatalf("preview of a new stack: got %v, want only creates", res.ChangeSummary)
			}
			t.Logf("stack %s: %d resources (stack and components included)", stack, total)
			r.steps.take()
		}},
		{"up creates what preview announced", func(t *testing.T) {
			res, err := s.Up(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := *res.Summary.ResourceChanges; got[string(apitype.OpCreate)] != total || len(got) != 1 {
				t.Fatalf("up: got %v, want %d creates", got, total)
			}
			r.steps.take()
		}},
		{"refresh finds no drift", func(t *testing.T) {
			res, err := s.Refresh(ctx)
			if err != nil {
				t.Fatal(err)
			}
			assertAllSame(t, *res.Summary.ResourceChanges, total)
			r.steps.take()
		}},
		{"second up changes nothing", func(t *testing.T) {
			res, err := s.Up(ctx)
			if err != nil {
				t.Fatal(err)
			}
			assertAllSame(t, *res.Summary.ResourceChanges, total)
			for _, st := range r.steps.take() {
				if st.Op != apitype.OpSame {
					t.Errorf("%s %s on an unchanged stack", st.Op, st.URN)
				}
			}
		}},
		{"generated secrets are only ciphertext in the state file", func(t *testing.T) {
			secrets := r.fakes.GeneratedSecrets()
			if len(secrets) == 0 {
				t.Fatal("the program generated no secret through the random provider")
			}
			raw, _ := r.checkpoint(t, stack)
			if !strings.Contains(string(raw), `"ciphertext"`) {
				t.Error("the state file holds no ciphertext at all")
			}
			for _, secret := range secrets {
				if strings.Contains(string(raw), secret) {
					t.Errorf("the state file holds a generated secret in clear (%d characters, starting %.3q)", len(secret), secret)
				}
			}
		}},
		{"outputs that carry a secret are marked secret", func(t *testing.T) {
			outs, err := s.Outputs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(outs) == 0 {
				t.Fatal("the stack exports nothing")
			}
			secrets := r.fakes.GeneratedSecrets()
			for key, out := range outs {
				text, _ := json.Marshal(out.Value)
				for _, secret := range secrets {
					if strings.Contains(string(text), secret) && !out.Secret {
						t.Errorf("output %s carries a generated secret but is not marked secret", key)
					}
				}
			}
		}},
		{"one more app node adds app resources and touches no data", func(t *testing.T) {
			cfg := committedConfig(t, stack)
			replicas := scaleUp(t, cfg)
			res, err := r.stack(t, stack, cfg).Preview(ctx)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("preview with %d app nodes: %v", replicas, res.ChangeSummary)
			assertScaleOut(t, r.steps.take(), scaleOutSteps(stack, fmt.Sprintf("app-%d", replicas)))
		}},
	}
	for _, st := range steps {
		if !t.Run(st.name, st.run) {
			return
		}
	}
	if stack == "prod" && !t.Run("a restore from a snapshot adds a database and touches none", func(t *testing.T) { restoreAddsADatabase(t, r) }) {
		return
	}
	if stack == "prod" && !t.Run("a restored file system gets the site and the current one stays", func(t *testing.T) { restoreMovesToAFileSystem(t, r) }) {
		return
	}
	if stack == "dev" {
		t.Run("destroy removes every resource", func(t *testing.T) { destroyRemovesEverything(t, r, s, total) })
	} else {
		t.Run("destroy refuses to delete protected data", func(t *testing.T) { destroyRefusesProtected(t, r, s, stack) })
	}
}

// restoreAddsADatabase previews database.restoreFromSnapshot on the deployed
// prod stack: the restored primary and its replicas are created, and no data
// resource is updated, replaced or deleted, the current database least of all.
func restoreAddsADatabase(t *testing.T, r *rig) {
	cfg := committedConfig(t, "prod")
	if err := cfg.Set("moodle:database.restoreFromSnapshot", "moodle-prod-moodle-db-0a1b2c3d-20261207t031500z"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.stack(t, "prod", cfg).Preview(context.Background()); err != nil {
		t.Fatal(err)
	}
	created := 0
	for _, s := range r.steps.take() {
		if s.Op == apitype.OpSame || s.Op == apitype.OpRead {
			continue
		}
		t.Logf("%s %s %v", s.Op, s.URN, s.Keys)
		if isData(s) && s.Op != apitype.OpCreate {
			t.Errorf("%s of data resource %s when restoring", s.Op, s.URN)
		}
		if s.Op == apitype.OpCreate && s.Type == "aws:rds/instance:Instance" && strings.HasPrefix(s.Name(), "moodle-db-restored") {
			created++
		}
	}
	if created != 2 {
		t.Errorf("%d restored instances created, want the primary and its replica", created)
	}

	// Retiring the original while it is still in the state, protected, deletes
	// nothing: the engine refuses, naming it (docs/aws.md: the operator takes
	// the instances out of the state first).
	if err := cfg.Set("moodle:database.retireOriginal", true); err != nil {
		t.Fatal(err)
	}
	_, err := r.stack(t, "prod", cfg).Preview(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot be deleted") || !strings.Contains(err.Error(), "aws:rds/instance:Instance::moodle-db") {
		t.Errorf("retiring the protected original: error %v, want a refusal naming it", err)
	}
	r.steps.take()
}

// restoreMovesToAFileSystem deploys storage.restoreFileSystemId on the deployed
// prod stack: the restored file system gets its mount targets, policies and
// access points, created; the current file system and everything on it stay as
// they were; and a second up with the same config changes nothing.
func restoreMovesToAFileSystem(t *testing.T, r *rig) {
	ctx := context.Background()
	cfg := committedConfig(t, "prod")
	if err := cfg.Set("moodle:storage.restoreFileSystemId", "fs-0fedcba9876543210"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.stack(t, "prod", cfg).Up(ctx); err != nil {
		t.Fatal(err)
	}
	created := map[string]int{}
	for _, s := range r.steps.take() {
		if s.Op == apitype.OpSame || s.Op == apitype.OpRead {
			continue
		}
		t.Logf("%s %s %v", s.Op, s.URN, s.Keys)
		if isData(s) && s.Op != apitype.OpCreate {
			t.Errorf("%s of data resource %s when moving to the restored file system", s.Op, s.URN)
		}
		if strings.HasPrefix(s.Type, "aws:efs/") {
			if s.Op != apitype.OpCreate || !strings.HasPrefix(s.Name(), "moodle-files-restored") {
				t.Errorf("%s of %s: only the restored file system's attachments may change, by being created", s.Op, s.URN)
			}
			created[s.Type]++
		}
	}
	want := map[string]int{
		"aws:efs/accessPoint:AccessPoint":           2, // /moodledata, and / for the cron runner
		"aws:efs/backupPolicy:BackupPolicy":         1,
		"aws:efs/fileSystemPolicy:FileSystemPolicy": 1,
	}
	for typ, n := range want {
		if created[typ] != n {
			t.Errorf("%d %s created, want %d", created[typ], typ, n)
		}
	}
	if created["aws:efs/mountTarget:MountTarget"] == 0 {
		t.Error("no mount target created on the restored file system")
	}

	res, err := r.stack(t, "prod", cfg).Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	changes := *res.Summary.ResourceChanges
	for _, st := range r.steps.take() {
		if st.Op != apitype.OpSame {
			t.Errorf("%s %s on the second up of the restore", st.Op, st.URN)
		}
	}
	if len(changes) != 1 || changes[string(apitype.OpSame)] == 0 {
		t.Errorf("second up of the restore: %v, want only sames", changes)
	}

	// Retiring the old file system follows docs/aws.md: while it is in the
	// state, protected, a preview refuses, naming it; once it is taken out of the
	// state with what is attached to it, up changes nothing at all.
	if err := cfg.Set("moodle:storage.retireOriginal", true); err != nil {
		t.Fatal(err)
	}
	_, err = r.stack(t, "prod", cfg).Preview(ctx)
	if err == nil || !strings.Contains(err.Error(), "cannot be deleted") || !strings.Contains(err.Error(), "aws:efs/fileSystem:FileSystem::moodle-files") {
		t.Errorf("retiring the protected file system: error %v, want a refusal naming it", err)
	}
	r.steps.take()
	var urn string
	_, resources := r.checkpoint(t, "prod")
	for _, res := range resources {
		if res.Type == "aws:efs/fileSystem:FileSystem" && res.URN.Name() == "moodle-files" {
			urn = string(res.URN)
		}
	}
	if urn == "" {
		t.Fatal("no moodle-files file system in the state")
	}
	r.pulumi(t, "state", "delete", "--stack", "prod", "--force", "--target-dependents", "--yes", urn)
	res, err = r.stack(t, "prod", cfg).Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range r.steps.take() {
		if st.Op != apitype.OpSame {
			t.Errorf("%s %s after the old file system left the state", st.Op, st.URN)
		}
	}
	_, resources = r.checkpoint(t, "prod")
	for _, res := range resources {
		if strings.HasPrefix(string(res.Type), "aws:efs/") && !strings.HasPrefix(res.URN.Name(), "moodle-files-restored") {
			t.Errorf("%s of the retired file system is still in the state", res.URN)
		}
	}
}

func assertAllSame(t *testing.T, changes map[string]int, total int) {
	t.Helper()
	if changes[string(apitype.OpSame)] != total || len(changes) != 1 {
		t.Errorf("got %v, want all %d resources the same", changes, total)
	}
}

// scaleUp raises moodle:app.replicas by one and returns the new count. Where the
// app tier autoscales (aws), the replica count is only the starting size and the
// bounds govern, so the minimum (and the maximum, if it would fall below) rise too.
func scaleUp(t *testing.T, cfg automation.Config) int {
	t.Helper()
	app, ok := cfg["moodle:app"].(map[string]any)
	if !ok {
		t.Fatal("the stack file sets no moodle:app object")
	}
	n, ok := app["replicas"].(int)
	if !ok {
		t.Fatalf("moodle:app.replicas is %v, want an integer in the stack file", app["replicas"])
	}
	for _, bound := range []string{"minReplicas", "maxReplicas"} {
		if v, ok := app[bound].(int); ok && v < n+1 && (bound == "maxReplicas" || v == n) {
			if err := cfg.Set("moodle:app."+bound, n+1); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := cfg.Set("moodle:app.replicas", n+1); err != nil {
		t.Fatal(err)
	}
	return n + 1
}

// scaleOutSteps are the only steps one more app node may take, by resource name:
// on the Docker host the node's container is created and the one-shot writer of
// the load balancer's configuration is replaced for its new upload (nginx reloads,
// it is not replaced); on AWS the autoscaling target's bounds are updated, and so
// is the app service, whose capacity provider strategy keeps app.minReplicas (which
// scaleUp raises with the nodes) on regular Fargate: in place, as for any strategy
// change.
func scaleOutSteps(stack, node string) map[string][]apitype.OpType {
	replaced := []apitype.OpType{apitype.OpCreateReplacement, apitype.OpDeleteReplaced, apitype.OpReplace}
	if stack == "dev" {
		return map[string][]apitype.OpType{
			"moodle-dev-" + node:   {apitype.OpCreate},
			"moodle-dev-lb-config": replaced,
		}
	}
	return map[string][]apitype.OpType{"moodle-app": {apitype.OpUpdate, apitype.OpUpdate}}
}

// assertScaleOut checks the preview of one more app node: exactly the steps
// scaleOutSteps names, the load balancer's configuration replaced only for its
// uploads, and no data resource touched.
func assertScaleOut(t *testing.T, steps []step, want map[string][]apitype.OpType) {
	t.Helper()
	got := map[string][]apitype.OpType{}
	for _, s := range steps {
		if s.Op == apitype.OpSame || s.Op == apitype.OpRead {
			continue
		}
		got[s.Name()] = append(got[s.Name()], s.Op)
		if isData(s) {
			t.Errorf("%s of data resource %s when adding an app node", s.Op, s.URN)
		}
		if s.Op == apitype.OpReplace && !slices.Equal(s.Keys, []string{"uploads"}) {
			t.Errorf("%s replaced for %v, want only its uploads", s.URN, s.Keys)
		}
		t.Logf("%s %s %v", s.Op, s.URN, s.Keys)
	}
	for name := range got {
		slices.Sort(got[name])
	}
	for name := range want {
		want[name] = slices.Sorted(slices.Values(want[name]))
	}
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("adding an app node: steps %v, want exactly %v", got, want)
	}
}

func destroyRemovesEverything(t *testing.T, r *rig, s *automation.Stack, total int) {
	created := provisioned(r, "Create")
	res, err := s.Destroy(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := *res.Summary.ResourceChanges; got[string(apitype.OpDelete)] != total {
		t.Errorf("destroy: got %v, want %d deletes", got, total)
	}
	deleted := provisioned(r, "Delete")
	for urn := range created {
		if !deleted[urn] {
			t.Errorf("%s was created but never deleted", urn)
		}
	}
	if _, left := r.checkpoint(t, "dev"); len(left) != 0 {
		t.Errorf("the state still holds %d resources", len(left))
	}
}

func destroyRefusesProtected(t *testing.T, r *rig, s *automation.Stack, stack string) {
	_, before := r.checkpoint(t, stack)
	var protected []string
	for _, res := range before {
		if dataTypes[string(res.Type)] && !res.Protect && !res.RetainOnDelete {
			t.Errorf("data resource %s is neither protected nor retained on delete", res.URN)
		}
		if res.Protect {
			protected = append(protected, string(res.URN))
		}
	}
	if len(protected) == 0 {
		t.Fatal("the prod stack protects no resource")
	}
	sort.Strings(protected)
	t.Logf("protected: %s", strings.Join(protected, "\n"))

	_, err := s.Destroy(context.Background())
	if err == nil {
		t.Fatal("destroy of the prod stack succeeded despite protected resources")
	}
	named := false
	for _, urn := range protected {
		named = named || strings.Contains(err.Error(), urn)
	}
	if !strings.Contains(err.Error(), "stack prod: destroy:") || !strings.Contains(err.Error(), "protected") || !named {
		t.Errorf("destroy error does not name the stack, the step and a protected resource: %v", err)
	}
	deleted := provisioned(r, "Delete")
	for _, urn := range protected {
		if deleted[urn] {
			t.Errorf("protected %s was deleted", urn)
		}
	}
	_, after := r.checkpoint(t, stack)
	kept := map[string]bool{}
	for _, res := range after {
		kept[string(res.URN)] = true
	}
	for _, urn := range protected {
		if !kept[urn] {
			t.Errorf("protected %s left the state", urn)
		}
	}
}

// provisioned returns the URNs the fakes saw a real (not preview) call for.
func provisioned(r *rig, method string) map[string]bool {
	urns := map[string]bool{}
	for _, req := range r.fakes.Requests() {
		if req.Method == method && !req.Preview {
			urns[req.URN] = true
		}
	}
	return urns
}
