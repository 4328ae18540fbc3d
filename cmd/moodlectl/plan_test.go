package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/stackview"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// TestPlan_PrintsAStackFile: what `moodlectl plan ... > Pulumi.mysite.yaml`
// writes is a stack file moodlectl's own loader accepts, for the target asked.
func TestPlan_PrintsAStackFile(t *testing.T) {
	for _, c := range []struct {
		args   []string
		target topology.Target
		want   string
	}{
		{[]string{"plan", "--users", "2000", "--target", "docker"}, topology.TargetDocker, "# host      at least"},
		{[]string{"plan", "--users", "20000", "--target", "aws"}, topology.TargetAWS, " USD/month, "},
		{[]string{"plan", "--users", "20000", "--concurrent", "100", "--target", "aws"}, topology.TargetAWS, "100 requests in flight"},
	} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), c.args, nil, &stdout, &stderr); err != nil {
			t.Fatalf("%v: %v\n%s", c.args, err, stderr.String())
		}
		if !strings.Contains(stdout.String(), c.want) {
			t.Errorf("%v does not print %q:\n%s", c.args, c.want, stdout.String())
		}
		file := filepath.Join(t.TempDir(), "Pulumi.mysite.yaml")
		if err := os.WriteFile(file, stdout.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		v, err := stackview.Config(file, "mysite")
		if err != nil {
			t.Fatalf("%v: the printed plan is no valid stack file: %v", c.args, err)
		}
		if v.Spec.Target != c.target {
			t.Errorf("%v: a stack of target %s", c.args, v.Spec.Target)
		}
	}
}

// TestPlan_RefusesBadInputAsAUsageError: exit 2, naming the flag, the value and
// what is allowed; nothing on stdout.
func TestPlan_RefusesBadInputAsAUsageError(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"plan", "--target", "docker"}, "--users 0: allowed: 1..10000000"},
		{[]string{"plan", "--users", "-3", "--target", "aws"}, "--users -3: allowed: 1..10000000"},
		{[]string{"plan", "--users", "100"}, `--target "": allowed: docker, aws`},
		{[]string{"plan", "--users", "100", "--target", "docker", "--concurrent", "-1"}, "--concurrent -1: allowed: 0"},
		{[]string{"plan", "--users", "100", "--target", "docker", "--yes"}, "plan does not take --yes"},
		{[]string{"plan", "--users", "100", "--target", "docker", "--stack", "dev"}, "plan does not take --stack"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), c.args, nil, &stdout, &stderr)
		if code := report(context.Background(), err, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2", c.args, code)
		}
		if !strings.Contains(stderr.String(), c.want) || stdout.Len() > 0 {
			t.Errorf("%v: stderr %q does not say %q, or stdout has %q", c.args, stderr.String(), c.want, stdout.String())
		}
	}
}
