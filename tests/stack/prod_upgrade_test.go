package stack_test

import (
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/render"
)

// A new image is one release: its cron runner upgrades the database (the web
// tier of every release answers 503 for PHP meanwhile), and only then does the web
// tier roll to it, each node serving PHP once the database matches its code. The
// deployment graph says the order: the app service depends on the cron service,
// whose update pulumi up waits to see running; a runner whose upgrade fails
// never reaches steady state, so the web tier never rolls, and the site stays in
// maintenance with the markers of every release gone.
func TestProdNewCodeUpgradesTheDatabaseBeforeTheWebTier(t *testing.T) {
	const newImage = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/moodle-cluster/app:5.1.1"
	old, upgraded := stackSpec(t, "prod", nil), stackSpec(t, "prod", map[string]any{"images.app": newImage})
	if old.ReleaseMarker() == upgraded.ReleaseMarker() {
		t.Fatal("two releases share one installed marker")
	}
	rec := mustRun(t, "prod", map[string]any{"images.app": newImage})

	cron, app := rec.one(t, tService, cronName), rec.one(t, tService, appName)
	if !app.dependsOn(tService, cronName) {
		t.Errorf("the web tier may roll before the cron runner upgraded the database: app depends on %v", app.DependsOn)
	}
	if cron.dependsOn(tService, appName) {
		t.Error("the cron runner waits for the web tier")
	}
	if !cron.boolean("waitForSteadyState") {
		t.Error("pulumi up does not wait for the new cron runner before it rolls the web tier")
	}
	if cron.number("deploymentMaximumPercent") != 100 || cron.number("deploymentMinimumHealthyPercent") != 0 {
		t.Error("two runners of different releases could run at once")
	}

	nginx := rec.one(t, tTaskDef, appName).renderedFiles(t)["MOODLE_FILE_NGINX_CONF"]
	if !strings.Contains(nginx, "if (!-f "+upgraded.ReleaseMarker()+") {\n            return 503;") {
		t.Errorf("the new web tier does not wait for its own release's marker %s", upgraded.ReleaseMarker())
	}
	runner := rec.one(t, tTaskDef, cronName).renderedFiles(t)["MOODLE_FILE_CRON"]
	if !strings.Contains(runner, "RELEASE_MARKER='"+upgraded.ReleaseMarker()+"'") {
		t.Error("the new runner does not write the marker its web tier waits for")
	}
}

func TestProdRunsExactlyOneCronRunner(t *testing.T) {
	for _, v := range prodVariants() {
		t.Run(v.name, func(t *testing.T) {
			rec := mustRun(t, "prod", v.edits)
			cron := rec.one(t, tService, cronName)
			if cron.number("desiredCount") != 1 || cron.number("deploymentMaximumPercent") != 100 || cron.number("deploymentMinimumHealthyPercent") != 0 {
				t.Errorf("cron service: desired %v, max %v%%, min %v%%; want 1, 100, 0",
					cron.number("desiredCount"), cron.number("deploymentMaximumPercent"), cron.number("deploymentMinimumHealthyPercent"))
			}
			for _, target := range rec.ofType(tScaleTarget) {
				if strings.Contains(target.str("resourceId"), cronName) {
					t.Errorf("autoscaling targets the cron service: %s", target.str("resourceId"))
				}
			}
			// Only the cron task runs the runner, and it runs nothing else.
			runners := 0
			for _, td := range rec.ofType(tTaskDef) {
				for _, c := range td.containers(t) {
					// The init container only writes the runner's file.
					if c.Essential && strings.Contains(strings.Join(c.Command, " "), "moodle-cron") {
						runners++
						if td.Name != cronName {
							t.Errorf("%s/%s runs the cron runner", td.Name, c.Name)
						}
					}
				}
			}
			if runners != 1 {
				t.Errorf("%d containers run the cron runner, want 1", runners)
			}
			if runner := rec.one(t, tTaskDef, cronName).renderedFiles(t)["MOODLE_FILE_CRON"]; runner != render.CronRunner(stackSpec(t, "prod", v.edits)) {
				t.Error("the cron task does not get the rendered cron runner")
			}
		})
	}
}

func TestProdOnlyTheCronRunnerInstallsMoodle(t *testing.T) {
	spec := stackSpec(t, "prod", nil)
	rec := mustRun(t, "prod", nil)
	installer := map[string]string{
		"MOODLE_ADMIN_USER":     spec.Moodle.AdminUser,
		"MOODLE_ADMIN_EMAIL":    spec.Moodle.AdminEmail,
		"MOODLE_SITE_FULLNAME":  spec.Moodle.SiteName,
		"MOODLE_SITE_SHORTNAME": spec.Moodle.SiteName,
	}
	for _, task := range []string{appName, cronName} {
		for _, c := range rec.one(t, tTaskDef, task).containers(t) {
			if c.Name == "render-files" || c.Name == "nginx" {
				continue
			}
			env := map[string]string{}
			for _, e := range c.Environment {
				env[e.Name] = e.Value
			}
			if env["MOODLE_DIRROOT"] != spec.Paths.CodeDir || env["MOODLE_DATAROOT"] != spec.Paths.DataRoot {
				t.Errorf("%s/%s: MOODLE_DIRROOT %q MOODLE_DATAROOT %q", task, c.Name, env["MOODLE_DIRROOT"], env["MOODLE_DATAROOT"])
			}
			for k, v := range installer {
				if got, ok := env[k]; (task == cronName) != ok || (ok && got != v) {
					t.Errorf("%s/%s: %s = %q (set %v)", task, c.Name, k, got, ok)
				}
			}
		}
	}
}

