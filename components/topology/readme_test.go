package topology_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// The README's release table restates the releases table for readers: one row per
// release line, in the same order, with the same branch, layout, PHP range,
// minimum PostgreSQL and oldest release it upgrades from, and the count and the
// default in the prose above it. A release added to (or changed in) release.go
// fails here until the README says the same.
func TestREADMEReleaseTableIsTheReleasesTable(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	section := between(readme, "## Moodle releases", "\n## ")
	var rows [][]string
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| release ") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		rows = append(rows, cells)
	}
	releases := topology.Releases()
	if len(rows) != len(releases) {
		t.Fatalf("README's release table has %d rows, the releases table %d (%s)", len(rows), len(releases), topology.ReleaseVersions())
	}
	words := map[int]string{1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}
	if want := fmt.Sprintf("deploys %s release lines", words[len(releases)]); !strings.Contains(section, want) {
		t.Errorf("README's release section does not say %q", want)
	}
	if want := "defaults to **" + topology.DefaultRelease + "**"; !strings.Contains(section, want) {
		t.Errorf("README's release section does not say %q", want)
	}
	for i, r := range releases {
		row := rows[i]
		if len(row) < 6 {
			t.Errorf("README release row %d has %d cells", i+1, len(row))
			continue
		}
		layout := "the code root"
		if r.PublicWebRoot {
			layout = "`public/`"
		}
		php := r.PHPMin + " or later"
		if r.PHPMax != "" {
			php = r.PHPMin + " to " + r.PHPMax
		}
		checks := []struct{ what, cell, want string }{
			{"release", row[0], r.Version},
			{"branch", row[1], r.Branch},
			{"web root", row[2], layout},
			{"PHP", row[3], php},
			{"PostgreSQL", row[4], fmt.Sprintf("%d or later", r.PostgresMin)},
			{"upgrades from", row[5], r.UpgradesFrom},
		}
		for _, c := range checks {
			if !strings.HasPrefix(c.cell, c.want) {
				t.Errorf("README release row %d, %s: %q, want it to start with %q (components/topology/release.go)", i+1, c.what, c.cell, c.want)
			}
		}
	}
}

// between is the part of s after the first start and before the next end.
func between(s, start, end string) string {
	_, after, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	before, _, _ := strings.Cut(after, end)
	return before
}
