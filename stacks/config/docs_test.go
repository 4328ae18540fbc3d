package config_test

import (
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

// Every field a stack file can set, as the decoder reads it (the Spec's json
// tags), is documented in its key's section of docs/config.md: as a row
// ("app.replicas"), in a subsection of its parent ("moodle:app.phpFpm" with
// "maxChildren"), or named in its parent's row (a default such as
// "{cpus: 0.5, memoryMb: 128}"). A setting added to the Spec without its
// documentation fails here; each top-level key has its row in the table of keys.
func TestConfigReferenceDocumentsEveryField(t *testing.T) {
	raw, err := os.ReadFile(docsFile)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	spec := reflect.TypeOf(topology.Spec{})
	for _, key := range config.Keys() {
		if !strings.Contains(doc, "| `moodle:"+key+"` |") {
			t.Errorf("%s lists no row for moodle:%s among the top-level keys", docsFile, key)
		}
		field, ok := spec.FieldByNameFunc(func(name string) bool { return lowerFirst(name) == key })
		if !ok || field.Type.Kind() != reflect.Struct {
			continue // a scalar key: its row is its documentation
		}
		d := keyDoc{doc: doc, key: key, section: docSection(doc, "## `moodle:"+key+"`")}
		if d.section == "" {
			t.Errorf("%s has no section for moodle:%s", docsFile, key)
			continue
		}
		for _, path := range d.undocumented(field.Type, "", "") {
			t.Errorf("%s, section moodle:%s, does not document %s", docsFile, key, path)
		}
	}
}

// keyDoc is the documentation of one top-level key.
type keyDoc struct {
	doc, key, section string
}

// undocumented lists the dotted json paths under prefix of the fields of t that
// the section documents nowhere; parentRow is the table row of their parent.
func (d keyDoc) undocumented(t reflect.Type, prefix, parentRow string) []string {
	var missing []string
	for _, f := range jsonFields(t) {
		path := prefix + f.name
		row := tableRow(d.section, "`"+path+"`")
		inParent := parentRow != "" && strings.Contains(parentRow, f.name)
		if f.typ.Kind() == reflect.Struct {
			if row == "" && inParent {
				row = parentRow
			}
			missing = append(missing, d.undocumented(f.typ, path+".", row)...)
			continue
		}
		if row == "" && !inParent && !d.inSubsection(path) {
			missing = append(missing, path)
		}
	}
	return missing
}

// inSubsection says whether a subsection of one of path's parents lists the
// rest of the path: "### `moodle:app.phpFpm`" with "`maxChildren`".
func (d keyDoc) inSubsection(path string) bool {
	parts := strings.Split(path, ".")
	for i := 1; i < len(parts); i++ {
		sub := docSection(d.doc, "### `moodle:"+d.key+"."+strings.Join(parts[:i], ".")+"`")
		if sub != "" && tableRow(sub, "`"+strings.Join(parts[i:], ".")+"`") != "" {
			return true
		}
	}
	return false
}

// docSection is the text from heading (which a note may follow: "(aws only)")
// up to the next heading of its level or above.
func docSection(doc, heading string) string {
	start := -1
	for _, end := range []string{"\n", " ("} {
		if i := strings.Index(doc, "\n"+heading+end); i >= 0 {
			start = i
			break
		}
	}
	if start < 0 {
		return ""
	}
	level := strings.Index(heading, " ")
	rest := doc[start+1:]
	lines := strings.SplitAfter(rest, "\n")
	n := len(lines[0])
	for _, line := range lines[1:] {
		if hashes := strings.Index(line, " "); strings.HasPrefix(line, "#") && hashes > 0 && hashes <= level {
			break
		}
		n += len(line)
	}
	return rest[:n]
}

// tableRow is the first table row of text whose first cell holds name.
func tableRow(text, name string) string {
	for _, line := range strings.Split(text, "\n") {
		if cells := strings.Split(line, "|"); strings.HasPrefix(line, "|") && len(cells) > 2 && strings.Contains(cells[1], name) {
			return line
		}
	}
	return ""
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
