package plan

import (
	"time"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// RPS is the plan's model of throughput: every request in flight holds one
// worker (and one database connection) for its response time, so a load of
// connections requests in flight with no think time, as wrk keeps, completes
// connections / response requests a second (Little's law). When there are more
// requests than workers the response time includes the wait for a worker, and
// the law still holds over the whole loop.
func RPS(connections int, response time.Duration) float64 {
	if response <= 0 {
		return 0
	}
	return float64(connections) / response.Seconds()
}

// Prediction is the model's requests/s for one recorded run, against the rate
// recorded.
type Prediction struct {
	Run       Run
	Predicted float64
	// Ratio is Predicted / Run.RPS.
	Ratio float64
}

// Margin bounds Prediction.Ratio: the model predicts every recorded run from
// its p50 latency at 1.0 to 1.0+Margin times the rate measured. It reads high
// because it is given the median response time, and a loaded machine's
// latencies are skewed to the right, so their mean (which Little's law wants) lies
// above the median.
const Margin = 0.25

// Check predicts each recorded run of b.
func Check(b Bench) []Prediction {
	out := make([]Prediction, len(b.Runs))
	for i, r := range b.Runs {
		predicted := RPS(r.Connections, r.P50)
		out[i] = Prediction{Run: r, Predicted: predicted, Ratio: predicted / r.RPS}
	}
	return out
}

// PoolPeakMB is what the plan's sizing says a pool of a node of memoryMB holds
// at most with every worker at the measured peak: the reserve (master, OPcache
// segment, OS) plus each worker's measured RSS. The bench's pool, charged with
// every process at its own peak, must stay at or below it.
func PoolPeakMB(memoryMB, reserveMB int) (workers, peakMB int) {
	workers = topology.MaxChildrenFor(memoryMB, reserveMB, Measured.WorkerRSSMB)
	return workers, reserveMB + workers*Measured.WorkerRSSMB
}
