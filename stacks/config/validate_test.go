package config_test

import (
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/stacks/config"
)

// Every invalid stack fails with one message per problem that names the key, the
// value and what is allowed. want lists each expected problem (a substring of it).
func TestInvalidConfigIsReported(t *testing.T) {
	awsWith := func(awsObject string, kv ...string) map[string]string {
		return with(awsStack(), append([]string{"aws", awsObject}, kv...)...)
	}
	cert := `"certificateArn": "` + testCertificate + `"`
	cases := []struct {
		name  string
		stack map[string]string
		want  []string
	}{
		// target and site
		{"target missing", map[string]string{}, []string{
			"moodle:target: not set; allowed: docker, aws"}},
		{"target unknown", map[string]string{"target": "k8s"}, []string{
			`moodle:target = "k8s": allowed: docker, aws`}},
		{"site URL not http", with(dockerStack(), "siteUrl", "ftp://moodle.example.edu"), []string{
			`moodle:siteUrl = "ftp://moodle.example.edu": not an absolute http(s) URL; allowed: an absolute http:// or https:// URL without path, query or trailing slash`}},
		{"site URL relative", with(dockerStack(), "siteUrl", "moodle.example.edu"), []string{
			`moodle:siteUrl = "moodle.example.edu": not an absolute http(s) URL`}},
		{"site URL trailing slash", with(dockerStack(), "siteUrl", "http://localhost:8080/"), []string{
			`moodle:siteUrl = "http://localhost:8080/": ends with a slash; allowed:`}},
		{"site URL with a path", with(dockerStack(), "siteUrl", "https://example.edu/moodle"), []string{
			`moodle:siteUrl = "https://example.edu/moodle": has a path (the site is served from the root)`}},
		{"site URL with a query", with(dockerStack(), "siteUrl", "https://example.edu?lang=en"), []string{
			`moodle:siteUrl = "https://example.edu?lang=en": has a query or fragment`}},
		{"site URL on another local port", with(dockerStack(), "siteUrl", "http://localhost:9090"), []string{
			`moodle:siteUrl = "http://localhost:9090": points at port 9090 of this host, but the load balancer publishes docker.httpPort 8080; allowed: http://localhost:8080`}},
		{"aws site URL without https", awsWith(`{`+cert+`}`, "siteUrl", "http://moodle.example.edu"), []string{
			`moodle:siteUrl = "http://moodle.example.edu": must be https when aws.certificateArn is set`}},
		{"aws https without certificate", awsWith(`{"allowPlainHttp": true}`), []string{
			`moodle:siteUrl = "https://moodle.example.edu": https needs aws.certificateArn; allowed without a certificate: http://`}},
		{"aws site URL missing", with(awsStack(), "siteUrl", ""), []string{
			"moodle:siteUrl: not set; allowed: an absolute http:// or https:// URL"}},

		// moodle
		{"moodle before the oldest release deployed", with(dockerStack(), "moodle", `{"version": "4.4"}`), []string{
			`moodle:moodle.version = "4.4": allowed: a release of Moodle ` + topology.ReleaseVersions() +
				`, as X.Y or X.Y.Z (e.g. ` + topology.DefaultRelease + ` or ` + topology.DefaultRelease + `.2)`}},
		{"moodle 5.0, a release line not deployed", with(dockerStack(), "moodle", `{"version": "5.0.2"}`), []string{
			`moodle:moodle.version = "5.0.2": allowed: a release of Moodle ` + topology.ReleaseVersions()}},
		{"moodle 5.3 on PostgreSQL 16", with(with(dockerStack(), "moodle", `{"version": "5.3"}`), "database", `{"version": "16"}`), []string{
			`moodle:database.version = "16": Moodle 5.3 (branch 503) needs PostgreSQL 17 or later (its admin/environment.xml); allowed: 17`}},
		{"moodle 5.1 on PostgreSQL 14", with(with(dockerStack(), "moodle", `{"version": "5.1.3"}`), "database", `{"version": "14"}`), []string{
			`moodle:database.version = "14": Moodle 5.1 (branch 501) needs PostgreSQL 15 or later (its admin/environment.xml); allowed: 15, 16, 17`}},
		{"moodle 5.3 on a PHP 8.2 base", with(dockerStack(), "moodle", `{"version": "5.3", "build": {"args": {"PHP_IMAGE": "php:8.2-fpm-bookworm"}}}`), []string{
			`moodle:moodle.build.args.PHP_IMAGE = "php:8.2-fpm-bookworm": runs PHP 8.2; Moodle 5.3 (branch 503) needs PHP 8.3 or later (its admin/environment.xml)`}},
		{"moodle 4.5 on PHP 8.4, which it refuses", with(with(dockerStack(), "moodle", `{"version": "4.5", "build": {"args": {"PHP_IMAGE": "registry.example.edu/php:8.4.1-fpm@sha256:`+strings.Repeat("a", 64)+`"}}}`), "database", `{"version": "15"}`), []string{
			`runs PHP 8.4; Moodle 4.5 (branch 405) needs PHP 8.1 to 8.3`}},
		{"moodle version malformed", with(dockerStack(), "moodle", `{"version": "5.1-beta"}`), []string{
			`moodle:moodle.version = "5.1-beta": allowed: a release of Moodle 4.5, 5.1, 5.2, 5.3`}},
		{"plugin without a checksum", with(dockerStack(), "moodle", `{"plugins": [{"component": "theme_x", "version": "2025010100", "source": "https://example.edu/x.zip"}]}`), []string{
			"moodle:moodle.plugins[0]: has no checksum; allowed: sha256 (sha256sum of the archive) or contentSha256"}},
		{"plugin with both checksums", with(dockerStack(), "moodle", `{"plugins": [{"component": "theme_x", "version": "2025010100", "source": "https://example.edu/x.zip", "sha256": "`+strings.Repeat("ab", 32)+`", "contentSha256": "`+strings.Repeat("ab", 32)+`"}]}`), []string{
			`moodle:moodle.plugins[0].sha256 = "` + strings.Repeat("ab", 32) + `": set either sha256 (the archive file's) or contentSha256 (its files'), not both`}},
		{"plugin checksum not hex", with(dockerStack(), "moodle", `{"plugins": [{"component": "theme_x", "version": "2025010100", "source": "https://example.edu/x.zip", "sha256": "ABC"}]}`), []string{
			`moodle:moodle.plugins[0].sha256 = "ABC": allowed: 64 lower-case hex digits, as sha256sum prints them`}},
		{"plugin component not frankenstyle", with(dockerStack(), "moodle", `{"plugins": [{"component": "BoostUnion", "version": "2025010100", "source": "https://example.edu/x.zip", "sha256": "`+strings.Repeat("ab", 32)+`"}]}`), []string{
			`moodle:moodle.plugins[0].component = "BoostUnion": allowed: a Moodle component name type_name, e.g. tool_objectfs or theme_boost_union`}},
		{"plugin version not a plugin version", with(dockerStack(), "moodle", `{"plugins": [{"component": "theme_x", "version": "v4.5", "source": "https://example.edu/x.zip", "sha256": "`+strings.Repeat("ab", 32)+`"}]}`), []string{
			`moodle:moodle.plugins[0].version = "v4.5": allowed: the release's $plugin->version from its version.php, e.g. "2024120600"`}},
		{"plugin fetched over plain http", with(dockerStack(), "moodle", `{"plugins": [{"component": "theme_x", "version": "2025010100", "source": "http://example.edu/x.zip", "sha256": "`+strings.Repeat("ab", 32)+`"}]}`), []string{
			`moodle:moodle.plugins[0].source = "http://example.edu/x.zip": allowed: the https URL of the plugin's zip or tar.gz archive, without spaces or commas`}},
		{"plugin listed twice", with(dockerStack(), "moodle", `{"plugins": [`+
			`{"component": "theme_x", "version": "2025010100", "source": "https://example.edu/x.zip", "sha256": "`+strings.Repeat("ab", 32)+`"},`+
			`{"component": "theme_x", "version": "2025020100", "source": "https://example.edu/y.zip", "sha256": "`+strings.Repeat("cd", 32)+`"}]}`), []string{
			`moodle:moodle.plugins[1].component = "theme_x": listed twice (also moodle.plugins[0]); allowed: each component once`}},
		{"plugins with a host folder", with(dockerStack(), "moodle", `{"codeSource": "hostPath", "hostPath": "/srv/moodle", "plugins": [{"component": "theme_x", "version": "2025010100", "source": "https://example.edu/x.zip", "sha256": "`+strings.Repeat("ab", 32)+`"}]}`), []string{
			"moodle:moodle.plugins: not read with moodle.codeSource hostPath: put the plugins into the host folder /srv/moodle instead"}},
		{"s3 storage with an image that declares no plugins", with(awsStack(), "storage", `{"kind": "s3"}`), []string{
			"moodle:moodle.plugins: storage.kind s3 needs tool_objectfs 2024120600 in the app image, and moodle.plugins (what the image was built with) does not list it",
			"moodle:moodle.plugins: storage.kind s3 needs local_aws 2024050800 in the app image"}},
		{"s3 storage with an unproven objectfs release", with(awsStack(), "storage", `{"kind": "s3"}`, "moodle", `{"plugins": [`+
			`{"component": "local_aws", "version": "2024050800", "source": "https://example.edu/aws.zip", "sha256": "`+strings.Repeat("cd", 32)+`"},`+
			`{"component": "tool_objectfs", "version": "2025060900", "source": "https://example.edu/objectfs.zip", "sha256": "`+strings.Repeat("ab", 32)+`"}]}`), []string{
			`moodle:moodle.plugins[1].version = "2025060900": storage.kind s3 needs tool_objectfs 2024120600, the release proven with Moodle 5.1; allowed: 2024120600`}},
		{"code source unknown", with(dockerStack(), "moodle", `{"codeSource": "git"}`), []string{
			`moodle:moodle.codeSource = "git": allowed: build, image, hostPath`}},
		{"host path on aws", with(awsStack(), "moodle", `{"codeSource": "hostPath", "hostPath": "/srv/moodle"}`), []string{
			`moodle:moodle.codeSource = "hostPath": allowed: image, build`}},
		{"build on aws without the RDS bundle's checksum", with(awsStack(), "moodle", `{"codeSource": "build"}`), []string{
			`moodle:moodle.build.args.DATABASE_CA_SHA256 = "": the image for aws must hold the RDS CA bundle`}},
		{"build on aws with a prebuilt image named", with(with(awsStack(), "moodle", `{"codeSource": "build", "build": {"args": {"DATABASE_CA_SHA256": "`+strings.Repeat("ab", 32)+`"}}}`),
			"images", `{"app": "registry.example/moodle:5.3"}`), []string{
			`moodle:images.app = "registry.example/moodle:5.3": names a prebuilt image, read with moodle.codeSource image`}},
		{"host path missing", with(dockerStack(), "moodle", `{"codeSource": "hostPath"}`), []string{
			"moodle:moodle.hostPath: not set; codeSource hostPath needs the absolute path of the Moodle folder on the Docker host"}},
		{"host path relative", with(dockerStack(), "moodle", `{"codeSource": "hostPath", "hostPath": "./html"}`), []string{
			`moodle:moodle.hostPath = "./html": must be an absolute path on the Docker host`}},
		{"host path without hostPath source", with(dockerStack(), "moodle", `{"hostPath": "/srv/moodle"}`), []string{
			`moodle:moodle.hostPath = "/srv/moodle": only read with moodle.codeSource hostPath (codeSource is "build")`}},
		{"build context empty", with(dockerStack(), "moodle", `{"build": {"context": " "}}`), []string{
			`moodle:moodle.build.context = " ": allowed: the build context folder, relative to the project folder or absolute`}},
		{"dockerfile outside the context", with(dockerStack(), "moodle", `{"build": {"dockerfile": "../Dockerfile"}}`), []string{
			`moodle:moodle.build.dockerfile = "../Dockerfile": allowed: a path inside moodle.build.context`}},
		{"dockerfile absolute", with(dockerStack(), "moodle", `{"build": {"dockerfile": "/srv/Dockerfile"}}`), []string{
			`moodle:moodle.build.dockerfile = "/srv/Dockerfile": allowed: a path inside moodle.build.context`}},
		{"build argument the program sets", with(dockerStack(), "moodle", `{"build": {"args": {"MOODLE_VERSION": "4.5"}}}`), []string{
			`moodle:moodle.build.args.MOODLE_VERSION = "4.5": set by the program from the stack config`}},
		{"build argument badly named", with(dockerStack(), "moodle", `{"build": {"args": {"PHP-IMAGE": "php:8.3"}}}`), []string{
			`moodle:moodle.build.args.PHP-IMAGE = "php:8.3": not a build argument name`}},
		{"build argument not a string", with(dockerStack(), "moodle", `{"build": {"args": {"MOODLE_SHA256": 12}}}`), []string{
			`moodle:moodle.build.args.MOODLE_SHA256 = 12: must be a string`}},
		{"build settings without a build", with(dockerStack(), "moodle", `{"codeSource": "image", "build": {"context": "site"}}`), []string{
			`moodle:moodle.build: only read with moodle.codeSource build (codeSource is "image")`}},
		{"build settings on aws", with(awsStack(), "moodle", `{"build": {"context": "site"}}`), []string{
			`moodle:moodle.build: only read with moodle.codeSource build (codeSource is "image")`}},
		{"admin email malformed", with(dockerStack(), "moodle", `{"adminEmail": "admin"}`), []string{
			`moodle:moodle.adminEmail = "admin": not an e-mail address`}},

		// app tier and php-fpm
		{"no app node", with(dockerStack(), "app", `{"replicas": 0}`), []string{
			"moodle:app.replicas = 0: allowed: 1..50"}},
		{"too many app nodes", with(dockerStack(), "app", `{"replicas": 51}`), []string{
			"moodle:app.replicas = 51: allowed: 1..50"}},
		{"autoscaling floor above replicas", with(awsStack(), "app", `{"minReplicas": 4}`), []string{
			"moodle:app.minReplicas = 4: must not exceed app.replicas (3)"}},
		{"autoscaling ceiling below replicas", with(awsStack(), "app", `{"maxReplicas": 2}`), []string{
			"moodle:app.maxReplicas = 2: must be at least app.replicas (3)"}},
		{"docker connection ceiling below replicas", with(dockerStack(), "app", `{"replicas": 12}`), []string{
			"moodle:app.maxReplicas = 10: must be at least app.replicas (12)"}},
		{"docker autoscaling floor", with(dockerStack(), "app", `{"minReplicas": 2}`), []string{
			"moodle:app.minReplicas = 2: only read on target aws; remove it from this docker stack (the Docker host runs app.replicas nodes, without autoscaling)"}},
		{"memory too small for one worker", with(dockerStack(), "app", `{"memoryMb": 256, "reservedMemoryMb": 128}`), []string{
			"moodle:app.memoryMb = 256: too small for one php-fpm worker; allowed: at least 288 (phpFpm.reserveMemoryMb 192 + phpFpm.workerMemoryMb 96)"}},
		{"cpu reservation above limit", with(dockerStack(), "app", `{"reservedCpus": 5}`), []string{
			"moodle:app.reservedCpus = 5: allowed: 0..4 (the limit app.cpus)"}},
		{"memory reservation above limit", with(dockerStack(), "database", `{"reservedMemoryMb": 5000}`), []string{
			"moodle:database.reservedMemoryMb = 5000: allowed: 0..4096 (the limit database.memoryMb)"}},
		{"cron reservation above limit", with(dockerStack(), "cron", `{"reservedCpus": 2}`), []string{
			"moodle:cron.reservedCpus = 2: allowed: 0..1 (the limit cron.cpus)"}},
		{"load balancer reservation above limit", with(dockerStack(), "web", `{"reservedMemoryMb": 512}`), []string{
			"moodle:web.reservedMemoryMb = 512: allowed: 0..256 (the limit web.memoryMb)"}},
		{"zero cpus", with(dockerStack(), "cache", `{"cpus": 0, "reservedCpus": 0}`), []string{
			"moodle:cache.cpus = 0: allowed: above 0 and at most 64"}},
		{"cpus above the bound", with(dockerStack(), "app", `{"cpus": 100}`), []string{
			"moodle:app.cpus = 100: allowed: above 0 and at most 64"}},
		{"php memory_limit below Moodle's minimum", with(dockerStack(), "app", `{"php": {"memoryLimitMb": 128}}`), []string{
			"moodle:app.php.memoryLimitMb = 128: allowed: at least 256 (Moodle's requirement)"}},
		{"php memory_limit above the node", with(dockerStack(), "app", `{"memoryMb": 1024, "reservedMemoryMb": 512, "php": {"memoryLimitMb": 1000}}`), []string{
			"moodle:app.php.memoryLimitMb = 1000: one request could exhaust the node; allowed: at most app.memoryMb - phpFpm.reserveMemoryMb (832)"}},
		{"max_input_vars below Moodle's minimum", with(dockerStack(), "app", `{"php": {"maxInputVars": 1000}}`), []string{
			"moodle:app.php.maxInputVars = 1000: allowed: at least 5000 (Moodle refuses to install below)"}},
		{"php outlives nginx", with(dockerStack(), "app", `{"php": {"maxExecutionTime": 600}}`), []string{
			"moodle:app.php.maxExecutionTime = 600: nginx gives up after web.fastcgiReadTimeout (300 s) while PHP still runs; allowed: at most 300"}},
		{"negative max requests", with(dockerStack(), "app", `{"phpFpm": {"maxRequests": -1}}`), []string{
			"moodle:app.phpFpm.maxRequests = -1: allowed: 0 (never recycle workers) or more"}},
		{"reserve without room for OPcache", with(dockerStack(), "app", `{"phpFpm": {"reserveMemoryMb": 100}}`), []string{
			"moodle:app.phpFpm.reserveMemoryMb = 100: must hold php.opcacheMemoryMb (128) plus 64 MB for the fpm master and the OS; allowed: at least 192"}},
		{"max children that do not fit", with(dockerStack(), "app", `{"phpFpm": {"maxChildren": 100}}`), []string{
			"moodle:app.phpFpm.maxChildren = 100: 100 workers × 96 MB + 192 MB reserve exceed app.memoryMb 8192; allowed: 1..83"}},
		{"min spare above max spare", with(dockerStack(), "app", `{"phpFpm": {"minSpareServers": 30, "maxSpareServers": 10}}`), []string{
			"moodle:app.phpFpm.minSpareServers = 30: pm.min_spare_servers (30) must not exceed pm.max_spare_servers (10)"}},
		{"max spare above max children", with(dockerStack(), "app", `{"phpFpm": {"maxChildren": 10, "maxSpareServers": 20}}`), []string{
			"moodle:app.phpFpm.maxSpareServers = 20: allowed: at most pm.max_children (10)"}},
		{"start servers outside the spare range", with(dockerStack(), "app", `{"phpFpm": {"startServers": 50}}`), []string{
			"moodle:app.phpFpm.startServers = 50: allowed: 8..20 (between pm.min_spare_servers and pm.max_spare_servers)"}},
		{"negative override", with(dockerStack(), "app", `{"phpFpm": {"maxChildren": -5}}`), []string{
			"moodle:app.phpFpm.maxChildren = -5: allowed: 0 (derived from app.memoryMb) or more"}},
		{"fargate memory not offered for the cpu", with(awsStack(), "app", `{"cpus": 2, "memoryMb": 3072, "reservedMemoryMb": 3072}`), []string{
			"moodle:app.memoryMb = 3072: not a Fargate size for 2 vCPU (app.cpus); allowed: 4096..16384 in steps of 1024"}},
		{"fargate cpu not offered", with(awsStack(), "app", `{"cpus": 3, "reservedCpus": 3}`), []string{
			"moodle:app.cpus = 3: not a Fargate task size; allowed: 0.25, 0.5, 1, 2, 4, 8, 16"}},
		{"fargate cron size", with(awsStack(), "cron", `{"cpus": 0.25, "memoryMb": 1536, "reservedCpus": 0.25, "reservedMemoryMb": 1536}`), []string{
			"moodle:cron.memoryMb = 1536: not a Fargate size for 0.25 vCPU (cron.cpus); allowed: 512..2048 in steps of 512"}},
		{"launch type unknown", with(awsStack(), "app", `{"launchType": "lambda"}`), []string{
			`moodle:app.launchType = "lambda": allowed: fargate, ec2`}},
		{"too many database connections", with(awsStack(), "app", `{"maxReplicas": 50, "cpus": 16, "memoryMb": 122880, "reservedCpus": 16, "reservedMemoryMb": 122880}`), []string{
			"moodle:app: 100 nodes at the peak × 1277 php-fpm children need 127716 database connections; allowed: at most 5000"}},

		{"unknown cpu architecture", with(awsStack(), "app", `{"cpuArchitecture": "arm"}`), []string{
			`moodle:app.cpuArchitecture = "arm": allowed: x86_64, arm64`}},
		{"spot share above all", with(awsStack(), "app", `{"spotPercent": 120}`), []string{
			"moodle:app.spotPercent = 120: allowed: 0..100"}},
		{"fargate spot on ec2 instances", with(awsStack(), "app", `{"launchType": "ec2", "spotPercent": 50}`), []string{
			"moodle:app.spotPercent = 50: Fargate Spot runs Fargate tasks only; allowed with app.launchType ec2: 0"}},
		{"fargate spot for graviton tasks", with(awsStack(), "app", `{"cpuArchitecture": "arm64", "spotPercent": 50}`), []string{
			"moodle:app.spotPercent = 50: Fargate Spot runs x86_64 tasks only; allowed with app.cpuArchitecture arm64: 0"}},
		{"graviton tasks on an x86 instance type", with(awsStack(), "app", `{"launchType": "ec2", "cpuArchitecture": "arm64"}`), []string{
			`moodle:aws.ec2InstanceType = "m6i.xlarge": does not run app.cpuArchitecture arm64; allowed: a Graviton type (m7g.xlarge) for arm64, any other (m6i.xlarge) for x86_64`}},
		{"instance class below the connection budget", with(awsStack(), "database", `{"instanceClass": "db.t4g.micro"}`), []string{
			`moodle:database.instanceClass = "db.t4g.micro": allows about 101 connections, but 20 app nodes at the peak (app.maxReplicas during a deployment) × 40 php-fpm children need 816; allowed: a larger class, fewer nodes or children, or database.pooler rdsproxy`}},
		{"instance class of unknown memory", with(awsStack(), "database", `{"instanceClass": "db.q9x.large"}`), []string{
			`moodle:database.instanceClass = "db.q9x.large": max_connections cannot be known for this class; allowed: the db.m*, db.r*, db.x*, db.z* and burstable db.t* classes`}},
		{"MUC without failover", with(awsStack(), "cache", `{"muc": {"replicas": 1}}`), []string{
			"moodle:cache.muc.replicas = 1: automatic failover needs a primary and a replica; allowed: 2..6 nodes"}},
		{"MUC node type", with(awsStack(), "cache", `{"muc": {"nodeType": "r6g.large"}}`), []string{
			`moodle:cache.muc.nodeType = "r6g.large": allowed: an ElastiCache node type such as cache.r6g.large`}},
		{"MUC group on docker", with(dockerStack(), "cache", `{"muc": {"nodeType": "cache.r6g.large"}}`), []string{
			`moodle:cache.muc.nodeType = "cache.r6g.large": only read on target aws; remove it from this docker stack (size the MUC Redis container with cache.muc.cpus and cache.muc.memoryMb)`}},
		{"MUC container limits on aws", with(awsStack(), "cache", `{"muc": {"memoryMb": 2048}}`), []string{
			`moodle:cache.muc.memoryMb = 2048: only read on target docker`}},
		{"endpoints in a VPC the stack does not own", with(awsStack(), "aws", `{"certificateArn": "`+testCertificate+`", "vpcEndpoints": true, "vpcId": "vpc-0abc123def4567890", "publicSubnetIds": ["subnet-0a100000000000000", "subnet-0a200000000000000", "subnet-0a300000000000000"], "privateSubnetIds": ["subnet-0b100000000000000", "subnet-0b200000000000000", "subnet-0b300000000000000"], "dataSubnetIds": ["subnet-0c100000000000000", "subnet-0c200000000000000", "subnet-0c300000000000000"]}`), []string{
			"moodle:aws.vpcEndpoints = true: interface endpoints go into a VPC the stack creates; allowed with aws.vpcId: false (add them to your VPC yourself)"}},
		{"cloudfront certificate outside us-east-1", with(awsStack(), "aws", `{"certificateArn": "`+testCertificate+`", "cloudFront": {"enabled": true, "certificateArn": "`+testCertificate+`"}}`), []string{
			`moodle:aws.cloudFront.certificateArn = "` + testCertificate + `": allowed: an ACM certificate ARN in us-east-1 (CloudFront takes no other), arn:aws:acm:us-east-1:ACCOUNT:certificate/ID`}},
		{"cloudfront in front of a plain-http ALB", with(awsStack(), "siteUrl", "http://moodle.example.edu", "aws", `{"allowPlainHttp": true, "cloudFront": {"enabled": true, "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/11111111-1111-1111-1111-111111111111"}}`), []string{
			"moodle:aws.cloudFront.enabled = true: CloudFront reaches the ALB over HTTPS; allowed with aws.certificateArn set"}},
		{"cloudfront waits longer than it can", with(awsStack(), "aws", `{"certificateArn": "`+testCertificate+`", "cloudFront": {"originReadTimeout": 300}}`), []string{
			"moodle:aws.cloudFront.originReadTimeout = 300: allowed: 1..180"}},
		{"maintenance page longer than a fixed response holds", with(awsStack(), "aws", `{"certificateArn": "`+testCertificate+`", "maintenance": {"enabled": true, "message": "`+strings.Repeat("x", 1025)+`"}}`), []string{
			"moodle:aws.maintenance.message = \"1025 bytes\": the load balancer's fixed response holds at most 1024 bytes"}},
		{"maintenance as a word", with(awsStack(), "aws", `{"certificateArn": "`+testCertificate+`", "maintenance": {"enabled": "on"}}`), []string{
			`moodle:aws.maintenance.enabled = "on": must be true or false`}},
		{"maintenance on docker", with(dockerStack(), "aws", `{"maintenance": {"enabled": true}}`), []string{
			"moodle:aws: only read when moodle:target is aws; this stack's target is docker: remove it"}},
		{"hosted zone id", with(awsStack(), "aws", `{"certificateArn": "`+testCertificate+`", "hostedZoneId": "example.edu"}`), []string{
			`moodle:aws.hostedZoneId = "example.edu": allowed: a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ`}},

		// database
		{"unsupported postgres", with(dockerStack(), "database", `{"version": "13"}`), []string{
			`moodle:database.version = "13": allowed: 14, 15, 16, 17`}},
		{"rds proxy on docker", with(dockerStack(), "database", `{"pooler": "rdsproxy"}`), []string{
			`moodle:database.pooler = "rdsproxy": allowed: none, pgbouncer`}},
		{"pgbouncer on aws", with(awsStack(), "database", `{"pooler": "pgbouncer"}`), []string{
			`moodle:database.pooler = "pgbouncer": allowed: none, rdsproxy`}},
		{"statement pooling", with(dockerStack(), "database", `{"pooler": "pgbouncer", "poolMode": "statement"}`), []string{
			`moodle:database.poolMode = "statement": allowed: session, transaction`}},
		{"pgbouncer without a pool", with(dockerStack(), "database", `{"pooler": "pgbouncer", "poolSize": 0}`), []string{
			"moodle:database.poolSize = 0: allowed: 1..1000"}},
		{"too many read replicas on docker", with(dockerStack(), "database", `{"readReplicas": 6}`), []string{
			"moodle:database.readReplicas = 6: allowed: 0..5"}},
		{"too many read replicas", with(awsStack(), "database", `{"readReplicas": 6}`), []string{
			"moodle:database.readReplicas = 6: allowed: 0..5"}},
		{"negative read replicas", with(awsStack(), "database", `{"readReplicas": -1}`), []string{
			"moodle:database.readReplicas = -1: allowed: 0..5"}},
		{"production stack without a read replica", with(awsStack(), "database", `{"readReplicas": 0}`), []string{
			"moodle:database.readReplicas = 0: a protected (production) aws stack needs at least one read replica; allowed: 1..5, or aws.protect false for a test stack"}},
		{"short backups", with(awsStack(), "database", `{"backupRetentionDays": 3}`), []string{
			"moodle:database.backupRetentionDays = 3: allowed: 7..35"}},
		{"restore from something that is not a snapshot", with(awsStack(), "database", `{"restoreFromSnapshot": "my snapshot"}`), []string{
			`moodle:database.restoreFromSnapshot = "my snapshot": allowed: an RDS DB snapshot identifier`}},
		{"restore from a snapshot on docker", with(dockerStack(), "database", `{"restoreFromSnapshot": "moodle-20261207"}`), []string{
			`moodle:database.restoreFromSnapshot = "moodle-20261207": only read on target aws; remove it from this docker stack`}},
		{"retiring the original without a restore", with(awsStack(), "database", `{"retireOriginal": true}`), []string{
			"moodle:database.retireOriginal = true: retires the instances a restore replaced; allowed without database.restoreFromSnapshot: false"}},
		{"retiring the original file system without a restore", with(awsStack(), "storage", `{"kind": "efs", "retireOriginal": true}`), []string{
			"moodle:storage.retireOriginal = true: retires the file system a restore replaced; allowed without storage.restoreFileSystemId: false"}},
		{"retiring a file system on docker", with(dockerStack(), "storage", `{"kind": "volume", "retireOriginal": true}`), []string{
			`moodle:storage.retireOriginal = true: only read on target aws; remove it from this docker stack`}},
		{"restore onto a file system named by its ARN", with(awsStack(), "storage", `{"kind": "efs", "restoreFileSystemId": "arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-0123456789abcdef0"}`), []string{
			`moodle:storage.restoreFileSystemId = "arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-0123456789abcdef0": allowed: an EFS file system id, fs- and 8 to 40 lower-case hexadecimal digits`}},
		{"restore onto a file system on docker", with(dockerStack(), "storage", `{"kind": "volume", "restoreFileSystemId": "fs-0123456789abcdef0"}`), []string{
			`moodle:storage.restoreFileSystemId = "fs-0123456789abcdef0": only read on target aws; remove it from this docker stack`}},

		// backup
		{"backup schedule with five fields", with(awsStack(), "backup", `{"schedule": "cron(0 5 * * *)"}`), []string{
			`moodle:backup.schedule = "cron(0 5 * * *)": allowed: an AWS cron expression in UTC with six fields`}},
		{"backup schedule not cron", with(awsStack(), "backup", `{"schedule": "daily"}`), []string{
			`moodle:backup.schedule = "daily": allowed: an AWS cron expression`}},
		{"backup schedule with both day fields", with(awsStack(), "backup", `{"schedule": "cron(0 5 * * * *)"}`), []string{
			`moodle:backup.schedule = "cron(0 5 * * * *)": allowed:`}},
		{"backups more often than hourly", with(awsStack(), "backup", `{"schedule": "cron(0/15 * ? * * *)"}`), []string{
			`moodle:backup.schedule = "cron(0/15 * ? * * *)": allowed:`}},
		{"backups kept less than a week", with(awsStack(), "backup", `{"retentionDays": 3}`), []string{
			"moodle:backup.retentionDays = 3: allowed: 7..36500"}},
		{"backups kept longer than a century", with(awsStack(), "backup", `{"retentionDays": 40000}`), []string{
			"moodle:backup.retentionDays = 40000: allowed: 7..36500"}},
		{"backup plan on docker", with(dockerStack(), "backup", `{"enabled": true}`), []string{
			"moodle:backup: only read on target aws; remove it from this docker stack"}},
		{"backup key misspelt", with(awsStack(), "backup", `{"retention": 10}`), []string{
			"moodle:backup.retention: unknown key; allowed: enabled, retentionDays, schedule"}},
		{"no storage autoscaling headroom", with(awsStack(), "database", `{"storageGb": 500, "maxStorageGb": 500}`), []string{
			"moodle:database.maxStorageGb = 500: storage autoscaling needs a ceiling above database.storageGb; allowed: 501..65536"}},
		{"database name not an identifier", with(dockerStack(), "database", `{"name": "moodle-db"}`), []string{
			`moodle:database.name = "moodle-db": allowed: a PostgreSQL identifier`}},

		// cache
		{"sessions share the cache prefix", with(dockerStack(), "cache", `{"cachePrefix": "mdl_sess_"}`), []string{
			`moodle:cache.cachePrefix = "mdl_sess_": overlaps cache.sessionPrefix "mdl_sess_"; sessions and the MUC cache need disjoint key prefixes so that a cache purge never drops sessions`}},
		{"cache prefix covers the sessions", with(dockerStack(), "cache", `{"cachePrefix": "mdl_"}`), []string{
			`moodle:cache.cachePrefix = "mdl_": overlaps cache.sessionPrefix "mdl_sess_"`}},
		{"cache prefix with a space", with(dockerStack(), "cache", `{"cachePrefix": "muc cache"}`), []string{
			`moodle:cache.cachePrefix = "muc cache": allowed: 1-64 letters, digits and _ : . -`}},
		{"redis database out of range", with(dockerStack(), "cache", `{"sessionDb": 16}`), []string{
			"moodle:cache.sessionDb = 16: allowed: 0..15"}},
		{"redis without tls on aws", with(awsStack(), "cache", `{"tls": false}`), []string{
			"moodle:cache.tls = false: ElastiCache runs with in-transit encryption (CKV_AWS_30); allowed on aws: true"}},
		{"redis tls on docker", with(dockerStack(), "cache", `{"tls": true}`), []string{
			"moodle:cache.tls = true: the Redis container serves plain TCP on the internal network; allowed on docker: false"}},
		{"single redis node on aws", with(awsStack(), "cache", `{"replicas": 1}`), []string{
			"moodle:cache.replicas = 1: automatic failover needs a primary and a replica; allowed: 2..6 nodes"}},

		// storage and cron
		{"efs on docker", with(dockerStack(), "storage", `{"kind": "efs"}`), []string{
			`moodle:storage.kind = "efs": allowed: volume, nfs`}},
		{"volume on aws", with(awsStack(), "storage", `{"kind": "volume"}`), []string{
			`moodle:storage.kind = "volume": allowed: efs, s3`}},
		{"nfs without a server", with(dockerStack(), "storage", `{"kind": "nfs"}`), []string{
			"moodle:storage.nfs.address: not set; storage kind nfs needs the NFS server's host name or IP address"}},
		{"nfs address in the options", with(dockerStack(), "storage", `{"kind": "nfs", "nfs": {"address": "10.0.0.5", "options": "addr=10.0.0.5,rw"}}`), []string{
			`moodle:storage.nfs.options = "addr=10.0.0.5,rw": allowed: mount options without addr= (set storage.nfs.address), e.g. rw,nfsvers=4`}},
		{"cron faster than Moodle's minute", with(dockerStack(), "cron", `{"intervalSeconds": 30}`), []string{
			"moodle:cron.intervalSeconds = 30: allowed: 60..3600"}},
		{"a cron run limit from an earlier release is refused with the reason", with(dockerStack(), "cron", `{"runTimeoutSeconds": 3600}`), []string{
			"moodle:cron.runTimeoutSeconds = 3600: no longer a setting: cron.php is no longer stopped after a time limit, which ended long tasks (a backup, a restore) half done; " +
				"each run ends on its own after cron.keepAliveSeconds, and ad hoc tasks run on the cron.adhoc workers; remove the key"}},
		{"cron keep-alive beyond Moodle's 15 minutes", with(dockerStack(), "cron", `{"keepAliveSeconds": 901}`), []string{
			"moodle:cron.keepAliveSeconds = 901: allowed: 0..900"}},
		{"fewer ad hoc runner slots than workers", with(dockerStack(), "cron", `{"adhoc": {"workers": 3}}`), []string{
			"moodle:cron.adhoc.concurrencyLimit = 1: every worker needs a runner slot of its own (cron.adhoc.workers = 3); allowed: 3..20, where each slot above the workers lets cron.php run ad hoc tasks too"}},
		{"ad hoc keep-alive beyond Moodle's ad hoc runtime", with(dockerStack(), "cron", `{"adhoc": {"keepAliveSeconds": 3600}}`), []string{
			"moodle:cron.adhoc.keepAliveSeconds = 3600: allowed: 0..1800"}},
		{"too many ad hoc workers", with(dockerStack(), "cron", `{"adhoc": {"workers": 21, "concurrencyLimit": 21}}`), []string{
			"moodle:cron.adhoc.workers = 21: allowed: 0..20",
			"moodle:cron.adhoc.concurrencyLimit = 21: every worker needs a runner slot of its own (cron.adhoc.workers = 21); allowed: 21..20, where each slot above the workers lets cron.php run ad hoc tasks too"}},
		{"ad hoc worker smaller than one php process", with(dockerStack(), "cron", `{"adhoc": {"memoryMb": 200, "reservedMemoryMb": 100}}`), []string{
			"moodle:cron.adhoc.memoryMb = 200: cannot hold one PHP process at app.php.memoryLimitMb; allowed: at least 256"}},
		{"fargate ad hoc worker size", with(awsStack(), "cron", `{"adhoc": {"cpus": 0.25, "memoryMb": 1536, "reservedCpus": 0.25, "reservedMemoryMb": 1536}}`), []string{
			"moodle:cron.adhoc.memoryMb = 1536: not a Fargate size for 0.25 vCPU (cron.adhoc.cpus); allowed: 512..2048 in steps of 512"}},
		{"cron smaller than one php process", with(dockerStack(), "cron", `{"memoryMb": 200, "reservedMemoryMb": 100}`), []string{
			"moodle:cron.memoryMb = 200: cannot hold one PHP process at app.php.memoryLimitMb; allowed: at least 256"}},

		// images
		{"latest tag", with(dockerStack(), "images", `{"cache": "redis:latest"}`), []string{
			`moodle:images.cache = "redis:latest": is not pinned; allowed: a pinned reference such as redis:7.2.7-alpine or name@sha256:<digest> (CKV_DOCKER_7)`}},
		{"no tag behind a registry port", with(dockerStack(), "images", `{"app": "registry.example.edu:5000/moodle"}`), []string{
			`moodle:images.app = "registry.example.edu:5000/moodle": has no tag`}},
		{"postgres image of another major", with(dockerStack(), "images", `{"database": "postgres:15.10-bookworm"}`), []string{
			`moodle:images.database = "postgres:15.10-bookworm": runs another version than database.version "17"; allowed: a postgres:17 tag, or change database.version`}},

		// web
		{"upload limit zero", with(dockerStack(), "web", `{"clientMaxBodyMb": 0}`), []string{
			"moodle:web.clientMaxBodyMb = 0: allowed: 1..4096"}},
		{"read timeout too short", with(dockerStack(), "web", `{"fastcgiReadTimeout": 10}`), []string{
			"moodle:web.fastcgiReadTimeout = 10: allowed: 30..3600",
			// Both bounds are reported in one round.
			"moodle:app.php.maxExecutionTime = 300: nginx gives up after web.fastcgiReadTimeout (10 s)"}},
		{"privileged nginx port", with(dockerStack(), "web", `{"port": 80}`), []string{
			"moodle:web.port = 80: allowed: 1024..65535 (nginx runs as a non-root user and cannot bind lower ports)"}},
		{"status open to the world", with(dockerStack(), "web", `{"statusAllow": ["0.0.0.0/0"]}`), []string{
			`moodle:web.statusAllow[0] = "0.0.0.0/0": would show server status to everyone`}},
		{"status range malformed", with(dockerStack(), "web", `{"statusAllow": ["10.0.0.0"]}`), []string{
			`moodle:web.statusAllow[0] = "10.0.0.0": not a CIDR`}},

		// targets
		{"docker bind address not an IP", with(dockerStack(), "docker", `{"bindAddress": "localhost"}`), []string{
			`moodle:docker.bindAddress = "localhost": allowed: a host IP address`}},
		{"no certificate on aws", awsWith(`{}`), []string{
			"moodle:aws.certificateArn: not set; the HTTPS listener needs an ACM certificate ARN"}},
		{"certificate not from ACM", awsWith(`{"certificateArn": "arn:aws:iam::123456789012:server-certificate/moodle"}`), []string{
			`moodle:aws.certificateArn = "arn:aws:iam::123456789012:server-certificate/moodle": allowed: an ACM certificate ARN`}},
		{"one availability zone", awsWith(`{` + cert + `, "azCount": 1}`), []string{
			"moodle:aws.azCount = 1: allowed: 2 or 3"}},
		{"nat layout unknown", awsWith(`{` + cert + `, "natGateways": "none"}`), []string{
			`moodle:aws.natGateways = "none": allowed: perAz, single`}},
		{"existing vpc without subnets", awsWith(`{` + cert + `, "vpcId": "vpc-0123456789abcdef0", "publicSubnetIds": ["subnet-0000000000000000a", "subnet-0000000000000000b", "subnet-0000000000000000c"], "privateSubnetIds": ["subnet-0000000000000000a", "subnet-0000000000000000b", "subnet-0000000000000000c"]}`), []string{
			"moodle:aws.dataSubnetIds = []: an existing VPC needs one subnet per zone; allowed: at least aws.azCount (3) subnet ids"}},
		{"subnets without a vpc", awsWith(`{` + cert + `, "privateSubnetIds": ["subnet-0123456789abcdef0"]}`), []string{
			`moodle:aws.privateSubnetIds = ["subnet-0123456789abcdef0"]: subnet ids belong to an existing VPC; set aws.vpcId too`}},
		{"vpc cidr too small", awsWith(`{` + cert + `, "vpcCidr": "10.0.0.0/24"}`), []string{
			`moodle:aws.vpcCidr = "10.0.0.0/24": allowed: an IPv4 CIDR from /16 to /20`}},
		{"alarm email malformed", awsWith(`{` + cert + `, "alarmEmail": "ops-at-example"}`), []string{
			`moodle:aws.alarmEmail = "ops-at-example": not an e-mail address; allowed: name@example.edu`}},
		{"short log retention", awsWith(`{` + cert + `, "logRetentionDays": 7}`), []string{
			"moodle:aws.logRetentionDays = 7: allowed: a CloudWatch retention of 30 days or more"}},

		// mail
		{"aws without a relay", with(awsStack(), "mail", `{}`), []string{
			"moodle:mail.host: not set; an aws stack sends mail through a relay (Amazon SES: set mail.ses true, or name one: email-smtp.<region>.amazonaws.com, port 587, tls starttls); set mail.enabled false"}},
		{"ses with a relay of its own", with(awsStack(), "mail", `{"ses": true, "host": "smtp.example.edu"}`), []string{
			`moodle:mail.host = "smtp.example.edu": is set with mail.ses true, which makes the relay (email-smtp.<region>.amazonaws.com) and its SMTP credentials; remove it, or set mail.ses false`}},
		{"ses with a login of its own", with(awsStack(), "mail", `{"ses": true, "user": "AKIAIOSFODNN7EXAMPLE", "passwordSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ses-AbCdEf"}`), []string{
			`moodle:mail.user = "AKIAIOSFODNN7EXAMPLE": is set with mail.ses true`,
			`moodle:mail.passwordSecretArn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ses-AbCdEf": is set with mail.ses true`}},
		{"ses with a password of its own", with(awsStack(), "mail", `{"ses": true}`, "mailPassword", "pw"), []string{
			"moodle:mailPassword: is set with mail.ses true"}},
		{"ses without tls", with(awsStack(), "mail", `{"ses": true, "tls": "none"}`), []string{
			`moodle:mail.tls = "none": Amazon SES takes no plain SMTP; allowed with mail.ses: starttls, tls`}},
		{"ses on a port it does not listen on", with(awsStack(), "mail", `{"ses": true, "tls": "tls", "port": 587}`), []string{
			"moodle:mail.port = 587: Amazon SES does not listen there with tls tls; allowed: [465 2465]"}},
		{"ses with an AUTH mechanism it does not offer", with(awsStack(), "mail", `{"ses": true, "authType": "CRAM-MD5"}`), []string{
			`moodle:mail.authType = "CRAM-MD5": Amazon SES offers no CRAM-MD5; allowed with mail.ses: LOGIN, PLAIN`}},
		{"ses on docker", with(dockerStack(), "mail", `{"ses": true}`), []string{
			"moodle:mail.ses = true: only read on target aws; remove it from this docker stack (on docker mail.host names the relay, or the mail catcher runs)"}},
		{"mail host malformed", with(dockerStack(), "mail", `{"host": "smtp example.edu"}`), []string{
			`moodle:mail.host = "smtp example.edu": allowed: the relay's host name or IP address`}},
		{"mail port out of range", with(dockerStack(), "mail", `{"host": "smtp.example.edu", "port": 70000}`), []string{
			"moodle:mail.port = 70000: allowed: 1..65535"}},
		{"mail tls unknown", with(dockerStack(), "mail", `{"host": "smtp.example.edu", "tls": "ssl"}`), []string{
			`moodle:mail.tls = "ssl": allowed: none, starttls, tls`}},
		{"mail auth type unknown", with(dockerStack(), "mail", `{"host": "smtp.example.edu", "authType": "login"}`), []string{
			`moodle:mail.authType = "login": allowed: LOGIN, PLAIN, NTLM, CRAM-MD5`}},
		{"mail auth type XOAUTH2", with(dockerStack(), "mail", `{"host": "smtp.example.edu", "authType": "XOAUTH2"}`), []string{
			`moodle:mail.authType = "XOAUTH2": allowed: LOGIN, PLAIN, NTLM, CRAM-MD5 (XOAUTH2 needs an OAuth 2 issuer configured in Moodle's database`}},
		{"mail user without a password", with(dockerStack(), "mail", `{"host": "smtp.example.edu", "user": "moodle"}`), []string{
			`moodle:mailPassword: not set; mail.user "moodle" needs its password: ` + "`pulumi config set --secret moodle:mailPassword`"}},
		{"aws mail user without a password", with(awsStack(), "mail", `{"host": "smtp.example.edu", "user": "moodle"}`), []string{
			"needs its password: `pulumi config set --secret moodle:mailPassword` (or mail.passwordSecretArn)"}},
		{"mail password without a user", with(dockerStack(), "mail", `{"host": "smtp.example.edu"}`, "mailPassword", "pw"), []string{
			"moodle:mailPassword: is set, but mail.user is not; the relay would never be asked to authenticate"}},
		{"mail password in clear text", with(dockerStack(), "mail", `{"host": "smtp.example.edu", "user": "moodle", "tls": "none"}`, "mailPassword", "pw"), []string{
			`moodle:mail.tls = "none": would send mail.user's password in clear text; allowed with a login: starttls, tls`}},
		{"mail login with the catcher", with(dockerStack(), "mail", `{"user": "moodle"}`, "mailPassword", "pw"), []string{
			`moodle:mail.user = "moodle": the mail catcher takes no login; set mail.host`}},
		{"mail user with a space", with(dockerStack(), "mail", `{"host": "smtp.example.edu", "user": "mood le"}`, "mailPassword", "pw"), []string{
			`moodle:mail.user = "mood le": allowed: 1-255 printable characters without spaces or quotes`}},
		{"mail password twice", with(awsStack(), "mail", `{"host": "smtp.example.edu", "user": "moodle", "passwordSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ses-AbCdEf"}`, "mailPassword", "pw"), []string{
			`moodle:mail.passwordSecretArn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ses-AbCdEf": and moodle:mailPassword are both set; allowed: one source of the password`}},
		{"mail secret ARN malformed", with(awsStack(), "mail", `{"host": "smtp.example.edu", "user": "moodle", "passwordSecretArn": "ses-smtp"}`), []string{
			`moodle:mail.passwordSecretArn = "ses-smtp": allowed: the ARN of a Secrets Manager secret`}},
		{"mail secret ARN on docker", with(dockerStack(), "mail", `{"host": "smtp.example.edu", "user": "moodle", "passwordSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ses-AbCdEf"}`), []string{
			`moodle:mail.passwordSecretArn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ses-AbCdEf": only read on target aws; remove it from this docker stack (on docker the password is moodle:mailPassword)`}},
		{"mail catcher on aws", with(awsStack(), "mail", `{"host": "smtp.example.edu", "catcher": {"webPort": 8025}}`), []string{
			"moodle:mail.catcher: only read on target docker; remove it from this aws stack (aws runs no mail catcher: set mail.host)"}},
		{"no-reply address malformed", with(dockerStack(), "mail", `{"noReplyAddress": "noreply"}`), []string{
			`moodle:mail.noReplyAddress = "noreply": not an e-mail address`}},
		{"mail max bulk zero", with(dockerStack(), "mail", `{"maxBulk": 0}`), []string{
			"moodle:mail.maxBulk = 0: allowed: 1..1000"}},
		{"mail from via unknown", with(dockerStack(), "mail", `{"fromVia": "sometimes"}`), []string{
			`moodle:mail.fromVia = "sometimes": allowed: never, always, noReplyOnly`}},
		{"catcher web port is the site's", with(dockerStack(), "mail", `{"catcher": {"webPort": 8080}}`), []string{
			"moodle:mail.catcher.webPort = 8080: is docker.httpPort, which the load balancer publishes; allowed: another port"}},
		{"catcher memory too small", with(dockerStack(), "mail", `{"catcher": {"memoryMb": 8, "reservedMemoryMb": 4}}`), []string{
			"moodle:mail.catcher.memoryMb = 8: allowed: 16..262144"}},
		{"catcher image unpinned", with(dockerStack(), "images", `{"mailCatcher": "axllent/mailpit:latest"}`), []string{
			`moodle:images.mailCatcher = "axllent/mailpit:latest": is not pinned`}},

		// decoding
		{"unknown key", with(dockerStack(), "app", `{"replica": 3}`), []string{
			"moodle:app.replica: unknown key; allowed: cpuArchitecture, cpus, launchType, maxReplicas, memoryMb, minReplicas, php, phpFpm, replicas, reservedCpus, reservedMemoryMb, spotPercent"}},
		{"unknown nested key", with(dockerStack(), "app", `{"phpFpm": {"maxChildrens": 10}}`), []string{
			"moodle:app.phpFpm.maxChildrens: unknown key; allowed: maxChildren, maxRequests, maxSpareServers"}},
		{"key in the wrong case", with(dockerStack(), "app", `{"memoryMB": 4096}`), []string{
			"moodle:app.memoryMB: unknown key; did you mean memoryMb"}},
		{"string for a number", with(dockerStack(), "app", `{"replicas": "3"}`), []string{
			`moodle:app.replicas = "3": must be a whole number`}},
		{"fraction for a whole number", with(dockerStack(), "app", `{"replicas": 2.5}`), []string{
			"moodle:app.replicas = 2.5: must be a whole number"}},
		{"number for a version string", with(dockerStack(), "database", `{"version": 17}`), []string{
			"moodle:database.version = 17: must be a string (quote it in YAML; pulumi config set --path needs --type string)"}},
		{"string for a boolean", with(awsStack(), "aws", `{`+cert+`, "waf": "yes"}`), []string{
			`moodle:aws.waf = "yes": must be true or false`}},
		{"scalar for an object", with(dockerStack(), "app", "3"), []string{
			"moodle:app = 3: must be an object with the keys cpuArchitecture, cpus, launchType"}},
		{"not JSON", with(dockerStack(), "app", "replicas=3"), []string{
			`moodle:app = "replicas=3": not a JSON object`}},
		{"other target's object", with(dockerStack(), "aws", `{"waf": true}`), []string{
			"moodle:aws: only read when moodle:target is aws; this stack's target is docker: remove it"}},
		{"aws field on docker", with(dockerStack(), "database", `{"instanceClass": "db.r6g.large"}`), []string{
			`moodle:database.instanceClass = "db.r6g.large": only read on target aws; remove it from this docker stack`}},
		{"docker field on aws", with(awsStack(), "database", `{"cpus": 2}`), []string{
			"moodle:database.cpus = 2: only read on target docker; remove it from this aws stack (size the database with database.instanceClass)"}},
		{"docker object on aws", with(awsStack(), "storage", `{"nfs": {"address": "10.0.0.5"}}`), []string{
			"moodle:storage.nfs: only read on target docker; remove it from this aws stack (aws shares moodledata on EFS)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := load(c.stack)
			assertProblems(t, err, c.want...)
			if err != nil && s.Target != "" {
				t.Errorf("Load returned a Spec along with the error: %+v", s)
			}
		})
	}
}

