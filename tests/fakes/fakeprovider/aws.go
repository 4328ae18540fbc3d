package fakeprovider

import (
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// awsKind describes an AWS resource type compactly: what forces replacement (the
// ForceNew arguments of the Terraform AWS provider that pulumi-aws v6 bridges), which
// argument the provider auto-names, and how its id and ARN look.
type awsKind struct {
	force    func(string) bool
	autoName string
	idPrefix string // ids like "vpc-0a1b2c..."; ignored when idFrom or arn-as-id is set
	idFrom   string // the input that is the id ("name", "bucket", "family")
	idIsARN  bool
	arn      func(Env, Resource) string
	extra    func(Env, Resource) resource.PropertyMap
	// readBack and equivalent are Kind.ReadBack and Kind.Equivalent.
	readBack   func(resource.PropertyMap) (resource.PropertyMap, error)
	equivalent map[string]func(a, b resource.PropertyValue) bool
	// forceIf is the provider's CustomizeDiff where it forces replacement by value.
	forceIf func(prop string, olds, news resource.PropertyMap) bool
	// updated is Kind.Updated.
	updated func(olds, oldInputs, news resource.PropertyMap, preview bool) resource.PropertyMap
	// settle is Kind.Settle.
	settle func(lookup func(arn string) (resource.PropertyMap, bool), olds, outs resource.PropertyMap, timeout time.Duration) (resource.PropertyMap, error)
}

func (a awsKind) kind() *Kind {
	k := &Kind{ForceNew: a.force, AutoName: a.autoName, ReadBack: a.readBack, Equivalent: a.equivalent, ForceNewIf: a.forceIf, Updated: a.updated, Settle: a.settle}
	k.ID = func(env Env, r Resource) string {
		switch {
		case a.idIsARN && a.arn != nil:
			return a.arn(env, r)
		case a.idFrom != "":
			return r.Str(a.idFrom)
		}
		return a.idPrefix + randomFrom(hexDigits, 17)
	}
	k.Outputs = func(env Env, r Resource) resource.PropertyMap {
		out := resource.PropertyMap{}
		if a.arn != nil {
			out["arn"] = str(a.arn(env, r))
		}
		// tags_all is the provider's default_tags merged with the resource's own
		// tags, which win (terraform-provider-aws internal/tags: the
		// SetTagsDiff CustomizeDiff every tagged resource runs,
		// DefaultConfig.MergeTags then IgnoreConfig).
		if tags, ok := r.Inputs["tags"]; ok || len(env.DefaultTags) > 0 {
			all := env.DefaultTags.Copy()
			if all == nil {
				all = resource.PropertyMap{}
			}
			if tags.IsObject() {
				for k, v := range tags.ObjectValue() {
					all[k] = v
				}
			}
			out["tagsAll"] = resource.NewObjectProperty(all)
		}
		if a.extra != nil {
			for k, v := range a.extra(env, r) {
				out[k] = v
			}
		}
		return out
	}
	return k
}

// arnOf builds "arn:aws:<service>:<region>:<account>:<prefix><value>", the value
// being the input named by key or, for "id", the resource id.
func arnOf(service, prefix, key string) func(Env, Resource) string {
	return func(env Env, r Resource) string {
		return env.ARN(service, prefix+value(r, key))
	}
}

// globalARN is arnOf for the services whose ARNs carry no region (IAM).
func globalARN(service, prefix, key string) func(Env, Resource) string {
	return func(env Env, r Resource) string {
		return "arn:aws:" + service + "::" + env.Account + ":" + prefix + value(r, key)
	}
}

func value(r Resource, key string) string {
	if key == "id" {
		return r.ID
	}
	if key == "" {
		return r.Name()
	}
	return r.StrOr(key, r.Name())
}

// awsPackage is the aws fake; ecs, when set, runs the tasks of the ECS services.
func awsPackage(ecs ECSRuntime) *Package {
	kinds := map[string]awsKind{
		// Network.
		"aws:ec2/vpc:Vpc": {
			force: only("cidrBlock", "instanceTenancy", "ipv4IpamPoolId"), idPrefix: "vpc-",
			arn: arnOf("ec2", "vpc/", "id"),
			extra: func(env Env, r Resource) resource.PropertyMap {
				return resource.PropertyMap{
					"defaultSecurityGroupId": str("sg-" + env.Random(17)),
					"defaultNetworkAclId":    str("acl-" + env.Random(17)),
					"defaultRouteTableId":    str("rtb-" + env.Random(17)),
					"mainRouteTableId":       str("rtb-" + env.Random(17)),
					"ownerId":                str(env.Account),
				}
			},
		},
		"aws:ec2/subnet:Subnet": {
			force: only("vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId", "outpostArn"), idPrefix: "subnet-",
			arn: arnOf("ec2", "subnet/", "id"),
		},
		"aws:ec2/internetGateway:InternetGateway": {idPrefix: "igw-", arn: arnOf("ec2", "internet-gateway/", "id")},
		"aws:ec2/eip:Eip": {
			force: only("domain", "vpc", "address", "publicIpv4Pool"), idPrefix: "eipalloc-",
			arn: arnOf("ec2", "elastic-ip/", "id"),
			extra: func(env Env, r Resource) resource.PropertyMap {
				return resource.PropertyMap{"publicIp": str("203.0.113." + randomFrom("123456789", 2)), "allocationId": str(r.ID)}
			},
		},
		"aws:ec2/natGateway:NatGateway": {
			force: only("allocationId", "subnetId", "connectivityType", "privateIp"), idPrefix: "nat-",
			extra: func(env Env, r Resource) resource.PropertyMap {
				return resource.PropertyMap{"publicIp": str("203.0.113." + randomFrom("123456789", 2)), "networkInterfaceId": str("eni-" + env.Random(17))}
			},
		},
		"aws:ec2/routeTable:RouteTable":                       {force: only("vpcId"), idPrefix: "rtb-", arn: arnOf("ec2", "route-table/", "id")},
		"aws:ec2/route:Route":                                 {force: only("routeTableId", "destinationCidrBlock", "destinationIpv6CidrBlock", "destinationPrefixListId"), idPrefix: "r-"},
		"aws:ec2/routeTableAssociation:RouteTableAssociation": {force: only("subnetId", "gatewayId"), idPrefix: "rtbassoc-"},
		"aws:ec2/securityGroup:SecurityGroup": {
			force: only("name", "namePrefix", "vpcId", "description"), autoName: "name", idPrefix: "sg-",
			arn: arnOf("ec2", "security-group/", "id"),
			extra: func(env Env, r Resource) resource.PropertyMap {
				return resource.PropertyMap{"ownerId": str(env.Account)}
			},
		},
		"aws:ec2/securityGroupRule:SecurityGroupRule":               {force: allBut("description"), idPrefix: "sgrule-"},
		"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {force: only("securityGroupId"), idPrefix: "sgr-", arn: arnOf("ec2", "security-group-rule/", "id")},
		"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":   {force: only("securityGroupId"), idPrefix: "sgr-", arn: arnOf("ec2", "security-group-rule/", "id")},
		"aws:ec2/defaultSecurityGroup:DefaultSecurityGroup":         {force: only("vpcId"), idPrefix: "sg-", arn: arnOf("ec2", "security-group/", "id")},
		"aws:ec2/flowLog:FlowLog":                                   {force: allBut("tags", "tagsAll"), idPrefix: "fl-", arn: arnOf("ec2", "vpc-flow-log/", "id")},
		"aws:ec2/vpcEndpoint:VpcEndpoint": {
			force: only("vpcId", "serviceName", "vpcEndpointType"), idPrefix: "vpce-", arn: arnOf("ec2", "vpc-endpoint/", "id"),
		},
		"aws:ec2/launchTemplate:LaunchTemplate": {
			force: only("name", "namePrefix"), autoName: "name", idPrefix: "lt-", arn: arnOf("ec2", "launch-template/", "id"),
			extra: func(Env, Resource) resource.PropertyMap {
				return resource.PropertyMap{"latestVersion": num(1), "defaultVersion": num(1)}
			},
			updated: launchTemplateNewVersion,
		},
		// Edge.
		"aws:lb/loadBalancer:LoadBalancer": {
			force: only("name", "namePrefix", "internal", "loadBalancerType"), autoName: "name", idIsARN: true,
			arn: arnOf("elasticloadbalancing", "loadbalancer/app/", "name"),
			extra: func(env Env, r Resource) resource.PropertyMap {
				name := r.StrOr("name", r.Name())
				return resource.PropertyMap{
					"arnSuffix": str("app/" + name + "/" + randomFrom(hexDigits, 16)),
					"dnsName":   str(name + "-" + randomFrom("0123456789", 10) + "." + env.Region + ".elb.amazonaws.com"),
					"zoneId":    str("Z35SXDOTRQ7X7K"),
				}
			},
		},
		"aws:lb/targetGroup:TargetGroup": {
			force: only("name", "namePrefix", "port", "protocol", "protocolVersion", "vpcId", "targetType"), autoName: "name", idIsARN: true,
			arn: arnOf("elasticloadbalancing", "targetgroup/", "name"),
			extra: func(env Env, r Resource) resource.PropertyMap {
				return resource.PropertyMap{"arnSuffix": str("targetgroup/" + r.StrOr("name", r.Name()) + "/" + randomFrom(hexDigits, 16))}
			},
		},
		"aws:lb/listener:Listener": {force: only("loadBalancerArn"), idIsARN: true, arn: arnOf("elasticloadbalancing", "listener/app/", "")},
		// listener_arn is ForceNew, priority explicitly "ForceNew: false" (an
		// update moves it with SetRulePriorities): terraform-provider-aws
		// internal/service/elbv2/listener_rule.go, resourceListenerRule's schema.
		"aws:lb/listenerRule:ListenerRule": {force: only("listenerArn"), idIsARN: true, arn: arnOf("elasticloadbalancing", "listener-rule/app/", "")},
		"aws:acm/certificate:Certificate": {
			force: only("domainName", "subjectAlternativeNames", "validationMethod", "keyAlgorithm", "certificateAuthorityArn"), idIsARN: true,
			arn: arnOf("acm", "certificate/", ""),
			extra: func(Env, Resource) resource.PropertyMap {
				return resource.PropertyMap{"status": str("ISSUED")}
			},
		},
		"aws:wafv2/webAcl:WebAcl": {
			force: only("name", "namePrefix", "scope"), autoName: "name", idPrefix: "",
			arn: arnOf("wafv2", "regional/webacl/", "name"),
			extra: func(env Env, r Resource) resource.PropertyMap {
				return resource.PropertyMap{"capacity": num(700), "lockToken": str(env.Random(36))}
			},
		},
		"aws:wafv2/webAclAssociation:WebAclAssociation": {force: only("resourceArn", "webAclArn")},
		// internal/service/cloudfront/cache_policy.go, ResourceCachePolicy: no
		// argument is ForceNew (UpdateCachePolicy replaces the whole config in
		// place); the id is the policy's Id and etag is read back.
		"aws:cloudfront/cachePolicy:CachePolicy": {
			extra: func(env Env, r Resource) resource.PropertyMap {
				return resource.PropertyMap{"etag": str("E" + randomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 13))}
			},
		},
		"aws:cloudfront/distribution:Distribution": {
			idPrefix: "E", arn: globalARN("cloudfront", "distribution/", "id"),
			extra: func(env Env, r Resource) resource.PropertyMap {
				return resource.PropertyMap{
					"domainName":      str("d" + env.Random(13) + ".cloudfront.net"),
					"hostedZoneId":    str("Z2FDTNDATAQYW2"),
					"status":          str("Deployed"),
					"etag":            str("E" + env.Random(13)),
					"callerReference": str(env.Random(20)),
				}
			},
		},
		"aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": {
			force: only("resourceArn"),
		},
		// App tier.
		"aws:ecs/cluster:Cluster":                                   {force: only("name"), autoName: "name", idIsARN: true, arn: arnOf("ecs", "cluster/", "name")},
		"aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": {force: only("clusterName")},
		"aws:ecs/capacityProvider:CapacityProvider":                 {force: only("name", "autoScalingGroupProvider"), autoName: "name", idIsARN: true, arn: arnOf("ecs", "capacity-provider/", "name")},
		// terraform-provider-aws internal/service/ecr/repository.go: name and
		// encryption_configuration (and both its fields) are ForceNew, the id is the
		// repository's name (resourceRepositoryCreate, d.SetId(RepositoryName)), and
		// Read sets registry_id and repository_url from the API's RegistryId and
		// RepositoryUri, <account>.dkr.ecr.<region>.amazonaws.com/<name> (Amazon
		// ECR User Guide, private registry concepts).
		"aws:ecr/repository:Repository": {
			force: only("name", "encryptionConfigurations"), idFrom: "name",
			arn: arnOf("ecr", "repository/", "name"),
			extra: func(env Env, r Resource) resource.PropertyMap {
				return resource.PropertyMap{
					"registryId":    str(env.Account),
					"repositoryUrl": str(env.Account + ".dkr.ecr." + env.Region + ".amazonaws.com/" + r.Str("name")),
				}
			},
		},
		// internal/service/ecr/lifecycle_policy.go: repository is ForceNew and the
		// id, policy is updated in place (PutLifecyclePolicy), registry_id computed.
		"aws:ecr/lifecyclePolicy:LifecyclePolicy": {
			force: only("repository"), idFrom: "repository",
			extra: func(env Env, _ Resource) resource.PropertyMap {
				return resource.PropertyMap{"registryId": str(env.Account)}
			},
		},
		"aws:ecs/taskDefinition:TaskDefinition": {
			force: allBut("tags", "tagsAll", "skipDestroy", "trackLatest"), idFrom: "family",
			readBack:   readTaskDefinition,
			equivalent: map[string]func(a, b resource.PropertyValue) bool{"containerDefinitions": containerDefinitionsEquivalent},
			// Every registration is a new revision, so a service that runs the
			// replacement sees its task definition ARN change, as on AWS.
			extra: func(env Env, r Resource) resource.PropertyMap {
				revision := randomFrom("123456789", 4)
				n, _ := strconv.Atoi(revision)
				return resource.PropertyMap{
					"arn":                str(env.ARN("ecs", "task-definition/"+r.Str("family")+":"+revision)),
					"arnWithoutRevision": str(env.ARN("ecs", "task-definition/"+r.Str("family"))),
					"revision":           num(float64(n)),
				}
			},
		},
		"aws:ecs/service:Service": {
			force: only("name", "cluster", "launchType", "schedulingStrategy", "iamRole"), autoName: "name", idIsARN: true,
			arn:     arnOf("ecs", "service/", "name"),
			forceIf: capacityProviderStrategyForcesNew,
			settle:  ecsSettle(ecs),
		},
		"aws:autoscaling/group:Group": {
			force: only("name", "namePrefix"), autoName: "name", idFrom: "name",
			arn: arnOf("autoscaling", "autoScalingGroup:", "name"),
		},
		"aws:appautoscaling/target:Target": {
			force: only("resourceId", "scalableDimension", "serviceNamespace"), idFrom: "resourceId",
			arn: arnOf("application-autoscaling", "scalable-target/", ""),
		},
		"aws:appautoscaling/policy:Policy": {
			force: only("name", "resourceId", "scalableDimension", "serviceNamespace"), autoName: "name", idFrom: "name",
			arn: arnOf("autoscaling", "scalingPolicy:", "name"),
		},
		// Identity and secrets.
		// Policy documents (a role's assume-role policy, inline and managed
		// policies, key and bucket policies) are read back as sent: AWS returns
		// its own rewrite of the JSON, but the provider keeps the configured text
		// whenever the two are equivalent policies (terraform-provider-aws
		// internal/verify: PolicyToSet on read, SuppressEquivalentPolicyDiffs on
		// diff), so only a policy of another meaning is a change.
		"aws:iam/role:Role": {
			force: only("name", "namePrefix", "path"), autoName: "name", idFrom: "name",
			arn: globalARN("iam", "role/", "name"),
			extra: func(env Env, r Resource) resource.PropertyMap {
				return resource.PropertyMap{"uniqueId": str("AROA" + randomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 17))}
			},
		},
		"aws:iam/rolePolicy:RolePolicy": {force: only("name", "namePrefix", "role"), autoName: "name"},
		"aws:iam/serviceLinkedRole:ServiceLinkedRole": {
			force: only("awsServiceName", "customSuffix"), idIsARN: true,
			arn: func(env Env, r Resource) string {
				name := "AWSServiceRoleForAutoScaling"
				if suffix := r.Str("customSuffix"); suffix != "" {
					name += "_" + suffix
				}
				return "arn:aws:iam::" + env.Account + ":role/aws-service-role/" + r.Str("awsServiceName") + "/" + name
			},
		},
		"aws:iam/rolePolicyAttachment:RolePolicyAttachment": {force: only("role", "policyArn")},
		"aws:iam/policy:Policy": {
			force: only("name", "namePrefix", "path", "description"), autoName: "name", idIsARN: true,
			arn: globalARN("iam", "policy/", "name"),
			extra: func(env Env, r Resource) resource.PropertyMap {
				return resource.PropertyMap{"policyId": str("ANPA" + randomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 17))}
			},
		},
		"aws:iam/instanceProfile:InstanceProfile": {
			force: only("name", "namePrefix", "path"), autoName: "name", idFrom: "name",
			arn: globalARN("iam", "instance-profile/", "name"),
		},
		// The SES sender (awscloud.NewMail). An IAM user is renamed in place
		// (terraform-provider-aws internal/service/iam/user.go, resourceUser:
		// name and path are not ForceNew, resourceUserUpdate calls UpdateUser)
		// and its id is the name (SetId(UserName)).
		"aws:iam/user:User": {
			autoName: "name", idFrom: "name", arn: globalARN("iam", "user/", "name"),
			extra: func(env Env, r Resource) resource.PropertyMap {
				return resource.PropertyMap{"uniqueId": str("AIDA" + randomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 17))}
			},
		},
		// internal/service/iam/user_policy.go: name, name_prefix and user are
		// ForceNew, the policy is put in place.
		"aws:iam/userPolicy:UserPolicy": {force: only("name", "namePrefix", "user"), autoName: "name"},
		// internal/service/iam/access_key.go, ResourceAccessKey: user and pgp_key
		// are ForceNew (status is updated in place); the id is the access key
		// id, and without a pgp_key the secret and its SES SMTP password are
		// computed once, on create (sesSMTPPasswordFromSecretKeySigV4 with the
		// provider's region), and never read back.
		"aws:iam/accessKey:AccessKey": {
			force: only("user", "pgpKey"), idPrefix: "AKIA",
			extra: func(env Env, r Resource) resource.PropertyMap {
				secret := randomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40)
				return resource.PropertyMap{
					"secret":            str(secret),
					"sesSmtpPasswordV4": str(SESSMTPPasswordV4(secret, env.Region)),
					"status":            str(r.StrOr("status", "Active")),
				}
			},
		},
		// internal/service/sesv2/email_identity.go, resourceEmailIdentity:
		// email_identity is ForceNew and is the id; the ARN is RegionalARN("ses",
		// "identity/"+name); dkim_signing_attributes is Optional and Computed,
		// read back from GetEmailIdentity's DkimAttributes, whose Tokens are the
		// three of Easy DKIM (SES Developer Guide, "Easy DKIM in Amazon SES").
		"aws:sesv2/emailIdentity:EmailIdentity": {
			force: only("emailIdentity"), idFrom: "emailIdentity", arn: arnOf("ses", "identity/", "emailIdentity"),
			extra: func(env Env, r Resource) resource.PropertyMap {
				tokens := make([]resource.PropertyValue, 3)
				for i := range tokens {
					tokens[i] = str(randomFrom("abcdefghijklmnopqrstuvwxyz234567", 32))
				}
				identityType := "DOMAIN"
				if strings.Contains(r.Str("emailIdentity"), "@") {
					identityType = "EMAIL_ADDRESS"
				}
				return resource.PropertyMap{
					"identityType": str(identityType),
					"dkimSigningAttributes": resource.NewObjectProperty(resource.PropertyMap{
						"tokens":                  resource.NewArrayProperty(tokens),
						"status":                  str("PENDING"),
						"signingAttributesOrigin": str("AWS_SES"),
						"nextSigningKeyLength":    str("RSA_2048_BIT"),
						"currentSigningKeyLength": str("RSA_2048_BIT"),
					}),
					"verifiedForSendingStatus": resource.NewBoolProperty(false),
				}
			},
		},
		"aws:kms/key:Key": {
			force: only("customerMasterKeySpec", "keySpec", "multiRegion", "customKeyStoreId", "xksKeyId"),
			arn:   arnOf("kms", "key/", "id"),
			extra: func(env Env, r Resource) resource.PropertyMap { return resource.PropertyMap{"keyId": str(r.ID)} },
		},
		"aws:kms/alias:Alias": {force: only("name", "namePrefix"), autoName: "name", idFrom: "name", arn: arnOf("kms", "", "name")},
		"aws:secretsmanager/secret:Secret": {
			force: only("name", "namePrefix"), autoName: "name", idIsARN: true,
			arn: func(env Env, r Resource) string {
				return env.ARN("secretsmanager", "secret:"+r.StrOr("name", r.Name())+"-"+randomFrom(alphabet, 6))
			},
		},
		"aws:secretsmanager/secretVersion:SecretVersion": {
			force: only("secretId", "secretString", "secretBinary"),
			extra: func(env Env, r Resource) resource.PropertyMap {
				return resource.PropertyMap{"arn": str(r.Str("secretId")), "versionId": str(env.Random(32))}
			},
		},
		"aws:ssm/parameter:Parameter": {force: only("name", "type"), autoName: "name", idFrom: "name", arn: arnOf("ssm", "parameter/", "name")},
		// Data: database, cache, files.
		"aws:rds/instance:Instance": {
			force: only("identifier", "identifierPrefix", "engine", "storageEncrypted", "kmsKeyId", "username", "dbName",
				"availabilityZone", "snapshotIdentifier", "characterSetName", "ncharCharacterSetName", "timezone",
				"restoreToPointInTime", "s3Import", "customIamInstanceProfile"),
			autoName: "identifier", idPrefix: "db-",
			arn: arnOf("rds", "db:", "identifier"),
			extra: func(env Env, r Resource) resource.PropertyMap {
				address := r.StrOr("identifier", r.Name()) + "." + randomFrom(alphabet, 12) + "." + env.Region + ".rds.amazonaws.com"
				return resource.PropertyMap{
					"address":      str(address),
					"endpoint":     str(address + ":5432"),
					"port":         num(5432),
					"resourceId":   str(r.ID),
					"hostedZoneId": str("Z2R2ITUGPM61AM"),
					"status":       str("available"),
				}
			},
		},
		"aws:rds/proxy:Proxy": {
			force: only("name", "engineFamily"), autoName: "name", idFrom: "name",
			arn: arnOf("rds", "db-proxy:", "name"),
			extra: func(env Env, r Resource) resource.PropertyMap {
				return resource.PropertyMap{"endpoint": str(r.StrOr("name", r.Name()) + ".proxy-" + randomFrom(alphabet, 12) + "." + env.Region + ".rds.amazonaws.com")}
			},
		},
		"aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup": {
			force: only("dbProxyName"), idFrom: "dbProxyName",
			arn:   arnOf("rds", "target-group:", ""),
			extra: func(Env, Resource) resource.PropertyMap { return resource.PropertyMap{"name": str("default")} },
		},
		"aws:rds/proxyTarget:ProxyTarget": {
			force: every,
			extra: func(Env, Resource) resource.PropertyMap {
				return resource.PropertyMap{"port": num(5432), "type": str("RDS_INSTANCE")}
			},
		},
		"aws:rds/subnetGroup:SubnetGroup":       {force: only("name", "namePrefix"), autoName: "name", idFrom: "name", arn: arnOf("rds", "subgrp:", "name")},
		"aws:rds/parameterGroup:ParameterGroup": {force: only("name", "namePrefix", "family", "description"), autoName: "name", idFrom: "name", arn: arnOf("rds", "pg:", "name")},
		"aws:elasticache/replicationGroup:ReplicationGroup": {
			force: only("replicationGroupId", "atRestEncryptionEnabled", "kmsKeyId", "port", "subnetGroupName",
				"snapshotArns", "snapshotName", "preferredCacheClusterAzs", "networkType", "dataTieringEnabled",
				"globalReplicationGroupId"),
			autoName: "replicationGroupId", idFrom: "replicationGroupId",
			arn: arnOf("elasticache", "replicationgroup:", "replicationGroupId"),
			extra: func(env Env, r Resource) resource.PropertyMap {
				id := r.StrOr("replicationGroupId", r.Name())
				return resource.PropertyMap{
					"primaryEndpointAddress": str("master." + id + "." + randomFrom(alphabet, 6) + ".use1.cache.amazonaws.com"),
					"readerEndpointAddress":  str("replica." + id + "." + randomFrom(alphabet, 6) + ".use1.cache.amazonaws.com"),
					"memberClusters":         strs(id+"-001", id+"-002"),
					"clusterEnabled":         resource.NewBoolProperty(false),
				}
			},
		},
		"aws:elasticache/subnetGroup:SubnetGroup":       {force: only("name"), autoName: "name", idFrom: "name", arn: arnOf("elasticache", "subnetgroup:", "name")},
		"aws:elasticache/parameterGroup:ParameterGroup": {force: only("name", "family", "description"), autoName: "name", idFrom: "name", arn: arnOf("elasticache", "parametergroup:", "name")},
		"aws:efs/fileSystem:FileSystem": {
			force:    only("creationToken", "encrypted", "kmsKeyId", "availabilityZoneName", "performanceMode"),
			autoName: "creationToken", idPrefix: "fs-",
			arn: arnOf("elasticfilesystem", "file-system/", "id"),
			extra: func(env Env, r Resource) resource.PropertyMap {
				return resource.PropertyMap{
					"dnsName": str(r.ID + ".efs." + env.Region + ".amazonaws.com"),
					"ownerId": str(env.Account),
				}
			},
		},
		"aws:efs/accessPoint:AccessPoint": {
			force: only("fileSystemId", "posixUser", "rootDirectory"), idPrefix: "fsap-",
			arn: arnOf("elasticfilesystem", "access-point/", "id"),
			extra: func(env Env, r Resource) resource.PropertyMap {
				return resource.PropertyMap{"fileSystemArn": str(env.ARN("elasticfilesystem", "file-system/"+r.Str("fileSystemId")))}
			},
		},
		"aws:efs/mountTarget:MountTarget": {
			force: only("fileSystemId", "subnetId", "ipAddress"), idPrefix: "fsmt-",
			extra: func(env Env, r Resource) resource.PropertyMap {
				return resource.PropertyMap{
					"dnsName":            str(r.Str("fileSystemId") + ".efs." + env.Region + ".amazonaws.com"),
					"ipAddress":          str("10.0.1." + randomFrom("123456789", 2)),
					"networkInterfaceId": str("eni-" + env.Random(17)),
				}
			},
		},
		"aws:efs/backupPolicy:BackupPolicy":         {force: only("fileSystemId")},
		"aws:efs/fileSystemPolicy:FileSystemPolicy": {force: only("fileSystemId")},
		"aws:s3/bucketV2:BucketV2":                  s3Bucket(),
		"aws:s3/bucket:Bucket":                      s3Bucket(),
		// The bucket's settings are resources of their own, bound to it for life.
		"aws:s3/bucketPolicy:BucketPolicy":                       {force: only("bucket")},
		"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": {force: only("bucket")},
		"aws:s3/bucketOwnershipControls:BucketOwnershipControls": {force: only("bucket")},
		"aws:s3/bucketVersioningV2:BucketVersioningV2":           {force: only("bucket", "expectedBucketOwner")},
		"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": {
			force: only("bucket", "expectedBucketOwner"),
		},
		"aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2": {
			force: only("bucket", "expectedBucketOwner"),
		},
		// AWS Backup (terraform-provider-aws internal/service/backup): vault.go's
		// schema makes name and kms_key_arn ForceNew and the id the name (tags are
		// all Update changes); plan.go makes name ForceNew and updates the rules in
		// place (UpdateBackupPlan), the id being the plan id; selection.go has no
		// Update, every argument ForceNew.
		"aws:backup/vault:Vault": {
			force: only("name", "kmsKeyArn"), autoName: "name", idFrom: "name", arn: arnOf("backup", "backup-vault:", "name"),
			extra: func(Env, Resource) resource.PropertyMap {
				return resource.PropertyMap{"recoveryPoints": num(0)}
			},
		},
		"aws:backup/plan:Plan": {
			force: only("name"), autoName: "name", arn: arnOf("backup", "backup-plan:", "id"),
			extra: func(env Env, _ Resource) resource.PropertyMap {
				return resource.PropertyMap{"version": str(env.Random(32))}
			},
		},
		"aws:backup/selection:Selection": {force: allBut(), autoName: "name"},
		// Observability.
		"aws:cloudwatch/logGroup:LogGroup": {
			force: only("name", "namePrefix", "logGroupClass"), autoName: "name", idFrom: "name",
			arn: arnOf("logs", "log-group:", "name"),
		},
		"aws:cloudwatch/metricAlarm:MetricAlarm":         {force: only("name"), autoName: "name", idFrom: "name", arn: arnOf("cloudwatch", "alarm:", "name")},
		"aws:cloudwatch/logMetricFilter:LogMetricFilter": {force: only("name", "logGroupName"), autoName: "name", idFrom: "name"},
		"aws:route53/record:Record": {
			force: only("name", "type", "zoneId", "setIdentifier"),
			extra: func(env Env, r Resource) resource.PropertyMap {
				return resource.PropertyMap{"fqdn": str(r.Str("name"))}
			},
		},
		"aws:cloudwatch/dashboard:Dashboard": {
			force: only("dashboardName"), idFrom: "dashboardName",
			arn: globalARN("cloudwatch", "dashboard/", "dashboardName"),
		},
		"aws:sns/topicSubscription:TopicSubscription": {
			force: only("topic", "protocol", "endpoint", "endpointAutoConfirms", "confirmationTimeoutInMinutes"), idIsARN: true,
			arn: func(env Env, r Resource) string { return r.Str("topic") + ":" + env.Random(36) },
		},
		"aws:sns/topic:Topic": {force: only("name", "namePrefix", "fifoTopic"), autoName: "name", idIsARN: true, arn: arnOf("sns", "", "name")},
	}
	pkg := &Package{
		Name:    "aws",
		Version: "6.83.4",
		Kinds:   make(map[string]*Kind, len(kinds)),
		// Most AWS resources keep their name for life; other arguments are usually
		// updatable. The fake reports which types fell back to this.
		Default: awsKind{force: only("name", "namePrefix", "bucket"), arn: arnOf("fake", "resource/", "")}.kind(),
		Invokes: awsInvokes(),
	}
	for token, k := range kinds {
		pkg.Kinds[token] = k.kind()
	}
	return pkg
}

