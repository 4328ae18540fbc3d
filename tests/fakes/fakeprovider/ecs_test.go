package fakeprovider

import (
	"context"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// What ECS returns of a registered task definition, compared the way
// terraform-provider-aws's DiffSuppressFunc compares it (container_definitions.go):
// only what reduce() normalises may differ from what was sent.
func TestContainerDefinitions_ReadBackAndEquivalence(t *testing.T) {
	cases := []struct {
		name       string
		sent       string
		equivalent bool
	}{
		{"everything ECS fills in is sent as it returns it",
			`[{"name":"php","image":"app","essential":true,"environment":[{"name":"B","value":"2"},{"name":"A","value":"1"}],"portMappings":[{"containerPort":9000,"hostPort":9000,"protocol":"tcp"}],"linuxParameters":{"capabilities":{"add":[],"drop":["ALL"]}}}]`,
			true},
		{"defaults reduce() supplies and empty lists may be left out",
			`[{"name":"php","image":"app","environment":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"volumesFrom":[],"portMappings":[{"containerPort":9000,"hostPort":9000}],"linuxParameters":{"capabilities":{"add":[],"drop":["ALL"]}}}]`,
			true},
		{"kernel capabilities without the add list ECS stores are a new revision",
			`[{"name":"php","image":"app","essential":true,"environment":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"portMappings":[{"containerPort":9000,"hostPort":9000,"protocol":"tcp"}],"linuxParameters":{"capabilities":{"drop":["ALL"]}}}]`,
			false},
		{"a port mapping without the host port ECS fills in is a new revision",
			`[{"name":"php","image":"app","essential":true,"environment":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"portMappings":[{"containerPort":9000,"protocol":"tcp"}],"linuxParameters":{"capabilities":{"add":[],"drop":["ALL"]}}}]`,
			false},
	}
	// What the program registered, as ECS returns it.
	registered := `[{"name":"php","image":"app","environment":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"portMappings":[{"containerPort":9000}],"linuxParameters":{"capabilities":{"drop":["ALL"]}}}]`
	read, err := readTaskDefinition(resource.PropertyMap{"containerDefinitions": str(registered), "networkMode": str("awsvpc")})
	if err != nil {
		t.Fatal(err)
	}
	state := read["containerDefinitions"]
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := containerDefinitionsEquivalent(state, str(c.sent)); got != c.equivalent {
				t.Errorf("equivalent to ECS's %s = %v, want %v", state.StringValue(), got, c.equivalent)
			}
		})
	}
}

// tags_all carries the provider's default tags under the resource's own, which win.
func TestTagsAll_MergesTheProvidersDefaultTags(t *testing.T) {
	s := newTestServer(t, awsPackage(nil))
	defaults := resource.PropertyMap{"defaultTags": obj(resource.PropertyMap{
		"tags": obj(resource.PropertyMap{"team": str("ops"), "env": str("default")})})}
	if _, err := s.Configure(context.Background(), &pulumirpc.ConfigureRequest{Args: mustMarshal(t, defaults)}); err != nil {
		t.Fatal(err)
	}
	resp, err := s.Create(context.Background(), &pulumirpc.CreateRequest{
		Urn:        "urn:pulumi:prod::moodle::aws:ec2/vpc:Vpc::vpc",
		Properties: mustMarshal(t, resource.PropertyMap{"cidrBlock": str("10.0.0.0/16"), "tags": obj(resource.PropertyMap{"env": str("prod")})}),
	})
	if err != nil {
		t.Fatal(err)
	}
	got := mustUnmarshal(t, resp.Properties)["tagsAll"]
	want := obj(resource.PropertyMap{"team": str("ops"), "env": str("prod")})
	if !got.DeepEquals(want) {
		t.Errorf("tagsAll = %v, want %v", got, want)
	}
}

// The service's capacityProviderStrategyCustomizeDiff (terraform-provider-aws v5,
// internal/service/ecs/service.go): a changed strategy replaces the service unless
// force_new_deployment is set and neither strategy is empty.
func TestCapacityProviderStrategyChangeReplacesUnlessForcedAndNonEmpty(t *testing.T) {
	strategy := func(providers ...string) resource.PropertyValue {
		var items []resource.PropertyValue
		for _, p := range providers {
			items = append(items, resource.NewObjectProperty(resource.PropertyMap{"capacityProvider": resource.NewStringProperty(p)}))
		}
		return resource.NewArrayProperty(items)
	}
	none := resource.NewNullProperty()
	for _, c := range []struct {
		name     string
		old, new resource.PropertyValue
		forced   bool
		replaces bool
	}{
		{"changed, no forced deployment", strategy("FARGATE"), strategy("FARGATE", "FARGATE_SPOT"), false, true},
		{"changed, forced deployment", strategy("FARGATE"), strategy("FARGATE", "FARGATE_SPOT"), true, false},
		{"from none, forced deployment", none, strategy("FARGATE"), true, true},
		{"to none, forced deployment", strategy("FARGATE"), none, true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			olds := resource.PropertyMap{"capacityProviderStrategies": c.old}
			news := resource.PropertyMap{"capacityProviderStrategies": c.new, "forceNewDeployment": resource.NewBoolProperty(c.forced)}
			if got := capacityProviderStrategyForcesNew("capacityProviderStrategies", olds, news); got != c.replaces {
				t.Errorf("replaces = %v, want %v", got, c.replaces)
			}
			if capacityProviderStrategyForcesNew("desiredCount", olds, news) {
				t.Error("another property forces replacement")
			}
		})
	}
}

