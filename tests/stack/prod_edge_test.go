package stack_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/awscloud"
	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
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
	// An alias record a site made by hand before giving the zone is taken over
	// (UPSERT), not a failed CREATE (terraform-provider-aws route53 record.go).
	if !r.boolean("allowOverwrite") {
		t.Error("the alias record does not take over an existing one")
	}
	if r.str("aliases.0.name") != alb.Name+"-1234567890.eu-west-1.elb.amazonaws.com" || r.str("aliases.0.zoneId") != mockALBZone || !r.boolean("aliases.0.evaluateTargetHealth") {
		t.Errorf("alias %v, want the ALB's name and zone", r.input("aliases"))
	}
}

func checkHTTPRedirect(t *testing.T, rec *recorder, _ topology.Spec) {
	http := rec.one(t, tListener, edgeName+"-http")
	if http.number("port") != 80 || http.str("protocol") != "HTTP" {
		t.Fatalf("http listener: port %v protocol %q", http.number("port"), http.str("protocol"))
	}
	actions := http.input("defaultActions").ArrayValue()
	if len(actions) != 1 {
		t.Fatalf("http listener has %d default actions, want 1 redirect", len(actions))
	}
	if got := http.str("defaultActions.0.type"); got != "redirect" {
		t.Errorf("http listener action %q, want redirect", got)
	}
	if p, code := http.str("defaultActions.0.redirect.protocol"), http.str("defaultActions.0.redirect.statusCode"); p != "HTTPS" || code != "HTTP_301" {
		t.Errorf("redirect to %q with %q, want HTTPS with HTTP_301", p, code)
	}
	https := rec.one(t, tListener, edgeName+"-https")
	if https.number("port") != 443 || https.str("protocol") != "HTTPS" || https.str("certificateArn") == "" {
		t.Errorf("https listener: port %v protocol %q certificate %q", https.number("port"), https.str("protocol"), https.str("certificateArn"))
	}
}

func checkTLSPolicy(t *testing.T, rec *recorder, _ topology.Spec) {
	for _, l := range rec.ofType(tListener) {
		if l.str("protocol") == "HTTPS" && l.str("sslPolicy") != "ELBSecurityPolicy-TLS13-1-2-2021-06" {
			t.Errorf("%s: sslPolicy %q", l.Name, l.str("sslPolicy"))
		}
	}
}

func checkALBLogsAndProtection(t *testing.T, rec *recorder, _ topology.Spec) {
	alb := rec.one(t, tALB, edgeName)
	if !alb.boolean("accessLogs.enabled") {
		t.Error("access logs are off")
	}
	bucket := rec.one(t, tBucket, edgeName+"-logs")
	if got, want := alb.str("accessLogs.bucket"), bucket.Name+"-a1b2c3"; got != want {
		t.Errorf("access logs go to %q, want the logs bucket %q", got, want)
	}
	checkBucketPrivate(t, rec, bucket)
	if !alb.boolean("enableDeletionProtection") {
		t.Error("deletion protection is off")
	}
	if m := alb.str("desyncMitigationMode"); m != "defensive" && m != "strictest" {
		t.Errorf("desyncMitigationMode %q", m)
	}
	if alb.boolean("internal") {
		t.Error("the ALB is internal; the site would be unreachable")
	}
}

func checkHealthCheck(t *testing.T, rec *recorder, spec topology.Spec) {
	tg := rec.one(t, tTargetGroup, edgeName)
	if !tg.boolean("healthCheck.enabled") || tg.str("healthCheck.path") != render.FPMPingPath || tg.str("healthCheck.matcher") != "200" {
		t.Errorf("health check: enabled %v path %q matcher %q", tg.boolean("healthCheck.enabled"), tg.str("healthCheck.path"), tg.str("healthCheck.matcher"))
	}
	if tg.boolean("stickiness.enabled") {
		t.Error("stickiness is on; sessions live in Redis")
	}
	if tg.str("targetType") != "ip" || tg.number("port") != float64(spec.Web.Port) {
		t.Errorf("target type %q port %v, want ip %d", tg.str("targetType"), tg.number("port"), spec.Web.Port)
	}
	// The ping location must let the load balancer in: it comes from the VPC.
	nginx := rec.one(t, tTaskDef, appName).renderedFiles(t)["MOODLE_FILE_NGINX_CONF"]
	if !strings.Contains(nginx, "location = "+render.FPMPingPath) || !strings.Contains(nginx, "allow "+spec.AWS.VPCCIDR+";") {
		t.Errorf("the node's nginx does not serve %s to the VPC %s:\n%s", render.FPMPingPath, spec.AWS.VPCCIDR, nginx)
	}
}

