package dockerhost

import "testing"

// The provider reads cpus back through nanoInt64ToDecimalString (pulumi-docker
// 4.10.0, upstream/internal/provider/helpers.go:149-165); these are its answers.
func TestFormatCPUs_WritesWhatTheProviderReadsBack(t *testing.T) {
	for cpus, want := range map[float64]string{
		4: "4.0", 1: "1.0", 64: "64.0", 0.5: "0.5", 1.25: "1.25", 20.5: "20.5", 10: "10.", 40: "40.",
		0.1: "0.1", 0.15: "0.15", 0.05: "0.1", 0.01: "0.0", 10.05: "10.1", 1.05: "1.05",
	} {
		if got := FormatCPUs(cpus); got != want {
			t.Errorf("FormatCPUs(%g) = %q, the provider reads back %q", cpus, got, want)
		}
	}
}
