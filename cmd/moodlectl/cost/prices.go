package cost

import "fmt"

// Rate is one published on-demand price and where it is published.
type Rate struct {
	USD    float64
	Source string
}

// Table is the pinned price list of one region: on-demand, Linux, USD, before tax.
// Every value is a published list price; an estimate names the table's date.
type Table struct {
	Region string
	// AsOf is when the values were read from the pages their Source names.
	AsOf string

	FargateVCPUHour, FargateGBHour Rate
	// FargateARM... are Linux/ARM (Graviton) tasks, app.cpuArchitecture arm64.
	// Fargate Spot has no list price (it follows the market and AWS changes it),
	// so the table has none: Spot tasks are priced at these on-demand rates.
	FargateARMVCPUHour, FargateARMGBHour Rate
	EC2Hour                              map[string]Rate // by instance type
	EBSGp3GBMonth                        Rate

	// RDSPostgresHour is the Single-AZ price by instance class; a Multi-AZ
	// deployment (one standby) is billed at twice the Single-AZ price, for the
	// instance and its storage alike.
	RDSPostgresHour  map[string]Rate
	RDSGp3GBMonth    Rate
	RDSProxyVCPUHour Rate

	ElastiCacheHour map[string]Rate // by node type

	NATHour, NATDataGB   Rate
	PublicIPv4Hour       Rate
	ALBHour, ALBLCUHour  Rate
	WAFACLMonth          Rate
	WAFRuleMonth         Rate
	WAFMillionRequests   Rate
	KMSKeyMonth          Rate
	SecretMonth          Rate
	AlarmMonth           Rate
	DashboardMonth       Rate
	LogsIngestGB         Rate
	LogsStoreGBMonth     Rate
	EFSStandardGBMonth   Rate
	EFSElasticTransferGB Rate
	S3StandardGBMonth    Rate
	// ECRStorageGBMonth is a private repository's storage; pulls within the
	// region are free.
	ECRStorageGBMonth Rate
	InstanceVCPUs     map[string]float64 // RDS classes and EC2 types: vCPUs
	InstanceMemoryGiB map[string]float64 // EC2 types: memory, for task placement

	// InterfaceEndpointHour is one interface VPC endpoint in one zone (gateway
	// endpoints are free); InterfaceEndpointDataGB the first PB processed a month.
	InterfaceEndpointHour, InterfaceEndpointDataGB Rate
	// CloudFront: data out to the internet from edges in Europe and North America
	// (PriceClass_100), first 10 TB a month, and HTTPS requests per 10,000 in
	// Europe. Origin fetches from the ALB are free; the always-free tier (1 TB
	// and 10 million requests a month) is not deducted.
	CloudFrontDataOutGB, CloudFrontHTTPS10k Rate
	// Route53HostedZoneMonth is named in the record's line only: the zone is the
	// user's own (aws.hostedZoneId), not the stack's. Route53MillionQueries is
	// what a record that is not an alias (SES's DKIM CNAMEs) costs per million
	// standard queries (the first billion a month).
	Route53HostedZoneMonth, Route53MillionQueries Rate
	// SESThousandMessages is Amazon SES's outbound charge per 1,000 messages
	// (mail.ses); SESAttachmentGB its charge per GB of attachments.
	SESThousandMessages, SESAttachmentGB Rate
}

// The AWS pricing pages the values were read from.
const (
	srcFargate     = "https://aws.amazon.com/fargate/pricing/ (EU (Ireland), Linux/x86)"
	srcFargateARM  = "https://aws.amazon.com/fargate/pricing/ (EU (Ireland), Linux/ARM)"
	srcEC2         = "https://aws.amazon.com/ec2/pricing/on-demand/ (EU (Ireland), Linux)"
	srcEBS         = "https://aws.amazon.com/ebs/pricing/ (EU (Ireland), gp3)"
	srcRDS         = "https://aws.amazon.com/rds/postgresql/pricing/ (EU (Ireland), Single-AZ on-demand)"
	srcRDSStorage  = "https://aws.amazon.com/rds/postgresql/pricing/ (EU (Ireland), gp3 storage)"
	srcRDSProxy    = "https://aws.amazon.com/rds/proxy/pricing/ (EU (Ireland))"
	srcElastiCache = "https://aws.amazon.com/elasticache/pricing/ (EU (Ireland), on-demand nodes)"
	srcVPC         = "https://aws.amazon.com/vpc/pricing/ (EU (Ireland): NAT gateway, public IPv4)"
	srcPrivateLink = "https://aws.amazon.com/privatelink/pricing/ (EU (Ireland), interface endpoints)"
	srcCloudFront  = "https://aws.amazon.com/cloudfront/pricing/ (pay as you go: Europe, United States)"
	srcRoute53     = "https://aws.amazon.com/route53/pricing/ (hosted zones; standard queries; alias queries to AWS resources)"
	srcSES         = "https://aws.amazon.com/ses/pricing/ (outbound e-mail, attachments)"
	srcELB         = "https://aws.amazon.com/elasticloadbalancing/pricing/ (EU (Ireland), ALB)"
	srcWAF         = "https://aws.amazon.com/waf/pricing/"
	srcKMS         = "https://aws.amazon.com/kms/pricing/"
	srcSecrets     = "https://aws.amazon.com/secrets-manager/pricing/"
	srcCloudWatch  = "https://aws.amazon.com/cloudwatch/pricing/ (EU (Ireland))"
	srcEFS         = "https://aws.amazon.com/efs/pricing/ (EU (Ireland), Standard, Elastic Throughput)"
	srcS3          = "https://aws.amazon.com/s3/pricing/ (EU (Ireland), S3 Standard, first 50 TB)"
	srcECR         = "https://aws.amazon.com/ecr/pricing/ (private repositories, storage; data transfer in the same region free)"
	srcBackup      = "https://aws.amazon.com/backup/pricing/ (EU (Ireland), Amazon EFS warm storage and restore)"
)

