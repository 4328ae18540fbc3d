package cost_test

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/cost"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/inventory"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/stackview"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// estimate prices the committed stack file with edits ("moodle:aws.natGateways"
// -> "single"), run through the program as moodlectl cost does.
func estimate(t *testing.T, stack string, edits map[string]any) cost.Estimate {
	t.Helper()
	v, err := stackview.Load("../../../Pulumi."+stack+".yaml", stack, edits)
	if err != nil {
		t.Fatal(err)
	}
	est, err := cost.Of(v.Resources, v.Region())
	if err != nil {
		t.Fatal(err)
	}
	return est
}

// monthly is hours of a rate, rounded as the estimate rounds.
func monthly(hourly float64) float64 { return math.Round(hourly*cost.HoursPerMonth*100) / 100 }

func near(a, b float64) bool { return math.Abs(a-b) < 0.015 }

// sum adds the monthly cost of the lines whose description contains what.
func sum(e cost.Estimate, what string) (total float64, n int) {
	for _, l := range e.Lines {
		if strings.Contains(l.What, what) {
			total += l.Monthly
			n++
		}
	}
	return total, n
}

// TestEstimate_CommittedProdStackPricesEveryChargedResource checks the committed
// prod stack line by line against the eu-west-1 table: a wrong rule, count or
// rate shows here.
func TestEstimate_CommittedProdStackPricesEveryChargedResource(t *testing.T) {
	e := estimate(t, "prod", nil)
	if len(e.Unpriced) > 0 {
		t.Fatalf("resource types without a pricing rule: %v", e.Unpriced)
	}
	fargateTask := func(vcpu, gb float64) float64 { return vcpu*0.04048 + gb*0.004445 }
	cases := []struct {
		what  string
		count int
		want  float64
	}{
		{"Fargate 3 × 4 vCPU / 8 GB", 1, 3 * monthly(fargateTask(4, 8))},
		{"Fargate 1 × 1 vCPU / 2 GB", 1, monthly(fargateTask(1, 2))},
		// The ad hoc task workers.
		{"Fargate 2 × 1 vCPU / 2 GB", 1, 2 * monthly(fargateTask(1, 2))},
		{"db.r6g.xlarge Multi-AZ + 200 GB", 1, 2*monthly(0.504) + 2*200*0.127},
		{"db.r6g.xlarge Single-AZ read replica + 200 GB", 1, monthly(0.504) + 200*0.127},
		// The sessions' group and the MUC group.
		{"2 × cache.r6g.large", 2, 2 * 2 * monthly(0.229)},
		{"NAT gateway", 3, 3 * monthly(0.048)},
		{"public IPv4 address", 3, 3 * monthly(0.005)},
		{"Application Load Balancer + 3 public IPv4", 1, monthly(0.0252 + 3*0.005)},
		{"WAF web ACL with 4 rules", 1, 9},
		{"standard-resolution alarm", 29, 2.90},
		{"secret", 4, 1.60},
		{"customer-managed key", 1, 1},
		{"dashboard", 1, 3},
	}
	var total float64
	for _, c := range cases {
		got, n := sum(e, c.what)
		if n != c.count || !near(got, c.want) {
			t.Errorf("%q: %d lines, %.2f USD; want %d lines, %.2f USD", c.what, n, got, c.count, c.want)
		}
		total += got
	}
	if !near(total, e.Total) {
		t.Errorf("the lines above add up to %.2f, the estimate's total is %.2f: a charged resource is not checked here", total, e.Total)
	}
	if app, _ := sum(e, "Fargate 3 ×"); !near(e.CeilingTotal-e.Total, app*12/3-app) {
		t.Errorf("ceiling %.2f - total %.2f should be nine more app tasks (%.2f)", e.CeilingTotal, e.Total, app*3)
	}
}

