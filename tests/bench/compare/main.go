// Command compare runs a package's Go benchmarks side by side on two commits of the
// project: the candidate is the working tree, the baseline a git worktree of a
// given ref (the candidate's parent by default). Machines are noisy, so what it
// reports is the ratio of the two in one run, not absolute times: each benchmark
// leaf runs alone (one process, -test.benchtime 1x), baseline and candidate one
// after the other, the order swapped every round, for a number of rounds; the
// report gives each metric's median on both sides and candidate/baseline.
//
// The benchmarks and everything under tests/ are the candidate's on both sides
// (copied over the baseline's worktree), so both commits are measured with the same
// rig; what differs is the program under measure: the automation package, the
// components, the providers' fakes and everything else the benchmarks link.
//
//	go run ./tests/bench/compare -pkg ./tests/engine -tags engine -bench BenchmarkGrowth
//
// Run it through tests/bench/compare.sh (make bench).
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moodle-cluster/moodle-pulumi/tests/bench/stats"
	"github.com/moodle-cluster/moodle-pulumi/tests/harness/benchcfg"
)

func main() {
	base := flag.String("base", "HEAD~1", "git ref of the baseline")
	pkg := flag.String("pkg", "./tests/engine", "package holding the benchmarks")
	tags := flag.String("tags", "engine", "build tags of the package")
	bench := flag.String("bench", "BenchmarkGrowth", "-test.bench pattern choosing the leaves to run")
	rounds := flag.Int("rounds", 3, "alternating rounds")
	timeout := flag.Duration("timeout", 30*time.Minute, "limit of one leaf's run")
	logs := flag.String("logs", "", "folder for each run's output (default: a temporary one, kept)")
	notes := flag.String("notes", "", "regexp of log lines of the candidate's first round to quote under the table")
	flag.Parse()
	log.SetFlags(0)
	if err := compare(options{base: *base, pkg: *pkg, tags: *tags, bench: *bench, rounds: max(1, *rounds),
		timeout: *timeout, logs: *logs, notes: *notes}, os.Stdout); err != nil {
		log.Fatalf("compare: %v", err)
	}
}

type options struct {
	base, pkg, tags, bench string
	rounds                 int
	timeout                time.Duration
	logs, notes            string
}

// side is one of the two commits: its tree and its benchmark binary.
type side struct {
	name, tree, commit, binary string
}

