//go:build engine

package engine_test

import (
	"context"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// BenchmarkEngine measures the engine over each committed stack through the fake
// providers: a preview of a new stack and a first up (each on fresh state), with
// the resource count and the time per resource. The providers answer at once, so
// this is the engine's and the program's own cost.
func BenchmarkEngine(b *testing.B) {
	for _, stack := range []string{"dev", "prod"} {
		b.Run("preview/"+stack, func(b *testing.B) {
			s := newRig(b).stack(b, stack, nil)
			resources := 0
			b.ResetTimer()
			for range b.N {
				res, err := s.Preview(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				resources = res.ChangeSummary[apitype.OpCreate]
			}
			report(b, resources)
		})
		b.Run("up/"+stack, func(b *testing.B) {
			resources := 0
			for range b.N {
				b.StopTimer()
				s := newRig(b).stack(b, stack, nil)
				b.StartTimer()
				res, err := s.Up(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				resources = (*res.Summary.ResourceChanges)[string(apitype.OpCreate)]
			}
			report(b, resources)
		})
	}
}

func report(b *testing.B, resources int) {
	b.ReportMetric(float64(resources), "resources")
	if resources > 0 {
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/float64(resources), "ms/resource")
	}
}
