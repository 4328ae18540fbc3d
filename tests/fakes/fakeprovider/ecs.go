package fakeprovider

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"time"

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

// ECSContainer is a container of a task the aws fake starts, as its task
// definition describes it.
type ECSContainer struct {
	Family    string
	Name      string
	Image     string
	Command   []string
	Essential bool
}

// ECSRun is what a started container does: it exits with *Exit after Runs, or,
// with Exit nil, runs until its task stops.
type ECSRun struct {
	Runs time.Duration
	Exit *int
}

// ECSRuntime stands in for the code in the containers: the fake asks it, as it
// starts each container, what that container does.
type ECSRuntime func(ECSContainer) ECSRun

// WithECSRuntime makes the aws fake run the tasks of every ECS service it creates
// or updates with waitForSteadyState, their containers doing what r says, and
// answer as the provider's wait answers (ecsSettle). Without it the fake runs no
// task and a service is steady at once.
func WithECSRuntime(r ECSRuntime) Option { return func(o *options) { o.ecs = r } }

// serviceTimeout is the provider's default create and update timeout of a
// service (internal/service/ecs/service.go, ResourceService: Timeouts 20 minutes);
// customTimeouts replace it.
const serviceTimeout = 20 * time.Minute

// ecsSettle is what the service's create and update do after CreateService or
// UpdateService in terraform-provider-aws v5 (which pulumi-aws v6 bridges;
// internal/service/ecs/service.go, by function: the exact v5 release's lines could
// not be read here), with ECS's rolling deployment behind it:
//   - without wait_for_steady_state they return at once;
//   - with it they wait (waitServiceStable) until statusServiceWaitForStable
//     reports tfSTABLE: one deployment and runningCount == desiredCount. It never
//     looks at the deployment's rolloutState, so a deployment the circuit
//     breaker rolled back is as stable as one that succeeded, and one that never
//     gets there ends only with the timeout (hashicorp/terraform-provider-aws
//     #19519 and #20858). terraform-provider-aws v6 checks the deployment's
//     status (findDeploymentStatus, beside the sigint_rollback argument of
//     6.11.0); pulumi-aws v6.83.4's ecs.Service has neither sigintRollback nor
//     deploymentConfiguration, so it bridges a v5 provider without the check;
//   - they end by reading the service back (resourceServiceRead), taking
//     task_definition from DescribeServices' service.taskDefinition: the revision
//     the service runs, the previous one after a rollback. That last part is
//     AWS's "rolled back to the last deployment that completed successfully"
//     (API_DeploymentCircuitBreaker) read as the service's task definition; AWS
//     does not say it in those words, and the workaround users give for the
//     provider's blind wait rests on it (a postcondition comparing task_definition
//     with the registered ARN, terraform-aws-modules/terraform-aws-ecs#325).
//
// ECS runs the new revision's tasks (ecsTaskRuns); each failed one counts for the
// deployment circuit breaker, whose threshold is 0.5 × the desired count, at
// least 3 and at most 200
// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeploymentCircuitBreaker.html);
// reached, the deployment fails and, with rollback, the service goes back to the
// last completed deployment
// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentCircuitBreaker.html).
// Without a breaker, or without a deployment to go back to, ECS keeps starting
// tasks and the wait ends with its timeout, which the fake reports at once.
func ecsSettle(runtime ECSRuntime) func(lookup func(arn string) (resource.PropertyMap, bool), olds, outs resource.PropertyMap, timeout time.Duration) (resource.PropertyMap, error) {
	if runtime == nil {
		return nil
	}
	return func(lookup func(string) (resource.PropertyMap, bool), olds, outs resource.PropertyMap, timeout time.Duration) (resource.PropertyMap, error) {
		if w := outs["waitForSteadyState"]; !w.IsBool() || !w.BoolValue() {
			return outs, nil
		}
		if timeout == 0 {
			timeout = serviceTimeout
		}
		name := outs["name"].StringValue()
		stuck := fmt.Errorf("waiting for ECS Service (%s) to reach steady state: timeout while waiting for state to become 'tfSTABLE' (last state: 'tfPENDING', timeout: %s)", name, timeout)
		runs := func(arn resource.PropertyValue) (bool, error) {
			if !arn.IsString() {
				return false, nil
			}
			td, ok := lookup(arn.StringValue())
			if !ok {
				return false, fmt.Errorf("no task definition %s", arn.StringValue())
			}
			return ecsTaskRuns(runtime, td)
		}
		threshold := 3
		if d := outs["desiredCount"]; d.IsNumber() {
			threshold = min(max(int(math.Ceil(0.5*d.NumberValue())), 3), 200)
		}
		for range threshold {
			ok, err := runs(outs["taskDefinition"])
			if err != nil || ok {
				return outs, err
			}
		}
		breaker := outs["deploymentCircuitBreaker"]
		if !breaker.IsObject() || !breaker.ObjectValue()["enable"].IsBool() || !breaker.ObjectValue()["enable"].BoolValue() ||
			!breaker.ObjectValue()["rollback"].IsBool() || !breaker.ObjectValue()["rollback"].BoolValue() {
			return outs, stuck
		}
		previous := olds["taskDefinition"]
		if ok, err := runs(previous); err != nil || !ok {
			return outs, errors.Join(err, stuck)
		}
		rolledBack := outs.Copy()
		rolledBack["taskDefinition"] = previous
		return rolledBack, nil
	}
}

