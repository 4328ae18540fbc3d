package awsupgrade_test

import (
	"context"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/awsupgrade"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/backup"
	"github.com/moodle-cluster/moodle-pulumi/tests/fakes/awsfake"
)

// recorder is a Deployer that keeps the edits of each up; after the up whose
// edits name an image, the runner of that image writes its lines to the log.
type recorder struct {
	ups   []map[string]any
	log   *awsfake.LogGroup
	lines map[string][]string // by image
}

func (r *recorder) Up(_ context.Context, edits map[string]any) error {
	r.ups = append(r.ups, edits)
	if image, ok := edits[awsupgrade.ImageKey].(string); ok {
		for _, l := range r.lines[image] {
			r.log.Put("moodle-cron/cron/1", time.Now(), l)
		}
	}
	return nil
}

func site(t *testing.T, r *recorder) (awsupgrade.Site, *[]string) {
	fake := awsfake.Start()
	t.Cleanup(fake.Close)
	r.log = &awsfake.LogGroup{Name: "moodle-cron-1a2b"}
	r.log.Serve(fake)
	var calls []string
	return awsupgrade.Site{
		Deployer: r,
		Backup: func(context.Context, string) (backup.Manifest, error) {
			calls = append(calls, "backup")
			return backup.Manifest{ID: "20261207T050000Z"}, nil
		},
		Restore: func(context.Context, backup.Manifest) error {
			calls = append(calls, "restore")
			return nil
		},
		Logs: cloudwatchlogs.NewFromConfig(fake.Config("eu-west-1")), LogGroup: r.log.Name,
		Database: "moodle-db-1", FileSystem: "fs-1",
		Poll: time.Millisecond, Wait: time.Second, Now: time.Now, Progress: io.Discard,
	}, &calls
}

// What Moodle refuses, and an upgrade that could not be undone or would not
// run, is refused before anything changes: no up, no backup.
func TestUpgrade_RefusesBeforeChangingAnything(t *testing.T) {
	const old, next = "registry/app:5.1.4", "registry/app:5.3.1"
	for _, tc := range []struct {
		name string
		req  awsupgrade.Request
		want string
	}{
		{"a downgrade", awsupgrade.Request{From: "5.3", FromImage: next, To: "5.1", Image: old}, "Moodle 5.3 cannot be downgraded to 5.1"},
		{"the release it runs", awsupgrade.Request{From: "5.1", FromImage: old, To: "5.1", Image: next}, "the site already runs Moodle 5.1"},
		{"a release outside the table", awsupgrade.Request{From: "5.1", FromImage: old, To: "6.0", Image: next}, `unknown release "6.0"`},
		{"no image", awsupgrade.Request{From: "5.1", FromImage: old, To: "5.3"}, "a new release on AWS is a new image"},
		{"the image it runs", awsupgrade.Request{From: "5.1", FromImage: old, To: "5.3", Image: old}, "the site already runs image " + old},
		{"a stack that builds its image", awsupgrade.Request{From: "5.1", FromImage: old, To: "5.3", BuildsImage: true},
			"a rollback would push the previous release's tag again"},
		{"over a restore in place", awsupgrade.Request{From: "5.1", FromImage: old, To: "5.3", Image: next, Restored: "snap-1"},
			"a failed upgrade could not be rolled back over that restore"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{}
			s, calls := site(t, r)
			_, err := s.Upgrade(context.Background(), tc.req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
			if len(r.ups) > 0 || len(*calls) > 0 {
				t.Errorf("a refused upgrade ran up %v and %v", r.ups, *calls)
			}
		})
	}
}

// An update after which the runner found nothing to upgrade is not a success
// and not a failure to undo: the site stays in maintenance, nothing is
// restored, and the error says what the runner said.
func TestUpgrade_ARunnerThatDidNotUpgradeKeepsTheSiteInMaintenance(t *testing.T) {
	r := &recorder{lines: map[string][]string{"registry/app:5.3.1": {"moodle-install-upgrade: database is up to date"}}}
	s, calls := site(t, r)
	_, err := s.Upgrade(context.Background(), awsupgrade.Request{From: "5.1", FromImage: "registry/app:5.1.4", To: "5.3", Image: "registry/app:5.3.1"})
	if err == nil || !strings.Contains(err.Error(), `the cron runner says "moodle-install-upgrade: database is up to date", not that it upgraded`) {
		t.Errorf("error %v", err)
	}
	want := []map[string]any{{awsupgrade.MaintenanceKey: true}, {awsupgrade.VersionKey: "5.3", awsupgrade.ImageKey: "registry/app:5.3.1"}}
	if !reflect.DeepEqual(r.ups, want) || !reflect.DeepEqual(*calls, []string{"backup"}) {
		t.Errorf("ups %v, calls %v; want maintenance on, the upgrade, and only the backup", r.ups, *calls)
	}
}

// A backup that fails ends the upgrade before it starts, and the site leaves
// maintenance: nothing was changed.
func TestUpgrade_AFailedBackupUpgradesNothingAndEndsMaintenance(t *testing.T) {
	r := &recorder{}
	s, _ := site(t, r)
	s.Backup = func(context.Context, string) (backup.Manifest, error) {
		return backup.Manifest{}, errors.New("snapshot quota exceeded")
	}
	_, err := s.Upgrade(context.Background(), awsupgrade.Request{From: "5.1", FromImage: "registry/app:5.1.4", To: "5.3", Image: "registry/app:5.3.1"})
	if err == nil || !strings.Contains(err.Error(), "the backup before the upgrade failed, nothing was upgraded: snapshot quota exceeded") {
		t.Errorf("error %v", err)
	}
	want := []map[string]any{{awsupgrade.MaintenanceKey: true}, {awsupgrade.MaintenanceKey: false}}
	if !reflect.DeepEqual(r.ups, want) {
		t.Errorf("ups %v, want maintenance on then off", r.ups)
	}
}
