package status

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable prints the report on one screen: a line per check, the worst
// verdict last.
func WriteTable(w io.Writer, r Report) error {
	fmt.Fprintf(w, "stack %s (%s) at %s\n\n", r.Stack, r.Target, r.At.UTC().Format(time.RFC3339))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERDICT\tTIER\tSUBJECT\tCHECK\tVALUE\tRULE")
	for _, c := range r.Checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", strings.ToUpper(c.Verdict.String()), c.Tier, c.Subject, c.Name, c.Value, c.Rule)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%s: %s (exit %d)\n", r.Stack, strings.ToUpper(r.Verdict.String()), r.Verdict.ExitCode())
	return err
}

// WriteJSON prints the report as JSON.
func WriteJSON(w io.Writer, r Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
