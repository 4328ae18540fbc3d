package config

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// rule is a check simple enough to declare with the setting, in its row of
// reference: it validates the value and writes what is allowed at the head of
// the row's text, so the two cannot differ.
type rule interface {
	check(p *problems, key string, v reflect.Value)
	// allowed is what the rule allows, as a problem names it: "1..4096",
	// "fargate, ec2".
	allowed() string
	// doc is the same as the reference shows it: "1..4096", "`fargate` or `ec2`".
	doc() string
}

// Range allows a whole number from lo to hi.
func Range(lo, hi int) rangeRule { return rangeRule{lo: lo, hi: hi} }

type rangeRule struct {
	lo, hi int
	reason string
}

// Because gives the reason for the range, which the problem names after it.
func (r rangeRule) Because(reason string) rangeRule { r.reason = reason; return r }

func (r rangeRule) check(p *problems, key string, v reflect.Value) {
	n := int(v.Int())
	switch {
	case r.reason != "" && (n < r.lo || n > r.hi):
		p.add(key, n, "allowed: %d..%d (%s)", r.lo, r.hi, r.reason)
	case r.reason == "":
		p.intRange(key, n, r.lo, r.hi)
	}
}

func (r rangeRule) allowed() string { return strconv.Itoa(r.lo) + ".." + strconv.Itoa(r.hi) }

func (r rangeRule) doc() string { return r.allowed() }

// OneOf allows one of the strings values.
func OneOf(values ...string) oneOfRule { return oneOfRule(values) }

type oneOfRule []string

func (r oneOfRule) check(p *problems, key string, v reflect.Value) { p.oneOf(key, v.String(), r...) }

func (r oneOfRule) allowed() string { return list(r) }

func (r oneOfRule) doc() string { return orList(r, "`") }

// declared applies the rules of the reference's rows to s: to every setting of a
// row, on the targets that read it.
func (p *problems) declared(s topology.Spec) {
	for _, t := range reference {
		for _, r := range t.rows {
			if r.rule == nil {
				continue
			}
			for _, name := range strings.Fields(r.fields) {
				path := t.key + "." + name
				set, err := lookup(path)
				if err != nil {
					panic(err) // TestConfigReferenceIsGenerated names the row
				}
				if set.target == "" || set.target == s.Target {
					r.rule.check(p, path, reflect.ValueOf(s).FieldByIndex(set.index))
				}
			}
		}
	}
}
