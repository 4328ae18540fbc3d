//go:build tools

// Package tools pins staticcheck, which `make lint` builds into bin/ from the Go
// module proxy: it finds dead code and deprecated calls that go vet does not.
package tools

import _ "honnef.co/go/tools/cmd/staticcheck"
