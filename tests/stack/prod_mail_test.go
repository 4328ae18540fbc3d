package stack_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/moodle-cluster/moodle-pulumi/components/render"
)

// prodSecretARN is the existing secret the committed prod stack names.
const prodSecretARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:moodle/ses-smtp-AbCdEf"

// phpSecrets are the ECS secrets of the containers of a task definition that run
// PHP (the ones that get the task's secrets), by variable.
func phpSecrets(t *testing.T, td registered) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, c := range td.containers(t) {
		for _, s := range c.Secrets {
			out[s.Name] = s.ValueFrom
		}
	}
	return out
}

// The committed prod stack sends through Amazon SES with the password of an
// existing Secrets Manager secret: every task that runs Moodle gets it as an ECS
// secret, its execution role may read it, and config.php names the relay.
func TestProdMailPasswordFromAnExistingSecret(t *testing.T) {
	rec := mustRun(t, "prod", nil)
	for _, task := range []string{appName, cronName} {
		td := rec.one(t, tTaskDef, task)
		if got := phpSecrets(t, td)[render.EnvSMTPPassword]; got != prodSecretARN {
			t.Errorf("%s: %s from %q, want %s", task, render.EnvSMTPPassword, got, prodSecretARN)
		}
		conf := td.renderedFiles(t)["MOODLE_FILE_CONFIG_PHP"]
		for _, line := range []string{"$CFG->smtphosts = 'email-smtp.eu-west-1.amazonaws.com:587';", "$CFG->smtpsecure = 'tls';",
			"$CFG->smtpuser = 'AKIAIOSFODNN7EXAMPLE';", "$CFG->smtppass = moodle_cluster_env('MOODLE_SMTP_PASSWORD');",
			"$CFG->noreplyaddress = 'noreply@moodle.example.edu';"} {
			if !strings.Contains(conf, line) {
				t.Errorf("%s config.php lacks %s", task, line)
			}
		}
		var doc policyDoc
		rec.one(t, tRolePolicy, task+"-execution").jsonInput(t, "policy", &doc)
		reads := false
		for _, s := range doc.Statement {
			if slices.Contains(anyStrings(s.Action), "secretsmanager:GetSecretValue") && slices.Contains(anyStrings(s.Resource), prodSecretARN) {
				reads = true
			}
		}
		if !reads {
			t.Errorf("%s execution role cannot read %s", task, prodSecretARN)
		}
	}
	for _, s := range rec.ofType(tSecret) {
		if strings.Contains(s.Name, "smtp") {
			t.Errorf("secret %s created beside the existing one", s.Name)
		}
	}
}

// Given as the Pulumi secret moodle:mailPassword instead, the password goes into a
// Secrets Manager secret of the stack's own, encrypted with the data key, is a
// secret in the state, and appears in plain text nowhere.
func TestProdMailPasswordFromThePulumiSecret(t *testing.T) {
	const pw = "ses-smtp-pw-7f3a9c"
	rec, err := runWithSecrets(t, "prod", map[string]any{"mail.passwordSecretArn": nil}, map[string]string{"mailPassword": pw})
	if err != nil {
		t.Fatal(err)
	}
	secret := rec.one(t, tSecret, "moodle-smtp-password")
	if secret.str("kmsKeyId") == "" {
		t.Error("the relay password's secret is not encrypted with the data key")
	}
	version := rec.one(t, tSecretVersion, "moodle-smtp-password")
	if v := version.Inputs["secretString"]; !v.IsSecret() || v.SecretValue().Element.StringValue() != pw {
		t.Errorf("secret version holds %v, want the password as a secret", v)
	}
	for _, r := range rec.resources {
		for _, s := range plainStrings(resource.NewObjectProperty(r.Inputs)) {
			if strings.Contains(s, pw) {
				t.Errorf("%s %s carries the relay password in plain text", r.Type, r.Name)
			}
		}
	}
	// The ad hoc task workers send most of the mail (notifications are ad hoc tasks).
	for _, task := range []string{appName, cronName, cronName + "-adhoc"} {
		got := phpSecrets(t, rec.one(t, tTaskDef, task))[render.EnvSMTPPassword]
		if got == "" || got == prodSecretARN {
			t.Errorf("%s: %s from %q, want the stack's own secret", task, render.EnvSMTPPassword, got)
		}
	}
	// A plain-text value is refused before anything is registered.
	rec, err = run(t, "prod", map[string]any{"mail.passwordSecretArn": nil, "mailPassword": pw})
	if err == nil || !strings.Contains(err.Error(), "moodle:mailPassword: is stored in plain text") {
		t.Errorf("plain-text password: %v", err)
	}
	if n := len(rec.resources); n > 1 {
		t.Errorf("%d resources registered", n)
	}
}

