package stack_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/dockerhost"
	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// relayEdits point the dev stack at an external relay with a login; the
// password is the secret mailPassword.
var relayEdits = map[string]any{
	"mail.host": "smtp.example.edu",
	"mail.user": "moodle@example.edu",
}

const relayPassword = "relay-pw-0b5e1c"

// Without a relay the dev stack runs the mail catcher: SMTP on the internal
// network only, its web page published on the host's loopback address alone, and
// config.php on every node pointing at it.
func TestDevMailCatcherPublishesOnlyItsWebPageOnLoopback(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edits map[string]any
	}{{"default", nil}, {"own web port", map[string]any{"mail.catcher.webPort": 18025}}} {
		t.Run(tc.name, func(t *testing.T) {
			spec := stackSpec(t, "dev", tc.edits)
			cs := containers(t, mustRun(t, "dev", tc.edits))
			c, ok := cs["mailpit"]
			if !ok {
				t.Fatalf("no mail catcher among %v", keys(cs))
			}
			ports := field(c.Inputs, "ports")
			if !ports.IsArray() || len(ports.ArrayValue()) != 1 {
				t.Fatalf("the catcher publishes %v, want its web port only", ports)
			}
			p := ports.ArrayValue()[0].ObjectValue()
			if got := int(field(p, "internal").NumberValue()); got != topology.CatcherWebPort {
				t.Errorf("published container port %d, want the web port %d (SMTP %d is never published)", got, topology.CatcherWebPort, topology.CatcherSMTPPort)
			}
			if got := int(field(p, "external").NumberValue()); got != spec.Mail.Catcher.WebPort {
				t.Errorf("host port %d, want mail.catcher.webPort %d", got, spec.Mail.Catcher.WebPort)
			}
			if got := str(field(p, "ip")); got != "127.0.0.1" {
				t.Errorf("web page published on %q, want 127.0.0.1 only", got)
			}
			backend := devPrefix + "backend"
			if got := networkNames(c); !slices.Equal(got, []string{backend, devPrefix + "front"}) {
				t.Errorf("catcher joins %v, want the back end and the front (for the published port)", got)
			}
			if got := aliases(c, backend); !slices.Equal(got, []string{"mailpit"}) {
				t.Errorf("catcher aliases on the back end = %v, want [mailpit]", got)
			}
			if got := list(field(c.Inputs, "healthcheck", "tests")); !slices.Equal(got, []string{"CMD", "/mailpit", "readyz"}) {
				t.Errorf("catcher health check %v", got)
			}
			if got := int(field(c.Inputs, "memory").NumberValue()); got != spec.Mail.Catcher.MemoryMB {
				t.Errorf("catcher memory %d, want %d", got, spec.Mail.Catcher.MemoryMB)
			}
			for _, key := range []string{"app-1", "cron"} {
				conf := content(t, cs[key], render.ConfigPHPPath)
				if !strings.Contains(conf, "$CFG->smtphosts = 'mailpit:1025';") || !strings.Contains(conf, "$CFG->smtpsecure = '';") {
					t.Errorf("%s config.php does not send to the catcher", key)
				}
				if slices.ContainsFunc(list(field(cs[key].Inputs, "envs")), func(e string) bool { return strings.HasPrefix(e, render.EnvSMTPPassword) }) {
					t.Errorf("%s gets a relay password without a relay", key)
				}
			}
		})
	}
}

