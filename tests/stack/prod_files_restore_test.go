package stack_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/appimage"
	"github.com/moodle-cluster/moodle-pulumi/components/awscloud"
)

const (
	tFSPolicy  = "aws:efs/fileSystemPolicy:FileSystemPolicy"
	filesName  = "moodle-files"
	restoredFS = "fs-0fedcba9876543210"
)

// storage.restoreFileSystemId keeps the current file system and everything on it
// registered as it was, protected, and gives the file system AWS Backup restored
// what the site needs: a mount target in every app subnet, the TLS-only policy,
// automatic backups, the access point at /moodledata that the app, cron and ad hoc
// tasks mount, and a root access point that only the cron runner mounts, to move
// the files out of the restore's recovery directory. The backup plan and the
// outputs follow the restored file system.
func TestProdRestoreFileSystemKeepsTheCurrentOneAndMovesTheSiteToTheRestored(t *testing.T) {
	workers := map[string]any{"cron.adhoc.workers": 2}
	before := mustRun(t, "prod", workers)
	rec := mustRun(t, "prod", map[string]any{"cron.adhoc.workers": 2, "storage.restoreFileSystemId": restoredFS})
	restoredARN := fmt.Sprintf("arn:aws:elasticfilesystem:%s:%s:file-system/%s", mockRegion, mockAccount, restoredFS)

	// The current file system and its attachments: the same, and the data protected.
	for _, token := range []string{tEFS, tEFSBackup, tFSPolicy, tEFSMount, tAccessPoint} {
		for _, was := range before.ofType(token) {
			is := rec.one(t, token, was.Name)
			if !was.Inputs.DeepEquals(is.Inputs) || was.Protect != is.Protect {
				t.Errorf("%s %s changed by the restore:\nbefore %v\nafter  %v", token, was.Name, was.Inputs, is.Inputs)
			}
		}
	}
	if fs := rec.one(t, tEFS, filesName); !fs.Protect {
		t.Error("the current file system is not protected")
	}
	if n := len(rec.ofType(tEFS)); n != 1 {
		t.Errorf("%d file systems registered, want the current one only: AWS Backup made the restored one", n)
	}

	// The restored file system's attachments.
	restored := func(token, name string) registered {
		r := rec.one(t, token, name)
		if got := r.str("fileSystemId"); got != restoredFS {
			t.Errorf("%s %s is on %q, want the restored %s", token, name, got, restoredFS)
		}
		return r
	}
	if got := restored(tEFSBackup, filesName+"-restored").str("backupPolicy.status"); got != "ENABLED" {
		t.Errorf("restored file system's automatic backups %q, want ENABLED", got)
	}
	var doc policyDoc
	restored(tFSPolicy, filesName+"-restored").jsonInput(t, "policy", &doc)
	if len(doc.Statement) != 1 || doc.Statement[0].Effect != "Deny" || !slices.Equal(anyStrings(doc.Statement[0].Resource), []string{restoredARN}) ||
		fmt.Sprint(doc.Statement[0].Condition["Bool"]["aws:SecureTransport"]) != "false" {
		t.Errorf("restored file system's policy does not refuse clients without TLS: %+v", doc)
	}
	currentSubnets, restoredSubnets := []string{}, []string{}
	for _, m := range rec.ofType(tEFSMount) {
		if strings.HasPrefix(m.Name, filesName+"-restored-") {
			restored(tEFSMount, m.Name)
			restoredSubnets = append(restoredSubnets, m.str("subnetId"))
		} else {
			currentSubnets = append(currentSubnets, m.str("subnetId"))
		}
	}
	if len(restoredSubnets) == 0 || !slices.Equal(restoredSubnets, currentSubnets) {
		t.Errorf("restored file system's mount targets in %v, want every app subnet %v", restoredSubnets, currentSubnets)
	}
	ap := restored(tAccessPoint, filesName+"-restored")
	if ap.str("rootDirectory.path") != "/moodledata" || ap.number("posixUser.uid") != awscloud.AppUID || ap.number("rootDirectory.creationInfo.ownerUid") != awscloud.AppUID ||
		ap.str("rootDirectory.creationInfo.permissions") != "0750" {
		t.Errorf("restored access point %v, want /moodledata as the app user with the same creation info", ap.Inputs)
	}
	root := restored(tAccessPoint, filesName+"-restored-root")
	if root.str("rootDirectory.path") != "/" || root.number("posixUser.uid") != awscloud.AppUID {
		t.Errorf("root access point %v, want / as the app user", root.Inputs)
	}

	// Every task mounts moodledata from the restored file system; the runner alone
	// mounts its root too, and is told where.
	for _, name := range []string{appName, cronName, cronName + "-adhoc"} {
		td := rec.one(t, tTaskDef, name)
		volumes := map[string][2]string{}
		for i := range td.input("volumes").ArrayValue() {
			efs := fmt.Sprintf("volumes.%d.efsVolumeConfiguration", i)
			if fs := td.str(efs + ".fileSystemId"); fs != "" {
				volumes[td.str(fmt.Sprintf("volumes.%d.name", i))] = [2]string{fs, td.str(efs + ".authorizationConfig.accessPointId")}
			}
		}
		want := map[string][2]string{"moodledata": {restoredFS, ap.id()}}
		if name == cronName {
			want["restored-efs"] = [2]string{restoredFS, root.id()}
		}
		if fmt.Sprint(volumes) != fmt.Sprint(want) {
			t.Errorf("%s mounts %v, want %v", name, volumes, want)
		}
		var env, mounts []string
		for _, c := range td.containers(t) {
			for _, e := range c.Environment {
				if e.Name == appimage.EnvRestoredRoot {
					env = append(env, c.Name+"="+e.Value)
				}
			}
			for _, m := range c.MountPoints {
				if m.SourceVolume == "restored-efs" {
					mounts = append(mounts, fmt.Sprintf("%s:%s:ro=%v", c.Name, m.ContainerPath, m.ReadOnly))
				}
			}
		}
		wantEnv, wantMounts := []string(nil), []string(nil)
		if name == cronName {
			// The variable is the task's PHP environment; only the upgrade
			// container, which runs the install hook, mounts the root.
			wantEnv = []string{"upgrade=" + appimage.RestoredRootMount, "cron=" + appimage.RestoredRootMount}
			wantMounts = []string{"upgrade:" + appimage.RestoredRootMount + ":ro=false"}
		}
		if !slices.Equal(env, wantEnv) || !slices.Equal(mounts, wantMounts) {
			t.Errorf("%s: %s %v and root mounts %v, want %v and %v", name, appimage.EnvRestoredRoot, env, mounts, wantEnv, wantMounts)
		}

		// The task role may mount the restored file system through the access
		// points the task uses, and no other.
		var role policyDoc
		rec.one(t, tRolePolicy, name+"-task").jsonInput(t, "policy", &role)
		wantAPs := []string{mockARN(tAccessPoint, filesName+"-restored")}
		if name == cronName {
			wantAPs = append(wantAPs, mockARN(tAccessPoint, filesName+"-restored-root"))
		}
		found := false
		for _, s := range role.Statement {
			if s.Sid != "MountMoodledata" {
				continue
			}
			found = true
			if got := anyStrings(s.Resource); !slices.Equal(got, []string{restoredARN}) {
				t.Errorf("%s may mount %v, want the restored file system", name, got)
			}
			if got := anyStrings(s.Condition["StringEquals"]["elasticfilesystem:AccessPointArn"]); !slices.Equal(got, wantAPs) {
				t.Errorf("%s mounts through %v, want %v", name, got, wantAPs)
			}
		}
		if !found {
			t.Errorf("%s's role may not mount moodledata", name)
		}
	}

	if got := rec.one(t, tBackupSelect, backupName).strings("resources"); !slices.Contains(got, restoredARN) || slices.Contains(got, mockARN(tEFS, filesName)) {
		t.Errorf("the backup plan selects %v, want the restored file system and not the one the site left", got)
	}
}

