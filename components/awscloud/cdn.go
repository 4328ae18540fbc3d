package awscloud

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudfront"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// CloudFront lives in us-east-1 as far as its certificates and web ACLs go.
const cloudFrontRegion = "us-east-1"

// cloudFrontZoneID is the hosted zone of every distribution, the target of alias
// records.
const cloudFrontZoneID = "Z2FDTNDATAQYW2"

// Managed policies of CloudFront, by the ids AWS documents for them.
const (
	// UseOriginCacheControlHeaders-QueryStrings: only what Moodle marks cacheable
	// (theme CSS and images, JavaScript, pluginfile with its cache headers) is
	// cached, keyed with the query string and cookies; pages marked private or
	// no-cache, which is every page of a logged-in user, are not.
	cachePolicyOriginHeaders = "4cc15a8a-d715-48a4-82b8-cc0b614638fe"
	// Managed-AllViewerAndCloudFrontHeaders-2022-06: the ALB sees the viewer's Host
	// (its certificate covers that name, which is how CloudFront checks the
	// origin), cookies and query strings, and the CloudFront headers, among them
	// CloudFront-Viewer-Address, from which the node's nginx hands PHP the viewer's
	// address (AWS's "Use managed origin request policies" page gives the id).
	originRequestAllViewerAndCloudFront = "33f36d7e-f396-46d9-90e0-52428a34d9dc"
)

// cookieFreePaths are Moodle's theme and JavaScript servers. Each answers without a
// session: it stops after config.php (ABORT_AFTER_CONFIG) to serve its cache, and
// otherwise loads Moodle with define('NO_MOODLE_COOKIES', true) (public/theme/
// image.php of moodle/moodle at 84606c02, theme/styles.php at 045f492c), so its
// answer is the same for every visitor. The default behaviour's cache key has the
// cookies in it, so each logged-in user would fetch them again; these behaviours
// key on the path and the query string alone. The paths are the URL paths of every
// release's web root.
var cookieFreePaths = []string{
	"/theme/styles.php*", "/theme/image.php*", "/theme/font.php*", "/theme/javascript.php*",
	"/theme/yui_combo.php*", "/theme/yui_image.php*", "/lib/javascript.php*", "/lib/requirejs.php*",
}

// CDNArgs configure the distribution in front of the ALB.
type CDNArgs struct {
	CloudFront topology.CloudFront
	// Hostname is the site's (topology.Spec.Hostname): the distribution's alias.
	Hostname string
	// Protect and LogRetentionDays are aws.protect and aws.logRetentionDays.
	Protect          bool
	LogRetentionDays int
	Account          Account
	// OriginDNSName is the ALB's name; CloudFront connects to it over HTTPS.
	OriginDNSName pulumi.StringInput
	// OriginSecret is sent as OriginSecretHeader with every request to the ALB.
	OriginSecret pulumi.StringInput
}

// CDN is a CloudFront distribution in front of the load balancer, with a web ACL
// of the same managed rule groups, logged in us-east-1 under a key of its own.
type CDN struct {
	pulumi.ResourceState

	DomainName pulumi.StringOutput `pulumi:"domainName"`
	ZoneID     pulumi.StringOutput `pulumi:"zoneId"`
}

