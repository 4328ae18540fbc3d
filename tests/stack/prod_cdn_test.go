package stack_test

import (
	"slices"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

const tDistribution = "aws:cloudfront/distribution:Distribution"

// CloudFront in front of the ALB: it is the ALB's only client (its origin-facing
// prefix list, on 443 only: the list weighs 55 of the group's 60 rules), it talks
// HTTPS to the ALB with the viewer's Host (the ALB's certificate names the site),
// it redirects viewers to HTTPS with a us-east-1 certificate, and its own web ACL
// (scope CLOUDFRONT) runs the same managed rules.
func TestProdCloudFrontIsTheALBsOnlyClient(t *testing.T) {
	spec := stackSpec(t, "prod", cloudFront())
	rec := mustRun(t, "prod", cloudFront())
	for _, r := range rec.ofType(tIngress) {
		if r.str("securityGroupId") != "moodle-network-alb-id" {
			continue
		}
		if r.str("prefixListId") != mockCloudFrontPrefixList || r.number("fromPort") != 443 || r.str("cidrIpv4") != "" {
			t.Errorf("the ALB takes %v/%v from %q %q", r.str("ipProtocol"), r.number("fromPort"), r.str("cidrIpv4"), r.str("prefixListId"))
		}
	}
	d := rec.ofType(tDistribution)
	if len(d) != 1 {
		t.Fatalf("%d distributions", len(d))
	}
	dist, alb := d[0], rec.one(t, tALB, edgeName)
	for path, want := range map[string]string{
		"origins.0.domainName":                              alb.Name + "-1234567890.eu-west-1.elb.amazonaws.com",
		"origins.0.customOriginConfig.originProtocolPolicy": "https-only",
		"defaultCacheBehavior.viewerProtocolPolicy":         "redirect-to-https",
		"viewerCertificate.acmCertificateArn":               mockCloudFrontCertificate,
		"viewerCertificate.sslSupportMethod":                "sni-only",
		"aliases.0":                                         spec.Hostname(),
	} {
		if got := dist.str(path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if got := dist.number("origins.0.customOriginConfig.originReadTimeout"); got != float64(spec.AWS.CloudFront.OriginReadTimeout) {
		t.Errorf("origin read timeout %v, want %d", got, spec.AWS.CloudFront.OriginReadTimeout)
	}
	acl := rec.one(t, tWebACL, "moodle-cdn")
	if acl.str("scope") != "CLOUDFRONT" || dist.str("webAclId") != mockARN(acl.Type, acl.Name) {
		t.Errorf("web ACL %s in scope %q, the distribution names %q", acl.Name, acl.str("scope"), dist.str("webAclId"))
	}
	for _, a := range rec.ofType(tWebACLAssoc) {
		if a.str("webAclArn") == mockARN(acl.Type, acl.Name) {
			t.Error("the CloudFront web ACL is associated like a regional one")
		}
	}
}

// The distribution answers over IPv6 too, which its viewers reach only through an
// AAAA alias beside the A one (Route 53 Developer Guide, routing traffic to a
// CloudFront distribution: "If IPv6 is enabled for the distribution, create two
// records").
func TestProdAliasRecordPointsAtCloudFrontWhenItIsInFront(t *testing.T) {
	edits := mergeEdits(cloudFront(), map[string]any{"aws.hostedZoneId": mockZoneID})
	records := mustRun(t, "prod", edits).ofType(tRecord)
	var types []string
	for _, r := range records {
		types = append(types, r.str("type"))
		if r.str("aliases.0.name") != "d111111abcdef8.cloudfront.net" || r.str("aliases.0.zoneId") != "Z2FDTNDATAQYW2" || r.boolean("aliases.0.evaluateTargetHealth") {
			t.Errorf("%s alias %v, want the distribution, without target health", r.str("type"), r.input("aliases"))
		}
		if !r.boolean("allowOverwrite") {
			t.Errorf("the %s alias does not take over an existing record", r.str("type"))
		}
	}
	if slices.Sort(types); !slices.Equal(types, []string{"A", "AAAA"}) {
		t.Errorf("records %v, want an A and an AAAA alias", types)
	}
}

// The us-east-1 provider CloudFront's certificate, web ACL and log key need is an
// explicit provider, which reads none of the stack's aws:* settings: it gets the
// stack's profile, assumed role, allowed accounts and default tags passed on, or it
// would sign in otherwise, act in any account and tag nothing.
func TestProdUSEast1ProviderUsesTheStacksAWSSettings(t *testing.T) {
	cfg := stackConfig(t, "prod")
	for path, value := range cloudFront() {
		setConfig(t, cfg, path, value)
	}
	cfg["aws:profile"] = "moodle-deployer"
	cfg["aws:assumeRole"] = `{"roleArn": "arn:aws:iam::123456789012:role/deployer", "sessionName": "moodle"}`
	cfg["aws:allowedAccountIds"] = `["123456789012"]`
	cfg["aws:defaultTags"] = `{"tags": {"team": "elearning"}}`
	rec := &recorder{}
	if err := pulumi.RunErr(program(roomyHost), pulumi.WithMocks("moodle", "prod", rec),
		func(ri *pulumi.RunInfo) { ri.Config = cfg }); err != nil {
		t.Fatal(err)
	}
	providers := rec.ofType("pulumi:providers:aws")
	if len(providers) != 1 {
		t.Fatalf("%d explicit aws providers, want the us-east-1 one", len(providers))
	}
	p := providers[0]
	for field, want := range map[string]string{
		"region": "us-east-1", "profile": "moodle-deployer", "assumeRole.roleArn": "arn:aws:iam::123456789012:role/deployer",
		"assumeRole.sessionName": "moodle", "defaultTags.tags.team": "elearning",
	} {
		if got := p.str(field); got != want {
			t.Errorf("us-east-1 provider %s = %q, want %q", field, got, want)
		}
	}
	if got := p.strings("allowedAccountIds"); !slices.Equal(got, []string{"123456789012"}) {
		t.Errorf("us-east-1 provider allowedAccountIds = %v", got)
	}
}

// Behind CloudFront the ALB admits CloudFront's origin-facing prefix list, which
// every distribution of every account shares; the listener forwards only requests
// carrying the header this stack's distribution adds with a secret value and
// answers 403 to the rest ("Restrict access to Application Load Balancers", Amazon
// CloudFront Developer Guide). Without CloudFront there is no such rule.
func TestProdALBForwardsOnlyWhatItsOwnDistributionSends(t *testing.T) {
	rec := mustRun(t, "prod", cloudFront())
	https := rec.one(t, tListener, edgeName+"-https")
	if https.str("defaultActions.0.type") != "fixed-response" || https.str("defaultActions.0.fixedResponse.statusCode") != "403" {
		t.Errorf("behind CloudFront the HTTPS listener's default is %v, want a 403", https.input("defaultActions"))
	}
	rules := rec.ofType(tListenerRule)
	if len(rules) != 1 {
		t.Fatalf("%d listener rules, want the origin secret's", len(rules))
	}
	rule := rules[0]
	origin := rec.ofType(tDistribution)[0].input("origins").ArrayValue()[0].ObjectValue()["customHeaders"].ArrayValue()[0].ObjectValue()
	if name := rule.str("conditions.0.httpHeader.httpHeaderName"); name != origin["name"].StringValue() {
		t.Errorf("the rule checks %q, the distribution sends %q", name, origin["name"].StringValue())
	}
	if rule.str("actions.0.type") != "forward" || rule.str("actions.0.targetGroupArn") == "" || rule.number("priority") != 2 {
		t.Errorf("the rule %v does not forward to the app", rule.input("actions"))
	}
	plain := mustRun(t, "prod", nil)
	if n := len(plain.ofType(tListenerRule)); n != 0 || plain.one(t, tListener, edgeName+"-https").str("defaultActions.0.type") != "forward" {
		t.Errorf("without CloudFront: %d rules, default %v; want the listener to forward", n, plain.one(t, tListener, edgeName+"-https").input("defaultActions"))
	}
}

// Moodle's theme and JavaScript servers answer the same to every visitor (they
// run with NO_MOODLE_COOKIES): CloudFront keys them on the path and the query
// string, not on the cookies the default behaviour keys on, so logged-in users
// share one cached copy.
func TestProdThemeAndJavaScriptAreCachedWithoutCookies(t *testing.T) {
	rec := mustRun(t, "prod", cloudFront())
	policies := rec.ofType("aws:cloudfront/cachePolicy:CachePolicy")
	if len(policies) != 1 {
		t.Fatalf("%d cache policies, want the cookie-free one", len(policies))
	}
	policy := policies[0]
	key := "parametersInCacheKeyAndForwardedToOrigin."
	if policy.str(key+"cookiesConfig.cookieBehavior") != "none" || policy.str(key+"headersConfig.headerBehavior") != "none" ||
		policy.str(key+"queryStringsConfig.queryStringBehavior") != "all" {
		t.Errorf("the static cache key is %v, want the path and the query string only", policy.input("parametersInCacheKeyAndForwardedToOrigin"))
	}
	behaviours := rec.ofType(tDistribution)[0].input("orderedCacheBehaviors").ArrayValue()
	paths := map[string]bool{}
	for _, b := range behaviours {
		o := b.ObjectValue()
		paths[o["pathPattern"].StringValue()] = true
		if o["cachePolicyId"].StringValue() != policy.id() {
			t.Errorf("%s is cached with %v, want the cookie-free policy", o["pathPattern"].StringValue(), o["cachePolicyId"])
		}
	}
	for _, want := range []string{"/theme/styles.php*", "/theme/image.php*", "/theme/javascript.php*", "/theme/yui_combo.php*", "/lib/javascript.php*", "/lib/requirejs.php*"} {
		if !paths[want] {
			t.Errorf("no cookie-free behaviour for %s (have %v)", want, paths)
		}
	}
}

// Behind CloudFront the distribution's web ACL inspects every request before the
// ALB sees it, so aws.waf puts no regional ACL (nor its association and log
// group) in front of the ALB; without CloudFront the regional one is the WAF.
func TestProdOneWebACLInspectsEachRequest(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edits  map[string]any
		scopes []string
	}{
		{"the ALB alone", nil, []string{"REGIONAL"}},
		{"behind CloudFront", cloudFront(), []string{"CLOUDFRONT"}},
		{"no WAF, no CloudFront", map[string]any{"aws.waf": false}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := mustRun(t, "prod", tc.edits)
			var scopes []string
			for _, acl := range rec.ofType(tWebACL) {
				scopes = append(scopes, acl.str("scope"))
			}
			if !slices.Equal(scopes, tc.scopes) {
				t.Errorf("web ACLs in scopes %v, want %v", scopes, tc.scopes)
			}
			if n := len(rec.ofType(tWebACLAssoc)); n != len(slices.DeleteFunc(slices.Clone(tc.scopes), func(s string) bool { return s != "REGIONAL" })) {
				t.Errorf("%d web ACL associations with the ALB", n)
			}
		})
	}
}
