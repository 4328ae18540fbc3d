package stack_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"testing"
)

const tRecord = "aws:route53/record:Record"

// AWS requires the target's keep-alive to outlast the ALB's idle timeout: a node
// that closes an idle connection first races the ALB's next request on it (502).
func TestProdNodesKeepConnectionsLongerThanTheALB(t *testing.T) {
	keepalive := regexp.MustCompile(`keepalive_timeout (\d+)s;`)
	for _, timeout := range []int{300, 900, 3600} {
		t.Run(fmt.Sprint(timeout), func(t *testing.T) {
			rec := mustRun(t, "prod", map[string]any{"web.fastcgiReadTimeout": timeout})
			idle := rec.one(t, tALB, edgeName).number("idleTimeout")
			m := keepalive.FindStringSubmatch(rec.one(t, tTaskDef, appName).renderedFiles(t)["MOODLE_FILE_NGINX_CONF"])
			if m == nil {
				t.Fatal("the node's nginx keeps nginx's default keep-alive (75 s)")
			}
			if kept, _ := strconv.Atoi(m[1]); float64(kept) <= idle {
				t.Errorf("nginx keeps idle connections %d s, the ALB %v s", kept, idle)
			}
		})
	}
}

// A task that leaves the target group (a deployment, a scale-in) keeps its
// requests as long as PHP may run one, and then gets the most time Fargate gives
// to stop.
func TestProdDeploymentsAndScaleInDrainLongRequests(t *testing.T) {
	for _, timeout := range []int{300, 3600} {
		t.Run(fmt.Sprint(timeout), func(t *testing.T) {
			rec := mustRun(t, "prod", map[string]any{"web.fastcgiReadTimeout": timeout})
			if drain := rec.one(t, tTargetGroup, edgeName).number("deregistrationDelay"); drain < float64(timeout) {
				t.Errorf("the target group drains %v s, PHP runs up to %d s", drain, timeout)
			}
			for _, td := range rec.ofType(tTaskDef) {
				var defs []struct {
					Name        string `json:"name"`
					Essential   bool   `json:"essential"`
					StopTimeout int    `json:"stopTimeout"`
				}
				if err := json.Unmarshal([]byte(td.str("containerDefinitions")), &defs); err != nil {
					t.Fatal(err)
				}
				for _, c := range defs {
					if c.Essential && c.StopTimeout != fargateStopTimeout {
						t.Errorf("%s/%s stops after %d s, want %d", td.Name, c.Name, c.StopTimeout, fargateStopTimeout)
					}
				}
			}
		})
	}
}

func TestProdAliasRecordWhenAHostedZoneIsGiven(t *testing.T) {
	spec := stackSpec(t, "prod", nil)
	if n := len(mustRun(t, "prod", nil).ofType(tRecord)); n != 0 {
		t.Errorf("%d records without aws.hostedZoneId", n)
	}
	rec := mustRun(t, "prod", map[string]any{"aws.hostedZoneId": mockZoneID})
	records := rec.ofType(tRecord)
	if len(records) != 1 {
		t.Fatalf("%d records, want 1", len(records))
	}
	r, alb := records[0], rec.one(t, tALB, edgeName)
	if r.str("zoneId") != mockZoneID || r.str("name") != spec.Hostname() || r.str("type") != "A" {
		t.Errorf("record %s %s in %s, want A %s in %s", r.str("type"), r.str("name"), r.str("zoneId"), spec.Hostname(), mockZoneID)
	}
	if r.str("aliases.0.name") != alb.Name+"-1234567890.eu-west-1.elb.amazonaws.com" || r.str("aliases.0.zoneId") != mockALBZone || !r.boolean("aliases.0.evaluateTargetHealth") {
		t.Errorf("alias %v, want the ALB's name and zone", r.input("aliases"))
	}
}
