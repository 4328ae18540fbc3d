package fakeprovider

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// fakeECSAMI is the image id the fake SSM parameters of the ECS-optimized AMI return.
const fakeECSAMI = "ami-0fake0ecs0optimized"

func awsInvokes() map[string]InvokeFunc {
	return map[string]InvokeFunc{
		"aws:index/getAvailabilityZones:getAvailabilityZones": func(env Env, _ resource.PropertyMap) (resource.PropertyMap, error) {
			return resource.PropertyMap{
				"id":         str(env.Region),
				"names":      strs(env.Region+"a", env.Region+"b", env.Region+"c"),
				"zoneIds":    strs("use1-az1", "use1-az2", "use1-az4"),
				"groupNames": strs(env.Region),
			}, nil
		},
		// internal/service/ecr/authorization_token_data_source.go: GetAuthorizationToken
		// answers a new token at every call, valid 12 hours (ECR API reference,
		// AuthorizationData); the data source splits its base64 user:password and
		// marks authorization_token and password Sensitive.
		"aws:ecr/getAuthorizationToken:getAuthorizationToken": func(env Env, _ resource.PropertyMap) (resource.PropertyMap, error) {
			password := "fake-ecr-token-" + env.Random(24)
			return resource.PropertyMap{
				"id":                 str(env.Region),
				"registryId":         str(env.Account),
				"userName":           str("AWS"),
				"password":           resource.MakeSecret(str(password)),
				"authorizationToken": resource.MakeSecret(str(base64.StdEncoding.EncodeToString([]byte("AWS:" + password)))),
				"proxyEndpoint":      str("https://" + env.Account + ".dkr.ecr." + env.Region + ".amazonaws.com"),
				"expiresAt":          str("2030-01-01T12:00:00Z"),
			}, nil
		},
		"aws:index/getCallerIdentity:getCallerIdentity": func(env Env, _ resource.PropertyMap) (resource.PropertyMap, error) {
			return resource.PropertyMap{
				"id":        str(env.Account),
				"accountId": str(env.Account),
				"arn":       str("arn:aws:sts::" + env.Account + ":assumed-role/deploy/fake"),
				"userId":    str("AROAFAKE:fake"),
			}, nil
		},
		"aws:index/getRegion:getRegion": func(env Env, _ resource.PropertyMap) (resource.PropertyMap, error) {
			return resource.PropertyMap{
				"id":          str(env.Region),
				"name":        str(env.Region),
				"region":      str(env.Region),
				"description": str("Fake region " + env.Region),
				"endpoint":    str("ec2." + env.Region + ".amazonaws.com"),
			}, nil
		},
		"aws:index/getPartition:getPartition": func(env Env, _ resource.PropertyMap) (resource.PropertyMap, error) {
			return resource.PropertyMap{
				"id":               str("aws"),
				"partition":        str("aws"),
				"dnsSuffix":        str("amazonaws.com"),
				"reverseDnsPrefix": str("com.amazonaws"),
			}, nil
		},
		"aws:elb/getServiceAccount:getServiceAccount": func(env Env, _ resource.PropertyMap) (resource.PropertyMap, error) {
			return resource.PropertyMap{
				"id":  str("127311923021"),
				"arn": str("arn:aws:iam::127311923021:root"),
			}, nil
		},
		"aws:ssm/getParameter:getParameter": func(env Env, args resource.PropertyMap) (resource.PropertyMap, error) {
			name := stringArg(args, "name")
			if name == "" {
				return nil, fmt.Errorf("name is required")
			}
			value := "fake-value-of-" + name
			switch {
			case strings.HasPrefix(name, "/aws/service/ecs/optimized-ami/") && strings.HasSuffix(name, "/image_id"):
				value = fakeECSAMI
			case strings.HasPrefix(name, "/aws/service/ecs/optimized-ami/"):
				value = `{"image_id":"` + fakeECSAMI + `","image_name":"al2023-ami-ecs-hvm-fake","os":"Amazon Linux 2023"}`
			}
			return resource.PropertyMap{
				"id":             str(name),
				"name":           str(name),
				"arn":            str(env.ARN("ssm", "parameter"+name)),
				"type":           str("String"),
				"value":          resource.MakeSecret(str(value)),
				"insecureValue":  str(value),
				"version":        num(1),
				"withDecryption": resource.NewBoolProperty(true),
			}, nil
		},
		"aws:ec2/getVpc:getVpc": func(env Env, args resource.PropertyMap) (resource.PropertyMap, error) {
			id := stringArg(args, "id")
			if id == "" {
				id = "vpc-0fake0default"
			}
			return resource.PropertyMap{
				"id":               str(id),
				"arn":              str(env.ARN("ec2", "vpc/"+id)),
				"cidrBlock":        str("172.31.0.0/16"),
				"default":          resource.NewBoolProperty(stringArg(args, "id") == ""),
				"mainRouteTableId": str("rtb-0fake0main"),
				"ownerId":          str(env.Account),
				"state":            str("available"),
			}, nil
		},
		"aws:ec2/getAmi:getAmi": func(env Env, _ resource.PropertyMap) (resource.PropertyMap, error) {
			return resource.PropertyMap{
				"id":           str(fakeECSAMI),
				"imageId":      str(fakeECSAMI),
				"arn":          str("arn:aws:ec2:" + env.Region + "::image/" + fakeECSAMI),
				"architecture": str("x86_64"),
				"name":         str("al2023-ami-ecs-hvm-fake"),
			}, nil
		},
		"aws:iam/getPolicyDocument:getPolicyDocument": policyDocument,
		// An AWS-managed prefix list is one list AWS keeps in each Region ("AWS-managed
		// prefix lists", Amazon VPC User Guide): every lookup of a name in a Region
		// answers the same id, or a rule that names it would change at every up.
		"aws:ec2/getManagedPrefixList:getManagedPrefixList": func(env Env, args resource.PropertyMap) (resource.PropertyMap, error) {
			name := stringArg(args, "name")
			sum := sha256.Sum256([]byte(env.Region + "/" + name))
			id := "pl-" + hex.EncodeToString(sum[:4])
			return resource.PropertyMap{
				"id":   str(id),
				"name": str(name),
				"arn":  str("arn:aws:ec2:" + env.Region + ":aws:prefix-list/" + id),
			}, nil
		},
	}
}

