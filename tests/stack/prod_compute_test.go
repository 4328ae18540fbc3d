package stack_test

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// Type tokens of the compute tests.
const (
	tServiceLinkedRole  = "aws:iam/serviceLinkedRole:ServiceLinkedRole"
	tCapacityProviders  = "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders"
	computeName         = "moodle-compute"
	appDeploymentSurge  = 200
	fargateStopTimeout  = 120
	autoScalingService  = "autoscaling.amazonaws.com"
	grantForAWSResource = "kms:GrantIsForAWSResource"
)

// dependsOn reports whether r was registered depending on the resource of type
// token named name.
func (r registered) dependsOn(token, name string) bool {
	return slices.ContainsFunc(r.DependsOn, func(urn string) bool { return strings.HasSuffix(urn, token+"::"+name) })
}

// AWS requires the Auto Scaling service-linked role in the policy of a key that
// encrypts the volumes of the instances it launches; without it no instance starts.
func TestProdEC2InstancesMayUseTheDataKey(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edits map[string]any
		roles int
	}{
		{"ec2", map[string]any{"app.launchType": topology.LaunchEC2}, 1},
		{"fargate has no instances to trust", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := mustRun(t, "prod", tc.edits)
			roles := rec.ofType(tServiceLinkedRole)
			if len(roles) != tc.roles {
				t.Fatalf("%d service-linked roles, want %d", len(roles), tc.roles)
			}
			var doc policyDoc
			rec.ofType(tKey)[0].jsonInput(t, "policy", &doc)
			trusted := map[string][]string{}
			granted := false
			for _, s := range doc.Statement {
				p, ok := s.Principal.(map[string]any)
				if !ok || p["AWS"] == nil || strings.HasSuffix(anyStrings(p["AWS"])[0], ":root") {
					continue
				}
				principal := anyStrings(p["AWS"])[0]
				trusted[principal] = append(trusted[principal], anyStrings(s.Action)...)
				if slices.Contains(anyStrings(s.Action), "kms:CreateGrant") && s.Condition["Bool"][grantForAWSResource] == true {
					granted = true
				}
			}
			if tc.roles == 0 {
				if len(trusted) != 0 {
					t.Errorf("the key trusts %v without instances", trusted)
				}
				return
			}
			role := roles[0]
			if role.str("awsServiceName") != autoScalingService || role.str("customSuffix") == "" {
				t.Errorf("service-linked role for %q suffix %q, want Auto Scaling's with a suffix of the stack's", role.str("awsServiceName"), role.str("customSuffix"))
			}
			arn := mockARN(role.Type, role.Name)
			if got := rec.ofType(tASG)[0].str("serviceLinkedRoleArn"); got != arn {
				t.Errorf("the group launches as %q, not the role the key trusts (%s)", got, arn)
			}
			for _, action := range []string{"kms:Decrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:DescribeKey", "kms:CreateGrant"} {
				if !slices.Contains(trusted[arn], action) {
					t.Errorf("the key does not allow %s to %s", arn, action)
				}
			}
			if !granted {
				t.Error("grants are not limited to AWS resources (kms:GrantIsForAWSResource)")
			}
		})
	}
}

// ECS refuses a service whose capacity provider is not yet associated with the
// cluster: every service that names one waits for the association.
func TestProdServicesWaitForTheirCapacityProviders(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edits map[string]any
	}{
		{"ec2", map[string]any{"app.launchType": topology.LaunchEC2}},
		{"fargate spot", map[string]any{"app.spotPercent": 50}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := mustRun(t, "prod", tc.edits)
			if n := len(rec.ofType(tCapacityProviders)); n != 1 {
				t.Fatalf("%d capacity-provider associations, want 1", n)
			}
			for _, svc := range rec.ofType(tService) {
				if len(svc.input("capacityProviderStrategies").ArrayValue()) == 0 || svc.str("launchType") != "" {
					t.Errorf("%s: launch type %q without capacity providers", svc.Name, svc.str("launchType"))
				}
				if !svc.dependsOn(tCapacityProviders, computeName) {
					t.Errorf("%s does not wait for the capacity-provider association: %v", svc.Name, svc.DependsOn)
				}
			}
		})
	}
}

