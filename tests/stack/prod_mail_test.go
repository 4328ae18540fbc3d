package stack_test

import (
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
