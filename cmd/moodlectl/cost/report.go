package cost

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteTable prints the estimate as a table, most expensive first, resources of
// the same kind and price on one row; then the total and the usage-based charges
// with their rates.
func WriteTable(w io.Writer, e Estimate) error {
	if len(e.Lines) == 0 {
		_, err := fmt.Fprintf(w, "stack %s: no charged resources (%d resources, none billed by a cloud provider)\n", e.Stack, e.Free)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "USD/month\tresources\twhat\n")
	for _, g := range groups(e.Lines) {
		name := g.lines[0].Name
		if n := len(g.lines); n > 1 {
			name = fmt.Sprintf("%s and %d more", name, n-1)
		}
		fmt.Fprintf(tw, "%10s\t%s\t%s\n", money(g.monthly), name, g.what)
	}
	fmt.Fprintf(tw, "%10s\ttotal\t%s on-demand list prices as of %s, %d h a month\n", money(e.Total), e.Region, e.AsOf, HoursPerMonth)
	if e.CeilingTotal != e.Total {
		fmt.Fprintf(tw, "%10s\tat the ceiling\tevery autoscaled service at its maximum\n", money(e.CeilingTotal))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nplus usage, not in the total:")
	for _, g := range groups(e.Lines) {
		if g.lines[0].Usage != "" {
			fmt.Fprintf(w, "  %s (%d): %s\n", g.what, len(g.lines), g.lines[0].Usage)
		}
	}
	fmt.Fprintf(w, "\n%d resources cost nothing of their own.\n", e.Free)
	if len(e.Unpriced) > 0 {
		fmt.Fprintf(w, "NOT PRICED (unknown to cmd/moodlectl/cost): %s\n", strings.Join(e.Unpriced, ", "))
	}
	return nil
}

// group is the lines of one kind of resource at one price.
type group struct {
	what    string
	monthly float64
	lines   []Line
}

// groups gathers lines by type, description and price, most expensive first.
func groups(lines []Line) []group {
	index := map[string]int{}
	var out []group
	for _, l := range lines {
		key := fmt.Sprintf("%s|%s|%v|%v", l.Type, l.What, l.Monthly, l.Usage)
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, group{what: l.What})
		}
		out[i].lines = append(out[i].lines, l)
		out[i].monthly = cents(out[i].monthly + l.Monthly)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].monthly != out[j].monthly {
			return out[i].monthly > out[j].monthly
		}
		return out[i].lines[0].Name < out[j].lines[0].Name
	})
	return out
}

func money(v float64) string { return fmt.Sprintf("%.2f", v) }

// Change is one resource whose monthly cost differs between two estimates.
type Change struct {
	Type, Name  string
	Base, Head  float64
	WhatBefore  string
	WhatAfter   string
	Added, Gone bool
}

// Diff lists the resources whose monthly cost changed from base to head.
func Diff(base, head Estimate) []Change {
	before := map[string]Line{}
	for _, l := range base.Lines {
		before[l.Key()] = l
	}
	var out []Change
	seen := map[string]bool{}
	for _, l := range head.Lines {
		seen[l.Key()] = true
		b, ok := before[l.Key()]
		if ok && b.Monthly == l.Monthly {
			continue
		}
		out = append(out, Change{Type: l.Type, Name: l.Name, Base: b.Monthly, Head: l.Monthly,
			WhatBefore: b.What, WhatAfter: l.What, Added: !ok})
	}
	for _, l := range base.Lines {
		if !seen[l.Key()] && l.Monthly != 0 {
			out = append(out, Change{Type: l.Type, Name: l.Name, Base: l.Monthly, WhatBefore: l.What, Gone: true})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// WriteDiffMarkdown writes the cost change from base to head as the Markdown a
// pull request comment shows: the totals, then each changed resource.
func WriteDiffMarkdown(w io.Writer, base, head Estimate) error {
	delta := head.Total - base.Total
	fmt.Fprintf(w, "### Monthly cost of stack `%s`: %s USD → %s USD (%s)\n\n", head.Stack, money(base.Total), money(head.Total), signed(delta, base.Total))
	fmt.Fprintf(w, "On-demand list prices of %s as of %s, %d h a month; usage-based charges (data, storage used, requests) are not included.", head.Region, head.AsOf, HoursPerMonth)
	if head.CeilingTotal != head.Total || base.CeilingTotal != base.Total {
		fmt.Fprintf(w, " At the autoscaling ceiling: %s USD → %s USD.", money(base.CeilingTotal), money(head.CeilingTotal))
	}
	fmt.Fprintln(w)
	changes := Diff(base, head)
	if len(changes) == 0 {
		_, err := fmt.Fprintln(w, "\nNo resource changes its cost.")
		return err
	}
	fmt.Fprintln(w, "\n| resource | before | after | change |\n|---|---|---:|---:|")
	for _, c := range changes {
		before, after := c.WhatBefore, c.WhatAfter
		switch {
		case c.Added:
			before = "–"
		case c.Gone:
			after = "removed"
		}
		fmt.Fprintf(w, "| `%s` | %s | %s | %s |\n", c.Name, cell(before, c.Base, c.Added), cell(after, c.Head, c.Gone), signed(c.Head-c.Base, c.Base))
	}
	if len(head.Unpriced) > 0 {
		fmt.Fprintf(w, "\nNot priced (unknown to cmd/moodlectl/cost): %s\n", strings.Join(head.Unpriced, ", "))
	}
	return nil
}

func cell(what string, usd float64, none bool) string {
	if none {
		return what
	}
	return fmt.Sprintf("%s: %s USD", what, money(usd))
}

func signed(delta, base float64) string {
	s := fmt.Sprintf("%+.2f USD", delta)
	if base != 0 {
		s += fmt.Sprintf(", %+.1f %%", 100*delta/base)
	}
	return s
}
