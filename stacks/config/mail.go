package config

import (
	"net"
	"regexp"
	"slices"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// MailPasswordKey is the top-level key of the relay password: a Pulumi secret
// (`pulumi config set --secret moodle:mailPassword`), kept out of moodle:mail so
// the rest of the mail settings stay readable in the stack file and the Spec.
const MailPasswordKey = "mailPassword"

// MailPassword returns the relay password the stack sets, "" when it sets none.
// isSecret reports whether the engine holds a key as a secret
// (pulumi.Context.IsConfigSecret): a password stored in plain text in the stack
// file is refused, because it would be in plain text in the state too.
func MailPassword(get Getter, isSecret func(key string) bool) (string, error) {
	pw, ok := get(MailPasswordKey)
	if !ok || pw == "" {
		return "", nil
	}
	if !isSecret(Namespace + ":" + MailPasswordKey) {
		var p problems
		p.add(MailPasswordKey, nil, "is stored in plain text; set it with `pulumi config set --secret %s:%s`",
			Namespace, MailPasswordKey)
		return "", p.err()
	}
	return pw, nil
}

var (
	// mailHost is a DNS name (letters, digits, dots and hyphens); IP addresses
	// are checked with net.ParseIP.
	mailHost = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)
	// mailUser is a relay login: printable, without spaces or quotes (an SES SMTP
	// user is an access key id; others are addresses or names).
	mailUser = regexp.MustCompile(`^[!#-&(-~]{1,255}$`)
	// secretARN is a Secrets Manager secret's ARN.
	secretARN = regexp.MustCompile(`^arn:aws[a-z-]*:secretsmanager:[a-z]{2}(-[a-z]+)+-\d:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$`)
)

// maxMailBulk bounds $CFG->smtpmaxbulk: messages sent over one SMTP session.
const maxMailBulk = 1000

// mail checks moodle:mail and moodle:mailPassword for both targets: a relay that
// can be reached as configured, a login only with a password and over TLS, and
// Moodle's value sets for the rest.
func (p *problems) mail(s topology.Spec) {
	m := s.Mail
	if !m.Enabled {
		return
	}
	if m.Host != "" && !mailHost.MatchString(m.Host) && net.ParseIP(m.Host) == nil {
		p.add("mail.host", m.Host, "allowed: the relay's host name or IP address, e.g. email-smtp.eu-west-1.amazonaws.com")
	}
	if m.Host == "" && !m.SES && s.Target == topology.TargetAWS {
		p.add("mail.host", nil, "not set; an aws stack sends mail through a relay (Amazon SES: set mail.ses true, or name one: email-smtp.<region>.amazonaws.com, port 587, tls starttls); set mail.enabled false to run a site that sends no mail at all")
	}
	if m.Port != 0 {
		p.intRange("mail.port", m.Port, 1, 65535)
	}
	p.oneOf("mail.tls", m.TLS, topology.MailTLSModes...)
	if !slices.Contains(topology.MailAuthTypes, m.AuthType) {
		hint := ""
		if m.AuthType == "XOAUTH2" {
			hint = " (XOAUTH2 needs an OAuth 2 issuer configured in Moodle's database, which config.php cannot provide)"
		}
		p.add("mail.authType", m.AuthType, "allowed: %s%s", list(topology.MailAuthTypes), hint)
	}
	if m.SES && s.Target == topology.TargetAWS {
		p.mailSES(s)
	} else {
		p.mailLogin(s)
	}
	p.email("mail.noReplyAddress", m.NoReplyAddress, true)
	p.intRange("mail.maxBulk", m.MaxBulk, 1, maxMailBulk)
	p.oneOf("mail.fromVia", m.FromVia, topology.MailFromViaModes...)
	if m.Host == "" && s.Target == topology.TargetDocker {
		p.mailCatcher(s)
	}
}

