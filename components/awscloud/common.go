package awscloud

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// tags gives a resource its console name; names follow the component tree.
func tags(name string) pulumi.StringMap {
	return pulumi.StringMap{"Name": pulumi.String(name)}
}

// dataOptions are the options of every resource that holds data (databases,
// file systems, buckets, caches, their key and secrets): protected in prod, so
// neither `pulumi destroy` nor a config change that would replace them deletes
// them without an explicit `pulumi state unprotect`.
func dataOptions(protect bool, opts ...pulumi.ResourceOption) []pulumi.ResourceOption {
	return append(opts, pulumi.Protect(protect))
}
