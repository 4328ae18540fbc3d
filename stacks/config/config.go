// Package config loads the moodle:* stack configuration, fills the target's defaults
// and validates it into a topology.Spec. It is the one place config is read.
package config

import (
	"fmt"
	"strings"

	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// Namespace is the config namespace of every key this program reads: the project name.
const Namespace = "moodle"

// Getter reads one key of the moodle namespace ("app", "siteUrl") as the engine
// stores it: structured values as JSON text. ok is false when the key is not set.
type Getter func(key string) (value string, ok bool)

// Keys returns the top-level keys of the moodle namespace, without the "moodle:"
// prefix. Pulumi.yaml declares exactly these; a stack file that sets another
// moodle:* key has a typo, which callers can detect with this list because a Getter
// cannot enumerate keys.
func Keys() []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.name
	}
	return out
}

// Load reads every moodle:* key through get, applies the defaults of the chosen
// target and validates the result. All problems are reported in one *Error.
//
// Structured values are decoded on top of the target's defaults, so a field the
// stack does not mention keeps its default and a field it sets (even to 0 or false)
// takes the stack's value. JSON null also means "keep the default".
func Load(get Getter) (topology.Spec, error) {
	var p problems
	target, ok := get("target")
	if !ok || target == "" {
		p.add("target", nil, "not set; allowed: %s", list(targets()))
		return topology.Spec{}, p.err()
	}
	s, err := topology.Base(topology.Target(target))
	if err != nil {
		p.add("target", target, "allowed: %s", list(targets()))
		return topology.Spec{}, p.err()
	}

	p.decode(get, "moodle", &s.Moodle)
	p.decode(get, "web", &s.Web)
	p.decode(get, "app", &s.App)
	p.decode(get, "database", &s.Database)
	p.decode(get, "cache", &s.Cache)
	p.decode(get, "storage", &s.Storage)
	p.decode(get, "cron", &s.Cron)
	p.decode(get, "mail", &s.Mail)
	// Only whether the password is set enters the Spec; its value is read by
	// MailPassword, as a secret, where it is delivered.
	if pw, ok := get(MailPasswordKey); ok && pw != "" {
		s.Mail.HasPassword = true
	}
	p.decode(get, "images", &s.Images)
	p.decode(get, "backup", &s.Backup)
	switch s.Target {
	case topology.TargetDocker:
		p.decode(get, "docker", &s.Docker)
		p.notForTarget(get, "aws", s.Target)
	case topology.TargetAWS:
		p.decode(get, "aws", &s.AWS)
		p.notForTarget(get, "docker", s.Target)
	}
	if url, ok := get("siteUrl"); ok {
		s.SiteURL = url
	}
	s.FillDerived()

	p = append(p, validate(s)...)
	if len(p) > 0 {
		return topology.Spec{}, p.err()
	}
	return s, nil
}

// Validate checks a complete Spec (from Load, or from Defaults changed in code) and
// returns an *Error listing every problem, or nil.
func Validate(s topology.Spec) error {
	p := validate(s)
	if len(p) > 0 {
		return p.err()
	}
	return nil
}

// Error is an invalid stack config: every problem found, each naming the key
// (moodle:app.replicas), the value and what is allowed.
type Error struct {
	Problems []string
}

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return "invalid stack config: " + e.Problems[0]
	}
	return fmt.Sprintf("invalid stack config (%d problems):\n  - %s",
		len(e.Problems), strings.Join(e.Problems, "\n  - "))
}

func targets() []string {
	return []string{string(topology.TargetDocker), string(topology.TargetAWS)}
}
