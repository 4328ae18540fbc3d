package plan

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/cost"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/stackview"
)

// Estimate prices an aws plan with the project's cost estimator: the plan's
// stack file is loaded as moodlectl cost loads a stack (stackview.Load: the
// program's validator, then the program run offline under mocks) and its
// resources priced (cost.Of). dir is a scratch folder for the stack file.
func Estimate(p Plan, dir string) (cost.Estimate, error) {
	v, err := Load(p, dir, true)
	if err != nil {
		return cost.Estimate{}, err
	}
	est, err := cost.Of(v.Resources, v.Region())
	if err != nil {
		return est, fmt.Errorf("price the plan: %w", err)
	}
	return est, nil
}

// Load writes the plan's stack file into dir and reads it back the way moodlectl
// does (automation.LoadConfig, then the program's config loader and validator),
// with the program's resources when program is true.
func Load(p Plan, dir string, program bool) (stackview.View, error) {
	var b bytes.Buffer
	if err := Write(&b, p, nil); err != nil {
		return stackview.View{}, err
	}
	file := filepath.Join(dir, "Pulumi.plan.yaml")
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		return stackview.View{}, fmt.Errorf("write the plan's stack file: %w", err)
	}
	if program {
		return stackview.Load(file, "plan", nil)
	}
	return stackview.Config(file, "plan")
}