// The tasks may send mail to the relay's port and no other SMTP port.
func TestProdMailEgressFollowsTheRelayPort(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edits map[string]any
		port  int
	}{
		{"starttls on 587", nil, 587},
		{"implicit tls on 465", map[string]any{"mail.tls": "tls", "mail.port": nil}, 465},
		{"a port of the relay's own", map[string]any{"mail.port": 2587}, 2587},
		{"no mail", map[string]any{"mail.enabled": false}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := mustRun(t, "prod", tc.edits)
			smtp := map[string][]int{}
			for _, r := range securityGroupRules(rec) {
				if r.egress && r.peer == "0.0.0.0/0" && r.port != 443 && r.port != 80 {
					smtp[r.group] = append(smtp[r.group], r.port)
				}
			}
			for _, group := range []string{"app", "cron"} {
				want := []int{tc.port}
				if tc.port == 0 {
					want = nil
				}
				if !slices.Equal(smtp[group], want) {
					t.Errorf("%s may send SMTP to ports %v, want %v", group, smtp[group], want)
				}
			}
			if tc.port == 0 {
				td := rec.one(t, tTaskDef, appName)
				if !strings.Contains(td.renderedFiles(t)["MOODLE_FILE_CONFIG_PHP"], "$CFG->noemailever = true;") {
					t.Error("a site without mail does not set noemailever")
				}
				if _, ok := phpSecrets(t, td)[render.EnvSMTPPassword]; ok {
					t.Error("a site without mail gets a relay password")
				}
			}
		})
	}
}

// An aws stack without a relay is refused, naming what to set.
func TestProdWithoutARelayIsRefused(t *testing.T) {
	_, err := run(t, "prod", map[string]any{"mail.host": nil})
	if err == nil || !strings.Contains(err.Error(), "moodle:mail.host: not set; an aws stack sends mail through a relay (Amazon SES") {
		t.Errorf("no relay: %v", err)
	}
}

// sesEdits turn the committed prod stack's hand-made SES relay into mail.ses.
func sesEdits(more map[string]any) map[string]any {
	edits := map[string]any{"mail.ses": true, "mail.host": nil, "mail.port": nil, "mail.user": nil, "mail.passwordSecretArn": nil}
	for k, v := range more {
		edits[k] = v
	}
	return edits
}

