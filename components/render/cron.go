package render

import (
	"github.com/moodle-cluster/moodle-pulumi/components/appimage"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// CronCompleted is what the cron runner logs after every cron.php run that exits
// 0, after a timestamp: "<time> cron-runner: cron.php completed in 12s". On AWS a
// log metric filter counts these lines, so the runner reports that cron works
// without an AWS client in the image (the awslogs driver does not pass on the
// embedded metric format, which needs the CloudWatch agent).
const CronCompleted = "cron-runner: " + cronCompletedMessage

const cronCompletedMessage = "cron.php completed"

type cronData struct {
	EnvPHPBin, EnvInstallHook string
	InstallHook, CronScript   string
	LockFile, InstalledMarker string
	ReleaseMarker, Completed  string
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
		ReleaseMarker:   s.ReleaseMarker(),
		Completed:       cronCompletedMessage,
		Interval:        s.Cron.IntervalSeconds,
		RunTimeout:      s.Cron.RunTimeoutSeconds,
	})
}
