// Package offline answers the AWS data sources the program reads, for running it
// without AWS: moodlectl's offline readings of a stack (cost, diagram, plan,
// inspect), the mocks of the unit tier and the fake provider of the engine tier
// all ask this one table, so a data source the program starts to read is answered
// everywhere once it is answered here.
//
// The answers have the shape the real provider gives (the fields of each data
// source of pulumi-aws v6, terraform-provider-aws's data source of the same name);
// the values are placeholders an offline run cannot know: the account, the AMI,
// the registry's token. A preview or an up against AWS reads the real ones.
package offline

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Placeholders the answers carry.
const (
	// Account stands for the AWS account an offline run cannot know.
	Account = "000000000000"
	// ECSAMI is the image of the ECS-optimized AMI's SSM parameters.
	ECSAMI = "ami-0ecs0optimised0"
	// ECRPassword is the registry password of an ECR authorization token when the
	// Env gives no Secret.
	ECRPassword = "ecr-token-eyJwYXlsb2FkIjoiZmFrZSJ9"
	// VPCCIDR is the primary range of an existing VPC (aws.vpcId), SecondaryCIDR a
	// secondary range associated with it, DisassociatedCIDR one it let go.
	VPCCIDR           = "10.20.0.0/16"
	SecondaryCIDR     = "100.64.0.0/16"
	DisassociatedCIDR = "10.99.0.0/16"
)

// Env is what the answers depend on.
type Env struct {
	Region  string
	Account string
	// Subnet answers getSubnet for an existing VPC's subnet (aws.vpcId): its VPC
	// and zone, or false for a subnet AWS would not find. Nil finds none.
	Subnet func(id string) (Subnet, bool)
	// Secret, when set, makes each ECR token new (as GetAuthorizationToken does);
	// nil gives ECRPassword.
	Secret func() string
}

// Subnet is an existing subnet's VPC and zone.
type Subnet struct {
	VPCID, Zone string
}

// SubnetsInOrder places each subnet of ids in vpcID, in the zones of the Region
// in the order given: what an offline reading assumes of an existing VPC's
// private subnets, which it cannot check (a preview against AWS does:
// awscloud.CheckExistingSubnets).
func SubnetsInOrder(region, vpcID string, ids []string) func(string) (Subnet, bool) {
	return func(id string) (Subnet, bool) {
		for i, known := range ids {
			if known == id {
				return Subnet{VPCID: vpcID, Zone: region + string(rune('a'+i%3))}, true
			}
		}
		return Subnet{}, false
	}
}

// elbAccounts are the accounts of Elastic Load Balancing that write ALB access logs,
// by Region: a part of terraform-provider-aws's accountIDPerRegionMap
// (internal/service/elb/service_account_data_source.go), which cites "Enable access
// logs for your Application Load Balancer" of the Elastic Load Balancing User Guide.
var elbAccounts = map[string]string{
	"us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
	"us-west-2": "797873946194", "eu-west-1": "156460612806", "eu-west-2": "652711504416",
	"eu-west-3": "009996457667", "eu-central-1": "054676820928", "eu-north-1": "897822967062",
	"ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266", "ap-northeast-1": "582318560864",
	"ca-central-1": "985666609251", "sa-east-1": "507241528517",
}

// Answer answers the data source token with args, or says it has none.
func Answer(env Env, token string, args resource.PropertyMap) (resource.PropertyMap, error) {
	answer, ok := answers[token]
	if !ok {
		return nil, fmt.Errorf("no offline answer for the data source %s: add one in cmd/moodlectl/offline", token)
	}
	return answer(env, args)
}

// DataSources lists the tokens of the data sources Answer answers.
func DataSources() []string {
	tokens := make([]string, 0, len(answers))
	for token := range answers {
		tokens = append(tokens, token)
	}
	sort.Strings(tokens)
	return tokens
}

