package stack_test

import (
	"strings"
	"testing"
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
