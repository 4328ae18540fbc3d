package config_test

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"unicode"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/stacks/config"
)

// docsFile is the reference of every key, field by field.
const docsFile = "../../docs/config.md"

// docs/config.md's tables of settings are what the generator writes from the
// declarations (stacks/config/reference.go): the Spec's fields and tags, the
// targets' defaults and the rows of reference_rows.go, which must document every
// field a stack file can set, once, and the table of keys lists every top-level
// key. Each top-level key also has its own section, of prose around its table.
func TestConfigReferenceIsGenerated(t *testing.T) {
	raw, err := os.ReadFile(docsFile)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	want, err := config.Reference(doc)
	if err != nil {
		t.Fatalf("%v; fix the declaration, then run %s", err, config.RegenerateCommand)
	}
	if want != doc {
		t.Errorf("%s is not what the declarations of the settings give; run %s and commit the result:\n%s",
			docsFile, config.RegenerateCommand, firstDifference(doc, want))
	}
	for _, key := range config.Keys() {
		if !strings.Contains(doc, "\n## `moodle:"+key+"`") {
			t.Errorf("%s has no section for moodle:%s", docsFile, key)
		}
	}
}

// firstDifference shows the first line where have and want differ.
func firstDifference(have, want string) string {
	h, w := strings.Split(have, "\n"), strings.Split(want, "\n")
	for i := range min(len(h), len(w)) {
		if h[i] != w[i] {
			return fmt.Sprintf("line %d:\n  have: %s\n  want: %s", i+1, h[i], w[i])
		}
	}
	return fmt.Sprintf("have %d lines, want %d", len(h), len(w))
}

// jsonField is a field the decoder reads, by its json name.
type jsonField struct {
	name string
	typ  reflect.Type
}

// jsonFields lists the fields of struct t that encoding/json decodes, an
// embedded struct's fields as its parent's; fields without a json tag are
// derived or set by the program, not read from the stack file.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("json"), ",")[0]
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case !f.IsExported() || tag == "-":
		case f.Anonymous && tag == "" && ft.Kind() == reflect.Struct:
			out = append(out, jsonFields(ft)...)
		case tag != "":
			out = append(out, jsonField{tag, ft})
		}
	}
	return out
}

// lowerFirst is a Spec field's key: Moodle is moodle, AWS aws.
func lowerFirst(s string) string {
	if s == "AWS" {
		return "aws"
	}
	r := []rune(s)
	r[0] = unicode.ToLower(r[0])
	return string(r)
}

// Pulumi.yaml's description of each structured key names every field of it
// that a stack file can set: `pulumi config` and editors show that text.
func TestProjectFileNamesEveryField(t *testing.T) {
	p := loadProject(t)
	spec := reflect.TypeOf(topology.Spec{})
	for _, key := range config.Keys() {
		field, ok := spec.FieldByNameFunc(func(name string) bool { return lowerFirst(name) == key })
		if !ok || field.Type.Kind() != reflect.Struct {
			continue
		}
		text := p.Config[config.Namespace+":"+key].Description
		for _, f := range jsonFields(field.Type) {
			if !strings.Contains(text, f.name) {
				t.Errorf("Pulumi.yaml's moodle:%s does not name %s", key, f.name)
			}
		}
	}
}

// Pulumi.yaml's config block is what the generator writes from the declarations
// of the top-level keys (config.Keys and their descriptions, with the type of
// each key's Spec field and its target): no key is added, dropped or described
// by hand.
func TestProjectFileIsGenerated(t *testing.T) {
	raw, err := os.ReadFile(projectFile)
	if err != nil {
		t.Fatal(err)
	}
	want, err := config.Project(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	if want != string(raw) {
		t.Errorf("%s's config block is not what the declarations of the keys give; run %s and commit the result:\n%s",
			projectFile, config.RegenerateCommand, firstDifference(string(raw), want))
	}
}
