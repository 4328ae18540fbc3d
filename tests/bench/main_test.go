//go:build integration

package main

import (
	"testing"
	"time"
)

// The rounds of the recorded run the issue quoted: the round with the median
// throughput has the worst p99, which is not the median p99.
func TestMedian_TakesEachMetricOnItsOwn(t *testing.T) {
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	rounds := []wrkResult{
		{rps: 3699, p50: ms(6.072), p99: ms(30.953)},
		{rps: 3398, p50: ms(6.582), p99: ms(23.229)},
		{rps: 3925, p50: ms(5.608), p99: ms(21.305)},
	}
	got := median(rounds)
	if got.rps != 3699 || got.p50 != ms(6.072) || got.p99 != ms(23.229) {
		t.Errorf("median = %.0f req/s, p50 %s, p99 %s; want 3699, 6.072ms, 23.229ms", got.rps, got.p50, got.p99)
	}
	even := median(rounds[:2])
	if even.rps != 3548.5 || even.p99 != ms(27.091) {
		t.Errorf("median of two rounds = %.1f req/s, p99 %s; want their means 3548.5 and 27.091ms", even.rps, even.p99)
	}
}

// A wrk run in which any request failed, by a socket error or an answer of 400 or
// more (wrk's summary.errors.status), is no measurement.
func TestWrkResult_FailsOnSocketErrorsAndErrorAnswers(t *testing.T) {
	for line, wantFailed := range map[string]bool{
		"RESULT 1000 10000000 5000 9000 0 0 0 0 0":  false,
		"RESULT 1000 10000000 5000 9000 1 0 0 0 0":  true,
		"RESULT 1000 10000000 5000 9000 0 3 0 0 0":  true,
		"RESULT 1000 10000000 5000 9000 0 0 0 2 0":  true,
		"RESULT 1000 10000000 5000 9000 0 0 0 0 17": true,
	} {
		res, ok := parseWrk(line)
		if !ok {
			t.Fatalf("parseWrk(%q) found no result", line)
		}
		if err := res.failed(); (err != nil) != wantFailed {
			t.Errorf("%q: failed() = %v, want failed %v", line, err, wantFailed)
		}
	}
}
