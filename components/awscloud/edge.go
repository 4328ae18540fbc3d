package awscloud

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/elb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/wafv2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// TLSPolicy offers TLS 1.3 and 1.2 only, with forward-secret ciphers.
const TLSPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"

// HealthCheckPath is what the target group asks every task: nginx passes it to
// php-fpm, so a task whose php-fpm is down leaves the target group; it touches
// neither the database nor Redis, so a back-end outage cannot empty the group.
const HealthCheckPath = render.FPMPingPath

// EdgeArgs configure the load balancer.
type EdgeArgs struct {
	// AWS and Web are the aws and web settings the edge reads: the certificate,
	// WAF, CloudFront, maintenance, protection and log retention; nginx's port and
	// timeouts the target group and the idle timeout follow.
	AWS             topology.AWSTarget
	Web             topology.Web
	Account         Account
	VPCID           pulumi.StringInput
	SubnetIDs       pulumi.StringArrayInput
	SecurityGroupID pulumi.StringInput
	// KMSKeyARN encrypts the WAF log group.
	KMSKeyARN pulumi.StringInput
	// OriginSecret, set when CloudFront is in front, is the value of
	// OriginSecretHeader the HTTPS listener forwards on; it refuses the rest.
	OriginSecret pulumi.StringInput
}

// OriginSecretHeader is the header CloudFront adds to every request it sends the
// load balancer. The ALB's security group admits CloudFront's origin-facing
// prefix list, which every distribution of every account shares; the header's
// secret value is what only this stack's distribution knows ("Restrict access to
// Application Load Balancers", Amazon CloudFront Developer Guide: a custom header
// added by CloudFront, a listener rule that forwards only requests carrying it).
const OriginSecretHeader = "X-Moodle-Origin-Verify"

// Edge is the internet-facing entry: an ALB in the public subnets with its access
// log bucket, the listeners, the app target group and, optionally, a WAF web ACL.
type Edge struct {
	pulumi.ResourceState

	DNSName pulumi.StringOutput `pulumi:"dnsName"`
	// ARNSuffix and TargetGroupARNSuffix are the CloudWatch dimensions.
	ARNSuffix            pulumi.StringOutput `pulumi:"arnSuffix"`
	TargetGroupARN       pulumi.StringOutput `pulumi:"targetGroupArn"`
	TargetGroupARNSuffix pulumi.StringOutput `pulumi:"targetGroupArnSuffix"`
	// ZoneID is the ALB's hosted zone, the target of an alias record.
	ZoneID pulumi.StringOutput `pulumi:"zoneId"`

	// Listeners must exist before an ECS service registers with the target group.
	Listeners []pulumi.Resource
}

