package topology

import "strings"

// Outgoing mail. Moodle sends every message (password resets, notifications,
// forum digests) through get_mailer() and email_to_user() in lib/moodlelib.php,
// which configure PHPMailer from $CFG->smtphosts, smtpsecure, smtpauthtype,
// smtpuser, smtppass, smtpmaxbulk, noreplyaddress and emailfromvia. The model
// holds those settings once; components/render writes them into config.php for
// both targets (see the citations there).

// TLS modes of the connection to the relay, and the $CFG->smtpsecure value each
// becomes: Moodle's select offers none (the empty string), 'ssl' and 'tls'
// (public/admin/settings/server.php, smtpsecure), which get_mailer() hands to
// PHPMailer's SMTPSecure: 'tls' is STARTTLS on a plain connection, 'ssl' TLS
// from the first byte.
const (
	MailTLSNone     = "none"
	MailTLSStartTLS = "starttls"
	MailTLSImplicit = "tls"
)

// MailTLSModes lists the modes in the order the docs name them.
var MailTLSModes = []string{MailTLSNone, MailTLSStartTLS, MailTLSImplicit}

// MailAuthTypes are the $CFG->smtpauthtype values a config file can set: the
// choices of Moodle's own select (public/admin/settings/server.php). XOAUTH2 is
// left out: Moodle offers it only with an OAuth 2 issuer configured in the
// database (smtpoauthservice), which config.php cannot provide.
var MailAuthTypes = []string{"LOGIN", "PLAIN", "NTLM", "CRAM-MD5"}

// From-via modes ($CFG->emailfromvia): whether the From name says "<name> (via
// <site>)". Moodle's select lists never, always and only-for-no-reply as 0, 1 and
// 2 (EMAIL_VIA_NEVER, EMAIL_VIA_ALWAYS, EMAIL_VIA_NO_REPLY_ONLY).
const (
	MailFromViaNever       = "never"
	MailFromViaAlways      = "always"
	MailFromViaNoReplyOnly = "noReplyOnly"
)

// MailFromViaModes lists the modes in Moodle's order: the index is the value.
var MailFromViaModes = []string{MailFromViaNever, MailFromViaAlways, MailFromViaNoReplyOnly}

// Mail is how the site sends mail: through Host (a relay the operator names), or,
// on the Docker host when Host is empty, through a mail catcher the stack runs
// (Catcher), which keeps every message for a developer to read and delivers none.
type Mail struct {
	// Enabled false sets $CFG->noemailever: Moodle then sends nothing at all
	// (email_to_user returns before it connects). For a throw-away site only.
	Enabled bool `json:"enabled"`
	// Host is the relay's host name or IP address; empty means the catcher
	// (docker) and is refused on aws, where mail would otherwise silently fail.
	Host string `json:"host"`
	// Port is the relay's port; 0 means the TLS mode's usual port (MailPort).
	Port int `json:"port"`
	// TLS is MailTLSNone, MailTLSStartTLS or MailTLSImplicit.
	TLS string `json:"tls"`
	// AuthType is one of MailAuthTypes; used only with User.
	AuthType string `json:"authType"`
	// User is the relay's login; empty means no authentication. The password is
	// never part of the model: it is the Pulumi secret moodle:mailPassword (or, on
	// aws, an existing Secrets Manager secret, PasswordSecretARN), delivered to
	// the containers as a secret and read by config.php at run time.
	User string `json:"user"`
	// PasswordSecretARN (aws only) is an existing Secrets Manager secret whose
	// whole value is the relay password.
	PasswordSecretARN string `json:"passwordSecretArn" target:"aws" hint:"on docker the password is moodle:mailPassword"`
	// SES (aws only) has the stack send through Amazon SES in its own region
	// and create what that takes: the domain identity of SESDomain with Easy
	// DKIM (its CNAME records in aws.hostedZoneId when one is given), an IAM
	// user allowed only ses:SendRawEmail on that identity, and its SMTP
	// credentials in Secrets Manager. Host, User and the password are then the
	// stack's, not the operator's.
	SES bool `json:"ses" target:"aws" hint:"on docker mail.host names the relay, or the mail catcher runs"`
	// HasPassword says moodle:mailPassword is set; the value stays out of the
	// Spec (config.Load fills this from the key's presence).
	HasPassword bool `json:"-"`
	// NoReplyAddress is $CFG->noreplyaddress; empty keeps Moodle's own default,
	// noreply@<the site's host name>.
	NoReplyAddress string `json:"noReplyAddress"`
	// MaxBulk is $CFG->smtpmaxbulk: messages sent over one SMTP session.
	MaxBulk int `json:"maxBulk"`
	// FromVia is one of MailFromViaModes ($CFG->emailfromvia).
	FromVia string `json:"fromVia"`
	// Catcher is the docker target's mail catcher, run when Host is empty.
	Catcher MailCatcher `json:"catcher" target:"docker" hint:"aws runs no mail catcher: set mail.host"`
}

// MailCatcher is the Docker host's development mail catcher (Mailpit's contract:
// SMTP on CatcherSMTPPort, web page and API on CatcherWebPort), reachable by the
// app nodes on the internal network and by a browser on the host's loopback
// address at WebPort.
type MailCatcher struct {
	// WebPort is the host port, on 127.0.0.1, of the catcher's web page.
	WebPort int `json:"webPort"`
	Resources
}

// Ports of Mailpit inside its container: SMTP and the web UI with its API.
const (
	CatcherSMTPPort = 1025
	CatcherWebPort  = 8025
)

// UsesCatcher reports whether the stack runs the Docker host's mail catcher:
// mail is on, the target is docker, and no relay is named.
func (s Spec) UsesCatcher() bool {
	return s.Target == TargetDocker && s.Mail.Enabled && s.Mail.Host == ""
}

// SESDomain is the domain the SES identity verifies: the no-reply address's,
// which is the sender of everything Moodle sends, else the site's host name, the
// domain of Moodle's own default noreply@<host>.
func (s Spec) SESDomain() string {
	if at := strings.LastIndex(s.Mail.NoReplyAddress, "@"); at >= 0 {
		return strings.ToLower(s.Mail.NoReplyAddress[at+1:])
	}
	return s.Hostname()
}

// MailPort is the relay port: Port when set, else the TLS mode's registered
// port (RFC 8314: 465 for implicit TLS, 587 for submission with STARTTLS; 25 for
// plain SMTP).
func (m Mail) MailPort() int {
	if m.Port != 0 {
		return m.Port
	}
	switch m.TLS {
	case MailTLSImplicit:
		return 465
	case MailTLSNone:
		return 25
	}
	return 587
}