// TestEstimate_EachVariantChangesTheTotalByWhatItAdds runs every variant of the
// prod stack through the program and checks the monthly difference it makes.
func TestEstimate_EachVariantChangesTheTotalByWhatItAdds(t *testing.T) {
	base := estimate(t, "prod", nil)
	fargateApp, _ := sum(base, "Fargate 3 ×")
	fargateCron, _ := sum(base, "Fargate 1 ×")
	fargateAdhoc, _ := sum(base, "Fargate 2 ×")
	ec2 := func(n int) float64 { return float64(n) * (monthly(0.214) + 50*0.088) }
	// Graviton: the same tasks at Fargate's Linux/ARM rates.
	armTask := func(vcpu, gb float64) float64 { return vcpu*0.03238 + gb*0.00356 }
	// An interface endpoint in each of the three private subnets.
	endpoints := func(n int) float64 { return float64(n) * 3 * monthly(0.011) }
	cloudFront := map[string]any{"moodle:aws.cloudFront.enabled": true,
		"moodle:aws.cloudFront.certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"}
	cases := []struct {
		name  string
		edits map[string]any
		delta float64
		// ceiling is the difference at the autoscaling ceiling, when checked.
		ceiling *float64
	}{
		{"one NAT gateway instead of one per zone", map[string]any{"moodle:aws.natGateways": "single"},
			-2 * (monthly(0.048) + monthly(0.005)), nil},
		{"EC2 instead of Fargate: 3 app tasks, cron and 2 ad hoc workers need 4 m6i.xlarge", map[string]any{"moodle:app.launchType": "ec2"},
			ec2(4) - fargateApp - fargateCron - fargateAdhoc, nil},
		{"RDS Proxy bills the primary's 4 vCPUs", map[string]any{"moodle:database.pooler": "rdsproxy"},
			monthly(4 * 0.0165), nil},
		{"a second read replica", map[string]any{"moodle:database.readReplicas": 2},
			monthly(0.504) + 200*0.127 + 4*0.10, nil},
		{"Single-AZ primary", map[string]any{"moodle:database.multiAz": false},
			-(monthly(0.504) + 200*0.127), nil},
		{"three Redis nodes", map[string]any{"moodle:cache.replicas": 3},
			monthly(0.229) + 3*0.10, nil},
		{"S3 file pool: usage-based only", map[string]any{"moodle:storage.kind": "s3", "moodle:moodle.plugins": topology.S3Plugins}, 0, nil},
		{"no WAF", map[string]any{"moodle:aws.waf": false}, -9, nil},
		{"a larger database class", map[string]any{"moodle:database.instanceClass": "db.r6g.2xlarge"},
			3 * (monthly(1.008) - monthly(0.504)), nil},

		// The options of issue 10.
		{"Graviton: app, cron and ad hoc workers at the Linux/ARM rates", map[string]any{"moodle:app.cpuArchitecture": "arm64"},
			3*monthly(armTask(4, 8)) + 3*monthly(armTask(1, 2)) - fargateApp - fargateCron - fargateAdhoc, nil},
		// The three tasks of the base (minReplicas) never run on Spot, and Spot,
		// having no list price, is priced on-demand: nothing changes, not even at
		// the ceiling.
		{"Fargate Spot for half the tasks above the minimum: priced on-demand", map[string]any{"moodle:app.spotPercent": 50},
			0, ptr(0)},
		{"interface VPC endpoints: ECR api and dkr, Logs, Secrets Manager in 3 zones", map[string]any{"moodle:aws.vpcEndpoints": true},
			endpoints(4), nil},
		{"ECS Exec: a log group, usage-based only", map[string]any{"moodle:aws.ecsExec": true}, 0, nil},
		{"ECS Exec with the endpoints adds ssmmessages", map[string]any{"moodle:aws.ecsExec": true, "moodle:aws.vpcEndpoints": true},
			endpoints(5), nil},
		// The distribution is usage-based; its own web ACL (4 rules) and the key of
		// its log group in us-east-1 are not.
		{"CloudFront: its web ACL in place of the ALB's, and its key", cloudFront, 1, nil},
		{"Route 53 alias record: free", map[string]any{"moodle:aws.hostedZoneId": "Z0123456789ABCDEFGHIJ"}, 0, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := estimate(t, "prod", c.edits)
			if len(e.Unpriced) > 0 {
				t.Fatalf("resource types without a pricing rule: %v", e.Unpriced)
			}
			if got := e.Total - base.Total; !near(got, c.delta) {
				var diff bytes.Buffer
				if err := cost.WriteDiffMarkdown(&diff, base, e); err != nil {
					t.Fatal(err)
				}
				t.Errorf("monthly difference %+.2f, want %+.2f:\n%s", got, c.delta, diff.String())
			}
			if c.ceiling != nil {
				if got := e.CeilingTotal - base.CeilingTotal; !near(got, *c.ceiling) {
					t.Errorf("difference at the ceiling %+.2f, want %+.2f", got, *c.ceiling)
				}
			}
		})
	}
}

func ptr(v float64) *float64 { return &v }

func TestEstimate_DevStackOnDockerCostsNothing(t *testing.T) {
	e := estimate(t, "dev", nil)
	if e.Total != 0 || len(e.Lines) != 0 || e.Free == 0 {
		t.Errorf("dev: total %.2f, %d lines, %d free resources; want nothing charged", e.Total, len(e.Lines), e.Free)
	}
}

