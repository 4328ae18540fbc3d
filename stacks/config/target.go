package config

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// targetField is a setting only one target reads, as its field in topology.Spec
// declares it (`target:"aws"`, with `hint:"..."` for what the other target offers
// instead), together with the value a Spec holds there.
type targetField struct {
	key    string
	target topology.Target
	hint   string
	v      reflect.Value
}

// targetFields walks s and returns every field declared for one target only, in
// the Spec's order. A tag on an embedded struct (Resources) declares each of its
// fields, reported by its own key; a tag on a named struct declares the object,
// reported as a whole.
func targetFields(s topology.Spec) []targetField {
	var out []targetField
	v := reflect.ValueOf(s)
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if key := topKey(f.Name); key != "" {
			out = appendTargetFields(out, key, f, v.Field(i))
		}
	}
	return out
}

func appendTargetFields(out []targetField, key string, f reflect.StructField, v reflect.Value) []targetField {
	target := topology.Target(f.Tag.Get("target"))
	if target != "" {
		hint := f.Tag.Get("hint")
		if !f.Anonymous {
			return append(out, targetField{key, target, hint, v})
		}
		for _, leaf := range settingFields(v.Type()) {
			out = append(out, targetField{key + "." + leaf.name, target, hint, v.FieldByIndex(leaf.index)})
		}
		return out
	}
	if v.Kind() != reflect.Struct {
		return out
	}
	for i := range v.NumField() {
		sf := v.Type().Field(i)
		name := jsonName(sf)
		switch {
		case name == "" && sf.Anonymous:
			out = appendTargetFields(out, key, sf, v.Field(i))
		case name != "":
			out = appendTargetFields(out, key+"."+name, sf, v.Field(i))
		}
	}
	return out
}

// otherTarget reports the settings s sets that only the other target reads: they
// would be silently ignored.
func (p *problems) otherTarget(s topology.Spec) {
	for _, f := range targetFields(s) {
		if f.target == s.Target || f.v.IsZero() {
			continue
		}
		var v any = f.v.Interface()
		if f.v.Kind() == reflect.Struct {
			v = nil // a whole object: naming the key is enough
		}
		msg := fmt.Sprintf("only read on target %s; remove it from this %s stack", f.target, s.Target)
		if f.hint != "" {
			msg += " (" + f.hint + ")"
		}
		p.add(f.key, v, "%s", msg)
	}
}

// settingField is a field a stack file sets, by its json name, and where it is
// in its struct (an embedded struct's fields are promoted, as encoding/json does).
type settingField struct {
	name  string
	index []int
	field reflect.StructField
	// target is the field's target tag, or that of the embedded struct it is in.
	target topology.Target
}

// settingFields lists the fields of struct t that a stack file sets: those with a
// json name, and the fields of an embedded struct without one.
func settingFields(t reflect.Type) []settingField {
	var out []settingField
	for i := range t.NumField() {
		f := t.Field(i)
		name := jsonName(f)
		switch {
		case name == "" && f.Anonymous && f.Type.Kind() == reflect.Struct:
			for _, sub := range settingFields(f.Type) {
				sub.index = append([]int{i}, sub.index...)
				if sub.target == "" {
					sub.target = topology.Target(f.Tag.Get("target"))
				}
				out = append(out, sub)
			}
		case name != "":
			out = append(out, settingField{name, []int{i}, f, topology.Target(f.Tag.Get("target"))})
		}
	}
	return out
}

// jsonName is the key of a Spec field below the top level: its json name, "" for
// a field a stack file cannot set (no tag, or "-").
func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if !f.IsExported() || name == "-" {
		return ""
	}
	return name
}

// topKey is the top-level key of a field of topology.Spec (Moodle is moodle,
// SiteURL siteUrl, AWS aws), "" for a field no key sets (Paths).
func topKey(field string) string {
	for _, k := range Keys() {
		if strings.EqualFold(k, field) {
			return k
		}
	}
	return ""
}
