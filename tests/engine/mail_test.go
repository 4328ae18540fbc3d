//go:build engine

package engine_test

import "testing"

// The SES sender of mail.ses, with its DKIM records in a hosted zone, comes up
// under the engine with the provider's rules (tests/fakes/fakeprovider: the SES
// identity, IAM user, user policy and access key kinds), and a second up plans
// nothing: no DKIM record, credential or task definition churns.
func TestProdMailSESSettlesInOneUp(t *testing.T) {
	r := newRig(t)
	cfg := committedConfigWith(t, "prod", map[string]any{
		"moodle:mail.ses": true, "moodle:mail.host": nil, "moodle:mail.port": nil, "moodle:mail.user": nil,
		"moodle:mail.passwordSecretArn": nil, "moodle:aws.hostedZoneId": "Z0123456789ABCDEFGHIJ",
	})
	created := upSettles(t, r, cfg)
	for typ, want := range map[string]int{
		"aws:sesv2/emailIdentity:EmailIdentity": 1, "aws:iam/user:User": 1, "aws:iam/userPolicy:UserPolicy": 1,
		"aws:iam/accessKey:AccessKey": 1,
	} {
		if created[typ] != want {
			t.Errorf("up created %d %s, want %d", created[typ], typ, want)
		}
	}
	if created["aws:route53/record:Record"] < 3 {
		t.Errorf("up created %d Route 53 records, want the three DKIM records at least", created["aws:route53/record:Record"])
	}
}