// A deployment at the autoscaling ceiling runs twice the tasks, one per instance at
// worst, the cron task, and the ad hoc workers, twice theirs while they deploy;
// scale-in protection must not keep a destroy waiting.
func TestProdInstanceGroupHoldsADeploymentAndNeverHangsADestroy(t *testing.T) {
	edits := map[string]any{"app.launchType": topology.LaunchEC2}
	spec := stackSpec(t, "prod", edits)
	rec := mustRun(t, "prod", edits)
	group := rec.ofType(tASG)[0]
	app := rec.one(t, tService, appName)
	if surge := app.number("deploymentMaximumPercent"); surge != appDeploymentSurge {
		t.Fatalf("app deployments run %v %% of the tasks, want %d", surge, appDeploymentSurge)
	}
	workers := rec.one(t, tService, cronName+"-adhoc")
	if surge := workers.number("deploymentMaximumPercent"); surge != appDeploymentSurge {
		t.Fatalf("ad hoc worker deployments run %v %% of the tasks, want %d", surge, appDeploymentSurge)
	}
	need := spec.App.MaxReplicas*appDeploymentSurge/100 + 1 + spec.Cron.Adhoc.Workers*appDeploymentSurge/100
	// ... and scales out for it in one step, not two instances at a time.
	if step := rec.ofType("aws:ecs/capacityProvider:CapacityProvider")[0].number("autoScalingGroupProvider.managedScaling.maximumScalingStepSize"); step < float64(need) {
		t.Errorf("the capacity provider adds at most %v instances a step; a deployment at the ceiling needs %d", step, need)
	}
	if group.number("maxSize") < float64(need) {
		t.Errorf("the group stops at %v instances; a deployment at the ceiling needs %d", group.number("maxSize"), need)
	}
	if !group.boolean("protectFromScaleIn") || !group.boolean("forceDelete") {
		t.Errorf("scale-in protection %v, force delete %v: want both", group.boolean("protectFromScaleIn"), group.boolean("forceDelete"))
	}
}

// A new launch template version (a new ECS-optimised AMI from the SSM parameter,
// new user data) rolls the instances: the group names the version itself, since
// the provider starts an instance refresh only when the group's launch_template
// block changes and "$Latest" never does (terraform-provider-aws
// internal/service/autoscaling/group.go, resourceGroupUpdate), and the refresh
// launches before it terminates and replaces the scale-in protected instances
// ECS's managed termination protection marks, which managed draining empties.
func TestProdANewLaunchTemplateVersionRefreshesTheInstances(t *testing.T) {
	group := mustRun(t, "prod", map[string]any{"app.launchType": topology.LaunchEC2}).ofType(tASG)[0]
	if got := group.str("launchTemplate.version"); got != strconv.Itoa(mockTemplateVersion) {
		t.Errorf("the group launches template version %q, want the template's latest version %d", got, mockTemplateVersion)
	}
	for field, want := range map[string]string{
		"instanceRefresh.strategy":                              "Rolling",
		"instanceRefresh.preferences.scaleInProtectedInstances": "Refresh",
	} {
		if got := group.str(field); got != want {
			t.Errorf("%s = %q, want %q", field, got, want)
		}
	}
	if min, max := group.number("instanceRefresh.preferences.minHealthyPercentage"), group.number("instanceRefresh.preferences.maxHealthyPercentage"); min != 100 || max <= 100 {
		t.Errorf("refresh keeps %v %% healthy with up to %v %%: want 100 %% kept, launching before terminating", min, max)
	}
}

func TestProdGravitonTasksRunArm64(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edits map[string]any
		arch  string
	}{
		{"default", nil, "X86_64"},
		{"fargate arm64", map[string]any{"app.cpuArchitecture": topology.ArchARM64}, "ARM64"},
		{"ec2 arm64", map[string]any{"app.cpuArchitecture": topology.ArchARM64, "app.launchType": topology.LaunchEC2, "aws.ec2InstanceType": "m7g.xlarge"}, "ARM64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, td := range mustRun(t, "prod", tc.edits).ofType(tTaskDef) {
				if got := td.str("runtimePlatform.cpuArchitecture"); got != tc.arch {
					t.Errorf("%s runs on %q, want %s", td.Name, got, tc.arch)
				}
			}
		})
	}
}