func compare(o options, out io.Writer) error {
	candidate, err := git("", "rev-parse", "--show-toplevel")
	if err != nil {
		return err
	}
	head, err := describe(candidate, "HEAD")
	if err != nil {
		return err
	}
	if dirty, _ := git(candidate, "status", "--porcelain", "--untracked-files=no"); dirty != "" {
		head += " + uncommitted changes"
	}
	baseCommit, err := describe(candidate, o.base)
	if err != nil {
		return err
	}
	if o.logs == "" {
		if o.logs, err = os.MkdirTemp("", "bench-compare-"); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(o.logs, 0o755); err != nil {
		return err
	}
	baseTree := filepath.Join(o.logs, "baseline")
	hash, _, _ := strings.Cut(baseCommit, " ")
	if _, err := git(candidate, "worktree", "add", "--detach", baseTree, hash); err != nil {
		return err
	}
	defer git(candidate, "worktree", "remove", "--force", baseTree)
	if err := prepareBaseline(candidate, baseTree); err != nil {
		return err
	}
	sides := []*side{
		{name: "baseline", tree: baseTree, commit: baseCommit},
		{name: "candidate", tree: candidate, commit: head},
	}
	for _, s := range sides {
		s.binary = filepath.Join(o.logs, s.name+".test")
		cmd := exec.Command("go", "test", "-c", "-tags", o.tags, "-o", s.binary, o.pkg)
		cmd.Dir = s.tree
		if msg, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build the %s's benchmarks (%s): %w\n%s", s.name, s.commit, err, msg)
		}
	}
	cases, err := list(sides[1], o)
	if err != nil {
		return err
	}
	if len(cases) == 0 {
		return fmt.Errorf("no benchmark matches %q in %s", o.bench, o.pkg)
	}
	log.Printf("%d cases, %d rounds, logs in %s", len(cases), o.rounds, o.logs)

	loadBefore := loadavg()
	started := time.Now()
	results := map[string]map[string][]map[string]float64{} // case -> side -> one metric map per round
	var failures []string
	for round := 1; round <= o.rounds; round++ {
		for _, c := range cases {
			order := sides
			if round%2 == 0 {
				order = []*side{sides[1], sides[0]}
			}
			for _, s := range order {
				logFile := filepath.Join(o.logs, fmt.Sprintf("%s-r%d-%s.log", s.name, round, fileName(c)))
				metrics, err := runCase(s, c, o, logFile)
				if err != nil {
					failures = append(failures, fmt.Sprintf("%s, %s, round %d: %v (log %s)", c, s.name, round, err, logFile))
					log.Printf("FAIL %s", failures[len(failures)-1])
					continue
				}
				log.Printf("round %d %s %s: %s", round, s.name, c, formatMetrics(metrics))
				if results[c] == nil {
					results[c] = map[string][]map[string]float64{}
				}
				results[c][s.name] = append(results[c][s.name], metrics)
			}
		}
	}
	loadAfter := loadavg()

	var args []string
	for _, a := range os.Args[1:] {
		if regexp.MustCompile(`^[\w./=:~-]*$`).MatchString(a) {
			args = append(args, a)
		} else {
			args = append(args, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
		}
	}
	fmt.Fprintf(out, "`go run ./tests/bench/compare %s`\n\n", strings.Join(args, " "))
	fmt.Fprintf(out, "- baseline: %s\n- candidate: %s\n", baseCommit, head)
	fmt.Fprintf(out, "- %d alternating rounds of %d cases (%s -test.bench %s), %s in all\n", o.rounds, len(cases), o.pkg,
		o.bench, time.Since(started).Round(time.Second))
	fmt.Fprintf(out, "- load average (1, 5, 15 min) before %s, after %s; %d CPUs\n\n", loadBefore, loadAfter, runtime.NumCPU())
	fmt.Fprintln(out, "| case | metric | baseline median | candidate median | candidate / baseline | rounds |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|")
	for _, c := range cases {
		for _, row := range summarize(results[c]) {
			fmt.Fprintf(out, "| %s | %s | %s | %s | %s | %d / %d |\n", c, row.metric, number(row.base), number(row.cand),
				ratio(row.base, row.cand), row.nBase, row.nCand)
		}
	}
	for _, f := range failures {
		fmt.Fprintf(out, "\nFAILED: %s\n", f)
	}
	if o.notes != "" {
		if err := quote(out, o, cases); err != nil {
			return err
		}
	}
	if len(failures) > 0 {
		return fmt.Errorf("%d runs failed", len(failures))
	}
	return nil
}

// prepareBaseline gives the baseline's worktree the candidate's tests/ (the rig)
// and the candidate's Pulumi CLI when both pin the same one, else builds its own.
func prepareBaseline(candidate, baseTree string) error {
	if err := exec.Command("cp", "-a", filepath.Join(candidate, "tests")+"/.", filepath.Join(baseTree, "tests")).Run(); err != nil {
		return fmt.Errorf("copy the candidate's tests/ to the baseline: %w", err)
	}
	// The CLI is the one tools/pulumi/go.mod pins, built at the Makefile's version.
	pinned := func(tree string) string {
		mod, _ := os.ReadFile(filepath.Join(tree, "tools", "pulumi", "go.mod"))
		makefile, _ := os.ReadFile(filepath.Join(tree, "Makefile"))
		return string(mod) + regexp.MustCompile(`(?m)^PULUMI_VERSION.*$`).FindString(string(makefile))
	}
	same := pinned(candidate) == pinned(baseTree)
	if _, err := os.Stat(filepath.Join(candidate, "bin", "pulumi")); same && err == nil {
		return os.Symlink(filepath.Join(candidate, "bin"), filepath.Join(baseTree, "bin"))
	}
	cmd := exec.Command("make", "bin/pulumi")
	cmd.Dir = baseTree
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build the baseline's pulumi CLI: %w\n%s", err, msg)
	}
	return nil
}

// list asks the candidate's binary for the leaves the pattern chooses, in listing
// mode (each leaf skips at once and -test.v names it).
func list(s *side, o options) ([]string, error) {
	cmd := exec.Command(s.binary, "-test.run", "^$", "-test.bench", o.bench, "-test.benchtime", "1x", "-test.v")
	cmd.Dir = filepath.Join(s.tree, o.pkg)
	cmd.Env = append(os.Environ(), benchcfg.ListEnv+"=1")
	raw, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("list the benchmarks: %w\n%s", err, raw)
	}
	var cases []string
	for _, m := range regexp.MustCompile(`(?m)^\s*--- SKIP: (\S+)`).FindAllStringSubmatch(string(raw), -1) {
		if strings.Count(m[1], "/") > 0 && !slices.Contains(cases, m[1]) {
			cases = append(cases, m[1])
		}
	}
	// A parent whose leaves were listed is no case of its own.
	return slices.DeleteFunc(cases, func(c string) bool {
		return slices.ContainsFunc(cases, func(o string) bool { return strings.HasPrefix(o, c+"/") })
	}), nil
}