func checkWAF(t *testing.T, rec *recorder, _ topology.Spec) {
	acl := rec.one(t, tWebACL, edgeName)
	var groups []string
	for i := range acl.input("rules").ArrayValue() {
		groups = append(groups, acl.str(fmt.Sprintf("rules.%d.statement.managedRuleGroupStatement.name", i)))
	}
	for _, want := range []string{"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesSQLiRuleSet", "AWSManagedRulesAmazonIpReputationList"} {
		if !slices.Contains(groups, want) {
			t.Errorf("web ACL lacks %s; has %v", want, groups)
		}
	}
	assoc := rec.one(t, tWebACLAssoc, edgeName)
	alb := rec.one(t, tALB, edgeName)
	if assoc.str("resourceArn") != mockARN(alb.Type, alb.Name) {
		t.Errorf("web ACL associated with %q, not the ALB", assoc.str("resourceArn"))
	}
	logging := rec.one(t, tWebACLLogging, edgeName)
	if len(logging.strings("logDestinationConfigs")) != 1 {
		t.Error("web ACL decisions are not logged")
	}
}

func TestProdPlainHTTPTestSite(t *testing.T) {
	edits := map[string]any{"aws.certificateArn": nil, "aws.allowPlainHttp": true, "siteUrl": "http://moodle.example.edu"}
	rec := mustRun(t, "prod", edits)
	listeners := rec.ofType(tListener)
	if len(listeners) != 1 || listeners[0].str("defaultActions.0.type") != "forward" {
		t.Fatalf("want one HTTP listener that forwards, got %d", len(listeners))
	}
	for _, r := range securityGroupRules(rec) {
		if r.port == 443 && !r.egress {
			t.Errorf("%s opens 443 without a certificate", r.group)
		}
	}
}

func TestProdALBWaitsLongerThanPHP(t *testing.T) {
	for _, timeout := range []int{300, 900, 3600} {
		t.Run(fmt.Sprint(timeout), func(t *testing.T) {
			edits := map[string]any{"web.fastcgiReadTimeout": timeout}
			spec := stackSpec(t, "prod", edits)
			idle := mustRun(t, "prod", edits).one(t, tALB, edgeName).number("idleTimeout")
			if idle <= float64(spec.Web.FastCGIReadTimeout) {
				t.Errorf("ALB idle timeout %v s, not above fastcgi_read_timeout %d s", idle, spec.Web.FastCGIReadTimeout)
			}
		})
	}
}

func TestProdAutoscalesOnCPUAndRequests(t *testing.T) {
	spec := stackSpec(t, "prod", nil)
	rec := mustRun(t, "prod", nil)
	targets := rec.ofType(tScaleTarget)
	if len(targets) != 1 || !strings.HasSuffix(targets[0].str("resourceId"), "/"+appName+"-a1b2c3") {
		t.Fatalf("autoscaling targets %v, want the app service", targets)
	}
	metrics := map[string]registered{}
	for _, p := range rec.ofType(tScalePolicy) {
		metrics[p.str("targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType")] = p
	}
	if _, ok := metrics["ECSServiceAverageCPUUtilization"]; !ok {
		t.Error("no CPU target tracking")
	}
	requests, ok := metrics["ALBRequestCountPerTarget"]
	if !ok {
		t.Fatal("no requests-per-target tracking")
	}
	label := requests.str("targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.resourceLabel")
	alb, tg := rec.one(t, tALB, edgeName), rec.one(t, tTargetGroup, edgeName)
	if label != "app/"+alb.Name+"/50dc6c495c0c9188/targetgroup/"+tg.Name+"/73e2d6bc24d8a067" {
		t.Errorf("resource label %q does not name the ALB and target group", label)
	}
	if got, want := requests.number("targetTrackingScalingPolicyConfiguration.targetValue"), float64(awscloud.RequestsPerTarget(spec)); got != want || want <= 0 {
		t.Errorf("requests per target %v, want %v", got, want)
	}
}
