package fakeprovider

import "testing"

// The fake access key's SES SMTP password is the one SES accepts: the vectors of
// terraform-provider-aws's own suite (internal/service/iam/access_key_test.go,
// TestSESSMTPPasswordFromSecretKeySigV4).
func TestSESSMTPPasswordV4MatchesTheProvidersVectors(t *testing.T) {
	for _, c := range []struct{ region, secret, want string }{
		{"eu-central-1", "some+secret+key", "BMXhUYlu5Z3gSXVQORxlVa7XPaz91aGWdfHxvkOZdWZ2"},
		{"eu-central-1", "another+secret+key", "BBbphbrQmrKMx42d1N6+C7VINYEBGI5v9VsZeTxwskfh"},
		{"us-west-1", "some+secret+key", "BH+jbMzper5WwlwUar9E1ySBqHa9whi0GPo+sJ0mVYJj"},
	} {
		if got := SESSMTPPasswordV4(c.secret, c.region); got != c.want {
			t.Errorf("%s %q: %s, want %s", c.region, c.secret, got, c.want)
		}
	}
}