// What a service's create or update answers with wait_for_steady_state over ECS's
// rolling deployment (ecsSettle): steady once a task of the new revision runs,
// rolled back (reading back the previous revision) once the circuit breaker's
// threshold of failed tasks is reached, the timeout when nothing can run.
func TestECSServiceWaitsForTheRevisionsTasksAndReadsBackARollback(t *testing.T) {
	exit := func(code int) ECSRun { return ECSRun{Exit: &code} }
	tdWith := func(containers string) resource.PropertyMap {
		return resource.PropertyMap{"family": str("f"), "containerDefinitions": str(containers)}
	}
	upgradeThenCron := func(image string) resource.PropertyMap {
		return tdWith(`[{"name":"upgrade","image":"` + image + `","essential":false},` +
			`{"name":"cron","image":"` + image + `","dependsOn":[{"containerName":"upgrade","condition":"SUCCESS"}]}]`)
	}
	// The new image's upgrade exits 1; every other container does what its
	// name says: "upgrade" exits 0, the rest run.
	runtime := func(c ECSContainer) ECSRun {
		switch {
		case c.Name == "upgrade" && c.Image == "new":
			return exit(1)
		case c.Name == "upgrade":
			return exit(0)
		}
		return ECSRun{}
	}
	breaker := func(enable, rollback bool) resource.PropertyValue {
		return resource.NewObjectProperty(resource.PropertyMap{
			"enable": resource.NewBoolProperty(enable), "rollback": resource.NewBoolProperty(rollback)})
	}
	for _, c := range []struct {
		name          string
		wait          bool
		want, prev    string
		breaker       resource.PropertyValue
		running       string // the task definition read back; "" for an error
		upgradeStarts int
	}{
		{"a revision whose tasks run is steady", true, "arn:good", "arn:old", breaker(true, true), "arn:good", 1},
		{"without waiting nothing runs before the answer", false, "arn:bad", "arn:old", breaker(true, true), "arn:bad", 0},
		{"a failing revision is rolled back after 3 failed tasks", true, "arn:bad", "arn:old", breaker(true, true), "arn:old", 4},
		{"without rollback the wait times out", true, "arn:bad", "arn:old", breaker(true, false), "", 3},
		{"without a revision to go back to the wait times out", true, "arn:bad", "", breaker(true, true), "", 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			defs := map[string]resource.PropertyMap{"arn:good": upgradeThenCron("good"), "arn:bad": upgradeThenCron("new"), "arn:old": upgradeThenCron("old")}
			starts := 0
			settle := ecsSettle(func(ec ECSContainer) ECSRun {
				if ec.Name == "upgrade" {
					starts++
				}
				return runtime(ec)
			})
			lookup := func(arn string) (resource.PropertyMap, bool) { d, ok := defs[arn]; return d, ok }
			outs := resource.PropertyMap{"name": str("svc"), "desiredCount": num(1), "taskDefinition": str(c.want),
				"waitForSteadyState": resource.NewBoolProperty(c.wait), "deploymentCircuitBreaker": c.breaker}
			olds := resource.PropertyMap{}
			if c.prev != "" {
				olds["taskDefinition"] = str(c.prev)
			}
			got, err := settle(lookup, olds, outs, 0)
			switch {
			case c.running == "" && (err == nil || !strings.Contains(err.Error(), "timeout while waiting for state to become 'tfSTABLE'")):
				t.Errorf("err = %v, want the wait's timeout", err)
			case c.running != "" && err != nil:
				t.Errorf("err = %v", err)
			case c.running != "" && got["taskDefinition"].StringValue() != c.running:
				t.Errorf("task definition read back %v, want %s", got["taskDefinition"], c.running)
			}
			if starts != c.upgradeStarts {
				t.Errorf("the upgrade container started %d times, want %d", starts, c.upgradeStarts)
			}
		})
	}
}

// When a task counts as running (ecsTaskRuns): once every container has started
// or exited, unless an essential one stopped.
func TestECSTaskRunsOnlyOnceEveryContainerStarted(t *testing.T) {
	one, zero := 1, 0
	for _, c := range []struct {
		name       string
		containers string
		exits      map[string]*int
		runs       bool
	}{
		{"a one-shot container that succeeds lets its dependant start",
			`[{"name":"init","essential":false},{"name":"app","dependsOn":[{"containerName":"init","condition":"SUCCESS"}]}]`,
			map[string]*int{"init": &zero}, true},
		{"a failed SUCCESS dependency stops the essential container waiting for it",
			`[{"name":"init","essential":false},{"name":"app","dependsOn":[{"containerName":"init","condition":"SUCCESS"}]}]`,
			map[string]*int{"init": &one}, false},
		{"a COMPLETE dependency is met by any exit",
			`[{"name":"init","essential":false},{"name":"app","dependsOn":[{"containerName":"init","condition":"COMPLETE"}]}]`,
			map[string]*int{"init": &one}, true},
		{"an essential container that exits stops the task",
			`[{"name":"app"}]`, map[string]*int{"app": &zero}, false},
		{"a dependency on a container that never exits keeps the task from running",
			`[{"name":"side"},{"name":"app","dependsOn":[{"containerName":"side","condition":"SUCCESS"}]}]`,
			map[string]*int{}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			runs, err := ecsTaskRuns(func(ec ECSContainer) ECSRun { return ECSRun{Exit: c.exits[ec.Name]} },
				resource.PropertyMap{"containerDefinitions": str(c.containers)})
			if err != nil || runs != c.runs {
				t.Errorf("runs = %v (%v), want %v", runs, err, c.runs)
			}
		})
	}
}
