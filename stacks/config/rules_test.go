package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// Every rule declared with a setting (a row's rule in reference_rows.go)
// validates it on each target that reads it: a value outside is refused with
// what the rule allows (which the reference shows at the head of the row), and
// the bounds themselves pass. A rule added to a row is tested with no other edit.
func TestDeclaredRulesValidate(t *testing.T) {
	n := 0
	for _, tb := range reference {
		for _, r := range tb.rows {
			if r.rule == nil {
				continue
			}
			for _, name := range strings.Fields(r.fields) {
				path := tb.key + "." + name
				set, err := lookup(path)
				if err != nil {
					t.Fatal(err)
				}
				for _, target := range []topology.Target{topology.TargetDocker, topology.TargetAWS} {
					if set.target != "" && set.target != target {
						continue
					}
					n++
					t.Run(path+"/"+string(target), func(t *testing.T) { testRule(t, r.rule, path, set, target) })
				}
			}
		}
	}
	if n < 15 {
		t.Errorf("%d settings have a rule; the walk over the rows is broken", n)
	}
}

func testRule(t *testing.T, rl rule, path string, set setting, target topology.Target) {
	var good, bad []any
	switch r := rl.(type) {
	case rangeRule:
		good, bad = []any{r.lo, r.hi}, []any{r.lo - 1, r.hi + 1}
	case oneOfRule:
		for _, v := range r {
			good = append(good, v)
		}
		bad = []any{"not-" + r[0]}
	default:
		t.Fatalf("no test for a %T", rl)
	}
	problemsWith := func(v any) []string {
		s, err := topology.Defaults(target)
		if err != nil {
			t.Fatal(err)
		}
		reflect.ValueOf(&s).Elem().FieldByIndex(set.index).Set(reflect.ValueOf(v).Convert(set.typ))
		var out []string
		for _, p := range validate(s) {
			if strings.HasPrefix(p, Namespace+":"+path+" = ") {
				out = append(out, p)
			}
		}
		return out
	}
	for _, v := range bad {
		want := Namespace + ":" + path + " = " + show(v) + ": allowed: " + rl.allowed()
		found := false
		for _, p := range problemsWith(v) {
			found = found || strings.HasPrefix(p, want)
		}
		if !found {
			t.Errorf("%s = %v on %s: problems %q; want one starting %q", path, v, target, problemsWith(v), want)
		}
	}
	for _, v := range good {
		for _, p := range problemsWith(v) {
			if strings.Contains(p, "allowed: "+rl.allowed()) {
				t.Errorf("%s = %v on %s, allowed: %s", path, v, target, p)
			}
		}
	}
}
