//go:build engine

package engine_test

import (
	"context"
	"strings"
	"testing"
)

// The stack's aws:defaultTags reach every resource of both AWS providers: the
// default one, which the engine configures from the aws:* settings, and the
// explicit us-east-1 one of CloudFront's web ACL and log group, which reads none
// of them by itself (awscloud.regionalProvider passes them on). The fakes merge a
// provider's default tags into each resource's tagsAll as the provider does
// (tests/fakes/fakeprovider: terraform-provider-aws internal/tags, SetTagsDiff).
func TestDefaultTagsReachTheResourcesOfBothProviders(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	cfg := committedConfig(t, "prod")
	for key, value := range map[string]any{
		"moodle:aws.cloudFront.enabled":        true,
		"moodle:aws.cloudFront.certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/11111111-1111-1111-1111-111111111111",
		"aws:defaultTags":                      map[string]any{"tags": map[string]any{"team": "elearning", "cost-centre": "4711"}},
	} {
		if err := cfg.Set(key, value); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.stack(t, "prod", cfg).Up(ctx); err != nil {
		t.Fatal(err)
	}
	_, resources := r.checkpoint(t, "prod")
	tagged := map[string]int{}
	for _, res := range resources {
		if !strings.HasPrefix(string(res.Type), "aws:") {
			continue
		}
		all, ok := res.Outputs["tagsAll"].(map[string]any)
		if !ok {
			continue
		}
		provider := "default"
		if strings.Contains(res.Provider, "us-east-1") {
			provider = "us-east-1"
		}
		tagged[provider]++
		if all["team"] != "elearning" || all["cost-centre"] != "4711" {
			t.Errorf("%s (provider %s) tagsAll %v lacks the stack's default tags", res.URN, provider, all)
		}
	}
	for _, provider := range []string{"default", "us-east-1"} {
		if tagged[provider] == 0 {
			t.Errorf("no tagged resource of the %s provider", provider)
		}
	}
}
