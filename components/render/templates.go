package render

import (
	"embed"
	"strings"
	"text/template"
)

//go:embed templates/*.tmpl
var templateFiles embed.FS

// templates are parsed once; a template that does not parse is a bug in this
// package, caught by every test.
var templates = template.Must(template.New("render").Funcs(template.FuncMap{
	"ngx":  ngxValue,
	"php":  phpString,
	"bool": phpBool,
	"sh":   shString,
}).ParseFS(templateFiles, "templates/*.tmpl"))

// execute renders the named template. Templates only read fields of data the
// renderers build, so an error here is a bug, not bad input.
func execute(name string, data any) string {
	var b strings.Builder
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		panic("render: template " + name + ": " + err.Error())
	}
	return b.String()
}
