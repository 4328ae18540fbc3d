package diagram

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/goccy/go-graphviz"
)

// tiers label the tiers in both drawings, top to bottom.
func tiers() []struct{ id, title string } {
	return []struct{ id, title string }{
		{TierEntrance, "entrance"},
		{TierApp, "app tier"},
		{TierData, "data tier"},
	}
}

// Mermaid writes t as a Mermaid flowchart, for READMEs and pull requests.
func Mermaid(w io.Writer, t Topology) error {
	var b strings.Builder
	fmt.Fprintf(&b, "---\ntitle: %s\n---\nflowchart TB\n", t.Title)
	fmt.Fprintf(&b, "  subgraph net[\"%s\"]\n    direction TB\n", mermaidText(t.Network))
	for _, tier := range tiers() {
		fmt.Fprintf(&b, "    subgraph tier_%s[\"%s\"]\n", tier.id, tier.title)
		for _, n := range t.Nodes {
			if n.Tier == tier.id {
				fmt.Fprintf(&b, "      %s[\"%s\"]\n", n.ID, mermaidText(label(n, "<br/>", "<b>", "</b>")))
			}
		}
		b.WriteString("    end\n")
	}
	b.WriteString("  end\n")
	for _, e := range t.Edges {
		if e.Label == "" {
			fmt.Fprintf(&b, "  %s --> %s\n", e.From, e.To)
		} else {
			fmt.Fprintf(&b, "  %s -->|\"%s\"| %s\n", e.From, mermaidText(e.Label), e.To)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func label(n Node, br, bold, unbold string) string {
	return bold + n.Title + unbold + br + strings.Join(n.Lines, br)
}

// mermaidText escapes what Mermaid reads as syntax inside a quoted label.
func mermaidText(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "[", "#91;", "]", "#93;").Replace(s)
}

// DOT writes t in Graphviz's language, tiers as clusters inside the network.
func DOT(w io.Writer, t Topology) error {
	var b strings.Builder
	b.WriteString("digraph moodle {\n")
	b.WriteString("  graph [rankdir=TB, fontname=\"Helvetica\", fontsize=12, labelloc=t, nodesep=0.4, ranksep=0.5];\n")
	b.WriteString("  node [shape=box, style=\"rounded,filled\", fillcolor=\"#f4f6fb\", color=\"#44546a\", fontname=\"Helvetica\", fontsize=10, margin=\"0.3,0.1\"];\n")
	b.WriteString("  edge [color=\"#44546a\", fontname=\"Helvetica\", fontsize=9];\n")
	fmt.Fprintf(&b, "  label=%s;\n", dotString(t.Title))
	fmt.Fprintf(&b, "  subgraph cluster_net {\n    label=%s; style=dashed; color=\"#8899aa\";\n", dotString(t.Network))
	for _, tier := range tiers() {
		fmt.Fprintf(&b, "    subgraph cluster_%s {\n      label=%s; style=\"rounded\"; color=\"#c5cedb\";\n", tier.id, dotString(tier.title))
		for _, n := range t.Nodes {
			if n.Tier == tier.id {
				fmt.Fprintf(&b, "      %s [label=<%s>];\n", n.ID, label(n, "<br/>", "<b>", "</b>"))
			}
		}
		b.WriteString("    }\n")
	}
	b.WriteString("  }\n")
	for _, e := range t.Edges {
		fmt.Fprintf(&b, "  %s -> %s [label=%s];\n", e.From, e.To, dotString(e.Label))
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, htmlSafe(b.String()))
	return err
}

func dotString(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// htmlSafe escapes the characters Graphviz's HTML labels read as markup that
// the labels carry as text (× is fine; & and the arrows of "80 redirects" are not).
func htmlSafe(s string) string { return strings.ReplaceAll(s, "&", "&amp;") }

// SVG renders t with Graphviz (compiled to WebAssembly, so every machine draws
// the same picture, with the same built-in font metrics).
func SVG(ctx context.Context, w io.Writer, t Topology) error {
	var dot bytes.Buffer
	if err := DOT(&dot, t); err != nil {
		return err
	}
	gv, err := graphviz.New(ctx)
	if err != nil {
		return fmt.Errorf("start graphviz: %w", err)
	}
	defer gv.Close()
	g, err := graphviz.ParseBytes(dot.Bytes())
	if err != nil {
		return fmt.Errorf("parse the diagram's DOT: %w", err)
	}
	defer g.Close()
	if err := gv.Render(ctx, g, graphviz.SVG, w); err != nil {
		return fmt.Errorf("render SVG: %w", err)
	}
	return nil
}
