package fakeprovider

import (
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/offline"
)

// awsInvokes answers the data sources the program reads from the offline table
// moodlectl and the unit tier's mocks use, in the fake account and Region; each
// ECR token is new, as GetAuthorizationToken gives one at every call (ECR API
// reference, AuthorizationData).
func awsInvokes() map[string]InvokeFunc {
	invokes := map[string]InvokeFunc{}
	for _, token := range offline.DataSources() {
		invokes[token] = func(env Env, args resource.PropertyMap) (resource.PropertyMap, error) {
			return offline.Answer(offline.Env{Region: env.Region, Account: env.Account,
				Secret: func() string { return "fake-ecr-token-" + env.Random(24) }}, token, args)
		}
	}
	return invokes
}