// s3Bucket covers both BucketV2 and the legacy Bucket, which share their rules.
// Bucket sub-resources (versioning, encryption, public access block, policy) are
// keyed by "bucket", which the package default treats as ForceNew.
func s3Bucket() awsKind {
	return awsKind{
		force: only("bucket", "bucketPrefix", "objectLockEnabled"), autoName: "bucket", idFrom: "bucket",
		arn: func(env Env, r Resource) string { return "arn:aws:s3:::" + r.StrOr("bucket", r.Name()) },
		extra: func(env Env, r Resource) resource.PropertyMap {
			b := r.StrOr("bucket", r.Name())
			return resource.PropertyMap{
				"bucketDomainName":         str(b + ".s3.amazonaws.com"),
				"bucketRegionalDomainName": str(b + ".s3." + env.Region + ".amazonaws.com"),
				"hostedZoneId":             str("Z3AQBSTGFYJSTF"),
				"region":                   str(env.Region),
			}
		},
	}
}

// launchTemplateNewVersion is a launch template's update: a change of its
// launch data (every argument but name, name_prefix, description, the version
// settings and tags) creates a version and makes it the default with
// update_default_version (terraform-provider-aws
// internal/service/ec2/ec2_launch_template.go, resourceLaunchTemplateUpdate:
// d.HasChanges(updateKeys...) then CreateLaunchTemplateVersion and
// ModifyLaunchTemplate), and the plan shows latest_version, and default_version,
// unknown until then (its CustomizeDiff, customdiff.ComputedIf).
func launchTemplateNewVersion(olds, oldInputs, news resource.PropertyMap, preview bool) resource.PropertyMap {
	versioned := false
	for _, k := range oldInputs.Diff(news).ChangedKeys() {
		switch k {
		case "name", "namePrefix", "description", "defaultVersion", "updateDefaultVersion", "tags", "tagsAll", "__defaults":
		default:
			versioned = true
		}
	}
	if !versioned {
		return nil
	}
	next := num(olds["latestVersion"].NumberValue() + 1)
	if preview {
		next = resource.MakeComputed(resource.NewStringProperty(""))
	}
	out := resource.PropertyMap{"latestVersion": next}
	if v := news["updateDefaultVersion"]; v.IsBool() && v.BoolValue() {
		out["defaultVersion"] = next
	}
	return out
}