// NewEdge creates the load balancer and everything in front of the app tasks.
func NewEdge(ctx *pulumi.Context, name string, args *EdgeArgs, opts ...pulumi.ResourceOption) (*Edge, error) {
	e := &Edge{}
	if err := ctx.RegisterComponentResource(TypeEdge, name, e, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(e)

	logs, logsPolicy, err := newPrivateBucket(ctx, name+"-logs", privateBucket{
		ExpireDays:     max(args.AWS.LogRetentionDays, 1),
		NoncurrentDays: 7,
		Statements:     albLogDelivery(ctx, args.Account),
		Protect:        args.AWS.Protect,
	}, parent)
	if err != nil {
		return nil, err
	}
	alb, err := lb.NewLoadBalancer(ctx, name, &lb.LoadBalancerArgs{
		LoadBalancerType:        pulumi.String("application"),
		Internal:                pulumi.Bool(false),
		Subnets:                 args.SubnetIDs,
		SecurityGroups:          pulumi.StringArray{args.SecurityGroupID},
		DropInvalidHeaderFields: pulumi.Bool(true),
		DesyncMitigationMode:    pulumi.String("defensive"),
		// nginx gives php-fpm FastCGIReadTimeout seconds; the ALB must wait longer, or
		// long requests (backups, reports) end in a 504 from the ALB instead of nginx.
		IdleTimeout:              pulumi.Int(args.Web.LoadBalancerIdleTimeout()),
		EnableDeletionProtection: pulumi.Bool(args.AWS.Protect),
		EnableHttp2:              pulumi.Bool(true),
		AccessLogs: lb.LoadBalancerAccessLogsArgs{
			Bucket:  logs.Bucket,
			Prefix:  pulumi.String("alb"),
			Enabled: pulumi.Bool(true),
		},
		Tags: tags(name),
	}, parent, pulumi.DependsOn([]pulumi.Resource{logsPolicy}))
	if err != nil {
		return nil, err
	}
	tg, err := lb.NewTargetGroup(ctx, name, &lb.TargetGroupArgs{
		VpcId:      args.VPCID,
		TargetType: pulumi.String("ip"),
		Port:       pulumi.Int(args.Web.Port),
		Protocol:   pulumi.String("HTTP"),
		// The dev stack's nginx balances least_conn; this is the ALB's equivalent.
		LoadBalancingAlgorithmType: pulumi.String("least_outstanding_requests"),
		DeregistrationDelay:        pulumi.Int(DeregistrationDelay(args.Web)),
		// Sessions live in Redis: any task serves any user.
		Stickiness: lb.TargetGroupStickinessArgs{Type: pulumi.String("lb_cookie"), Enabled: pulumi.Bool(false)},
		HealthCheck: lb.TargetGroupHealthCheckArgs{
			Enabled:            pulumi.Bool(true),
			Path:               pulumi.String(HealthCheckPath),
			Protocol:           pulumi.String("HTTP"),
			Matcher:            pulumi.String("200"),
			Interval:           pulumi.Int(15),
			Timeout:            pulumi.Int(5),
			HealthyThreshold:   pulumi.Int(2),
			UnhealthyThreshold: pulumi.Int(3),
		},
		Tags: tags(name),
	}, parent)
	if err != nil {
		return nil, err
	}
	forward := lb.ListenerDefaultActionArray{lb.ListenerDefaultActionArgs{Type: pulumi.String("forward"), TargetGroupArn: tg.Arn}}
	httpAction := forward
	// site is the listener that serves the site: HTTPS, or HTTP on a test site.
	var site *lb.Listener
	if args.AWS.CertificateARN != "" {
		https, err := lb.NewListener(ctx, name+"-https", &lb.ListenerArgs{
			LoadBalancerArn: alb.Arn,
			Port:            pulumi.Int(httpsPort),
			Protocol:        pulumi.String("HTTPS"),
			SslPolicy:       pulumi.String(TLSPolicy),
			CertificateArn:  pulumi.String(args.AWS.CertificateARN),
			DefaultActions:  httpsDefault(forward, args.OriginSecret != nil),
			Tags:            tags(name + "-https"),
		}, parent)
		if err != nil {
			return nil, err
		}
		e.Listeners, site = append(e.Listeners, https), https
		if args.OriginSecret != nil {
			rule, err := lb.NewListenerRule(ctx, name+"-from-cloudfront", &lb.ListenerRuleArgs{
				ListenerArn: https.Arn,
				Priority:    pulumi.Int(fromCloudFrontPriority),
				Actions:     lb.ListenerRuleActionArray{lb.ListenerRuleActionArgs{Type: pulumi.String("forward"), TargetGroupArn: tg.Arn}},
				Conditions: lb.ListenerRuleConditionArray{lb.ListenerRuleConditionArgs{
					HttpHeader: lb.ListenerRuleConditionHttpHeaderArgs{
						HttpHeaderName: pulumi.String(OriginSecretHeader),
						Values:         pulumi.StringArray{args.OriginSecret},
					},
				}},
				Tags: tags(name + "-from-cloudfront"),
			}, parent)
			if err != nil {
				return nil, err
			}
			e.Listeners = append(e.Listeners, rule)
		}
		httpAction = lb.ListenerDefaultActionArray{lb.ListenerDefaultActionArgs{
			Type: pulumi.String("redirect"),
			Redirect: lb.ListenerDefaultActionRedirectArgs{
				Protocol:   pulumi.String("HTTPS"),
				Port:       pulumi.String(fmt.Sprint(httpsPort)),
				StatusCode: pulumi.String("HTTP_301"),
			},
		}}
	}
	http, err := lb.NewListener(ctx, name+"-http", &lb.ListenerArgs{
		LoadBalancerArn: alb.Arn,
		Port:            pulumi.Int(httpPort),
		Protocol:        pulumi.String("HTTP"),
		DefaultActions:  httpAction,
		Tags:            tags(name + "-http"),
	}, parent)
	if err != nil {
		return nil, err
	}
	e.Listeners = append(e.Listeners, http)
	if site == nil {
		site = http
	}
	if args.AWS.Maintenance.Enabled {
		if err := maintenanceRule(ctx, name, site, args.AWS.Maintenance, parent); err != nil {
			return nil, err
		}
	}
	// Behind CloudFront every request the ALB forwards has passed the
	// distribution's own web ACL (the same managed rule groups) and carries its
	// secret header: a regional ACL would inspect each request a second time and
	// bill for it (an ACL, its rules and every million requests).
	if args.AWS.WAF && !args.AWS.CloudFront.Enabled {
		if _, err := newWebACL(ctx, name, "REGIONAL", alb.Arn, args.AWS.LogRetentionDays, args.KMSKeyARN, parent); err != nil {
			return nil, err
		}
	}

	e.DNSName, e.ARNSuffix, e.ZoneID = alb.DnsName, alb.ArnSuffix, alb.ZoneId
	e.TargetGroupARN, e.TargetGroupARNSuffix = tg.Arn, tg.ArnSuffix
	if err := ctx.RegisterResourceOutputs(e, pulumi.Map{
		"dnsName":              e.DNSName,
		"arnSuffix":            e.ARNSuffix,
		"targetGroupArn":       e.TargetGroupARN,
		"targetGroupArnSuffix": e.TargetGroupARNSuffix,
		"zoneId":               e.ZoneID,
	}); err != nil {
		return nil, err
	}
	return e, nil
}

// Listener rule priorities: "Rules are evaluated in priority order, from the
// lowest value to the highest value. The default rule is evaluated last"
// (Listener rules for your Application Load Balancer, Elastic Load Balancing
// User Guide), and no two rules of a listener share one (CreateRule, API
// reference). The maintenance rule comes first, so that a site in maintenance
// answers no request from its tasks, CloudFront's included.
const (
	maintenancePriority    = 1
	fromCloudFrontPriority = 2
)

// maintenanceRule answers every request on the listener that serves the site
// with the maintenance page and a 503 (a fixed-response action: "StatusCode:
// The HTTP response code (2XX, 4XX, or 5XX)", "ContentType: text/plain |
// text/css | text/html | application/javascript | application/json",
// FixedResponseActionConfig, Elastic Load Balancing API reference). A rule needs
// a condition: the path pattern "/*" matches every path ("* (matches 0 or more
// characters)", PathPatternConditionConfig). The target group's health checks
// go to the tasks directly, not through the listener, so the tasks stay in
// service behind the rule and serve again the moment it goes.
func maintenanceRule(ctx *pulumi.Context, name string, listener *lb.Listener, m topology.Maintenance, parent pulumi.ResourceOption) error {
	_, err := lb.NewListenerRule(ctx, name+"-maintenance", &lb.ListenerRuleArgs{
		ListenerArn: listener.Arn,
		Priority:    pulumi.Int(maintenancePriority),
		Actions: lb.ListenerRuleActionArray{lb.ListenerRuleActionArgs{
			Type: pulumi.String("fixed-response"),
			FixedResponse: lb.ListenerRuleActionFixedResponseArgs{
				ContentType: pulumi.String("text/html"),
				MessageBody: pulumi.String(m.Message),
				StatusCode:  pulumi.String("503"),
			},
		}},
		Conditions: lb.ListenerRuleConditionArray{lb.ListenerRuleConditionArgs{
			PathPattern: lb.ListenerRuleConditionPathPatternArgs{Values: pulumi.StringArray{pulumi.String("/*")}},
		}},
		Tags: tags(name + "-maintenance"),
	}, parent)
	if err != nil {
		return fmt.Errorf("maintenance rule: %w", err)
	}
	return nil
}

// httpsDefault is the HTTPS listener's default action: forward, or behind CloudFront
// a 403 for every request that the origin-secret rule did not forward.
func httpsDefault(forward lb.ListenerDefaultActionArray, behindCloudFront bool) lb.ListenerDefaultActionArray {
	if !behindCloudFront {
		return forward
	}
	return lb.ListenerDefaultActionArray{lb.ListenerDefaultActionArgs{
		Type: pulumi.String("fixed-response"),
		FixedResponse: lb.ListenerDefaultActionFixedResponseArgs{
			ContentType: pulumi.String("text/plain"),
			MessageBody: pulumi.String("Forbidden"),
			StatusCode:  pulumi.String("403"),
		},
	}}
}

// maxDeregistrationDelay is the target group's upper bound (deregistration_delay,
// hashicorp/terraform-provider-aws internal/service/elbv2/target_group.go).
const maxDeregistrationDelay = 3600

// DeregistrationDelay is how long a task leaving the target group (a deployment, a
// scale-in) keeps its requests before ECS stops it: as long as PHP may run one.
func DeregistrationDelay(w topology.Web) int {
	return min(maxDeregistrationDelay, w.FastCGIReadTimeout+5)
}

// albLogDelivery lets Elastic Load Balancing write access logs into the bucket.
// Regions opened before August 2022 deliver as a per-region ELB account, newer ones
// as the log-delivery service; both are allowed so the stack works in either.
func albLogDelivery(ctx *pulumi.Context, a Account) func(pulumi.StringOutput) []map[string]any {
	principal := map[string]any{"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
	if account, err := elb.GetServiceAccount(ctx, &elb.GetServiceAccountArgs{}); err == nil {
		principal["AWS"] = account.Arn
	}
	return func(bucketARN pulumi.StringOutput) []map[string]any {
		return []map[string]any{{
			"Sid":       "ELBLogDelivery",
			"Effect":    "Allow",
			"Principal": principal,
			"Action":    "s3:PutObject",
			"Resource":  pulumi.Sprintf("%s/alb/AWSLogs/%s/*", bucketARN, a.ID),
		}}
	}
}

// managedRuleGroups are the AWS managed WAF rule groups the web ACL runs, with the
// rules that Moodle's normal traffic trips switched to count: course files and
// backups are uploaded in bodies far above 8 KB, and forum posts, pages and quiz
// answers carry HTML that the XSS body rule takes for an attack.
func managedRuleGroups() []managedRuleGroup {
	return []managedRuleGroup{
		{"AWSManagedRulesAmazonIpReputationList", nil},
		{"AWSManagedRulesCommonRuleSet", []string{"SizeRestrictions_BODY", "CrossSiteScripting_BODY"}},
		{"AWSManagedRulesKnownBadInputsRuleSet", nil},
		{"AWSManagedRulesSQLiRuleSet", nil},
	}
}

// managedRuleGroup is one AWS managed rule group and the rules of it that only count.
type managedRuleGroup struct {
	name    string
	countOn []string
}

// newWebACL creates a web ACL of the managed rule groups in scope (REGIONAL for
// the load balancer, which it is then attached to; CLOUDFRONT for a distribution,
// which names it itself) and logs its decisions.
func newWebACL(ctx *pulumi.Context, name, scope string, albARN pulumi.StringInput, retentionDays int, kmsKeyARN pulumi.StringInput, parent ...pulumi.ResourceOption) (*wafv2.WebAcl, error) {
	visibility := func(metric string) wafv2.WebAclRuleVisibilityConfigArgs {
		return wafv2.WebAclRuleVisibilityConfigArgs{
			CloudwatchMetricsEnabled: pulumi.Bool(true),
			MetricName:               pulumi.String(metric),
			SampledRequestsEnabled:   pulumi.Bool(true),
		}
	}
	var rules wafv2.WebAclRuleArray
	for i, g := range managedRuleGroups() {
		var overrides wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideArray
		for _, rule := range g.countOn {
			overrides = append(overrides, wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideArgs{
				Name: pulumi.String(rule),
				ActionToUse: wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseArgs{
					Count: wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseCountArgs{},
				},
			})
		}
		rules = append(rules, wafv2.WebAclRuleArgs{
			Name:           pulumi.String(g.name),
			Priority:       pulumi.Int(i + 1),
			OverrideAction: wafv2.WebAclRuleOverrideActionArgs{None: wafv2.WebAclRuleOverrideActionNoneArgs{}},
			Statement: wafv2.WebAclRuleStatementArgs{
				ManagedRuleGroupStatement: wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs{
					Name:                pulumi.String(g.name),
					VendorName:          pulumi.String("AWS"),
					RuleActionOverrides: overrides,
				},
			},
			VisibilityConfig: visibility(g.name),
		})
	}
	acl, err := wafv2.NewWebAcl(ctx, name, &wafv2.WebAclArgs{
		Scope:         pulumi.String(scope),
		DefaultAction: wafv2.WebAclDefaultActionArgs{Allow: wafv2.WebAclDefaultActionAllowArgs{}},
		Rules:         rules,
		VisibilityConfig: wafv2.WebAclVisibilityConfigArgs{
			CloudwatchMetricsEnabled: pulumi.Bool(true),
			MetricName:               pulumi.String(name),
			SampledRequestsEnabled:   pulumi.Bool(true),
		},
		Tags: tags(name),
	}, parent...)
	if err != nil {
		return nil, fmt.Errorf("web acl %s: %w", name, err)
	}
	if albARN != nil {
		if _, err := wafv2.NewWebAclAssociation(ctx, name, &wafv2.WebAclAssociationArgs{
			ResourceArn: albARN,
			WebAclArn:   acl.Arn,
		}, parent...); err != nil {
			return nil, fmt.Errorf("web acl association %s: %w", name, err)
		}
	}
	// WAF delivers only to log groups whose name starts with aws-waf-logs-.
	logs, err := cloudwatch.NewLogGroup(ctx, name+"-waf", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(fmt.Sprintf("aws-waf-logs-%s-%s-%s", ctx.Project(), ctx.Stack(), name)),
		RetentionInDays: pulumi.Int(retentionDays),
		KmsKeyId:        kmsKeyARN,
		Tags:            tags(name + "-waf"),
	}, parent...)
	if err != nil {
		return nil, fmt.Errorf("web acl log group %s: %w", name, err)
	}
	// Session cookies and credentials never reach the logs.
	redact := func(header string) wafv2.WebAclLoggingConfigurationRedactedFieldArgs {
		return wafv2.WebAclLoggingConfigurationRedactedFieldArgs{
			SingleHeader: wafv2.WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs{Name: pulumi.String(header)},
		}
	}
	if _, err = wafv2.NewWebAclLoggingConfiguration(ctx, name, &wafv2.WebAclLoggingConfigurationArgs{
		ResourceArn:           acl.Arn,
		LogDestinationConfigs: pulumi.StringArray{logs.Arn},
		RedactedFields: wafv2.WebAclLoggingConfigurationRedactedFieldArray{
			redact("cookie"), redact("authorization"),
		},
	}, parent...); err != nil {
		return nil, fmt.Errorf("web acl logging %s: %w", name, err)
	}
	return acl, nil
}

// aliasRecord points the site's host name at the load balancer (or the
// distribution in front of it) in the hosted zone aws.hostedZoneId: an alias, so no
// CNAME at a zone apex is needed and Route 53 follows the target's addresses.
//
// A distribution also answers over IPv6 (IsIpv6Enabled), which its viewers reach
// only through an AAAA alias beside the A one ("If IPv6 is enabled for the
// distribution, create two records", Route 53 Developer Guide, "Routing traffic to
// an Amazon CloudFront distribution by using your domain name"). allowOverwrite
// takes over a record of the same name and type that is already there (the CNAME a
// site set up by hand before enabling the option is of another type and must go
// first; docs/aws.md says so): without it Route 53's CreateRecordSet fails on the
// existing record (terraform-provider-aws, internal/service/route53/record.go:
// allow_overwrite selects UPSERT over CREATE).
func aliasRecord(ctx *pulumi.Context, name string, spec topology.Spec, dnsName, zoneID pulumi.StringInput, parent pulumi.ResourceOption) error {
	types := []route53.RecordType{route53.RecordTypeA}
	if spec.AWS.CloudFront.Enabled {
		types = append(types, route53.RecordTypeAAAA)
	}
	for _, typ := range types {
		recordName := name
		if typ != route53.RecordTypeA {
			recordName = name + "-" + strings.ToLower(string(typ))
		}
		if _, err := route53.NewRecord(ctx, recordName, &route53.RecordArgs{
			ZoneId:         pulumi.String(spec.AWS.HostedZoneID),
			Name:           pulumi.String(spec.Hostname()),
			Type:           pulumi.String(string(typ)),
			AllowOverwrite: pulumi.Bool(true),
			Aliases: route53.RecordAliasArray{route53.RecordAliasArgs{
				Name:   dnsName,
				ZoneId: zoneID,
				// Route 53 refuses target health for a CloudFront distribution.
				EvaluateTargetHealth: pulumi.Bool(!spec.AWS.CloudFront.Enabled),
			}},
		}, parent); err != nil {
			return fmt.Errorf("alias record %s: %w", recordName, err)
		}
	}
	return nil
}
