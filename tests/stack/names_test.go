package stack_test

import (
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/awscloud"
	"github.com/moodle-cluster/moodle-pulumi/components/dockerhost"
	"github.com/moodle-cluster/moodle-pulumi/stacks"
)

// moodlectl up follows the install by the names the program's own functions
// give (cmd/moodlectl/up.go): each must name what the program registers, the
// dev cron container, and the prod cron service with its log group.
func TestToolsFollowTheCronRunnerByTheNamesTheProgramGives(t *testing.T) {
	dev := mustRun(t, "dev", nil)
	dev.one(t, tContainer, dockerhost.CronContainerName(stacks.DockerClusterName("dev")))

	prod := mustRun(t, "prod", nil)
	cron := awscloud.CronName(stacks.AWSClusterName)
	prod.one(t, tService, cron)
	prod.one(t, tLogGroup, cron)
}
