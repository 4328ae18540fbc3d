package config

import (
	"fmt"
	"strconv"
	"strings"
)

// problems collects what is wrong with a stack config, one message per problem, so
// that a user fixes everything in one round instead of one error per `pulumi up`.
type problems []string

// add records a problem with the key (without the moodle: prefix), the offending
// value (nil when the key is not set) and what is allowed.
func (p *problems) add(key string, value any, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if value == nil {
		*p = append(*p, fmt.Sprintf("%s:%s: %s", Namespace, key, msg))
		return
	}
	*p = append(*p, fmt.Sprintf("%s:%s = %s: %s", Namespace, key, show(value), msg))
}

func (p problems) err() error { return &Error{Problems: p} }

// intRange checks lo <= v <= hi.
func (p *problems) intRange(key string, v, lo, hi int) {
	if v < lo || v > hi {
		p.add(key, v, "allowed: %d..%d", lo, hi)
	}
}

// oneOf checks that v is one of allowed.
func (p *problems) oneOf(key, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	p.add(key, v, "allowed: %s", list(allowed))
}

// rawValue is shown as it is: JSON text from a stack file.
type rawValue string

// show formats a value as the user wrote it: strings quoted, numbers plain.
func show(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case float64:
		return num(v)
	case []string:
		return fmt.Sprintf("%q", v)
	case rawValue:
		return string(v)
	}
	return fmt.Sprint(v)
}

// num formats a CPU count the way a stack file writes it (0.25, 2, 1.5).
func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func list(items []string) string { return strings.Join(items, ", ") }
