//go:build engine

package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/automation"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// RDS Proxy, named by the program so that the log group it writes to exists
// first, comes up under the engine and a second up plans nothing: the fixed name
// and the group's do not churn.
func TestProdRDSProxyLogsToAGroupMadeBeforeIt(t *testing.T) {
	r := newRig(t)
	cfg := committedConfig(t, "prod")
	if err := cfg.Set("moodle:database.pooler", "rdsproxy"); err != nil {
		t.Fatal(err)
	}
	upSettles(t, r, cfg)

	_, resources := r.checkpoint(t, "prod")
	groups := map[string]apitype.ResourceV3{}
	var proxies []apitype.ResourceV3
	for _, res := range resources {
		switch res.Type {
		case "aws:cloudwatch/logGroup:LogGroup":
			name, _ := res.Outputs["name"].(string)
			groups[name] = res
		case "aws:rds/proxy:Proxy":
			proxies = append(proxies, res)
		}
	}
	if len(proxies) != 1 {
		t.Fatalf("%d proxies in the state, want 1", len(proxies))
	}
	proxy := proxies[0]
	name, _ := proxy.Outputs["name"].(string)
	group, ok := groups["/aws/rds/proxy/"+name]
	if !ok {
		t.Fatalf("no log group /aws/rds/proxy/%s in the state", name)
	}
	if key, _ := group.Outputs["kmsKeyId"].(string); key == "" {
		t.Errorf("the proxy's log group is not encrypted")
	}
	var dependsOnGroup bool
	for _, dep := range proxy.Dependencies {
		dependsOnGroup = dependsOnGroup || dep == group.URN
	}
	if !dependsOnGroup {
		t.Errorf("the proxy may be created before its log group (depends on %v)", proxy.Dependencies)
	}
}

// upSettles runs up with cfg, then up again, and fails unless the second plans
// no change. It returns how many resources of each type the first up created.
func upSettles(t *testing.T, r *rig, cfg automation.Config) map[string]int {
	t.Helper()
	ctx := context.Background()
	res, err := r.stack(t, "prod", cfg).Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	created := map[string]int{}
	for _, s := range r.steps.take() {
		if s.Op == apitype.OpCreate {
			created[s.Type]++
		}
	}
	total := 0
	for _, n := range *res.Summary.ResourceChanges {
		total += n
	}
	res, err = r.stack(t, "prod", cfg).Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	assertAllSame(t, *res.Summary.ResourceChanges, total)
	for _, s := range r.steps.take() {
		if s.Op != apitype.OpSame && !strings.HasPrefix(s.Type, "pulumi:") {
			t.Errorf("%s %s on an unchanged stack", s.Op, s.URN)
		}
	}
	return created
}
