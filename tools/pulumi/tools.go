//go:build tools

// Package tools pins the Pulumi CLI that the Makefile builds into bin/ from the Go
// module proxy, so that tests and `make up` need no download from get.pulumi.com.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
