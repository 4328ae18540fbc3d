package awscloud

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// jsonDocument marshals a tree of maps, slices and scalars whose leaves may be
// pulumi string, int or float outputs (ARNs, ids, names known only after create).
// IAM policies, container definitions and the dashboard body are all built this way,
// so none of them is assembled by string concatenation. The result is secret only
// when a leaf is: callers never put secrets into these documents.
func jsonDocument(doc any) pulumi.StringOutput {
	var inputs []any
	collectInputs(doc, &inputs)
	return pulumi.All(inputs...).ApplyT(func(values []any) (string, error) {
		next := 0
		resolved := substitute(doc, values, &next)
		b, err := json.Marshal(resolved)
		if err != nil {
			return "", fmt.Errorf("marshal document: %w", err)
		}
		return string(b), nil
	}).(pulumi.StringOutput)
}

func collectInputs(v any, into *[]any) {
	switch t := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(t) {
			collectInputs(t[k], into)
		}
	case []any:
		for _, e := range t {
			collectInputs(e, into)
		}
	case pulumi.Input:
		*into = append(*into, t)
	}
}

func substitute(v any, values []any, next *int) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for _, k := range sortedKeys(t) {
			out[k] = substitute(t[k], values, next)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = substitute(e, values, next)
		}
		return out
	case pulumi.Input:
		val := values[*next]
		*next++
		return val
	}
	return v
}

// policy is an IAM policy document; statements are maps in IAM's own spelling.
func policy(statements ...map[string]any) pulumi.StringOutput {
	list := make([]any, len(statements))
	for i, s := range statements {
		list[i] = s
	}
	return jsonDocument(map[string]any{"Version": "2012-10-17", "Statement": list})
}

// allow is an Allow statement on resources; resources may be outputs.
func allow(sid string, actions []string, resources ...any) map[string]any {
	return map[string]any{"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": resources}
}

// assumeRolePolicy lets one AWS service assume a role.
func assumeRolePolicy(service string) pulumi.StringOutput {
	return policy(map[string]any{
		"Effect":    "Allow",
		"Principal": map[string]any{"Service": service},
		"Action":    "sts:AssumeRole",
	})
}

// denyInsecureTransport is the TLS-only statement of bucket and file-system policies.
func denyInsecureTransport(principalAction string, resources ...any) map[string]any {
	return map[string]any{
		"Sid":       "DenyInsecureTransport",
		"Effect":    "Deny",
		"Principal": map[string]any{"AWS": "*"},
		"Action":    principalAction,
		"Resource":  resources,
		"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
	}
}

func list(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
