package fakeprovider

import (
	"cmp"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// The ECS task definition as pulumi-aws v6 reads it back, and as its provider
// compares it: terraform-provider-aws's Read stores the container definitions ECS's
// DescribeTaskDefinition returns (internal/service/ecs/task_definition.go, through
// flattenContainerDefinitions in container_definitions.go), and container_definitions
// is ForceNew with a DiffSuppressFunc that calls two definitions equal when
// containerDefinitionsAreEquivalent says so (container_definitions.go:22-46): both
// are reduce()d (:50-141) and compared as JSON. What reduce does not touch must be
// sent as ECS returns it, or every up registers a new revision and rolls the tasks.

// readTaskDefinition is what ECS returns of the containers it registered: the
// defaults of the task definition parameters it fills in (AWS's "Amazon ECS task
// definition parameters": essential true, TCP port mappings with the host port of
// awsvpc equal to the container port, empty lists for environment, mount points,
// port mappings, volumes from and system controls) and, for a container that names
// its kernel capabilities, both lists: a missing "add" comes back empty, which
// reduce leaves as it is. A zero cpu is not written back (the SDK's ContainerDefinition
// holds Cpu as a plain int32, which its serializer omits when zero).
func readTaskDefinition(config resource.PropertyMap) (resource.PropertyMap, error) {
	v := config["containerDefinitions"]
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	if !v.IsString() {
		return resource.PropertyMap{}, nil
	}
	var defs []map[string]any
	if err := json.Unmarshal([]byte(v.StringValue()), &defs); err != nil {
		return nil, fmt.Errorf("containerDefinitions: %w", err)
	}
	awsvpc := config["networkMode"].IsString() && config["networkMode"].StringValue() == "awsvpc"
	for _, d := range defs {
		setDefault(d, "essential", true)
		for _, list := range []string{"environment", "mountPoints", "volumesFrom", "portMappings", "systemControls"} {
			setDefault(d, list, []any{})
		}
		for _, pm := range objects(d["portMappings"]) {
			setDefault(pm, "protocol", "tcp")
			if awsvpc {
				setDefault(pm, "hostPort", pm["containerPort"])
			}
		}
		if lp, ok := d["linuxParameters"].(map[string]any); ok {
			if caps, ok := lp["capabilities"].(map[string]any); ok {
				setDefault(caps, "add", []any{})
				setDefault(caps, "drop", []any{})
			}
		}
	}
	raw, err := json.Marshal(defs)
	if err != nil {
		return nil, err
	}
	return resource.PropertyMap{"containerDefinitions": str(string(raw))}, nil
}

// containerDefinitionsEquivalent is containerDefinitionsAreEquivalent: both sides
// reduced, then compared. The fake reduces what the program's definitions hold.
func containerDefinitionsEquivalent(a, b resource.PropertyValue) bool {
	if !a.IsString() || !b.IsString() {
		return false
	}
	ra, err1 := reduceContainerDefinitions(a.StringValue())
	rb, err2 := reduceContainerDefinitions(b.StringValue())
	return err1 == nil && err2 == nil && reflect.DeepEqual(ra, rb)
}

// reduceContainerDefinitions is reduce (container_definitions.go:50-141) on JSON:
// containers, environment and secrets ordered by name; essential defaults to true,
// a health check's interval, retries and timeout to 30, 3 and 5; a TCP protocol and
// a zero host port are dropped from port mappings (reduce runs with isAWSVPC false
// in the DiffSuppressFunc); empty lists are dropped.
func reduceContainerDefinitions(text string) ([]map[string]any, error) {
	var defs []map[string]any
	if err := json.Unmarshal([]byte(text), &defs); err != nil {
		return nil, err
	}
	slices.SortFunc(defs, func(a, b map[string]any) int { return cmp.Compare(fmt.Sprint(a["name"]), fmt.Sprint(b["name"])) })
	for _, d := range defs {
		for _, list := range []string{"environment", "secrets"} {
			items := objects(d[list])
			slices.SortFunc(items, func(a, b map[string]any) int { return cmp.Compare(fmt.Sprint(a["name"]), fmt.Sprint(b["name"])) })
			if len(items) > 0 {
				d[list] = items
			}
		}
		setDefault(d, "essential", true)
		if hc, ok := d["healthCheck"].(map[string]any); ok {
			setDefault(hc, "interval", 30.0)
			setDefault(hc, "retries", 3.0)
			setDefault(hc, "timeout", 5.0)
		}
		for _, pm := range objects(d["portMappings"]) {
			if pm["protocol"] == "tcp" {
				delete(pm, "protocol")
			}
			if n, ok := pm["hostPort"].(float64); ok && n == 0 {
				delete(pm, "hostPort")
			}
		}
		for _, list := range []string{"command", "credentialSpecs", "dependsOn", "dnsSearchDomains", "dnsServers",
			"dockerSecurityOptions", "entryPoint", "environment", "environmentFiles", "extraHosts", "links",
			"mountPoints", "portMappings", "resourceRequirements", "secrets", "systemControls", "ulimits", "volumesFrom"} {
			if l, ok := d[list].([]any); ok && len(l) == 0 {
				delete(d, list)
			}
			if l, ok := d[list].([]map[string]any); ok && len(l) == 0 {
				delete(d, list)
			}
		}
	}
	// Through JSON once more, so both sides hold the same Go types.
	raw, err := json.Marshal(defs)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	return out, json.Unmarshal(raw, &out)
}

func setDefault(m map[string]any, key string, v any) {
	if _, ok := m[key]; !ok {
		m[key] = v
	}
}

// objects returns the objects of a JSON list (nil for anything else).
func objects(v any) []map[string]any {
	switch l := v.(type) {
	case []map[string]any:
		return l
	case []any:
		out := make([]map[string]any, 0, len(l))
		for _, e := range l {
			if m, ok := e.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

// capacityProviderStrategyForcesNew is the service's capacityProviderStrategyCustomizeDiff
// (terraform-provider-aws v5, internal/service/ecs/service.go, which pulumi-aws v6
// bridges): a changed strategy replaces the service unless force_new_deployment is
// set and neither the old nor the new strategy is empty.
func capacityProviderStrategyForcesNew(prop string, olds, news resource.PropertyMap) bool {
	if prop != "capacityProviderStrategies" {
		return false
	}
	if fnd := news["forceNewDeployment"]; !fnd.IsBool() || !fnd.BoolValue() {
		return true
	}
	return isEmpty(olds["capacityProviderStrategies"]) || isEmpty(news["capacityProviderStrategies"])
}
