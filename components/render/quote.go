package render

import "strings"

// phpString returns s as a PHP single-quoted string literal. Inside single quotes
// PHP interprets only \\ and \', so escaping those two is enough for any byte
// sequence, including newlines and "$" (which single quotes never interpolate).
func phpString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(s) + "'"
}

// phpBool returns the PHP literal for b.
func phpBool(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// shString returns s as a POSIX shell single-quoted word: nothing inside single
// quotes is special, and a single quote closes the word, is escaped and reopens it.
func shString(s string) string {
	return "'" + strings.ReplaceAll(s, `'`, `'\''`) + "'"
}

// ngxValue returns s as one nginx configuration token. Plain tokens (paths, host
// names, CIDRs) are written as they are, so the rendered file reads naturally;
// anything else is double-quoted with backslashes and quotes escaped. nginx has no
// escape for "$" in a string, so values with "$" must be refused by validation.
func ngxValue(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\r\n\"'{};#\\") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