// Spot takes only the share of the web tier above its minimum; the cron runner,
// whose upgrade an interruption would cut in half, stays on regular Fargate.
func TestProdFargateSpotRunsOnlyPartOfTheWebTier(t *testing.T) {
	edits := map[string]any{"app.spotPercent": 60}
	spec := stackSpec(t, "prod", edits)
	rec := mustRun(t, "prod", edits)
	providers := func(svc registered) map[string][2]float64 {
		out := map[string][2]float64{}
		for i := range svc.input("capacityProviderStrategies").ArrayValue() {
			p := "capacityProviderStrategies." + string(rune('0'+i))
			out[svc.str(p+".capacityProvider")] = [2]float64{svc.number(p + ".base"), svc.number(p + ".weight")}
		}
		return out
	}
	app := providers(rec.one(t, tService, appName))
	if app["FARGATE"] != [2]float64{float64(spec.App.MinReplicas), 40} || app["FARGATE_SPOT"] != [2]float64{0, 60} {
		t.Errorf("app strategy %v, want the minimum and 40 %% on FARGATE, 60 %% on FARGATE_SPOT", app)
	}
	if cron := providers(rec.one(t, tService, cronName)); len(cron) != 1 || cron["FARGATE"][1] == 0 {
		t.Errorf("cron strategy %v, want FARGATE only", cron)
	}
}

// ECS Exec needs the SSM agent to write inside the container; two task volumes
// take its writes, so every root filesystem stays read-only, and every session is
// logged, encrypted, with the stack's retention.
func TestProdECSExecKeepsRootsReadOnlyAndLogsSessions(t *testing.T) {
	rec := mustRun(t, "prod", map[string]any{"aws.ecsExec": true})
	cluster := rec.ofType(tECSCluster)[0]
	exec := "configuration.executeCommandConfiguration."
	if cluster.str(exec+"logging") != "OVERRIDE" || !cluster.boolean(exec+"logConfiguration.cloudWatchEncryptionEnabled") || cluster.str(exec+"kmsKeyId") == "" {
		t.Errorf("sessions are not logged encrypted: %v", cluster.input("configuration"))
	}
	logGroup := rec.one(t, tLogGroup, "moodle-ecs-exec")
	if cluster.str(exec+"logConfiguration.cloudWatchLogGroupName") != logGroup.Name+"-a1b2c3" {
		t.Errorf("sessions go to %q, not the exec log group", cluster.str(exec+"logConfiguration.cloudWatchLogGroupName"))
	}
	for _, svc := range rec.ofType(tService) {
		if !svc.boolean("enableExecuteCommand") {
			t.Errorf("%s: execute command off", svc.Name)
		}
	}
	for _, td := range rec.ofType(tTaskDef) {
		for _, c := range td.containers(t) {
			if !c.ReadOnly {
				t.Errorf("%s/%s: root filesystem writable", td.Name, c.Name)
			}
			if !c.Essential {
				continue
			}
			writable := map[string]bool{}
			for _, m := range c.MountPoints {
				writable[m.ContainerPath] = !m.ReadOnly
			}
			// The known workaround's three paths (aws/containers-roadmap#1359).
			for _, path := range []string{"/managed-agents", "/var/lib/amazon/ssm", "/var/log/amazon/ssm"} {
				if !writable[path] {
					t.Errorf("%s/%s: the agents of ECS Exec cannot write %s (%v)", td.Name, c.Name, path, c.MountPoints)
				}
			}
		}
		var doc policyDoc
		rec.one(t, tRolePolicy, td.Name+"-task").jsonInput(t, "policy", &doc)
		for _, s := range doc.Statement {
			// The session channels have no resource type: "*" is all they take.
			if slices.Contains(anyStrings(s.Resource), "*") && !allHavePrefix(anyStrings(s.Action), "ssmmessages:") {
				t.Errorf("%s task role: %s applies %v to every resource", td.Name, s.Sid, s.Action)
			}
		}
	}
	for _, svc := range mustRun(t, "prod", nil).ofType(tService) {
		if svc.boolean("enableExecuteCommand") {
			t.Errorf("%s: execute command on without aws.ecsExec", svc.Name)
		}
	}
}

func allHavePrefix(items []string, prefix string) bool {
	for _, i := range items {
		if !strings.HasPrefix(i, prefix) {
			return false
		}
	}
	return len(items) > 0
}

