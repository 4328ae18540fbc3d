//go:build integration

package realprograms

import (
	"encoding/json"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
	"github.com/moodle-cluster/moodle-pulumi/tests/harness/loopback"
)

// sendScript loads the rendered config.php as a CLI script does, then sends one
// message with the probe's get_mailer()/email_to_user() (Moodle's, configured from
// $CFG by the same lines) through real PHPMailer.
const sendScript = `define('CLI_SCRIPT', true); require $argv[1];
require_once($CFG->dirroot . '/lib/moodlelib.php');
$to = (object)['id' => 3, 'email' => 'student@example.edu', 'firstname' => 'Sam', 'lastname' => 'Student'];
$from = (object)['id' => 2, 'email' => 'teacher@example.edu', 'firstname' => 'Tia', 'lastname' => 'Teacher'];
$ok = email_to_user($to, $from, 'Password reset', 'Follow the link to reset your password.');
echo json_encode(['ok' => $ok, 'error' => $CFG->probe_mail_error ?? '', 'smtppass_in_cfg' => $CFG->smtppass !== '']);`

// A message Moodle sends through the relay config.php names arrives there: over
// STARTTLS or TLS from the first byte when configured (and in clear text only when
// so configured, even though the relay offers STARTTLS), authenticated with
// mail.user and the password read from the secret file, from the no-reply address.
// A wrong password is refused and nothing is delivered.
func TestMailReachesTheRelayConfigPHPNames(t *testing.T) {
	cases := []struct {
		name     string
		tls      string
		user     string
		authType string
		noReply  string
		sinkPW   string // the relay's password; "" = the one the stack gives
		// userFromEnv: the login is the stack's own (aws mail.ses), read from
		// the secret's variable as the password is, not written in config.php.
		userFromEnv bool
		wantSent    bool
		wantTLS     bool
		wantLogin   bool
	}{
		{name: "plain SMTP, no login", tls: topology.MailTLSNone, wantSent: true},
		{name: "STARTTLS with LOGIN", tls: topology.MailTLSStartTLS, user: "moodle@example.edu", authType: "LOGIN",
			noReply: "noreply@moodle.example.edu", wantSent: true, wantTLS: true, wantLogin: true},
		{name: "STARTTLS with PLAIN", tls: topology.MailTLSStartTLS, user: "AKIAEXAMPLE", authType: "PLAIN",
			wantSent: true, wantTLS: true, wantLogin: true},
		{name: "implicit TLS with LOGIN", tls: topology.MailTLSImplicit, user: "moodle", authType: "LOGIN",
			wantSent: true, wantTLS: true, wantLogin: true},
		{name: "SES: login and password from the secrets", tls: topology.MailTLSStartTLS, user: "AKIAIOSFODNN7EXAMPLE", authType: "LOGIN",
			userFromEnv: true, wantSent: true, wantTLS: true, wantLogin: true},
		{name: "wrong password", tls: topology.MailTLSStartTLS, user: "moodle", authType: "LOGIN",
			sinkPW: "not-the-stacks-password", wantTLS: true, wantLogin: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := loopback.NewRoot(t)
			as := loopback.ServiceAccount(t)
			password := "smtp-" + loopback.Password(t)
			sinkPW := password
			if c.sinkPW != "" {
				sinkPW = c.sinkPW
			}
			sinkUser := c.user
			sink := loopback.StartSMTPSink(t, root, sinkUser, sinkPW, c.tls == topology.MailTLSImplicit)

			spec := loopback.DevSpec(t, root, 8080)
			spec.Mail.Host, spec.Mail.Port, spec.Mail.TLS = "127.0.0.1", sink.Port, c.tls
			spec.Mail.User = c.user
			if c.userFromEnv {
				spec.Mail.SES, spec.Mail.User = true, ""
			}
			if c.noReply != "" {
				spec.Mail.NoReplyAddress = c.noReply
			}
			if c.authType != "" {
				spec.Mail.AuthType = c.authType
			}
			loopback.CopyProbeApp(t, spec.Paths.CodeDir)
			conf := render.ConfigPHP(spec, endpoints(spec))
			if strings.Contains(conf, password) {
				t.Fatal("config.php holds the relay password")
			}
			if c.userFromEnv && strings.Contains(conf, c.user) {
				t.Fatal("config.php holds the login the stack makes")
			}
			config := writeFile(t, filepath.Join(spec.Paths.CodeDir, "config.php"), conf)
			as.OwnDataRoot(t, spec)
			iniDir := filepath.Join(root, "php")
			writeFile(t, filepath.Join(iniDir, "zz-moodle.ini"), render.PHPIni(spec))
			// The relay's CA in PHP's trust store, as the image's system bundle
			// holds a public relay's.
			writeFile(t, filepath.Join(iniDir, "zz-test-ca.ini"), "openssl.cafile="+sink.CAFile+"\n")
			secretDir := filepath.Join(root, "secrets")
			if err := os.MkdirAll(secretDir, 0o755); err != nil {
				t.Fatal(err)
			}
			pwFile := filepath.Join(secretDir, "smtp-password")
			if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o400); err != nil {
				t.Fatal(err)
			}
			as.Own(t, secretDir, sink.CAFile)

			env := []string{loopback.PHPEnv("cli", iniDir),
				render.EnvDBPassword + "=db", render.EnvRedisPassword + "=redis", render.EnvUpgradeKey + "=key",
				render.EnvSMTPPassword + render.FileSuffix + "=" + pwFile}
			if c.userFromEnv {
				env = append(env, render.EnvSMTPUser+"="+c.user)
			}
			out, err := loopback.Run(as, env, loopback.PHPBin, "-r", sendScript, config)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				OK            bool   `json:"ok"`
				Error         string `json:"error"`
				SMTPPassInCFG bool   `json:"smtppass_in_cfg"`
			}
			if err := json.Unmarshal([]byte(out[strings.LastIndex(out, "{"):]), &got); err != nil {
				t.Fatalf("script output %q: %v", out, err)
			}
			if got.SMTPPassInCFG != (c.user != "") {
				t.Errorf("$CFG->smtppass set = %v, want %v", got.SMTPPassInCFG, c.user != "")
			}

			auths := sink.Auths()
			if c.wantLogin {
				if len(auths) != 1 {
					t.Fatalf("AUTH attempts %+v, want one", auths)
				}
				a := auths[0]
				if a.OK != c.wantSent {
					t.Errorf("AUTH accepted = %v, want %v", a.OK, c.wantSent)
				}
				if a.Mechanism != spec.Mail.AuthType || a.User != c.user || a.Password != password || !a.TLS {
					t.Errorf("AUTH %s as %q with %q over TLS %v; want %s as %q with the secret's password over TLS",
						a.Mechanism, a.User, a.Password, a.TLS, spec.Mail.AuthType, c.user)
				}
			} else if len(auths) != 0 {
				t.Errorf("AUTH without a login: %+v", auths)
			}

			msgs := sink.Messages()
			if !c.wantSent {
				if got.OK || len(msgs) != 0 {
					t.Fatalf("sent with the wrong password: ok %v, %d messages", got.OK, len(msgs))
				}
				// PHPMailer reports the refused AUTH as a failed connection.
				if got.Error == "" {
					t.Error("email_to_user failed without PHPMailer's error")
				}
				return
			}
			if !got.OK || len(msgs) != 1 {
				t.Fatalf("email_to_user ok %v (%s), %d messages arrived", got.OK, got.Error, len(msgs))
			}
			m := msgs[0]
			noReply := spec.Mail.NoReplyAddress
			if m.From != noReply || len(m.To) != 1 || m.To[0] != "student@example.edu" {
				t.Errorf("envelope from %q to %v, want from %s to student@example.edu", m.From, m.To, noReply)
			}
			if m.TLS != c.wantTLS {
				t.Errorf("session over TLS = %v, want %v", m.TLS, c.wantTLS)
			}
			if m.User != c.user {
				t.Errorf("session user %q, want %q", m.User, c.user)
			}
			parsed, err := mail.ReadMessage(strings.NewReader(string(m.Data)))
			if err != nil {
				t.Fatalf("message: %v\n%s", err, m.Data)
			}
			from, err := mail.ParseAddress(parsed.Header.Get("From"))
			if err != nil || from.Address != noReply || from.Name != "Tia Teacher (via 127.0.0.1:8080)" {
				t.Errorf("From %q (%v), want Tia Teacher (via 127.0.0.1:8080) <%s>", parsed.Header.Get("From"), err, noReply)
			}
			if rt, err := mail.ParseAddress(parsed.Header.Get("Reply-To")); err != nil || rt.Address != noReply {
				t.Errorf("Reply-To %q, want %s", parsed.Header.Get("Reply-To"), noReply)
			}
			if parsed.Header.Get("Subject") != "Password reset" {
				t.Errorf("Subject %q", parsed.Header.Get("Subject"))
			}
		})
	}
}
