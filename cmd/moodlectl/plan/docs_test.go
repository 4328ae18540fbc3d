package plan

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/cost"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// TestDocs_AreCurrent: docs/plan.md prints the two samples as the command
// prints them now, and the bench check's table as Check computes it.
func TestDocs_AreCurrent(t *testing.T) {
	raw, err := os.ReadFile("../../../docs/plan.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	for _, r := range []Request{{Users: 2000, Target: topology.TargetDocker}, {Users: 20000, Target: topology.TargetAWS}} {
		p, err := Make(r)
		if err != nil {
			t.Fatal(err)
		}
		var est *cost.Estimate
		if r.Target == topology.TargetAWS {
			e, err := Estimate(p, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			est = &e
		}
		var out bytes.Buffer
		if err := Write(&out, p, est); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(doc, "```yaml\n"+out.String()+"```") {
			t.Errorf("docs/plan.md does not show the current plan for %d users on %s; it is now:\n%s", r.Users, r.Target, out.String())
		}
	}
	for _, p := range Check(Measured) {
		p50 := fmt.Sprintf("%.3f ms", float64(p.Run.P50)/float64(time.Millisecond))
		if p.Run.P50 >= time.Second {
			p50 = fmt.Sprintf("%.3f s", p.Run.P50.Seconds())
		}
		row := fmt.Sprintf("| %d | %d | %s | %.1f | %g | %.3f |", p.Run.Connections, p.Run.Workers, p50, p.Predicted, p.Run.RPS, p.Ratio)
		if !strings.Contains(doc, row) {
			t.Errorf("docs/plan.md's bench check has no row %q", row)
		}
	}
}
