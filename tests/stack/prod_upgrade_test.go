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
