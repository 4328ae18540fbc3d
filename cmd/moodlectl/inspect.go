package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/moodle-cluster/moodle-pulumi/automation"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/cost"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/diagram"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/inventory"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/stackview"
)

// view reads the stack: its config and Spec from the committed stack file, and
// its resources as its program registers them, run offline (the default: no
// credentials, no state), or with --from state those of the deployed stack.
func view(ctx context.Context, f flags) (stackview.View, error) {
	v, err := stackview.Load(f.stackFile(), f.stack, nil)
	if err != nil {
		return v, err
	}
	switch f.from {
	case "program":
	case "state":
		v.Resources, err = deployed(ctx, f)
	default:
		err = fmt.Errorf("%w: --from %q: allowed: program, state", errUsage, f.from)
	}
	return v, err
}

func (f flags) stackFile() string { return filepath.Join(".", "Pulumi."+f.stack+".yaml") }

// deployed reads the resources and outputs from the stack's state.
func deployed(ctx context.Context, f flags) (inventory.Inventory, error) {
	s, err := automation.New(ctx, f.stack, stackOptions(f, io.Discard)...)
	if err != nil {
		return inventory.Inventory{}, err
	}
	d, err := s.Deployment(ctx)
	if err != nil {
		return inventory.Inventory{}, err
	}
	inv := inventory.FromState(f.stack, d)
	if len(inv.Resources) == 0 {
		return inv, fmt.Errorf("stack %s has no resources in its state: deploy it, or draw it with --from program", f.stack)
	}
	return inv, nil
}

func runCost(ctx context.Context, f flags, stdout io.Writer) error {
	v, err := view(ctx, f)
	if err != nil {
		return err
	}
	est, err := cost.Of(v.Resources, v.Region())
	if err != nil {
		return err
	}
	if f.compare != "" {
		base, err := readEstimate(f.compare)
		if err != nil {
			return err
		}
		return cost.WriteDiffMarkdown(stdout, base, est)
	}
	if f.json {
		return writeJSON(stdout, est)
	}
	return cost.WriteTable(stdout, est)
}

// readEstimate reads a `cost --json` file. An empty file stands for a base
// that had no estimate (a branch older than the cost command).
func readEstimate(path string) (cost.Estimate, error) {
	var e cost.Estimate
	raw, err := os.ReadFile(path)
	if err != nil || len(bytes.TrimSpace(raw)) == 0 {
		return e, err
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		return e, fmt.Errorf("read %s: %w", path, err)
	}
	return e, nil
}

func runDiagram(ctx context.Context, f flags, stdout io.Writer) error {
	v, err := view(ctx, f)
	if err != nil {
		return err
	}
	t, err := diagram.Build(v.Resources, v.Spec)
	if err != nil {
		return err
	}
	if f.svg != "" {
		var svg bytes.Buffer
		if err := diagram.SVG(ctx, &svg, t); err != nil {
			return err
		}
		if err := os.WriteFile(f.svg, svg.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write the SVG: %w", err)
		}
	}
	if f.mermaid == "" {
		return diagram.Mermaid(stdout, t)
	}
	var mmd bytes.Buffer
	if err := diagram.Mermaid(&mmd, t); err != nil {
		return err
	}
	if err := os.WriteFile(f.mermaid, mmd.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write the Mermaid file: %w", err)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