// storage.retireOriginal, once the operator has taken the old file system out of
// the state, stops registering it and everything attached to it; the restored
// file system, its attachments and what the tasks mount stay exactly as before.
func TestProdRetireOriginalFileSystemDropsOnlyTheOldOne(t *testing.T) {
	restore := map[string]any{"storage.restoreFileSystemId": restoredFS}
	kept := mustRun(t, "prod", restore)
	retired := mustRun(t, "prod", map[string]any{"storage.restoreFileSystemId": restoredFS, "storage.retireOriginal": true})
	if n := len(retired.ofType(tEFS)); n != 0 {
		t.Errorf("%d file systems registered, want none: the old one is retired and AWS Backup made the restored one", n)
	}
	for _, token := range []string{tEFSBackup, tFSPolicy, tEFSMount, tAccessPoint} {
		var restored int
		for _, r := range retired.ofType(token) {
			if !strings.HasPrefix(r.Name, filesName+"-restored") {
				t.Errorf("%s %s of the retired file system is still registered", token, r.Name)
				continue
			}
			restored++
			if was := kept.one(t, token, r.Name); !was.Inputs.DeepEquals(r.Inputs) {
				t.Errorf("%s %s changed by retiring the old file system:\nbefore %v\nafter  %v", token, r.Name, was.Inputs, r.Inputs)
			}
		}
		if restored == 0 {
			t.Errorf("no %s on the restored file system", token)
		}
	}
	for _, name := range []string{appName, cronName} {
		if was, is := kept.one(t, tTaskDef, name), retired.one(t, tTaskDef, name); !was.Inputs.DeepEquals(is.Inputs) {
			t.Errorf("task definition %s changed by retiring the old file system", name)
		}
	}
}