// runCase runs one leaf once on one side and returns its metrics, seconds per
// operation as "s".
func runCase(s *side, c string, o options, logFile string) (map[string]float64, error) {
	var anchored []string
	for _, part := range strings.Split(c, "/") {
		anchored = append(anchored, "^"+regexp.QuoteMeta(part)+"$")
	}
	cmd := exec.Command(s.binary, "-test.run", "^$", "-test.bench", strings.Join(anchored, "/"), "-test.benchtime", "1x",
		"-test.timeout", o.timeout.String())
	cmd.Dir = filepath.Join(s.tree, o.pkg)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	if werr := os.WriteFile(logFile, buf.Bytes(), 0o644); werr != nil {
		return nil, werr
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, lastLines(buf.String(), 3))
	}
	metrics, ok := parse(buf.String(), c)
	if !ok {
		return nil, errors.New("no result line")
	}
	return metrics, nil
}

// parse reads the result line of benchmark c ("BenchmarkX/y-2  1  123 ns/op  4.5 up-s")
// into its metrics, ns/op as seconds ("s").
func parse(output, c string) (map[string]float64, bool) {
	scanner := bufio.NewScanner(strings.NewReader(output))
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) < 4 || strings.TrimRight(strings.TrimSuffix(fields[0], suffix(fields[0])), "-") != c {
			continue
		}
		metrics := map[string]float64{}
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, false
			}
			unit := fields[i+1]
			if unit == "ns/op" {
				unit, v = "s", v/1e9
			}
			metrics[unit] = v
		}
		return metrics, true
	}
	return nil, false
}

// suffix is the "-N" the testing package appends to a benchmark's name for
// GOMAXPROCS above one.
func suffix(name string) string {
	i := strings.LastIndex(name, "-")
	if i < 0 {
		return ""
	}
	if _, err := strconv.Atoi(name[i+1:]); err != nil {
		return ""
	}
	return name[i+1:]
}

type row struct {
	metric       string
	base, cand   float64
	nBase, nCand int
}

// summarize gives each metric's median on both sides, the total time first.
func summarize(bySide map[string][]map[string]float64) []row {
	var metrics []string
	for _, rounds := range bySide {
		for _, m := range rounds {
			for k := range m {
				if !slices.Contains(metrics, k) {
					metrics = append(metrics, k)
				}
			}
		}
	}
	slices.SortFunc(metrics, func(a, b string) int {
		if a == "s" || b == "s" {
			return boolInt(b == "s") - boolInt(a == "s")
		}
		return strings.Compare(a, b)
	})
	var rows []row
	for _, k := range metrics {
		of := func(side string) ([]float64, int) {
			var values []float64
			for _, m := range bySide[side] {
				if v, ok := m[k]; ok {
					values = append(values, v)
				}
			}
			return values, len(values)
		}
		b, nb := of("baseline")
		c, nc := of("candidate")
		rows = append(rows, row{metric: k, base: stats.Median(b), cand: stats.Median(c), nBase: nb, nCand: nc})
	}
	return rows
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func number(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

func ratio(base, cand float64) string {
	if base == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", cand/base)
}

func formatMetrics(m map[string]float64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, number(m[k])+" "+k)
	}
	return strings.Join(parts, ", ")
}

// quote prints the log lines matching o.notes from the candidate's first round.
func quote(out io.Writer, o options, cases []string) error {
	re, err := regexp.Compile(o.notes)
	if err != nil {
		return fmt.Errorf("-notes: %w", err)
	}
	fmt.Fprintf(out, "\nFrom the candidate's logs, round 1:\n\n```\n")
	for _, c := range cases {
		raw, err := os.ReadFile(filepath.Join(o.logs, fmt.Sprintf("candidate-r1-%s.log", fileName(c))))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(raw), "\n") {
			if re.MatchString(line) {
				fmt.Fprintf(out, "%s: %s\n", c, strings.TrimSpace(line))
			}
		}
	}
	fmt.Fprintf(out, "```\n")
	return nil
}

func fileName(c string) string { return strings.NewReplacer("/", "_", "=", "").Replace(c) }

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}

func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	raw, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, exit.Stderr)
		}
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(raw)), nil
}

// describe is a commit's hash and subject.
func describe(dir, ref string) (string, error) {
	return git(dir, "log", "-1", "--format=%H %s", ref)
}

func loadavg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(raw))
	return strings.Join(f[:min(3, len(f))], " ")
}
