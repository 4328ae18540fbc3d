package render

import (
	"slices"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// mailData are config.php's outgoing mail settings. Each becomes the $CFG value
// Moodle's own code reads (moodle/moodle, public/lib/moodlelib.php at 02786e77,
// get_mailer() and email_to_user(); public/lib/phpmailer/moodle_phpmailer.php at
// 429eeaaf; public/admin/settings/server.php at 94aeb996, the outgoing mail
// page, for the value sets): config.php's values win over the database's, so
// the admin page shows them as set in config.php and nobody changes them there.
type mailData struct {
	// Off sets $CFG->noemailever (email_to_user returns before get_mailer).
	Off bool
	// Relay is $CFG->smtphosts: "host:port", the syntax Moodle's configsmtphosts
	// string documents and get_mailer() hands to PHPMailer's Host unchanged.
	Relay string
	// Secure is $CFG->smtpsecure: '', 'tls' (STARTTLS) or 'ssl' (implicit TLS),
	// the choices of the smtpsecure select; get_mailer() sets SMTPSecure to it.
	Secure string
	// AuthType is $CFG->smtpauthtype, which moodle_phpmailer's constructor copies
	// into PHPMailer's AuthType.
	AuthType string
	// User is $CFG->smtpuser: get_mailer() turns SMTPAuth on only when it is set.
	User string
	// EnvSMTPUser, when set, names the variable $CFG->smtpuser is read from
	// instead of User: a login the stack makes, unknown when config.php renders.
	EnvSMTPUser string
	// EnvSMTPPassword names the variable $CFG->smtppass is read from.
	EnvSMTPPassword string
	// MaxBulk is $CFG->smtpmaxbulk; FromVia $CFG->emailfromvia (0, 1, 2).
	MaxBulk, FromVia int
	// NoReply is $CFG->noreplyaddress, "" for Moodle's noreply@<site host>.
	NoReply string
	// Catcher names the mail catcher in the comment.
	Catcher bool
}

// smtpSecure maps the model's TLS modes onto $CFG->smtpsecure.
var smtpSecure = map[string]string{
	topology.MailTLSNone:     "",
	topology.MailTLSStartTLS: "tls",
	topology.MailTLSImplicit: "ssl",
}

// mailSettings renders the relay the Spec names, or the catcher the target runs
// in its place: plain SMTP without a login on the internal network.
func mailSettings(s topology.Spec, e Endpoints) mailData {
	m := s.Mail
	if !m.Enabled {
		return mailData{Off: true}
	}
	d := mailData{
		MaxBulk:  m.MaxBulk,
		FromVia:  slices.Index(topology.MailFromViaModes, m.FromVia),
		NoReply:  m.NoReplyAddress,
		AuthType: m.AuthType,
	}
	if m.Host == "" {
		d.Relay, d.Catcher = e.MailCatcher.String(), true
		return d
	}
	d.Relay = HostPort{Host: m.Host, Port: m.MailPort()}.String()
	d.Secure = smtpSecure[m.TLS]
	switch {
	case m.SES:
		d.EnvSMTPUser, d.EnvSMTPPassword = EnvSMTPUser, EnvSMTPPassword
	case m.User != "":
		d.User, d.EnvSMTPPassword = m.User, EnvSMTPPassword
	}
	return d
}
