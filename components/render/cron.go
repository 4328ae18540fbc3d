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
const CronCompleted = cronRunnerName + ": " + cronCompletedMessage

// CronFailed is what the cron runner logs after every cron.php run that fails,
// before its status: "<time> cron-runner: cron.php failed with status 1".
const CronFailed = cronRunnerName + ": " + cronFailedMessage

const (
	cronRunnerName       = "cron-runner"
	cronCompletedMessage = "cron.php completed"
	cronFailedMessage    = "cron.php failed"
	// secondTermAfter is how long a stopped runner's PHP process may take to
	// finish its task before the second SIGTERM; the Docker host's and ECS's stop
	// timeouts leave room for it and the shutdown handlers after it.
	secondTermAfter = 20
	// adhocRestartAfter is the shortest time between the starts of two runs of a
	// worker: one that found no free runner slot tries again this soon.
	adhocRestartAfter = 5
)

// runnerData is what the task runner templates read; "supervise" reads Name.
type runnerData struct {
	Name                      string
	EnvPHPBin, EnvInstallHook string
	InstallHook, Script       string
	LockFile, InstalledMarker string
	ReleaseMarker, Completed  string
	Failed                    string
	Interval, KeepAlive       int
	RestartAfter              int
	ConcurrencyLimit          int
	SecondTermAfter           int
}

func cronRunner(s topology.Spec) string {
	return execute("cron-runner.sh.tmpl", runnerData{
		Name:            cronRunnerName,
		EnvPHPBin:       EnvPHPBin,
		EnvInstallHook:  EnvInstallHook,
		InstallHook:     appimage.InstallHook,
		Script:          MoodleFile(s, "admin/cli/cron.php"),
		LockFile:        s.Paths.CronLockFile(),
		InstalledMarker: s.Paths.InstalledMarker(),
		ReleaseMarker:   s.ReleaseMarker(),
		Completed:       cronCompletedMessage,
		Failed:          cronFailedMessage,
		Interval:        s.Cron.IntervalSeconds,
		KeepAlive:       s.Cron.KeepAliveSeconds,
		SecondTermAfter: secondTermAfter,
	})
}

func adhocWorker(s topology.Spec) string {
	return execute("adhoc-worker.sh.tmpl", runnerData{
		Name:             "adhoc-worker",
		EnvPHPBin:        EnvPHPBin,
		Script:           MoodleFile(s, "admin/cli/adhoc_task.php"),
		ReleaseMarker:    s.ReleaseMarker(),
		RestartAfter:     adhocRestartAfter,
		KeepAlive:        s.Cron.Adhoc.KeepAliveSeconds,
		ConcurrencyLimit: s.Cron.Adhoc.ConcurrencyLimit,
		SecondTermAfter:  secondTermAfter,
	})
}