// Without ad hoc workers their other settings are not read, so they are not checked.
func TestNoAdhocWorkersLeavesTheirSettingsUnchecked(t *testing.T) {
	s, err := load(with(dockerStack(), "cron", `{"adhoc": {"workers": 0, "keepAliveSeconds": 99999, "concurrencyLimit": 0}}`))
	if err != nil || s.Cron.Adhoc.Workers != 0 {
		t.Errorf("Load = %d workers, %v; want a stack without workers", s.Cron.Adhoc.Workers, err)
	}
}

// The mail settings a site uses pass: a relay with a login over each TLS mode,
// the catcher, and a site without mail, where nothing else is checked.
func TestValidMailConfigs(t *testing.T) {
	for _, c := range []struct {
		name  string
		stack map[string]string
	}{
		{"docker catcher", with(dockerStack(), "mail", `{"catcher": {"webPort": 18025}}`)},
		{"docker relay with STARTTLS and a login", with(dockerStack(), "mail", `{"host": "smtp.example.edu", "user": "moodle@example.edu", "authType": "PLAIN"}`, "mailPassword", "pw")},
		{"docker relay with implicit TLS", with(dockerStack(), "mail", `{"host": "10.0.0.25", "tls": "tls", "user": "moodle"}`, "mailPassword", "pw")},
		{"relay without TLS or login", with(dockerStack(), "mail", `{"host": "smtp.internal", "tls": "none", "fromVia": "never", "maxBulk": 100}`)},
		{"aws relay with a secret ARN", with(awsStack(), "mail", `{"host": "email-smtp.eu-west-1.amazonaws.com", "user": "AKIAIOSFODNN7EXAMPLE", "passwordSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ses-AbCdEf"}`)},
		{"aws without mail", with(awsStack(), "mail", `{"enabled": false}`)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := load(c.stack); err != nil {
				t.Error(err)
			}
		})
	}
}

