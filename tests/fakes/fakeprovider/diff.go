package fakeprovider

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// The bridge behind pulumi-aws, pulumi-docker and pulumi-random
// (pulumi-terraform-bridge v3.116.0, the version pulumi-docker 4.10.0 builds with)
// plans the new inputs against the old state, not against the old inputs: its Diff
// reads req.Olds with secrets stripped (pkg/tfbridge/provider.go:1112-1113) and hands
// them to Terraform as the prior state (:1129-1144, :1162). Whatever the provider
// read back after the last create or refresh is therefore what a program's inputs
// must equal for a second `up` to change nothing.

// diff reports every property whose new input differs from base (the old state, or
// the old inputs for Kind.DiffInputs), every input the program stopped setting and
// every Kind.Unset value the state holds for an unset input, less the ignored paths.
// Replacement is asked for where the kind forces it.
func diff(base, oldInputs, news resource.PropertyMap, k *Kind, ignore []string) *pulumirpc.DiffResponse {
	kinds := map[string]pulumirpc.PropertyDiff_Kind{}
	for key, nv := range news {
		ov, had := base[key]
		if eq := k.Equivalent[string(key)]; eq != nil && had && eq(plain(ov), plain(nv)) {
			continue
		}
		if same(ov, nv, string(key), k.Sets) {
			continue
		}
		kinds[string(key)] = pulumirpc.PropertyDiff_UPDATE
		if !had {
			kinds[string(key)] = pulumirpc.PropertyDiff_ADD
		}
	}
	for key := range oldInputs {
		if _, kept := news[key]; !kept && !isEmpty(base[key]) {
			kinds[string(key)] = pulumirpc.PropertyDiff_DELETE
		}
	}
	for _, key := range k.Unset {
		if _, set := news[resource.PropertyKey(key)]; !set && !isEmpty(base[resource.PropertyKey(key)]) {
			kinds[key] = pulumirpc.PropertyDiff_DELETE
		}
	}
	// The bridge drops the ignored paths, and everything under them, from the plan
	// (pkg/tfshim/sdk-v2/instance_diff.go:95-109, processIgnoreChanges; the engine
	// also copies their old inputs into the new ones).
	for key := range kinds {
		for _, path := range ignore {
			if key == path || strings.HasPrefix(key, path+".") {
				delete(kinds, key)
			}
		}
	}
	if len(kinds) == 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}
	}
	resp := &pulumirpc.DiffResponse{
		Changes:         pulumirpc.DiffResponse_DIFF_SOME,
		DetailedDiff:    map[string]*pulumirpc.PropertyDiff{},
		HasDetailedDiff: true,
	}
	for key, kind := range kinds {
		if k.forceNew(key, base, news) {
			kind = replacing[kind]
			resp.Replaces = append(resp.Replaces, key)
		}
		resp.Diffs = append(resp.Diffs, key)
		resp.DetailedDiff[key] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
	}
	sort.Strings(resp.Diffs)
	sort.Strings(resp.Replaces)
	return resp
}

var replacing = map[pulumirpc.PropertyDiff_Kind]pulumirpc.PropertyDiff_Kind{
	pulumirpc.PropertyDiff_ADD:    pulumirpc.PropertyDiff_ADD_REPLACE,
	pulumirpc.PropertyDiff_UPDATE: pulumirpc.PropertyDiff_UPDATE_REPLACE,
	pulumirpc.PropertyDiff_DELETE: pulumirpc.PropertyDiff_DELETE_REPLACE,
}

// same compares an old and a new value the way the Terraform plugin SDK does: secrets
// are compared by their values, an unset value equals its zero value (null, "",
// false, 0, an empty list or object), and an unknown new value is a change. path
// names the value ("capabilities.adds") so that sets compare without order.
func same(a, b resource.PropertyValue, path string, sets []string) bool {
	a, b = plain(a), plain(b)
	switch {
	case a.ContainsUnknowns() || b.ContainsUnknowns():
		return false
	case isEmpty(a) && isEmpty(b):
		return true
	case a.IsObject() && b.IsObject():
		am, bm := a.ObjectValue(), b.ObjectValue()
		for _, k := range append(am.StableKeys(), bm.StableKeys()...) {
			if !same(am[k], bm[k], path+"."+string(k), sets) {
				return false
			}
		}
		return true
	case a.IsArray() && b.IsArray():
		as, bs := a.ArrayValue(), b.ArrayValue()
		if len(as) != len(bs) {
			return false
		}
		if slices.Contains(sets, path) {
			as, bs = sortedSet(as), sortedSet(bs)
		}
		for i := range as {
			if !same(as[i], bs[i], path, sets) {
				return false
			}
		}
		return true
	}
	return a.DeepEquals(b)
}

// plain strips the secret wrappers of v and of everything inside it.
func plain(v resource.PropertyValue) resource.PropertyValue {
	switch {
	case v.IsSecret():
		return plain(v.SecretValue().Element)
	case v.IsArray():
		out := make([]resource.PropertyValue, len(v.ArrayValue()))
		for i, e := range v.ArrayValue() {
			out[i] = plain(e)
		}
		return resource.NewArrayProperty(out)
	case v.IsObject():
		out := resource.PropertyMap{}
		for k, e := range v.ObjectValue() {
			out[k] = plain(e)
		}
		return resource.NewObjectProperty(out)
	}
	return v
}

func isEmpty(v resource.PropertyValue) bool {
	switch {
	case v.IsNull():
		return true
	case v.IsString():
		return v.StringValue() == ""
	case v.IsBool():
		return !v.BoolValue()
	case v.IsNumber():
		return v.NumberValue() == 0
	case v.IsArray():
		return len(v.ArrayValue()) == 0
	case v.IsObject():
		return len(v.ObjectValue()) == 0
	}
	return false
}

func sortedSet(items []resource.PropertyValue) []resource.PropertyValue {
	out := slices.Clone(items)
	sort.Slice(out, func(i, j int) bool {
		return fmt.Sprint(out[i].Mappable()) < fmt.Sprint(out[j].Mappable())
	})
	return out
}

// refreshedInputs is what the bridge makes a resource's inputs after a refresh:
// every old input takes the value read back, as deep as both have it, and an input
// the provider no longer reports is dropped (Read, pkg/tfbridge/provider.go:1499;
// ExtractInputsFromOutputs, pkg/tfbridge/schema.go:1884-1891; extractInputs
// :1605-1671; extractInputsObject :1674-1715). A refresh therefore
// writes the provider's formatting ("2.0") over the program's ("2") in the state.
func refreshedInputs(old, read resource.PropertyMap) resource.PropertyMap {
	out := resource.PropertyMap{}
	for k, v := range old {
		if r, ok := read[k]; ok {
			out[k] = refreshedInput(v, r)
		}
	}
	return out
}

func refreshedInput(old, read resource.PropertyValue) resource.PropertyValue {
	switch {
	case old.IsArray() && read.IsArray():
		o, r := old.ArrayValue(), read.ArrayValue()
		out := make([]resource.PropertyValue, min(len(o), len(r)))
		for i := range out {
			out[i] = refreshedInput(o[i], r[i])
		}
		return resource.NewArrayProperty(out)
	case old.IsObject() && read.IsObject():
		return resource.NewObjectProperty(refreshedInputs(old.ObjectValue(), read.ObjectValue()))
	}
	return read
}

// overlay returns base with the properties of top written over it.
func overlay(base, top resource.PropertyMap) resource.PropertyMap {
	out := base.Copy()
	for k, v := range top {
		out[k] = v
	}
	return out
}