func checkTaskDefinitions(t *testing.T, rec *recorder, _ topology.Spec) {
	secretNames := []string{render.EnvDBPassword, render.EnvRedisPassword, render.EnvUpgradeKey}
	for _, td := range rec.ofType(tTaskDef) {
		if td.str("executionRoleArn") == "" || td.str("executionRoleArn") == td.str("taskRoleArn") {
			t.Errorf("%s: execution role %q is the task role", td.Name, td.str("executionRoleArn"))
		}
		for _, c := range td.containers(t) {
			if c.Privileged {
				t.Errorf("%s/%s is privileged", td.Name, c.Name)
			}
			if !c.ReadOnly {
				t.Errorf("%s/%s has a writable root filesystem", td.Name, c.Name)
			}
			for _, e := range c.Environment {
				if slices.Contains(secretNames, e.Name) || e.Name == render.EnvAdminPassword {
					t.Errorf("%s/%s gets %s in plain environment", td.Name, c.Name, e.Name)
				}
			}
			if c.Name != "render-files" && (c.User == "0" || c.User == "" || strings.HasPrefix(c.User, "0:")) {
				t.Errorf("%s/%s runs as %q", td.Name, c.Name, c.User)
			}
			// Only the containers that run PHP see secrets.
			if c.Name == "render-files" || c.Name == "nginx" {
				if len(c.Secrets) != 0 {
					t.Errorf("%s/%s gets secrets", td.Name, c.Name)
				}
				continue
			}
			got := map[string]string{}
			for _, s := range c.Secrets {
				got[s.Name] = s.ValueFrom
			}
			for _, name := range secretNames {
				if !strings.HasPrefix(got[name], "arn:aws:secretsmanager:") {
					t.Errorf("%s/%s: %s from %q, want a Secrets Manager ARN", td.Name, c.Name, name, got[name])
				}
			}
			_, admin := got[render.EnvAdminPassword]
			if admin != (td.Name == cronName) {
				t.Errorf("%s/%s: admin password given %v; only the cron runner installs Moodle", td.Name, c.Name, admin)
			}
		}
	}
}

func checkServices(t *testing.T, rec *recorder, _ topology.Spec) {
	cluster := rec.ofType(tECSCluster)[0]
	if cluster.str("settings.0.name") != "containerInsights" || cluster.str("settings.0.value") != "enabled" {
		t.Error("Container Insights is off")
	}
	private := map[string]bool{}
	for _, s := range rec.ofType(tSubnet) {
		if strings.Contains(s.Name, "-private-") {
			private[s.id()] = true
		}
	}
	for _, s := range rec.ofType(tService) {
		if v := s.input("networkConfiguration.assignPublicIp"); !v.IsBool() || v.BoolValue() {
			t.Errorf("%s: assignPublicIp %v", s.Name, v)
		}
		for _, sub := range s.strings("networkConfiguration.subnets") {
			if !private[sub] {
				t.Errorf("%s runs in %s, not a private subnet", s.Name, sub)
			}
		}
		if !s.boolean("deploymentCircuitBreaker.enable") || !s.boolean("deploymentCircuitBreaker.rollback") {
			t.Errorf("%s: no circuit breaker with rollback", s.Name)
		}
	}
}

func checkLaunchTemplate(t *testing.T, rec *recorder, _ topology.Spec) {
	lt := rec.ofType(tLaunchTmpl)[0]
	if lt.str("metadataOptions.httpTokens") != "required" || lt.number("metadataOptions.httpPutResponseHopLimit") != 1 {
		t.Errorf("IMDS: tokens %q hop limit %v", lt.str("metadataOptions.httpTokens"), lt.number("metadataOptions.httpPutResponseHopLimit"))
	}
	if lt.str("blockDeviceMappings.0.ebs.encrypted") != "true" || lt.str("blockDeviceMappings.0.ebs.kmsKeyId") == "" {
		t.Error("root volume not encrypted with the cluster key")
	}
	if lt.str("networkInterfaces.0.associatePublicIpAddress") != "false" {
		t.Errorf("associatePublicIpAddress %q", lt.str("networkInterfaces.0.associatePublicIpAddress"))
	}
	if lt.str("iamInstanceProfile.arn") == "" {
		t.Error("no instance profile")
	}
	if lt.str("imageId") != mockAMI {
		t.Errorf("image %q, want the ECS-optimised AMI from SSM", lt.str("imageId"))
	}
	data, err := base64Decode(lt.str("userData"))
	if err != nil || !strings.Contains(data, "ECS_CLUSTER=") {
		t.Errorf("user data %q (%v) does not join the cluster", data, err)
	}
	for _, p := range rec.ofType(tRandomPassword) {
		if strings.Contains(data, generatedSecret(p.Name)) {
			t.Errorf("user data holds the %s secret", p.Name)
		}
	}
	if !regexp.MustCompile(`^#!/bin/bash\n`).MatchString(data) {
		t.Errorf("user data is not a script: %q", data)
	}
}

func base64Decode(s string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	return string(b), err
}