// The password is read only as a secret.
func TestMailPasswordMustBeASecret(t *testing.T) {
	get := func(key string) (string, bool) {
		if key == config.MailPasswordKey {
			return "s3cret", true
		}
		return "", false
	}
	if _, err := config.MailPassword(get, func(string) bool { return false }); err == nil ||
		!strings.Contains(err.Error(), "moodle:mailPassword: is stored in plain text; set it with `pulumi config set --secret moodle:mailPassword`") {
		t.Errorf("plain-text password: %v", err)
	}
	pw, err := config.MailPassword(get, func(key string) bool { return key == "moodle:mailPassword" })
	if err != nil || pw != "s3cret" {
		t.Errorf("secret password: %q, %v", pw, err)
	}
	if pw, err := config.MailPassword(func(string) (string, bool) { return "", false }, func(string) bool { return false }); pw != "" || err != nil {
		t.Errorf("no password: %q, %v", pw, err)
	}
}

// Several problems are reported together, each on its own line.
func TestSeveralProblemsAreReportedTogether(t *testing.T) {
	_, err := load(with(dockerStack(),
		"app", `{"replicas": 0}`,
		"cache", `{"cachePrefix": "mdl_sess_"}`,
		"storage", `{"kind": "efs"}`))
	assertProblems(t, err,
		"moodle:app.replicas = 0: allowed: 1..50",
		`moodle:cache.cachePrefix = "mdl_sess_": overlaps cache.sessionPrefix`,
		`moodle:storage.kind = "efs": allowed: volume, nfs`)
	if msg := err.Error(); !strings.HasPrefix(msg, "invalid stack config (3 problems):\n  - moodle:") || strings.Count(msg, "\n  - ") != 3 {
		t.Errorf("message layout:\n%s", msg)
	}
}

