package fakeprovider

import (
	"context"
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
	s := newTestServer(t, awsPackage())
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
