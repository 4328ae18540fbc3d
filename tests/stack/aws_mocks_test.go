package stack_test

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/offline"
)

// The account, region and zones the AWS mocks answer with.
const (
	mockAccount   = "123456789012"
	mockRegion    = "eu-west-1"
	mockVPCCIDR   = offline.VPCCIDR // an existing VPC's range (aws.vpcId)
	mockAMI       = offline.ECSAMI
	mockELBAcount = "156460612806"
	mockALBZone   = "Z32O12XQLNTSW2"
	// mockCloudFrontPrefixList is CloudFront's origin-facing prefix list.
	mockCloudFrontPrefixList = "pl-ac6d16e7" // what the offline table answers in eu-west-1
	// mockSecondaryCIDR is a secondary range associated with the existing VPC.
	mockSecondaryCIDR = offline.SecondaryCIDR
)

// mockDKIMTokens are the Easy DKIM tokens of every SES identity of the mocks;
// mockSMTPPassword the SES SMTP password of every access key.
var mockDKIMTokens = []string{"dkimtokenone", "dkimtokentwo", "dkimtokenthree"}

// mockTemplateVersion is the latest version of every launch template.
const mockTemplateVersion = 7

// mockECRToken is the registry password of every ECR authorization token.
const mockECRToken = offline.ECRPassword

const mockSMTPPassword = "BMXhUYlu5Z3gSXVQORxlVa7XPaz91aGWdfHxvkOZdWZ2"

// awsOutputs returns what the AWS provider computes on create: ARNs, autonamed
// names, endpoints and the CloudWatch dimension suffixes. Values derive from the
// resource name, so a test can tell which resource an endpoint belongs to.
func awsOutputs(token, name string, inputs resource.PropertyMap) resource.PropertyMap {
	out := resource.PropertyMap{}
	set := func(k, v string) {
		if _, ok := inputs[resource.PropertyKey(k)]; !ok {
			out[resource.PropertyKey(k)] = resource.NewStringProperty(v)
		}
	}
	set("arn", mockARN(token, name))
	set("name", name+"-a1b2c3")
	switch token {
	case "aws:rds/instance:Instance":
		set("identifier", name+"-a1b2c3")
		set("address", name+".c0ffee.eu-west-1.rds.amazonaws.com")
		set("endpoint", name+".c0ffee.eu-west-1.rds.amazonaws.com:5432")
	case "aws:rds/proxy:Proxy":
		set("endpoint", name+".proxy-c0ffee.eu-west-1.rds.amazonaws.com")
	case "aws:elasticache/replicationGroup:ReplicationGroup":
		set("primaryEndpointAddress", mockRedisPrimary(name))
		set("readerEndpointAddress", "replica."+name+".c0ffee.euw1.cache.amazonaws.com")
	case "aws:lb/loadBalancer:LoadBalancer":
		set("dnsName", name+"-1234567890.eu-west-1.elb.amazonaws.com")
		set("arnSuffix", "app/"+name+"/50dc6c495c0c9188")
		set("zoneId", mockALBZone)
	case "aws:lb/targetGroup:TargetGroup":
		set("arnSuffix", "targetgroup/"+name+"/73e2d6bc24d8a067")
	case "aws:cloudfront/distribution:Distribution":
		set("domainName", "d111111abcdef8.cloudfront.net")
	case "aws:s3/bucketV2:BucketV2":
		set("bucket", name+"-a1b2c3")
		out["arn"] = resource.NewStringProperty("arn:aws:s3:::" + name + "-a1b2c3")
	case "aws:ec2/launchTemplate:LaunchTemplate":
		// Every registration of a template the mocks see is its seventh version.
		out["latestVersion"] = resource.NewNumberProperty(mockTemplateVersion)
	case "aws:sesv2/emailIdentity:EmailIdentity":
		// SES's ARN of an identity is ses:<region>:<account>:identity/<name>; Easy
		// DKIM hands back three tokens.
		out["arn"] = resource.NewStringProperty(fmt.Sprintf("arn:aws:ses:%s:%s:identity/%s", mockRegion, mockAccount, inputs["emailIdentity"].StringValue()))
		tokens := []resource.PropertyValue{}
		for _, t := range mockDKIMTokens {
			tokens = append(tokens, resource.NewStringProperty(t))
		}
		out["dkimSigningAttributes"] = resource.NewObjectProperty(resource.PropertyMap{"tokens": resource.NewArrayProperty(tokens)})
	case "aws:iam/accessKey:AccessKey":
		out["secret"] = resource.MakeSecret(resource.NewStringProperty(mockSMTPPassword + "-secret-key"))
		out["sesSmtpPasswordV4"] = resource.MakeSecret(resource.NewStringProperty(mockSMTPPassword))
	case "aws:ecr/repository:Repository":
		// RepositoryUri of the ECR API: <registry>.dkr.ecr.<region>.amazonaws.com/<name>.
		set("registryId", mockAccount)
		set("repositoryUrl", mockAccount+".dkr.ecr."+mockRegion+".amazonaws.com/"+inputs["name"].StringValue())
	case "aws:cloudwatch/logGroup:LogGroup":
		out["arn"] = resource.NewStringProperty(fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s-a1b2c3", mockRegion, mockAccount, name))
	}
	return out
}

// mockRedisPrimary is the primary endpoint the mocks give a Redis replication group.
func mockRedisPrimary(name string) string {
	return "master." + name + ".c0ffee.euw1.cache.amazonaws.com"
}

// mockARN is the ARN the mocks give a resource of most types.
func mockARN(token, name string) string {
	module, typ := awsTokenParts(token)
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s/%s", module, mockRegion, mockAccount, strings.ToLower(typ), name)
}

// awsTokenParts splits "aws:rds/instance:Instance" into "rds" and "Instance".
func awsTokenParts(token string) (module, typ string) {
	parts := strings.Split(token, ":")
	module, _, _ = strings.Cut(parts[1], "/")
	if module == "index" {
		module = "aws"
	}
	return module, parts[len(parts)-1]
}

// awsInvoke answers the AWS data sources the program calls from the offline
// table moodlectl uses too, in the mocks' account and Region. The existing VPC's
// subnets (existingVPC) follow a convention: the digit after the tier letter is
// the zone, so subnet-0b1… and subnet-0b2… are in two zones.
func awsInvoke(token string, args resource.PropertyMap) (resource.PropertyMap, error) {
	return offline.Answer(offline.Env{Region: mockRegion, Account: mockAccount, Subnet: func(id string) (offline.Subnet, bool) {
		if !strings.HasPrefix(id, "subnet-0") || len(id) <= len("subnet-0b") {
			return offline.Subnet{}, false
		}
		return offline.Subnet{VPCID: "vpc-0abc123def4567890", Zone: mockRegion + string(rune('a'+id[len("subnet-0b")]-'1'))}, true
	}}, token, args)
}
