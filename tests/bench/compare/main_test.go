package main

import (
	"maps"
	"testing"
)

// The result line of the leaf asked for is read whole, ns/op as seconds, whatever
// GOMAXPROCS suffix the testing package gave it; another leaf's line, or a leaf
// whose name only starts the same, is not taken for it.
func TestParseReadsTheLeafsOwnResultLine(t *testing.T) {
	output := "goos: linux\n" +
		"BenchmarkGrowth/dev/nodes=10/up-new-2   \t       1\t2415438357 ns/op\t       266.0 changes\t       266.0 resources\n" +
		"BenchmarkGrowth/dev/nodes=3/up-new-2    \t       1\t1500000000 ns/op\t        30.00 resources\n" +
		"BenchmarkLifecycle/nodes=3              \t       1\t90000000000 ns/op\t 25.5 up-s\t 0 scale-failed-requests\n" +
		"PASS\n"
	for _, c := range []struct {
		leaf string
		want map[string]float64
	}{
		{"BenchmarkGrowth/dev/nodes=3/up-new", map[string]float64{"s": 1.5, "resources": 30}},
		{"BenchmarkGrowth/dev/nodes=10/up-new", map[string]float64{"s": 2.415438357, "changes": 266, "resources": 266}},
		{"BenchmarkLifecycle/nodes=3", map[string]float64{"s": 90, "up-s": 25.5, "scale-failed-requests": 0}},
		{"BenchmarkGrowth/dev/nodes=25/up-new", nil},
	} {
		got, ok := parse(output, c.leaf)
		if ok != (c.want != nil) || !maps.Equal(got, c.want) {
			t.Errorf("parse(%s) = %v, %v; want %v", c.leaf, got, ok, c.want)
		}
	}
}

// Each metric's median is taken on each side on its own, the operation's total
// time first, and a metric one side lacks is counted as absent there, not zero.
func TestSummarizeGivesEachMetricsMedianOnBothSides(t *testing.T) {
	rows := summarize(map[string][]map[string]float64{
		"baseline":  {{"s": 3, "up-s": 1}, {"s": 5, "up-s": 2}, {"s": 4, "up-s": 9}},
		"candidate": {{"s": 2, "up-s": 1, "new-s": 7}, {"s": 6, "up-s": 1}},
	})
	want := []row{
		{metric: "s", base: 4, cand: 4, nBase: 3, nCand: 2},
		{metric: "new-s", base: 0, cand: 7, nBase: 0, nCand: 1},
		{metric: "up-s", base: 2, cand: 1, nBase: 3, nCand: 2},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows = %+v, want %+v", rows, want)
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d = %+v, want %+v", i, rows[i], want[i])
		}
	}
	if got := ratio(rows[0].base, rows[2].cand); got != "0.25" {
		t.Errorf("ratio(4, 1) = %s, want 0.25", got)
	}
	if got := ratio(0, 7); got != "–" {
		t.Errorf("ratio(0, 7) = %s, want –", got)
	}
}