// ecsTaskRuns starts one task of the task definition td and reports whether it
// runs: every container started, no essential one stopped. The rules are the ECS
// container agent's (aws/amazon-ecs-agent at 8dfceca6, v1.105.0+10; AWS documents
// container dependencies, not this code):
//   - The task's status is the lowest of its containers' (agent/api/task/task.go
//     :1781-1782, updateTaskKnownStatus: "task known status is the minimum of
//     container known status"), so it is RUNNING only once every container has
//     started or exited.
//   - A container starts when its dependsOn conditions hold
//     (agent/engine/dependencygraph/graph.go:408, containerOrderingDependenciesIsResolved):
//     COMPLETE and SUCCESS once the dependency exited (SUCCESS with 0); START
//     once it started. The fake runs no health checks: HEALTHY holds once the
//     dependency started, a simplification of its own.
//   - A SUCCESS dependency that exited non-zero can never resolve (graph.go:297,
//     verifyContainerOrderingStatusResolvable): the agent marks the waiting
//     container stopped with exit code 143 without starting it
//     (agent/engine/task_manager.go:1220, handleTerminalDependencyError). Without
//     a startTimeout a dependency that runs long never times out (graph.go:479,
//     hasDependencyTimedOut; "If a startTimeout value is specified ...",
//     https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html).
//   - A stopped essential container stops the task (task.go:2828,
//     updateTaskDesiredStatusUnsafe).
//
// Containers run one after the other in dependency order; a one-shot container's
// run takes its time before its dependants start, as in ECS. A task left waiting
// on a container that never exits counts as failed here, where ECS would leave it
// pending until the wait's timeout: the program's tasks have no such wait.
func ecsTaskRuns(runtime ECSRuntime, td resource.PropertyMap) (bool, error) {
	v := td["containerDefinitions"]
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	var defs []struct {
		Name      string   `json:"name"`
		Image     string   `json:"image"`
		Command   []string `json:"command"`
		Essential *bool    `json:"essential"`
		DependsOn []struct {
			ContainerName string `json:"containerName"`
			Condition     string `json:"condition"`
		} `json:"dependsOn"`
	}
	if err := json.Unmarshal([]byte(v.StringValue()), &defs); err != nil {
		return false, fmt.Errorf("containerDefinitions: %w", err)
	}
	family := ""
	if f := td["family"]; f.IsString() {
		family = f.StringValue()
	}
	started := map[string]bool{}
	exited := map[string]*int{}
	for progress := true; progress; {
		progress = false
		for _, d := range defs {
			if started[d.Name] || exited[d.Name] != nil {
				continue
			}
			ready, never := true, false
			for _, dep := range d.DependsOn {
				code := exited[dep.ContainerName]
				switch dep.Condition {
				case "SUCCESS":
					never = never || (code != nil && *code != 0)
					ready = ready && code != nil && *code == 0
				case "COMPLETE":
					ready = ready && code != nil
				default: // START, HEALTHY
					ready = ready && (started[dep.ContainerName] || code != nil)
				}
			}
			essential := d.Essential == nil || *d.Essential
			switch {
			case never:
				stopped := 143
				exited[d.Name] = &stopped
			case ready:
				run := runtime(ECSContainer{Family: family, Name: d.Name, Image: d.Image, Command: d.Command, Essential: essential})
				if run.Exit == nil {
					started[d.Name] = true
				} else {
					time.Sleep(run.Runs)
					exited[d.Name] = run.Exit
				}
			default:
				continue
			}
			progress = true
			if essential && exited[d.Name] != nil {
				return false, nil
			}
		}
	}
	return len(started)+len(exited) == len(defs), nil
}