// With a relay there is no catcher, no catcher image, and the relay's password
// reaches the nodes that run Moodle only as a secret file config.php reads.
func TestDevRelayReplacesTheCatcherAndItsPasswordStaysSecret(t *testing.T) {
	rec, err := runWithSecrets(t, "dev", relayEdits, map[string]string{"mailPassword": relayPassword})
	if err != nil {
		t.Fatal(err)
	}
	cs := containers(t, rec)
	if _, ok := cs["mailpit"]; ok {
		t.Error("a catcher runs beside the relay")
	}
	for _, img := range rec.ofType(tRemoteImage) {
		if strings.Contains(str(field(img.Inputs, "name")), "mailpit") {
			t.Errorf("the catcher's image %s is pulled", img.Name)
		}
	}
	for _, r := range rec.resources {
		for _, s := range plainStrings(resource.NewObjectProperty(r.Inputs)) {
			if strings.Contains(s, relayPassword) {
				t.Errorf("%s carries the relay password in plain text", r.Name)
			}
		}
	}
	const file = "/run/secrets/smtp-password"
	for key, c := range cs {
		v, delivered := uploads(c)[file]
		// The ad hoc task workers send most of the mail: notifications and
		// digests are ad hoc tasks.
		runsMoodle := strings.HasPrefix(key, "app-") || key == "cron" || strings.HasPrefix(key, "adhoc-")
		if delivered != runsMoodle {
			t.Errorf("%s receives the relay password: %v, want %v", key, delivered, runsMoodle)
			continue
		}
		if !delivered {
			continue
		}
		if !v.IsSecret() || v.SecretValue().Element.StringValue() != relayPassword {
			t.Errorf("%s: relay password upload secret=%v", key, v.IsSecret())
		}
		if !slices.Contains(list(field(c.Inputs, "envs")), render.EnvSMTPPassword+"_FILE="+file) {
			t.Errorf("%s environment lacks %s_FILE", key, render.EnvSMTPPassword)
		}
		conf := content(t, c, render.ConfigPHPPath)
		for _, line := range []string{"$CFG->smtphosts = 'smtp.example.edu:587';", "$CFG->smtpsecure = 'tls';",
			"$CFG->smtpuser = 'moodle@example.edu';", "$CFG->smtppass = moodle_cluster_env('MOODLE_SMTP_PASSWORD');"} {
			if !strings.Contains(conf, line) {
				t.Errorf("%s config.php lacks %s", key, line)
			}
		}
		if strings.Contains(conf, relayPassword) {
			t.Errorf("%s config.php holds the relay password", key)
		}
	}
}

// A relay password the stack file keeps in plain text is refused before any
// resource is registered; so is a login without one.
func TestDevMailPasswordOnlyAsASecret(t *testing.T) {
	cfgEdits := map[string]any{"mail.host": "smtp.example.edu", "mail.user": "moodle", "mailPassword": relayPassword}
	rec, err := run(t, "dev", cfgEdits)
	if err == nil || !strings.Contains(err.Error(), "moodle:mailPassword: is stored in plain text") {
		t.Errorf("plain-text password: %v", err)
	}
	if n := len(rec.ofType(tContainer)); n != 0 {
		t.Errorf("%d containers registered", n)
	}
	if _, err := run(t, "dev", relayEdits); err == nil || !strings.Contains(err.Error(), "moodle:mailPassword: not set") {
		t.Errorf("login without password: %v", err)
	}
}

// The cluster reports where the catcher's page is, and nothing with a relay.
func TestDevMailCatcherURLOutput(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edits map[string]any
		want  string
	}{
		{"catcher", nil, "http://127.0.0.1:8025"},
		{"catcher on its own port", map[string]any{"mail.catcher.webPort": 18025}, "http://127.0.0.1:18025"},
		{"relay", map[string]any{"mail.host": "smtp.example.edu"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := stackSpec(t, "dev", tc.edits)
			var got string
			err := pulumi.RunErr(func(ctx *pulumi.Context) error {
				c, err := dockerhost.NewCluster(ctx, "moodle-dev", &dockerhost.ClusterArgs{Spec: spec})
				if err != nil {
					return err
				}
				done := make(chan struct{})
				c.MailCatcherURL.ApplyT(func(u string) string { got = u; close(done); return u })
				<-done
				return nil
			}, pulumi.WithMocks("moodle", "dev", &recorder{}))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("mailCatcherUrl = %q, want %q", got, tc.want)
			}
		})
	}
}
