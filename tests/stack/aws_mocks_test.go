package stack_test

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// The account, region and zones the AWS mocks answer with.
const (
	mockAccount   = "123456789012"
	mockRegion    = "eu-west-1"
	mockVPCCIDR   = "10.20.0.0/16" // an existing VPC's range (aws.vpcId)
	mockAMI       = "ami-0ecs0optimised0"
	mockELBAcount = "156460612806"
	mockALBZone   = "Z32O12XQLNTSW2"
	// mockCloudFrontPrefixList is CloudFront's origin-facing prefix list.
	mockCloudFrontPrefixList = "pl-4fa04526"
	// mockSecondaryCIDR is a secondary range associated with the existing VPC.
	mockSecondaryCIDR = "100.64.0.0/16"
)

// mockDKIMTokens are the Easy DKIM tokens of every SES identity of the mocks;
// mockSMTPPassword the SES SMTP password of every access key.
var mockDKIMTokens = []string{"dkimtokenone", "dkimtokentwo", "dkimtokenthree"}

// mockTemplateVersion is the latest version of every launch template.
const mockTemplateVersion = 7

// mockECRToken is the registry password of every ECR authorization token.
const mockECRToken = "ecr-token-eyJwYXlsb2FkIjoiZmFrZSJ9"

const mockSMTPPassword = "BMXhUYlu5Z3gSXVQORxlVa7XPaz91aGWdfHxvkOZdWZ2"

var mockZones = []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}

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

// awsInvoke answers the AWS data sources the program calls.
func awsInvoke(token string, args resource.PropertyMap) (resource.PropertyMap, error) {
	str := resource.NewStringProperty
	switch token {
	case "aws:index/getAvailabilityZones:getAvailabilityZones":
		names := make([]resource.PropertyValue, len(mockZones))
		for i, z := range mockZones {
			names[i] = str(z)
		}
		return resource.PropertyMap{"names": resource.NewArrayProperty(names), "id": str(mockRegion)}, nil
	case "aws:index/getRegion:getRegion":
		return resource.PropertyMap{"name": str(mockRegion), "id": str(mockRegion)}, nil
	case "aws:index/getPartition:getPartition":
		return resource.PropertyMap{"partition": str("aws"), "dnsSuffix": str("amazonaws.com"), "id": str("aws")}, nil
	case "aws:index/getCallerIdentity:getCallerIdentity":
		return resource.PropertyMap{
			"accountId": str(mockAccount), "id": str(mockAccount),
			"arn": str("arn:aws:iam::" + mockAccount + ":user/deployer"), "userId": str("AIDEXAMPLE"),
		}, nil
	case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
		return resource.PropertyMap{"id": str(mockRegion), "userName": str("AWS"), "password": resource.MakeSecret(str(mockECRToken)),
			"authorizationToken": resource.MakeSecret(str("QVdTOg==")), "proxyEndpoint": str("https://" + mockAccount + ".dkr.ecr." + mockRegion + ".amazonaws.com"),
			"expiresAt": str("2026-01-01T12:00:00Z")}, nil
	case "aws:ec2/getManagedPrefixList:getManagedPrefixList":
		return resource.PropertyMap{"id": str(mockCloudFrontPrefixList), "name": args["name"]}, nil
	case "aws:elb/getServiceAccount:getServiceAccount":
		return resource.PropertyMap{"arn": str("arn:aws:iam::" + mockELBAcount + ":root"), "id": str(mockELBAcount)}, nil
	case "aws:ssm/getParameter:getParameter":
		// As the provider answers (terraform-provider-aws internal/service/ssm/
		// parameter_data_source.go): value is Sensitive, so a secret, whatever the
		// parameter's type; insecure_value is the same text in the clear.
		return resource.PropertyMap{"name": args["name"], "value": resource.MakeSecret(str(mockAMI)), "insecureValue": str(mockAMI),
			"type": str("String"), "id": args["name"]}, nil
	case "aws:ec2/getSubnet:getSubnet":
		// The existing VPC's subnets (existingVPC): the digit after the tier letter
		// is the zone, so subnet-0b1… and subnet-0b2… are in two zones.
		id := args["id"].StringValue()
		zone := "eu-west-1" + string(rune('a'+id[len("subnet-0b")]-'1'))
		return resource.PropertyMap{"id": str(id), "vpcId": str("vpc-0abc123def4567890"), "availabilityZone": str(zone)}, nil
	case "aws:ec2/getVpc:getVpc":
		association := func(cidr, state string) resource.PropertyValue {
			return resource.NewObjectProperty(resource.PropertyMap{"cidrBlock": str(cidr), "state": str(state), "associationId": str("vpc-cidr-assoc-" + state)})
		}
		return resource.PropertyMap{"id": args["id"], "cidrBlock": str(mockVPCCIDR), "cidrBlockAssociations": resource.NewArrayProperty([]resource.PropertyValue{
			association(mockVPCCIDR, "associated"), association(mockSecondaryCIDR, "associated"), association("10.99.0.0/16", "disassociated"),
		})}, nil
	}
	return nil, fmt.Errorf("unexpected invoke %s", token)
}