// euWest1 is the table of eu-west-1, the region of the committed prod stack.
//
// The values were transcribed from the AWS public pricing pages named in each
// Source, as published in June 2025. They could not be re-read on the machine
// this table was written on (no access to those pages; the stored copies the
// search tool offered carried US East figures only, which agree with the
// Fargate, WAF, KMS, Secrets Manager and public IPv4 values here, those being
// the same in both regions). Check them against the AWS Pricing Calculator
// before a budget decision, and change AsOf with the values.
//
// The rates of the options issue 10 added (Fargate Linux/ARM, interface VPC
// endpoints, CloudFront, Route 53) were recalled from the same pages, likewise
// not re-read: third-party copies of the US East pages show the Fargate ARM
// rates below and CloudFront's Europe rate of 0.085 USD per GB; the endpoint
// hour of 0.011 USD is EU (Ireland)'s (US East's is 0.010), and it is the value
// least certain here.
func euWest1() Table {
	return Table{
		Region: "eu-west-1",
		AsOf:   "2025-06",

		FargateVCPUHour: Rate{0.04048, srcFargate},
		FargateGBHour:   Rate{0.004445, srcFargate},

		FargateARMVCPUHour: Rate{0.03238, srcFargateARM},
		FargateARMGBHour:   Rate{0.00356, srcFargateARM},

		EC2Hour: map[string]Rate{
			"m6i.large":   {0.107, srcEC2},
			"m6i.xlarge":  {0.214, srcEC2},
			"m6i.2xlarge": {0.428, srcEC2},
			"m6i.4xlarge": {0.856, srcEC2},
		},
		EBSGp3GBMonth: Rate{0.088, srcEBS},

		RDSPostgresHour: map[string]Rate{
			"db.r6g.large":   {0.252, srcRDS},
			"db.r6g.xlarge":  {0.504, srcRDS},
			"db.r6g.2xlarge": {1.008, srcRDS},
			"db.r6g.4xlarge": {2.016, srcRDS},
		},
		RDSGp3GBMonth:    Rate{0.127, srcRDSStorage},
		RDSProxyVCPUHour: Rate{0.0165, srcRDSProxy},

		ElastiCacheHour: map[string]Rate{
			"cache.r6g.large":   {0.229, srcElastiCache},
			"cache.r6g.xlarge":  {0.457, srcElastiCache},
			"cache.r6g.2xlarge": {0.914, srcElastiCache},
		},

		NATHour:              Rate{0.048, srcVPC},
		NATDataGB:            Rate{0.048, srcVPC},
		PublicIPv4Hour:       Rate{0.005, srcVPC},
		ALBHour:              Rate{0.0252, srcELB},
		ALBLCUHour:           Rate{0.008, srcELB},
		WAFACLMonth:          Rate{5, srcWAF},
		WAFRuleMonth:         Rate{1, srcWAF},
		WAFMillionRequests:   Rate{0.60, srcWAF},
		KMSKeyMonth:          Rate{1, srcKMS},
		SecretMonth:          Rate{0.40, srcSecrets},
		AlarmMonth:           Rate{0.10, srcCloudWatch},
		DashboardMonth:       Rate{3, srcCloudWatch},
		LogsIngestGB:         Rate{0.57, srcCloudWatch},
		LogsStoreGBMonth:     Rate{0.03, srcCloudWatch},
		EFSStandardGBMonth:   Rate{0.33, srcEFS},
		EFSElasticTransferGB: Rate{0.03, srcEFS},
		S3StandardGBMonth:    Rate{0.023, srcS3},
		ECRStorageGBMonth:    Rate{0.10, srcECR},

		InstanceVCPUs: map[string]float64{
			"db.r6g.large": 2, "db.r6g.xlarge": 4, "db.r6g.2xlarge": 8, "db.r6g.4xlarge": 16,
			"m6i.large": 2, "m6i.xlarge": 4, "m6i.2xlarge": 8, "m6i.4xlarge": 16,
		},
		InstanceMemoryGiB: map[string]float64{
			"m6i.large": 8, "m6i.xlarge": 16, "m6i.2xlarge": 32, "m6i.4xlarge": 64,
		},

		InterfaceEndpointHour:   Rate{0.011, srcPrivateLink},
		InterfaceEndpointDataGB: Rate{0.01, srcPrivateLink},
		CloudFrontDataOutGB:     Rate{0.085, srcCloudFront},
		CloudFrontHTTPS10k:      Rate{0.012, srcCloudFront},
		Route53HostedZoneMonth:  Rate{0.50, srcRoute53},
		Route53MillionQueries:   Rate{0.40, srcRoute53},
		SESThousandMessages:     Rate{0.10, srcSES},
		SESAttachmentGB:         Rate{0.12, srcSES},
	}
}

// TableFor returns the pinned table of region.
func TableFor(region string) (Table, error) {
	if t := euWest1(); t.Region == region {
		return t, nil
	}
	return Table{}, fmt.Errorf("no pinned price table for region %q (there is one for eu-west-1): add one in cmd/moodlectl/cost/prices.go", region)
}
