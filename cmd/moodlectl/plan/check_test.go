package plan

import (
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// TestCheck_PredictsTheRecordedBenchWithinTheMargin: the model the plan sizes
// by (a request in flight holds a worker for its response time) predicts the
// requests/s of every run tests/bench/RESULTS.md recorded, from that run's load and
// p50 latency alone, at 1.0 to 1.25 times the rate measured.
func TestCheck_PredictsTheRecordedBenchWithinTheMargin(t *testing.T) {
	predictions := Check(Measured)
	if len(predictions) != 6 {
		t.Fatalf("%d runs predicted, want the 6 RESULTS.md recorded", len(predictions))
	}
	for _, p := range predictions {
		t.Logf("%s (%s): predicted %.1f requests/s, recorded %.1f, ratio %.3f", p.Run.Name, p.Run.Where, p.Predicted, p.Run.RPS, p.Ratio)
		if p.Ratio < 1 || p.Ratio > 1+Margin {
			t.Errorf("%s (%s): predicted %.1f requests/s against %.1f recorded, ratio %.3f outside 1..%.2f",
				p.Run.Name, p.Run.Where, p.Predicted, p.Run.RPS, p.Ratio, 1+Margin)
		}
	}
}

// TestMake_TheBenchsLoadNeverWaitsForAWorker: the plan for the bench's load (24
// requests in flight) keeps a worker for each even with a node lost, as the
// recorded topology (3 pools of 83) did, so the model's rate for it is the
// page's own time, the case the recorded LB and direct runs measured.
func TestMake_TheBenchsLoadNeverWaitsForAWorker(t *testing.T) {
	p, err := Make(Request{Users: 1, Concurrent: 24, Target: topology.TargetDocker})
	if err != nil {
		t.Fatal(err)
	}
	if lost := p.Workers - p.Spec.App.Sizing().MaxChildren; lost < 24 {
		t.Errorf("the plan for 24 requests in flight leaves %d workers with a node lost", lost)
	}
	if p.Spec.App.MemoryMB != 8192 || p.Spec.App.CPUs != 2 {
		t.Errorf("the plan for the bench's load runs nodes of %g CPUs / %d MB, not the bench's 2 / 8192", p.Spec.App.CPUs, p.Spec.App.MemoryMB)
	}
}

// TestPoolPeakMB_HoldsThePoolTheBenchMeasured: sized with the measured worker,
// the bench's 1024 MB node gets the bench's 8 workers, and the plan's bound on
// their memory lies between what the pool was charged at its peak (835 MB,
// OPcache full) and the node's limit.
func TestPoolPeakMB_HoldsThePoolTheBenchMeasured(t *testing.T) {
	m := Measured
	workers, peak := PoolPeakMB(m.PoolLimitMB, m.PoolReserveMB)
	if workers != m.PoolWorkers {
		t.Errorf("a %d MB node gets %d workers, the bench ran %d", m.PoolLimitMB, workers, m.PoolWorkers)
	}
	if peak < m.PoolChargedMB || peak > m.PoolLimitMB {
		t.Errorf("the plan bounds the pool at %d MB; measured %d MB, limit %d MB", peak, m.PoolChargedMB, m.PoolLimitMB)
	}
	t.Logf("plan bound %d MB, measured %d MB: %.1f %% above", peak, m.PoolChargedMB, 100*float64(peak-m.PoolChargedMB)/float64(m.PoolChargedMB))
}
