// Package stats holds the summaries the benchmarks report.
package stats

import "slices"

// Median is the middle of values, or the mean of the two middle ones when their
// number is even; 0 for none. values is not changed.
func Median(values []float64) float64 {
	if len(values) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(values))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