// A problem in one object does not hide problems in the others: decoding and
// validation problems come back together.
func TestDecodeAndValidationProblemsComeTogether(t *testing.T) {
	_, err := load(with(dockerStack(),
		"app", `{"replicas": "three"}`,
		"database", `{"version": "12"}`))
	assertProblems(t, err,
		`moodle:app.replicas = "three": must be a whole number`,
		`moodle:database.version = "12": allowed: 14, 15, 16, 17`)
}

// Validate serves callers that build a Spec in code.
func TestValidateASpecBuiltInCode(t *testing.T) {
	s, err := topology.Defaults(topology.TargetAWS)
	if err != nil {
		t.Fatal(err)
	}
	assertProblems(t, config.Validate(s), "moodle:siteUrl: not set", "moodle:aws.certificateArn: not set", "moodle:mail.host: not set")
	s.SiteURL = "https://moodle.example.edu"
	s.AWS.CertificateARN = testCertificate
	s.Mail.Host = "smtp.example.edu"
	if err := config.Validate(s); err != nil {
		t.Errorf("completed aws defaults: %v", err)
	}
	s.App.Replicas = 0
	assertProblems(t, config.Validate(s), "moodle:app.replicas = 0", "moodle:app.minReplicas = 2: must not exceed app.replicas (0)")
}