func stringArg(args resource.PropertyMap, key string) string {
	v, ok := args[resource.PropertyKey(key)]
	if !ok || !v.IsString() {
		return ""
	}
	return v.StringValue()
}

// policyDocument renders the statements as IAM policy JSON the way the provider
// does, so a program that embeds the document in a role or bucket policy stores
// plausible text.
func policyDocument(env Env, args resource.PropertyMap) (resource.PropertyMap, error) {
	type statement map[string]any
	var statements []statement
	if v, ok := args["statements"]; ok && v.IsArray() {
		for _, item := range v.ArrayValue() {
			if !item.IsObject() {
				continue
			}
			in := item.ObjectValue().Mappable()
			st := statement{"Effect": "Allow"}
			for from, to := range map[string]string{
				"sid": "Sid", "effect": "Effect", "actions": "Action", "notActions": "NotAction",
				"resources": "Resource", "notResources": "NotResource",
			} {
				if val, ok := in[from]; ok {
					st[to] = val
				}
			}
			if ps, ok := in["principals"].([]any); ok {
				principal := map[string]any{}
				for _, p := range ps {
					if pm, ok := p.(map[string]any); ok {
						principal[fmt.Sprint(pm["type"])] = pm["identifiers"]
					}
				}
				st["Principal"] = principal
			}
			if cs, ok := in["conditions"].([]any); ok {
				condition := map[string]map[string]any{}
				for _, c := range cs {
					if cm, ok := c.(map[string]any); ok {
						test := fmt.Sprint(cm["test"])
						if condition[test] == nil {
							condition[test] = map[string]any{}
						}
						condition[test][fmt.Sprint(cm["variable"])] = cm["values"]
					}
				}
				st["Condition"] = condition
			}
			statements = append(statements, st)
		}
	}
	doc, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": statements})
	if err != nil {
		return nil, fmt.Errorf("render policy: %w", err)
	}
	return resource.PropertyMap{
		"id":           str(fmt.Sprintf("%d", len(doc))),
		"json":         str(string(doc)),
		"minifiedJson": str(string(doc)),
		"statements":   args["statements"],
	}, nil
}
