//go:build tools

// Package tools pins actionlint, which `make workflows` (part of `make test`) builds
// into bin/ from the Go module proxy to check .github/workflows. It has its own
// module so the program's module does not carry actionlint's dependencies.
package tools

import _ "github.com/rhysd/actionlint/cmd/actionlint"