var answers = map[string]func(env Env, args resource.PropertyMap) (resource.PropertyMap, error){
	"aws:index/getAvailabilityZones:getAvailabilityZones": func(env Env, args resource.PropertyMap) (resource.PropertyMap, error) {
		return resource.PropertyMap{
			"id":    str(env.Region),
			"names": strs(env.Region+"a", env.Region+"b", env.Region+"c"),
		}, nil
	},
	"aws:index/getRegion:getRegion": func(env Env, args resource.PropertyMap) (resource.PropertyMap, error) {
		return resource.PropertyMap{"id": str(env.Region), "name": str(env.Region), "region": str(env.Region),
			"endpoint": str("ec2." + env.Region + ".amazonaws.com")}, nil
	},
	"aws:index/getPartition:getPartition": func(env Env, args resource.PropertyMap) (resource.PropertyMap, error) {
		return resource.PropertyMap{"id": str("aws"), "partition": str("aws"), "dnsSuffix": str("amazonaws.com"),
			"reverseDnsPrefix": str("com.amazonaws")}, nil
	},
	"aws:index/getCallerIdentity:getCallerIdentity": func(env Env, args resource.PropertyMap) (resource.PropertyMap, error) {
		return resource.PropertyMap{"id": str(env.Account), "accountId": str(env.Account),
			"arn": str("arn:aws:iam::" + env.Account + ":user/deployer"), "userId": str("AIDAOFFLINE")}, nil
	},
	"aws:elb/getServiceAccount:getServiceAccount": func(env Env, args resource.PropertyMap) (resource.PropertyMap, error) {
		elb, ok := elbAccounts[env.Region]
		if !ok {
			// The data source's own answer for a Region it does not know.
			return nil, fmt.Errorf("unsupported AWS Region: %s (add its env.Account to the table in cmd/moodlectl/offline)", env.Region)
		}
		return resource.PropertyMap{"id": str(elb), "arn": str("arn:aws:iam::" + elb + ":root")}, nil
	},
	"aws:ssm/getParameter:getParameter": func(env Env, args resource.PropertyMap) (resource.PropertyMap, error) {
		// internal/service/ssm/parameter_data_source.go: value is Sensitive, so a
		// secret whatever the parameter's type; insecure_value is the same text.
		name := stringArg(args, "name")
		value := "offline-value-of-" + name
		switch {
		case strings.HasPrefix(name, "/aws/service/ecs/optimized-ami/") && strings.HasSuffix(name, "/image_id"):
			value = ECSAMI
		case strings.HasPrefix(name, "/aws/service/ecs/optimized-ami/"):
			value = `{"image_id":"` + ECSAMI + `","image_name":"al2023-ami-ecs-hvm","os":"Amazon Linux 2023"}`
		}
		return resource.PropertyMap{"id": str(name), "name": str(name), "type": str("String"),
			"arn":   str("arn:aws:ssm:" + env.Region + ":" + env.Account + ":parameter" + name),
			"value": resource.MakeSecret(str(value)), "insecureValue": str(value)}, nil
	},
	"aws:ec2/getVpc:getVpc": func(env Env, args resource.PropertyMap) (resource.PropertyMap, error) {
		id := stringArg(args, "id")
		association := func(cidr, state string) resource.PropertyValue {
			return resource.NewObjectProperty(resource.PropertyMap{"cidrBlock": str(cidr), "state": str(state),
				"associationId": str("vpc-cidr-assoc-" + state)})
		}
		return resource.PropertyMap{"id": str(id), "cidrBlock": str(VPCCIDR), "ownerId": str(env.Account), "state": str("available"),
			"cidrBlockAssociations": resource.NewArrayProperty([]resource.PropertyValue{
				association(VPCCIDR, "associated"), association(SecondaryCIDR, "associated"), association(DisassociatedCIDR, "disassociated"),
			})}, nil
	},
	"aws:ec2/getSubnet:getSubnet": func(env Env, args resource.PropertyMap) (resource.PropertyMap, error) {
		id := stringArg(args, "id")
		var s Subnet
		ok := false
		if env.Subnet != nil {
			s, ok = env.Subnet(id)
		}
		if !ok {
			// internal/service/ec2/vpc_subnet_data_source.go: no match is an error.
			return nil, fmt.Errorf("no matching EC2 Subnet found (%s)", id)
		}
		return resource.PropertyMap{"id": str(id), "vpcId": str(s.VPCID), "availabilityZone": str(s.Zone)}, nil
	},
	"aws:ecr/getAuthorizationToken:getAuthorizationToken": func(env Env, args resource.PropertyMap) (resource.PropertyMap, error) {
		// internal/service/ecr/authorization_token_data_source.go splits the token's
		// base64 user:password and marks authorization_token and password Sensitive.
		password := ECRPassword
		if env.Secret != nil {
			password = env.Secret()
		}
		return resource.PropertyMap{"id": str(env.Region), "registryId": str(env.Account), "userName": str("AWS"),
			"password":           resource.MakeSecret(str(password)),
			"authorizationToken": resource.MakeSecret(str(base64.StdEncoding.EncodeToString([]byte("AWS:" + password)))),
			"proxyEndpoint":      str("https://" + env.Account + ".dkr.ecr." + env.Region + ".amazonaws.com"),
			"expiresAt":          str("2030-01-01T12:00:00Z")}, nil
	},
	"aws:ec2/getManagedPrefixList:getManagedPrefixList": func(env Env, args resource.PropertyMap) (resource.PropertyMap, error) {
		// An AWS-managed prefix list is one list AWS keeps in each Region
		// ("AWS-managed prefix lists", Amazon VPC User Guide): every lookup of a
		// name in a Region answers the same id.
		name := stringArg(args, "name")
		sum := sha256.Sum256([]byte(env.Region + "/" + name))
		id := "pl-" + hex.EncodeToString(sum[:4])
		return resource.PropertyMap{"id": str(id), "name": str(name), "arn": str("arn:aws:ec2:" + env.Region + ":aws:prefix-list/" + id)}, nil
	},
}

func str(s string) resource.PropertyValue { return resource.NewStringProperty(s) }

func stringArg(args resource.PropertyMap, key string) string {
	if v, ok := args[resource.PropertyKey(key)]; ok && v.IsString() {
		return v.StringValue()
	}
	return ""
}

func strs(values ...string) resource.PropertyValue {
	out := make([]resource.PropertyValue, len(values))
	for i, v := range values {
		out[i] = resource.NewStringProperty(v)
	}
	return resource.NewArrayProperty(out)
}