func TestEstimate_RegionWithoutATableIsRefused(t *testing.T) {
	inv := inventory.Inventory{Stack: "x", Resources: []inventory.Resource{{Type: "aws:kms/key:Key", Name: "k", Custom: true}}}
	if _, err := cost.Of(inv, "ap-south-2"); err == nil || !strings.Contains(err.Error(), "ap-south-2") {
		t.Errorf("got %v, want an error naming the region", err)
	}
}

func TestEstimate_UnknownResourceTypeIsReportedNotIgnored(t *testing.T) {
	inv := inventory.Inventory{Stack: "x", Resources: []inventory.Resource{
		{Type: "aws:kms/key:Key", Name: "k", Custom: true},
		{Type: "aws:opensearch/domain:Domain", Name: "search", Custom: true},
	}}
	e, err := cost.Of(inv, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Unpriced) != 1 || e.Unpriced[0] != "aws:opensearch/domain:Domain" {
		t.Errorf("unpriced %v, want the OpenSearch domain", e.Unpriced)
	}
	var out bytes.Buffer
	if err := cost.WriteTable(&out, e); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "NOT PRICED") {
		t.Errorf("the table does not warn about the unpriced type:\n%s", out.String())
	}
}

func TestDiffMarkdown_NamesEachChangedResourceAndTheTotals(t *testing.T) {
	base := cost.Estimate{Stack: "prod", Region: "eu-west-1", AsOf: "2025-06", Total: 110, CeilingTotal: 110, Lines: []cost.Line{
		{Type: "aws:ec2/natGateway:NatGateway", Name: "nat-1", What: "NAT gateway", Monthly: 35},
		{Type: "aws:ec2/natGateway:NatGateway", Name: "nat-2", What: "NAT gateway", Monthly: 35},
		{Type: "aws:kms/key:Key", Name: "key", What: "key", Monthly: 40},
	}}
	head := cost.Estimate{Stack: "prod", Region: "eu-west-1", AsOf: "2025-06", Total: 85, CeilingTotal: 85, Lines: []cost.Line{
		{Type: "aws:ec2/natGateway:NatGateway", Name: "nat-1", What: "NAT gateway", Monthly: 35},
		{Type: "aws:kms/key:Key", Name: "key", What: "key", Monthly: 40},
		{Type: "aws:rds/proxy:Proxy", Name: "proxy", What: "RDS Proxy", Monthly: 10},
	}}
	var out bytes.Buffer
	if err := cost.WriteDiffMarkdown(&out, base, head); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"110.00 USD → 85.00 USD (-25.00 USD, -22.7 %)", "| `nat-2` | NAT gateway: 35.00 USD | removed | -35.00 USD",
		"| `proxy` | – | RDS Proxy: 10.00 USD | +10.00 USD |"} {
		if !strings.Contains(text, want) {
			t.Errorf("the comment lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "nat-1") || strings.Contains(text, "`key`") {
		t.Errorf("unchanged resources are listed:\n%s", text)
	}
}

// TestEstimate_LinesSayWhatTheOptionsChange checks that the options of issue 10
// show in the lines: the Spot tasks left at on-demand
// and why, the endpoints per zone, and the usage-only CloudFront and Route 53.
func TestEstimate_LinesSayWhatTheOptionsChange(t *testing.T) {
	e := estimate(t, "prod", map[string]any{
		"moodle:app.spotPercent": 50, "moodle:aws.vpcEndpoints": true,
		"moodle:aws.hostedZoneId": "Z0123456789ABCDEFGHIJ", "moodle:aws.cloudFront.enabled": true,
		"moodle:aws.cloudFront.certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000",
	})
	if len(e.Unpriced) > 0 {
		t.Fatalf("resource types without a pricing rule: %v", e.Unpriced)
	}
	for _, want := range []struct {
		what  string
		count int
		usage string
	}{
		// 9 tasks above the base of 3, half of them on Spot: up to 5.
		{"Fargate 3 × 4 vCPU / 8 GB (autoscaling to 12; up to 5 on Spot, priced on-demand)", 1, "Spot price of the hour"},
		// The cron runner never runs on Spot.
		{"Fargate 1 × 1 vCPU / 2 GB", 1, ""},
		{"interface VPC endpoint in 3 zones", 4, "0.01 USD per GB processed"},
		{"CloudFront distribution", 1, "0.085 USD per GB out"},
		// A and AAAA: CloudFront answers over IPv6 too.
		{"Route 53 alias record", 2, "alias queries to the ALB or CloudFront are free"},
	} {
		n := 0
		for _, l := range e.Lines {
			if l.What != want.what {
				continue
			}
			n++
			if !strings.Contains(l.Usage, want.usage) || (want.usage == "" && l.Usage != "") {
				t.Errorf("%q: usage %q, want it to name %q", l.What, l.Usage, want.usage)
			}
		}
		if n != want.count {
			t.Errorf("%d lines %q, want %d", n, want.what, want.count)
		}
	}
	var table bytes.Buffer
	if err := cost.WriteTable(&table, e); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + table.String())
}