// The ad hoc task workers are an ECS service of their own: cron.adhoc.workers tasks
// that run the rendered worker, deployed after the cron runner (which upgrades the
// database first), new tasks before old; without workers there is no service.
func TestProdAdhocWorkersAreAServiceOfTheirOwn(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edits   map[string]any
		workers int
	}{
		{"default", nil, 2},
		{"none", map[string]any{"cron.adhoc.workers": 0}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := stackSpec(t, "prod", tc.edits)
			rec := mustRun(t, "prod", tc.edits)
			var found []registered
			for _, s := range rec.ofType(tService) {
				if s.Name == cronName+"-adhoc" {
					found = append(found, s)
				}
			}
			if len(found) != min(tc.workers, 1) {
				t.Fatalf("%d ad hoc worker services, want %d", len(found), min(tc.workers, 1))
			}
			if tc.workers == 0 {
				return
			}
			svc := found[0]
			if svc.number("desiredCount") != float64(tc.workers) || svc.number("deploymentMinimumHealthyPercent") != 100 {
				t.Errorf("workers: %v tasks, minimum healthy %v %%; want %d, 100", svc.number("desiredCount"), svc.number("deploymentMinimumHealthyPercent"), tc.workers)
			}
			if !svc.dependsOn(tService, cronName) {
				t.Errorf("the workers deploy without waiting for the cron runner; depends on %v", svc.DependsOn)
			}
			td := rec.one(t, tTaskDef, cronName+"-adhoc")
			files := td.renderedFiles(t)
			if files["MOODLE_FILE_ADHOC"] != render.AdhocWorker(spec) {
				t.Error("the worker task does not write the rendered worker script")
			}
			if !strings.Contains(files["MOODLE_FILE_CONFIG_PHP"], fmt.Sprintf("$CFG->task_adhoc_concurrency_limit = %d;", spec.Cron.Adhoc.ConcurrencyLimit)) {
				t.Error("the workers' config.php does not force their runner slots")
			}
			var worker containerDef
			for _, c := range td.containers(t) {
				if c.Name == "adhoc" {
					worker = c
				}
			}
			if !slices.Equal(worker.Command, []string{"/bin/sh", "/etc/moodle/moodle-adhoc"}) {
				t.Errorf("the worker container runs %v", worker.Command)
			}
		})
	}
}

// A replaced cron service (the move from a launch type to capacity provider
// strategies replaces it once) goes before its replacement comes: the old runner
// holds the lock in moodledata, so a new one started beside it exits at once and
// the service, waiting for its steady state, would hang the update. The app and the
// ad hoc workers hold no lock: their replacements come first, so the site stays up.
// Every service places its tasks by a capacity provider strategy, never a launch
// type, and forces new deployments, so that a strategy change updates it in place
// (capacityProviderStrategyCustomizeDiff, terraform-provider-aws
// internal/service/ecs/service.go).
func TestProdServicesAreReplacedSafelyAndUpdatedInPlace(t *testing.T) {
	for _, edits := range []map[string]any{nil, {"app.spotPercent": 50}, {"app.launchType": topology.LaunchEC2}} {
		rec := mustRun(t, "prod", edits)
		for _, s := range rec.ofType(tService) {
			if want := s.Name == cronName; s.DeleteBeforeReplace != want {
				t.Errorf("%v: %s deleteBeforeReplace = %v, want %v", edits, s.Name, s.DeleteBeforeReplace, want)
			}
			if s.str("launchType") != "" || !s.input("capacityProviderStrategies").IsArray() || !s.boolean("forceNewDeployment") {
				t.Errorf("%v: %s launch type %q, strategies %v, forceNewDeployment %v; want strategies that update in place",
					edits, s.Name, s.str("launchType"), s.input("capacityProviderStrategies"), s.boolean("forceNewDeployment"))
			}
		}
	}
}

// A task that mounts EFS fails to start (ResourceInitializationError) where its
// subnet has no mount target yet: every service waits for all of them.
func TestProdServicesWaitForTheFileSystemsMountTargets(t *testing.T) {
	rec := mustRun(t, "prod", nil)
	targets := rec.ofType(tEFSMount)
	if len(targets) == 0 {
		t.Fatal("no mount targets registered")
	}
	for _, svc := range rec.ofType(tService) {
		for _, target := range targets {
			if !svc.dependsOn(tEFSMount, target.Name) {
				t.Errorf("%s starts without waiting for the mount target %s", svc.Name, target.Name)
			}
		}
	}
}
