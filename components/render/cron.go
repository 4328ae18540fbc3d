package render

import (
	"github.com/moodle-cluster/moodle-pulumi/components/appimage"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

type cronData struct {
	EnvPHPBin, EnvInstallHook string
	InstallHook, CronScript   string
	LockFile, InstalledMarker string
	Interval, RunTimeout      int
}

func cronRunner(s topology.Spec) string {
	return execute("cron-runner.sh.tmpl", cronData{
		EnvPHPBin:       EnvPHPBin,
		EnvInstallHook:  EnvInstallHook,
		InstallHook:     appimage.InstallHook,
		CronScript:      MoodleFile(s, "admin/cli/cron.php"),
		LockFile:        s.Paths.CronLockFile(),
		InstalledMarker: s.Paths.InstalledMarker(),
		Interval:        s.Cron.IntervalSeconds,
		RunTimeout:      s.Cron.RunTimeoutSeconds,
	})
}