// With mail.ses the stack makes the SES sender itself: a domain identity for the
// no-reply address's domain, an IAM user that may only send as it, and the SMTP
// credentials in a secret of the stack's own that the tasks read both halves of,
// and config.php names SES's endpoint in the stack's region.
func TestProdMailSESMakesTheSenderAndItsCredentials(t *testing.T) {
	rec := mustRun(t, "prod", sesEdits(nil))
	identities := rec.ofType("aws:sesv2/emailIdentity:EmailIdentity")
	if len(identities) != 1 || identities[0].str("emailIdentity") != "moodle.example.edu" {
		t.Fatalf("SES identities %v, want one of moodle.example.edu", identities)
	}
	identityARN := "arn:aws:ses:eu-west-1:123456789012:identity/moodle.example.edu"

	var doc policyDoc
	rec.one(t, "aws:iam/userPolicy:UserPolicy", "moodle-ses-smtp").jsonInput(t, "policy", &doc)
	if len(doc.Statement) != 1 || !slices.Equal(anyStrings(doc.Statement[0].Action), []string{"ses:SendRawEmail"}) ||
		!slices.Equal(anyStrings(doc.Statement[0].Resource), []string{identityARN}) {
		t.Errorf("the SMTP user's policy is %+v, want ses:SendRawEmail on %s only", doc.Statement, identityARN)
	}
	if keys := rec.ofType("aws:iam/accessKey:AccessKey"); len(keys) != 1 {
		t.Errorf("%d access keys, want the SMTP user's one", len(keys))
	}

	secret := rec.one(t, tSecret, "moodle-ses-smtp")
	if secret.str("kmsKeyId") == "" {
		t.Error("the SMTP credentials' secret is not encrypted with the data key")
	}
	version := rec.one(t, tSecretVersion, "moodle-ses-smtp")
	v := version.Inputs["secretString"]
	var creds map[string]string
	if !v.IsSecret() {
		t.Error("the SMTP credentials are not a secret in the state")
	} else if err := json.Unmarshal([]byte(v.SecretValue().Element.StringValue()), &creds); err != nil || creds["password"] != mockSMTPPassword || creds["username"] == "" {
		t.Errorf("secret version holds %v (%v), want the access key id and its SES SMTP password", creds, err)
	}
	for _, r := range rec.resources {
		for _, s := range plainStrings(resource.NewObjectProperty(r.Inputs)) {
			if strings.Contains(s, mockSMTPPassword) {
				t.Errorf("%s %s carries the SMTP password in plain text", r.Type, r.Name)
			}
		}
	}

	secretARN := mockARN(tSecret, "moodle-ses-smtp")
	for _, task := range []string{appName, cronName, cronName + "-adhoc"} {
		td := rec.one(t, tTaskDef, task)
		got := phpSecrets(t, td)
		if got[render.EnvSMTPUser] != secretARN+":username::" || got[render.EnvSMTPPassword] != secretARN+":password::" {
			t.Errorf("%s: SMTP login from %q and %q, want the username and password of %s", task,
				got[render.EnvSMTPUser], got[render.EnvSMTPPassword], secretARN)
		}
		for _, c := range td.containers(t) {
			for _, e := range c.Environment {
				if strings.Contains(e.Name, "SMTP") {
					t.Errorf("%s: %s is plain environment", task, e.Name)
				}
			}
		}
	}
	conf := rec.one(t, tTaskDef, appName).renderedFiles(t)["MOODLE_FILE_CONFIG_PHP"]
	for _, line := range []string{"$CFG->smtphosts = 'email-smtp.eu-west-1.amazonaws.com:587';", "$CFG->smtpsecure = 'tls';",
		"$CFG->smtpuser = moodle_cluster_env('MOODLE_SMTP_USER');", "$CFG->smtppass = moodle_cluster_env('MOODLE_SMTP_PASSWORD');",
		"$CFG->noreplyaddress = 'noreply@moodle.example.edu';"} {
		if !strings.Contains(conf, line) {
			t.Errorf("config.php lacks %s", line)
		}
	}
	for _, s := range rec.ofType(tSecret) {
		if s.Name == "moodle-smtp-password" {
			t.Error("the relay-password secret is made beside SES's credentials")
		}
	}
}

// Easy DKIM's three CNAME records go into the stack's hosted zone when it has
// one ("Easy DKIM in Amazon SES": <token>._domainkey.<domain> to
// <token>.dkim.amazonses.com); without a zone none is made.
func TestProdMailSESDKIMRecordsFollowTheHostedZone(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edits map[string]any
		want  int
	}{
		{"no hosted zone", nil, 0},
		{"a hosted zone", map[string]any{"aws.hostedZoneId": "Z0123456789ABCDEFGHIJ"}, 3},
		{"the site's domain without a no-reply address", map[string]any{"aws.hostedZoneId": "Z0123456789ABCDEFGHIJ", "mail.noReplyAddress": nil}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := mustRun(t, "prod", sesEdits(tc.edits))
			var dkim []registered
			for _, r := range rec.ofType(tRecord) {
				if strings.Contains(r.Name, "dkim") {
					dkim = append(dkim, r)
				}
			}
			if len(dkim) != tc.want {
				t.Fatalf("%d DKIM records, want %d", len(dkim), tc.want)
			}
			for i, r := range dkim {
				token := mockDKIMTokens[i]
				if r.str("zoneId") != "Z0123456789ABCDEFGHIJ" || r.str("type") != "CNAME" ||
					r.str("name") != token+"._domainkey.moodle.example.edu" ||
					!slices.Equal(anyStrings(r.input("records").Mappable()), []string{token + ".dkim.amazonses.com"}) {
					t.Errorf("DKIM record %s: %v", r.Name, r.Inputs)
				}
			}
		})
	}
}