// mailLogin checks the relay login: a user has a password (exactly one source of
// it), a password has a user, and neither crosses the network in clear text.
func (p *problems) mailLogin(s topology.Spec) {
	m := s.Mail
	arn := m.PasswordSecretARN
	if arn != "" && !secretARN.MatchString(arn) {
		p.add("mail.passwordSecretArn", arn, "allowed: the ARN of a Secrets Manager secret, arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME")
	}
	switch {
	case m.User == "" && (m.HasPassword || arn != ""):
		key := MailPasswordKey
		if arn != "" {
			key = "mail.passwordSecretArn"
		}
		p.add(key, nil, "is set, but mail.user is not; the relay would never be asked to authenticate: set mail.user, or remove the password")
	case m.User == "":
		return
	case m.Host == "" && s.Target == topology.TargetDocker:
		p.add("mail.user", m.User, "the mail catcher takes no login; set mail.host to the relay it belongs to, or remove mail.user")
	case !mailUser.MatchString(m.User):
		p.add("mail.user", m.User, "allowed: 1-255 printable characters without spaces or quotes")
	case m.HasPassword && arn != "":
		p.add("mail.passwordSecretArn", arn, "and %s:%s are both set; allowed: one source of the password", Namespace, MailPasswordKey)
	case !m.HasPassword && arn == "":
		or := ""
		if s.Target == topology.TargetAWS {
			or = " (or mail.passwordSecretArn)"
		}
		p.add(MailPasswordKey, nil, "not set; mail.user %q needs its password: `pulumi config set --secret %s:%s`%s",
			m.User, Namespace, MailPasswordKey, or)
	}
	if m.User != "" && m.TLS == topology.MailTLSNone {
		p.add("mail.tls", m.TLS, "would send mail.user's password in clear text; allowed with a login: %s, %s",
			topology.MailTLSStartTLS, topology.MailTLSImplicit)
	}
}

// sesPorts are the ports of the SES SMTP endpoint for each TLS mode ("Connecting
// to an Amazon SES SMTP endpoint", SES Developer Guide: STARTTLS on 25, 587 or
// 2587, TLS Wrapper on 465 or 2465). The interface takes no plain connection:
// "the Amazon SES SMTP interface requires that all connections use TLS".
var sesPorts = map[string][]int{
	topology.MailTLSStartTLS: {25, 587, 2587},
	topology.MailTLSImplicit: {465, 2465},
}

// sesAuthTypes are the SMTP AUTH mechanisms the SES endpoint offers.
var sesAuthTypes = []string{"LOGIN", "PLAIN"}

// mailSES checks mail.ses: the stack makes the relay, its login and password,
// so none may be set by hand, and the connection is one the endpoint accepts.
func (p *problems) mailSES(s topology.Spec) {
	m := s.Mail
	for _, f := range []struct {
		key string
		set bool
		v   any
	}{
		{"mail.host", m.Host != "", m.Host},
		{"mail.user", m.User != "", m.User},
		{"mail.passwordSecretArn", m.PasswordSecretARN != "", m.PasswordSecretARN},
		{MailPasswordKey, m.HasPassword, nil},
	} {
		if f.set {
			p.add(f.key, f.v, "is set with mail.ses true, which makes the relay (email-smtp.<region>.amazonaws.com) and its SMTP credentials; remove it, or set mail.ses false")
		}
	}
	ports, ok := sesPorts[m.TLS]
	if !ok {
		p.add("mail.tls", m.TLS, "Amazon SES takes no plain SMTP; allowed with mail.ses: %s, %s", topology.MailTLSStartTLS, topology.MailTLSImplicit)
		return
	}
	if !slices.Contains(ports, m.MailPort()) {
		p.add("mail.port", m.MailPort(), "Amazon SES does not listen there with tls %s; allowed: %v", m.TLS, ports)
	}
	// The endpoint offers "AUTH PLAIN LOGIN" after STARTTLS ("Test your
	// connection to the Amazon SES SMTP interface using the command line", SES
	// Developer Guide).
	if !slices.Contains(sesAuthTypes, m.AuthType) && slices.Contains(topology.MailAuthTypes, m.AuthType) {
		p.add("mail.authType", m.AuthType, "Amazon SES offers no %s; allowed with mail.ses: %s", m.AuthType, list(sesAuthTypes))
	}
	if s.SESDomain() == "" {
		p.add("mail.noReplyAddress", nil, "not set and siteUrl names no host; mail.ses needs the domain to verify")
	}
}

// mailCatcher checks the Docker host's mail catcher: its web page's host port,
// apart from the load balancer's, and its limits.
func (p *problems) mailCatcher(s topology.Spec) {
	c := s.Mail.Catcher
	p.intRange("mail.catcher.webPort", c.WebPort, 1, 65535)
	if c.WebPort == s.Docker.HTTPPort {
		p.add("mail.catcher.webPort", c.WebPort, "is docker.httpPort, which the load balancer publishes; allowed: another port")
	}
	p.resources("mail.catcher", c.Resources, 16)
	p.pinned("images.mailCatcher", s.Images.MailCatcher)
}