// NewCDN creates the us-east-1 provider, key and web ACL, and the distribution.
func NewCDN(ctx *pulumi.Context, name string, args *CDNArgs, opts ...pulumi.ResourceOption) (*CDN, error) {
	c := &CDN{}
	if err := ctx.RegisterComponentResource(TypeCDN, name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	provider, err := regionalProvider(ctx, name+"-"+cloudFrontRegion, cloudFrontRegion, parent)
	if err != nil {
		return nil, err
	}
	global := []pulumi.ResourceOption{parent, pulumi.Provider(provider)}
	// The web ACL's log group must be in us-east-1, and so must the key that
	// encrypts it.
	edgeAccount := args.Account
	edgeAccount.Region = cloudFrontRegion
	key, err := newDataKey(ctx, name+"-logs", edgeAccount, nil, args.Protect, global...)
	if err != nil {
		return nil, err
	}
	acl, err := newWebACL(ctx, name, "CLOUDFRONT", nil, args.LogRetentionDays, key.Arn, global...)
	if err != nil {
		return nil, err
	}
	const origin = "alb"
	// Moodle's own cache headers still decide how long (its revision is in every
	// URL); no cookie and no header is in the key.
	static, err := cloudfront.NewCachePolicy(ctx, name+"-static", &cloudfront.CachePolicyArgs{
		Name:       pulumi.String(physicalName(ctx, name+"-static", 128)),
		Comment:    pulumi.String("Moodle theme and JavaScript servers: path and query string"),
		MinTtl:     pulumi.Int(0),
		DefaultTtl: pulumi.Int(0),
		MaxTtl:     pulumi.Int(31536000),
		ParametersInCacheKeyAndForwardedToOrigin: cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginArgs{
			CookiesConfig:              cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginCookiesConfigArgs{CookieBehavior: pulumi.String("none")},
			HeadersConfig:              cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginHeadersConfigArgs{HeaderBehavior: pulumi.String("none")},
			QueryStringsConfig:         cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginQueryStringsConfigArgs{QueryStringBehavior: pulumi.String("all")},
			EnableAcceptEncodingGzip:   pulumi.Bool(true),
			EnableAcceptEncodingBrotli: pulumi.Bool(true),
		},
	}, global...)
	if err != nil {
		return nil, fmt.Errorf("cache policy %s: %w", name, err)
	}
	var staticBehaviours cloudfront.DistributionOrderedCacheBehaviorArray
	for _, path := range cookieFreePaths {
		staticBehaviours = append(staticBehaviours, cloudfront.DistributionOrderedCacheBehaviorArgs{
			PathPattern:           pulumi.String(path),
			TargetOriginId:        pulumi.String(origin),
			ViewerProtocolPolicy:  pulumi.String("redirect-to-https"),
			AllowedMethods:        pulumi.ToStringArray([]string{"GET", "HEAD"}),
			CachedMethods:         pulumi.ToStringArray([]string{"GET", "HEAD"}),
			CachePolicyId:         static.ID(),
			OriginRequestPolicyId: pulumi.String(originRequestAllViewerAndCloudFront),
			Compress:              pulumi.Bool(true),
		})
	}
	distribution, err := cloudfront.NewDistribution(ctx, name, &cloudfront.DistributionArgs{
		Enabled:       pulumi.Bool(true),
		Comment:       pulumi.String("moodle " + args.Hostname),
		Aliases:       pulumi.ToStringArray([]string{args.Hostname}),
		HttpVersion:   pulumi.String("http2and3"),
		IsIpv6Enabled: pulumi.Bool(true),
		PriceClass:    pulumi.String("PriceClass_100"),
		WebAclId:      acl.Arn,
		Origins: cloudfront.DistributionOriginArray{cloudfront.DistributionOriginArgs{
			OriginId:   pulumi.String(origin),
			DomainName: args.OriginDNSName,
			CustomHeaders: cloudfront.DistributionOriginCustomHeaderArray{cloudfront.DistributionOriginCustomHeaderArgs{
				Name: pulumi.String(OriginSecretHeader), Value: args.OriginSecret,
			}},
			CustomOriginConfig: cloudfront.DistributionOriginCustomOriginConfigArgs{
				HttpPort:             pulumi.Int(httpPort),
				HttpsPort:            pulumi.Int(httpsPort),
				OriginProtocolPolicy: pulumi.String("https-only"),
				OriginSslProtocols:   pulumi.ToStringArray([]string{"TLSv1.2"}),
				// Past it CloudFront answers 504 while PHP still runs: raise the quota
				// and aws.cloudFront.originReadTimeout for long requests.
				OriginReadTimeout: pulumi.Int(args.CloudFront.OriginReadTimeout),
				// CloudFront's longest; the ALB keeps idle connections longer still.
				OriginKeepaliveTimeout: pulumi.Int(60),
			},
		}},
		DefaultCacheBehavior: cloudfront.DistributionDefaultCacheBehaviorArgs{
			TargetOriginId:        pulumi.String(origin),
			ViewerProtocolPolicy:  pulumi.String("redirect-to-https"),
			AllowedMethods:        pulumi.ToStringArray([]string{"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"}),
			CachedMethods:         pulumi.ToStringArray([]string{"GET", "HEAD"}),
			CachePolicyId:         pulumi.String(cachePolicyOriginHeaders),
			OriginRequestPolicyId: pulumi.String(originRequestAllViewerAndCloudFront),
			Compress:              pulumi.Bool(true),
		},
		OrderedCacheBehaviors: staticBehaviours,
		Restrictions: cloudfront.DistributionRestrictionsArgs{
			GeoRestriction: cloudfront.DistributionRestrictionsGeoRestrictionArgs{RestrictionType: pulumi.String("none")},
		},
		ViewerCertificate: cloudfront.DistributionViewerCertificateArgs{
			AcmCertificateArn:      pulumi.String(args.CloudFront.CertificateARN),
			SslSupportMethod:       pulumi.String("sni-only"),
			MinimumProtocolVersion: pulumi.String(cloudFrontTLSPolicy),
		},
		Tags: tags(name),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("distribution %s: %w", name, err)
	}
	c.DomainName, c.ZoneID = distribution.DomainName, pulumi.String(cloudFrontZoneID).ToStringOutput()
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{"domainName": c.DomainName, "zoneId": c.ZoneID}); err != nil {
		return nil, err
	}
	return c, nil
}

// cloudFrontTLSPolicy offers viewers TLS 1.2 and 1.3 only, with forward-secret
// ciphers (CloudFront's counterpart of TLSPolicy).
const cloudFrontTLSPolicy = "TLSv1.2_2021"
