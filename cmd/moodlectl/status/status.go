// Package status judges a running cluster: readings per tier (collected from the
// Docker containers or from AWS by the collectors in its subpackages) become one
// line per check with a verdict, against thresholds taken from the stack's Spec
// (the connection budget, the php-fpm pool, Redis's memory, the cron interval).
// The report renders as a table or JSON, and its worst verdict is an exit code.
package status

import (
	"errors"
	"fmt"
	"time"
)

// Verdict is how one check stands; the order is severity.
type Verdict int

// Verdicts, least severe first. Unknown (the value could not be read) ranks
// above Warn: a tier nobody can see is worse than one seen to be strained.
const (
	OK Verdict = iota
	Warn
	Unknown
	Crit
)

func (v Verdict) String() string {
	switch v {
	case OK:
		return "ok"
	case Warn:
		return "warn"
	case Unknown:
		return "unknown"
	}
	return "crit"
}

// MarshalText writes the verdict's name in JSON.
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// ExitCode is the status a script reads: 0 all ok, 3 the worst is a warning, 4
// something could not be read, 5 something is critical. 1 and 2 stay what they
// are for every moodlectl command (failure, usage).
func (v Verdict) ExitCode() int {
	switch v {
	case OK:
		return 0
	case Warn:
		return 3
	case Unknown:
		return 4
	}
	return 5
}

// Tiers, in the order a report lists them.
const (
	TierLB       = "load balancer"
	TierApp      = "app"
	TierDatabase = "database"
	TierRedis    = "redis"
	TierFiles    = "moodledata"
	TierCron     = "cron"
	TierMoodle   = "moodle"
)

// Check is one line of the report.
type Check struct {
	Tier    string  `json:"tier"`
	Subject string  `json:"subject"`
	Name    string  `json:"check"`
	Value   string  `json:"value"`
	Verdict Verdict `json:"verdict"`
	// Rule is the threshold that decided, or why nothing could be read.
	Rule string `json:"rule,omitempty"`
}

// Report is the state of one stack at one moment.
type Report struct {
	Stack   string    `json:"stack"`
	Target  string    `json:"target"`
	At      time.Time `json:"at"`
	Verdict Verdict   `json:"verdict"`
	Checks  []Check   `json:"checks"`
}

func (r *Report) add(c Check) {
	r.Checks = append(r.Checks, c)
	r.Verdict = max(r.Verdict, c.Verdict)
}

// unreadable is the line of a tier whose readings failed.
func unreadable(tier string, err error) Check {
	if errors.Is(err, ErrDown) {
		return Check{Tier: tier, Subject: "-", Name: "running", Value: "down", Verdict: Crit, Rule: err.Error()}
	}
	return Check{Tier: tier, Subject: "-", Name: "readings", Value: "not read", Verdict: Unknown, Rule: err.Error()}
}

// ErrDown marks a reading that failed because what it reads is not running (a
// stopped or removed container): the tier is down, not merely unread.
var ErrDown = errors.New("not running")

// percent formats a share of a limit.
func percent(part, whole float64) string {
	if whole <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f %%", 100*part/whole)
}