// In maintenance the site serves no user while the cron runner upgrades it: the
// listener that serves the site answers every path with the maintenance page
// and a 503 before any other rule (priority 1, CloudFront's origin rule after
// it), the ad hoc workers run no task, and the cron runner and the web tasks
// stay. Out of maintenance there is no such rule and the workers are back.
func TestProdMaintenanceAnswers503AndStopsTheWorkersButNotTheRunner(t *testing.T) {
	on := map[string]any{"aws.maintenance.enabled": true}
	for _, tc := range []struct {
		name     string
		edits    map[string]any
		listener string
		rules    int
	}{
		{"https", on, edgeName + "-https", 1},
		{"behind CloudFront", map[string]any{"aws.maintenance.enabled": true, "aws.cloudFront": cloudFront()["aws.cloudFront"]}, edgeName + "-https", 2},
		{"a plain-http test site", map[string]any{"aws.maintenance.enabled": true, "siteUrl": "http://moodle.example.edu",
			"aws.certificateArn": "", "aws.allowPlainHttp": true}, edgeName + "-http", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := stackSpec(t, "prod", tc.edits)
			rec := mustRun(t, "prod", tc.edits)
			if n := len(rec.ofType(tListenerRule)); n != tc.rules {
				t.Errorf("%d listener rules, want %d", n, tc.rules)
			}
			rule := rec.one(t, tListenerRule, edgeName+"-maintenance")
			if rule.number("priority") != 1 || rule.str("actions.0.type") != "fixed-response" ||
				rule.str("actions.0.fixedResponse.statusCode") != "503" || rule.str("actions.0.fixedResponse.contentType") != "text/html" ||
				rule.str("actions.0.fixedResponse.messageBody") != spec.AWS.Maintenance.Message || rule.str("conditions.0.pathPattern.values.0") != "/*" {
				t.Errorf("maintenance rule: priority %v, actions %v, conditions %v", rule.number("priority"), rule.input("actions"), rule.input("conditions"))
			}
			if !rule.dependsOn(tListener, tc.listener) {
				t.Errorf("the maintenance rule is not on %s: depends on %v", tc.listener, rule.DependsOn)
			}
			if n := rec.one(t, tService, cronName+"-adhoc").number("desiredCount"); n != 0 {
				t.Errorf("in maintenance %v ad hoc workers run, want 0", n)
			}
			if n := rec.one(t, tService, cronName).number("desiredCount"); n != 1 {
				t.Errorf("in maintenance %v cron runners, want the one that upgrades", n)
			}
		})
	}
	off := mustRun(t, "prod", nil)
	for _, r := range off.ofType(tListenerRule) {
		t.Errorf("out of maintenance a listener rule %s remains", r.Name)
	}
	if n := off.one(t, tService, cronName+"-adhoc").number("desiredCount"); n != 2 {
		t.Errorf("out of maintenance %v ad hoc workers, want the committed 2", n)
	}
}

// The cron task runs the install/upgrade in a one-shot container and starts its
// cron container only once that exited 0 (dependsOn SUCCESS), so ECS counts the
// task as running, and the service as steady, only after the upgrade; nothing
// bounds the upgrade's time (no health check, no start timeout). Both the cron
// and the app services wait for their steady state, the cron service longer than
// the provider's 20 minutes.
func TestProdCronTaskRunsCronOnlyAfterTheUpgradeSucceeded(t *testing.T) {
	rec := mustRun(t, "prod", nil)
	byName := map[string]containerDef{}
	for _, c := range rec.one(t, tTaskDef, cronName).containers(t) {
		byName[c.Name] = c
	}
	upgrade, cron := byName["upgrade"], byName["cron"]
	if got := strings.Join(upgrade.Command, " "); upgrade.Essential || !strings.HasSuffix(got, "/moodle-cron upgrade") {
		t.Errorf("upgrade container: essential %v, command %q; want a one-shot runner in upgrade mode", upgrade.Essential, got)
	}
	if upgrade.HealthCheck != nil || upgrade.StartTimeout != nil {
		t.Error("the upgrade container has a health check or a start timeout that could end a long upgrade")
	}
	deps := map[string]string{}
	for _, d := range cron.DependsOn {
		deps[d.ContainerName] = d.Condition
	}
	if got := strings.Join(cron.Command, " "); !cron.Essential || !strings.HasSuffix(got, "/moodle-cron cron") || deps["upgrade"] != "SUCCESS" {
		t.Errorf("cron container: essential %v, command %q, depends on %v; want the runner in cron mode after the upgrade's SUCCESS", cron.Essential, got, deps)
	}
	for _, name := range []string{cronName, appName} {
		if !rec.one(t, tService, name).boolean("waitForSteadyState") {
			t.Errorf("%s: pulumi up does not wait for its steady state", name)
		}
	}
}
