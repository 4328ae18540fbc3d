package config_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/stacks/config"
)

// taggedField is a field topology.Spec declares for one target only.
type taggedField struct {
	key    string // the key a problem names
	target topology.Target
	index  []int // the field to set, from the Spec
}

// taggedFields finds every `target` tag in t, a struct under key. A tag on an
// embedded struct declares each of its fields; a tag on a named one, the object.
func taggedFields(t *testing.T, typ reflect.Type, key string, index []int) []taggedField {
	var out []taggedField
	for i := range typ.NumField() {
		f := typ.Field(i)
		idx := append(append([]int{}, index...), i)
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		if key == "" {
			name = ""
			for _, k := range config.Keys() {
				if strings.EqualFold(k, f.Name) {
					name = k
				}
			}
		}
		fkey := key + "." + name
		if key == "" {
			fkey = name
		}
		if f.Anonymous && name == "" {
			fkey = key
		}
		target, hint := f.Tag.Get("target"), f.Tag.Get("hint")
		switch {
		case target != "" && target != string(topology.TargetDocker) && target != string(topology.TargetAWS):
			t.Errorf("%s: target tag %q; allowed: docker, aws", fkey, target)
		case target == "" && hint != "":
			t.Errorf("%s: a hint without a target tag", fkey)
		case fkey == "" || name == "-" || (name == "" && !f.Anonymous):
			// not a setting
		case target != "" && f.Anonymous:
			for _, leaf := range leafIndexes(f.Type) {
				out = append(out, taggedField{fkey + "." + leaf.name, topology.Target(target), append(append([]int{}, idx...), leaf.index...)})
			}
		case target != "":
			out = append(out, taggedField{fkey, topology.Target(target), idx})
		case f.Type.Kind() == reflect.Struct:
			out = append(out, taggedFields(t, f.Type, fkey, idx)...)
		}
	}
	return out
}

// leafIndexes are the fields of struct t that a stack file sets, by json name,
// with their index in t.
func leafIndexes(t reflect.Type) []struct {
	name  string
	index []int
} {
	var out []struct {
		name  string
		index []int
	}
	for i := range t.NumField() {
		if name := strings.Split(t.Field(i).Tag.Get("json"), ",")[0]; name != "" && name != "-" {
			out = append(out, struct {
				name  string
				index []int
			}{name, []int{i}})
		}
	}
	return out
}

// setNonZero gives v a value other than its zero: a struct through its first
// field a stack file sets.
func setNonZero(t *testing.T, v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Int:
		v.SetInt(7)
	case reflect.Float64:
		v.SetFloat(0.5)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Slice:
		v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem())))
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		v.SetMapIndex(reflect.Zero(v.Type().Key()), reflect.Zero(v.Type().Elem()))
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() && f.Tag.Get("json") != "-" {
				setNonZero(t, v.Field(i))
				return
			}
		}
	default:
		t.Fatalf("no non-zero value for a %s", v.Type())
	}
}

// A field that topology.Spec declares for one target only (`target:"aws"` or
// `target:"docker"`) is refused on the other target, under its own key, and
// accepted on its own: the cases are built from the tags, so a newly tagged field
// is covered with no other edit.
func TestTargetOnlyFieldsAreRefusedOnTheOtherTarget(t *testing.T) {
	fields := taggedFields(t, reflect.TypeOf(topology.Spec{}), "", nil)
	if len(fields) < 40 {
		t.Fatalf("found %d target-only fields; the walk over the tags is broken", len(fields))
	}
	for _, f := range fields {
		t.Run(f.key, func(t *testing.T) {
			other := topology.TargetAWS
			if f.target == topology.TargetAWS {
				other = topology.TargetDocker
			}
			s, err := topology.Defaults(other)
			if err != nil {
				t.Fatal(err)
			}
			v := reflect.ValueOf(&s).Elem().FieldByIndex(f.index)
			if !v.IsZero() {
				t.Fatalf("the %s defaults set %s, which only %s reads", other, f.key, f.target)
			}
			setNonZero(t, v)
			want := "only read on target " + string(f.target) + "; remove it from this " + string(other) + " stack"
			if p := problemOf(config.Validate(s), f.key); !strings.Contains(p, want) {
				t.Errorf("%s set on %s: problem %q; want one containing %q", f.key, other, p, want)
			}

			own, err := topology.Defaults(f.target)
			if err != nil {
				t.Fatal(err)
			}
			setNonZero(t, reflect.ValueOf(&own).Elem().FieldByIndex(f.index))
			if p := problemOf(config.Validate(own), f.key); strings.Contains(p, "only read on target") {
				t.Errorf("%s set on %s, its own target: %q", f.key, f.target, p)
			}
		})
	}
}

// problemOf is what err reports for key, every problem on a line, "" if none.
func problemOf(err error, key string) string {
	cerr, ok := err.(*config.Error)
	if !ok {
		return ""
	}
	var out []string
	for _, p := range cerr.Problems {
		if strings.HasPrefix(p, config.Namespace+":"+key+":") || strings.HasPrefix(p, config.Namespace+":"+key+" = ") {
			out = append(out, p)
		}
	}
	return strings.Join(out, "\n")
}