// TestEstimate_SESSenderIsUsageAndOneSecret prices mail.ses: the identity, its
// user and key cost nothing by themselves (SES bills messages, Route 53 the DKIM
// records' queries), the stack's own secret of the SMTP credentials 0.40 USD.
func TestEstimate_SESSenderIsUsageAndOneSecret(t *testing.T) {
	ses := map[string]any{"moodle:mail.ses": true, "moodle:mail.host": nil, "moodle:mail.port": nil, "moodle:mail.user": nil,
		"moodle:mail.passwordSecretArn": nil, "moodle:aws.hostedZoneId": "Z0123456789ABCDEFGHIJ"}
	base := estimate(t, "prod", map[string]any{"moodle:aws.hostedZoneId": "Z0123456789ABCDEFGHIJ"})
	e := estimate(t, "prod", ses)
	if len(e.Unpriced) > 0 {
		t.Fatalf("resource types without a pricing rule: %v", e.Unpriced)
	}
	if d := math.Round((e.Total-base.Total)*100) / 100; d != 0.40 {
		t.Errorf("mail.ses changes the month by %+.2f USD, want +0.40 (one secret)", d)
	}
	for _, want := range []struct {
		what  string
		count int
		usage string
	}{
		{"SES domain identity", 1, "0.1 USD per 1,000 messages sent"},
		{"Route 53 CNAME record", 3, "0.4 USD per million queries"},
		{"Route 53 alias record", 1, "alias queries to the ALB or CloudFront are free"},
	} {
		n := 0
		for _, l := range e.Lines {
			if l.What != want.what {
				continue
			}
			n++
			if !strings.Contains(l.Usage, want.usage) {
				t.Errorf("%q: usage %q, want it to name %q", l.What, l.Usage, want.usage)
			}
		}
		if n != want.count {
			t.Errorf("%d lines %q, want %d", n, want.what, want.count)
		}
	}
}

// TestEstimate_BuiltImageIsRepositoryStorage prices codeSource build: the
// repository costs by the GB stored, its lifecycle policy and the build nothing.
func TestEstimate_BuiltImageIsRepositoryStorage(t *testing.T) {
	base := estimate(t, "prod", nil)
	e := estimate(t, "prod", map[string]any{"moodle:moodle.codeSource": "build", "moodle:images.app": nil,
		"moodle:moodle.build.args.DATABASE_CA_SHA256": strings.Repeat("0f", 32)})
	if len(e.Unpriced) > 0 {
		t.Fatalf("resource types without a pricing rule: %v", e.Unpriced)
	}
	if d := math.Round((e.Total-base.Total)*100) / 100; d != 0 {
		t.Errorf("codeSource build changes the month by %+.2f USD, want 0 (storage is usage)", d)
	}
	n := 0
	for _, l := range e.Lines {
		if l.What == "ECR repository" {
			n++
			if l.Usage != "0.1 USD per GB-month stored" {
				t.Errorf("repository usage %q", l.Usage)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d ECR repository lines, want 1", n)
	}
}

// A stack in an existing VPC reads its private subnets (their zones) and the VPC's
// ranges from AWS; offline, the shared table answers them, so such a stack is
// priced too, without the NAT gateways and VPC endpoints only a created VPC has.
func TestEstimate_StackInAnExistingVPCIsPricedOffline(t *testing.T) {
	ids := func(tier string) []string {
		return []string{"subnet-0" + tier + "1000000000000", "subnet-0" + tier + "2000000000000", "subnet-0" + tier + "3000000000000"}
	}
	est := estimate(t, "prod", map[string]any{"moodle:aws.vpcId": "vpc-0abc123def4567890",
		"moodle:aws.publicSubnetIds": ids("a"), "moodle:aws.privateSubnetIds": ids("b"), "moodle:aws.dataSubnetIds": ids("c")})
	if _, n := sum(est, "NAT gateway"); n != 0 {
		t.Errorf("%d NAT gateway lines for an existing VPC", n)
	}
	if _, n := sum(est, "db.r6g.xlarge Multi-AZ"); n != 1 {
		t.Error("the database is not priced")
	}
}
