package stack_test

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// awsOutputs returns what the AWS provider computes on create.
func awsOutputs(token, name string, inputs resource.PropertyMap) resource.PropertyMap {
	return nil
}

// awsInvoke answers the AWS data sources the program calls.
func awsInvoke(token string, args resource.PropertyMap) (resource.PropertyMap, error) {
	return nil, fmt.Errorf("unexpected invoke %s", token)
}
