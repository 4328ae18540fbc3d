package config

import (
	"encoding/json"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// decode reads the structured key into the struct into points at, on top of the
// values already there. The JSON is first walked against the struct's json tags so
// that every unknown key and every value of the wrong type is reported with its
// full path (moodle:app.phpFpm.maxChildren); encoding/json alone reports only the
// first problem, and unknown keys without their path.
func (p *problems) decode(get Getter, key string, into any) {
	text, ok := get(key)
	if !ok || strings.TrimSpace(text) == "" {
		return
	}
	var raw any
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		p.add(key, text, "not a JSON object (%v)", err)
		return
	}
	before := len(*p)
	p.check(key, raw, reflect.TypeOf(into).Elem())
	// encoding/json skips what does not fit and decodes the rest, so the fields
	// that are fine still count (and cannot cause follow-up problems).
	if err := json.Unmarshal([]byte(text), into); err != nil && len(*p) == before {
		p.add(key, nil, "cannot be decoded: %v", err)
	}
}

// check compares one JSON value with the Go type it decodes into.
func (p *problems) check(path string, v any, t reflect.Type) {
	if v == nil {
		return // null keeps the default
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			p.add(path, jsonText(v), "must be an object with the keys %s", list(sortedKeys(fields(t))))
			return
		}
		known := fields(t)
		for _, k := range sortedKeys(m) {
			ft, ok := known[k]
			if !ok {
				if why := retired(path + "." + k); why != "" {
					p.add(path+"."+k, jsonText(m[k]), "no longer a setting: %s", why)
					continue
				}
				p.add(path+"."+k, nil, "unknown key%s; allowed: %s", suggest(k, known), list(sortedKeys(known)))
				continue
			}
			p.check(path+"."+k, m[k], ft)
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			// `pulumi config set --path` stores 16 or 5.1 as numbers.
			p.add(path, jsonText(v), "must be a string (quote it in YAML; pulumi config set --path needs --type string)")
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			p.add(path, jsonText(v), "must be true or false")
		}
	case reflect.Int:
		if f, ok := v.(float64); !ok || f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
			p.add(path, jsonText(v), "must be a whole number")
		}
	case reflect.Float64:
		if _, ok := v.(float64); !ok {
			p.add(path, jsonText(v), "must be a number")
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			p.add(path, jsonText(v), "must be an object")
			return
		}
		for _, k := range sortedKeys(m) {
			p.check(path+"."+k, m[k], t.Elem())
		}
	case reflect.Slice:
		items, ok := v.([]any)
		if !ok {
			p.add(path, jsonText(v), "must be a list")
			return
		}
		for i, item := range items {
			p.check(path+"["+strconv.Itoa(i)+"]", item, t.Elem())
		}
	}
}

// notForTarget reports a target-only object set on the other target: its settings
// would be silently ignored. An empty object (Pulumi.yaml's default) is fine.
func (p *problems) notForTarget(get Getter, key string, target topology.Target) {
	text, ok := get(key)
	if !ok {
		return
	}
	var m map[string]any
	if strings.TrimSpace(text) == "" || json.Unmarshal([]byte(text), &m) == nil && len(m) == 0 {
		return
	}
	p.add(key, nil, "only read when moodle:target is %s; this stack's target is %s: remove it", key, target)
}

// fields maps the json names of t's fields to their types; the fields of embedded
// structs (topology.Resources) are promoted, as encoding/json does.
func fields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" {
			for k, v := range fields(f.Type) {
				out[k] = v
			}
			continue
		}
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// retired says why a key that earlier releases of this program read is gone, so a
// stack file written for them fails with the reason instead of "unknown key".
func retired(path string) string {
	switch path {
	case "cron.runTimeoutSeconds":
		return "cron.php is no longer stopped after a time limit, which ended long tasks (a backup, a restore) half done; " +
			"each run ends on its own after cron.keepAliveSeconds, and ad hoc tasks run on the cron.adhoc workers; remove the key"
	}
	return ""
}

// suggest names a known key that differs only in case: encoding/json would accept
// it, but a stack file should spell keys as documented.
func suggest(k string, known map[string]reflect.Type) string {
	for name := range known {
		if strings.EqualFold(name, k) {
			return "; did you mean " + name
		}
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// jsonText shows a decoded JSON value as JSON, so a string "3" and a number 3 differ.
func jsonText(v any) rawValue {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return rawValue(b)
}
