package render

import (
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// config.php carries the relay the model names in Moodle's own terms: smtpsecure
// ” / 'tls' / 'ssl' for none / STARTTLS / implicit TLS, the TLS mode's port when
// none is set, a login read from the secret, never written into the file.
func TestConfigPHPMailSettingsFollowTheModel(t *testing.T) {
	cases := []struct {
		name string
		mail func(*topology.Mail)
		want []string
		not  []string
	}{
		{"the catcher", func(*topology.Mail) {}, []string{
			"$CFG->smtphosts = 'mailpit:1025';", "$CFG->smtpsecure = '';", "$CFG->smtpuser = '';", "$CFG->smtppass = '';",
			"$CFG->smtpmaxbulk = 1;", "$CFG->emailfromvia = 1;", "$CFG->noreplyaddress = 'noreply@example.com';"},
			[]string{"noemailever", EnvSMTPPassword}},
		{"starttls with a login", func(m *topology.Mail) {
			m.Host, m.User, m.AuthType = "smtp.example.edu", "moodle@example.edu", "PLAIN"
		}, []string{
			"$CFG->smtphosts = 'smtp.example.edu:587';", "$CFG->smtpsecure = 'tls';", "$CFG->smtpauthtype = 'PLAIN';",
			"$CFG->smtpuser = 'moodle@example.edu';", "$CFG->smtppass = moodle_cluster_env('MOODLE_SMTP_PASSWORD');"},
			[]string{"mailpit"}},
		{"a login the stack makes (aws mail.ses)", func(m *topology.Mail) {
			m.Host, m.SES, m.AuthType = "email-smtp.eu-west-1.amazonaws.com", true, "LOGIN"
		}, []string{
			"$CFG->smtphosts = 'email-smtp.eu-west-1.amazonaws.com:587';", "$CFG->smtpsecure = 'tls';", "$CFG->smtpauthtype = 'LOGIN';",
			"$CFG->smtpuser = moodle_cluster_env('MOODLE_SMTP_USER');", "$CFG->smtppass = moodle_cluster_env('MOODLE_SMTP_PASSWORD');"},
			[]string{"$CFG->smtpuser = '';"}},
		{"implicit tls", func(m *topology.Mail) {
			m.Host, m.TLS, m.User = "smtp.example.edu", topology.MailTLSImplicit, "moodle"
		}, []string{"$CFG->smtphosts = 'smtp.example.edu:465';", "$CFG->smtpsecure = 'ssl';"}, nil},
		{"plain smtp on a port of its own", func(m *topology.Mail) {
			m.Host, m.TLS, m.Port = "10.0.0.25", topology.MailTLSNone, 2525
		}, []string{"$CFG->smtphosts = '10.0.0.25:2525';", "$CFG->smtpsecure = '';", "$CFG->smtpuser = '';"},
			[]string{EnvSMTPPassword}},
		{"plain smtp on its usual port", func(m *topology.Mail) {
			m.Host, m.TLS = "smtp.internal", topology.MailTLSNone
		}, []string{"$CFG->smtphosts = 'smtp.internal:25';"}, nil},
		{"Moodle's own no-reply default", func(m *topology.Mail) { m.NoReplyAddress = "" }, nil,
			[]string{"noreplyaddress"}},
		{"no-reply, bulk and via", func(m *topology.Mail) {
			m.NoReplyAddress, m.MaxBulk, m.FromVia = "noreply@moodle.example.edu", 50, topology.MailFromViaNoReplyOnly
		}, []string{"$CFG->noreplyaddress = 'noreply@moodle.example.edu';", "$CFG->smtpmaxbulk = 50;", "$CFG->emailfromvia = 2;"}, nil},
		{"never via", func(m *topology.Mail) { m.FromVia = topology.MailFromViaNever }, []string{"$CFG->emailfromvia = 0;"}, nil},
		{"no mail", func(m *topology.Mail) { m.Enabled = false }, []string{"$CFG->noemailever = true;"},
			[]string{"smtphosts", "smtppass"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := devSpec()
			c.mail(&s.Mail)
			conf := ConfigPHP(s, devEndpoints())
			for _, w := range c.want {
				if !strings.Contains(conf, w) {
					t.Errorf("config.php lacks %s", w)
				}
			}
			for _, n := range c.not {
				if strings.Contains(conf, n) {
					t.Errorf("config.php has %s", n)
				}
			}
		})
	}
}
