// Command moodlectl previews, deploys and destroys the moodle stacks through the
// Automation API: no `pulumi login`, state in a local folder by default.
//
//	moodlectl up --stack dev
//	moodlectl preview --stack prod
//	moodlectl destroy --stack dev --yes
//	moodlectl outputs --stack dev [--show-secrets]
//	moodlectl cost --stack prod [--json | --compare base.json]
//	moodlectl diagram --stack prod [--svg FILE] [--mermaid FILE]
//	moodlectl status --stack dev|prod [--json]
//	moodlectl backup --stack dev|prod [--to DIR]
//	moodlectl backups --stack dev|prod
//	moodlectl restore --stack dev|prod --from ID [--yes]
//	moodlectl upgrade --stack dev --to 5.3
//	moodlectl upgrade --stack prod --to 5.3 --image REF
//	moodlectl plan --users N [--concurrent C] --target docker|aws > Pulumi.mysite.yaml
//	moodlectl <command> --help
//
// Exit status: 0 on success, 1 when the operation fails, 2 on a usage error or a
// declined confirmation, 130 when interrupted; status exits 3, 4 or 5 when its
// worst verdict is warn, unknown or crit.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/term"

	"github.com/moodle-cluster/moodle-pulumi/automation"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/backup"
)

// command is one of moodlectl's commands: what it does, for the usage text and
// its own --help, and the flags it takes beyond --stack.
type command struct {
	name, summary string
	flags         []string
}

var commands = []command{
	{"preview", "show what up would change", []string{"state", "backend", "secrets-provider"}},
	{"up", "create or update the stack's resources", []string{"state", "backend", "secrets-provider", "yes"}},
	{"refresh", "read the real state of the resources into the stack's state", []string{"state", "backend", "secrets-provider", "yes"}},
	{"destroy", "delete the stack's resources (asks first unless --yes)", []string{"state", "backend", "secrets-provider", "yes"}},
	{"outputs", "print the stack's outputs", []string{"state", "backend", "secrets-provider", "show-secrets"}},
	{"cost", "monthly cost estimate of the stack's resources (--json, --compare base.json)", []string{"state", "backend", "secrets-provider", "from", "json", "compare"}},
	{"diagram", "the stack's topology as Mermaid (stdout or --mermaid FILE) and SVG (--svg FILE)", []string{"state", "backend", "secrets-provider", "from", "svg", "mermaid"}},
	{"status", "the live cluster, a verdict per check (--json); exit 0 ok, 3 warn, 4 unknown, 5 crit", []string{"state", "backend", "secrets-provider", "json"}},
	{"backup", "a consistent backup of the site (dev: database dump and moodledata archive under\n.backups/<stack>/<id>/ or --to DIR; prod: an RDS snapshot and recovery points)", []string{"state", "backend", "secrets-provider", "to"}},
	{"backups", "list the stack's backups", []string{"backups"}},
	{"restore", "put the backup --from ID in place of the site's data (asks first unless --yes)", []string{"state", "backend", "secrets-provider", "backups", "from", "yes"}},
	{"upgrade", "move the site to Moodle --to X: maintenance, backup, upgrade, and a rollback\nto the backup when the upgrade fails (dev: up does the same when\nmoodle.version changes; prod: --image names the new release's image)", []string{"state", "backend", "secrets-provider", "backups", "to", "image", "yes"}},
	{"plan", "a stack file sized for --users N [--concurrent C] on --target docker|aws, with\nits cost and assumptions as comments (no --stack: it reads no stack)", []string{"users", "concurrent", "target"}},
}

// usage is the text of moodlectl --help: every command, then every flag.
func usage() string {
	var b strings.Builder
	b.WriteString("usage: moodlectl <command> --stack dev|prod [flags]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, strings.ReplaceAll(c.summary, "\n", "\n            "))
	}
	b.WriteString("\nmoodlectl <command> --help lists the flags of that command.\n" +
		"cost and diagram run the stack's program offline (no credentials, no state);\n" +
		"--from state reads a deployed stack instead.\n\nflags:\n")
	return b.String()
}

// errUsage marks errors the user fixes by changing the command line.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	os.Exit(report(ctx, err, os.Stderr))
}

// report prints err once and returns the exit status. A failed stack step ends
// with one line (stack, step, first error, what to do): the engine's log above it
// was already streamed, so it is not printed again.
func report(ctx context.Context, err error, stderr io.Writer) int {
	var stepErr *automation.Error
	var exit exitStatus
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return int(exit)
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "moodlectl:", strings.TrimPrefix(err.Error(), "usage: "))
		return 2
	case errors.As(err, &stepErr):
		if stepErr.Detail != "" {
			fmt.Fprintln(stderr, "moodlectl:", stepErr.Error())
		}
		fmt.Fprintln(stderr, "moodlectl:", stepErr.Summary())
	default:
		fmt.Fprintln(stderr, "moodlectl:", err)
	}
	if ctx.Err() != nil {
		return 130
	}
	return 1
}

type flags struct {
	stack           string
	state           string
	backend         string
	secretsProvider string
	yes             bool
	showSecrets     bool
	json            bool
	compare         string
	from            string
	svg             string
	mermaid         string
	to              string
	image           string
	backups         string
	users           int
	concurrent      int
	target          string
}

// errHelp ends a run whose --help was printed: not a failure.
var errHelp = errors.New("help printed")

// parse reads the command line. The help it is asked for goes to stdout;
// a usage error prints the usage to stderr.
func parse(args []string, stdout, stderr io.Writer) (string, flags, error) {
	var f flags
	if len(args) > 0 && slices.Contains([]string{"-h", "-help", "--help", "help"}, args[0]) {
		fmt.Fprint(stdout, usage())
		fs := flagSet("", &f)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return "", f, errHelp
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, usage())
		return "", f, fmt.Errorf("%w: a command comes first", errUsage)
	}
	i := slices.IndexFunc(commands, func(c command) bool { return c.name == args[0] })
	if i < 0 {
		fmt.Fprint(stderr, usage())
		return "", f, fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
	cmd := commands[i]
	fs := flagSet(cmd.name, &f)
	err := fs.Parse(args[1:])
	if errors.Is(err, flag.ErrHelp) {
		cmd.help(stdout, fs)
		return "", f, errHelp
	}
	if err != nil {
		return "", f, fmt.Errorf("%w: %v (moodlectl %s --help lists its flags)", errUsage, err, cmd.name)
	}
	if fs.NArg() > 0 {
		return "", f, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if f.stack == "" && cmd.name != "plan" {
		return "", f, fmt.Errorf("%w: --stack is required (dev or prod)", errUsage)
	}
	var misplaced error
	fs.Visit(func(fl *flag.Flag) {
		if !cmd.takes(fl.Name) && misplaced == nil {
			misplaced = fmt.Errorf("%w: %s does not take --%s", errUsage, cmd.name, fl.Name)
		}
	})
	return cmd.name, f, misplaced
}

// takes says whether the command accepts the flag.
func (c command) takes(name string) bool {
	return (name == "stack" && c.name != "plan") || slices.Contains(c.flags, name)
}

// help prints what the command does and only the flags it takes.
func (c command) help(w io.Writer, all *flag.FlagSet) {
	synopsis := "--stack dev|prod [flags]"
	if !c.takes("stack") {
		synopsis = "[flags]"
	}
	fmt.Fprintf(w, "usage: moodlectl %s %s\n\n%s\n\nflags:\n", c.name, synopsis, strings.ReplaceAll(c.summary, "\n", " "))
	own := flag.NewFlagSet(c.name, flag.ContinueOnError)
	own.SetOutput(w)
	all.VisitAll(func(fl *flag.Flag) {
		if c.takes(fl.Name) {
			own.Var(fl.Value, fl.Name, fl.Usage)
		}
	})
	own.PrintDefaults()
}

// flagSet declares every flag of moodlectl on one set bound to f; each command
// accepts its own (command.flags). It prints nothing: parse reports its errors.
func flagSet(name string, f *flags) *flag.FlagSet {
	fs := flag.NewFlagSet("moodlectl "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&f.stack, "stack", "", "the stack: dev or prod (any stack with a Pulumi.<stack>.yaml works)")
	fs.StringVar(&f.state, "state", automation.DefaultStateDir, "local folder for the workspace and, without --backend, the state")
	fs.StringVar(&f.backend, "backend", "", "state backend URL instead of the local folder (s3://..., https://api.pulumi.com)")
	fs.StringVar(&f.secretsProvider, "secrets-provider", "", "secrets provider for a new stack instead of a passphrase (awskms://...)")
	fs.BoolVar(&f.yes, "yes", false, "do not ask before changing prod or destroying")
	fs.BoolVar(&f.showSecrets, "show-secrets", false, "print secret outputs in clear")
	fs.BoolVar(&f.json, "json", false, "cost, status: print JSON")
	fs.StringVar(&f.compare, "compare", "", "cost: print the change from this `cost --json` file, as Markdown")
	fs.StringVar(&f.from, "from", "program", "cost, diagram: the resources the program registers (program) or the deployed stack's (state); restore: the backup's id")
	fs.StringVar(&f.svg, "svg", "", "diagram: also write the SVG to this file")
	fs.StringVar(&f.mermaid, "mermaid", "", "diagram: write the Mermaid text to this file instead of stdout")
	fs.StringVar(&f.to, "to", "", "backup: the folder to write the backup under (default the --backups folder); upgrade: the Moodle release")
	fs.StringVar(&f.image, "image", "", "upgrade (aws): the app image of the --to release, pushed to a registry the tasks pull from")
	fs.StringVar(&f.backups, "backups", backup.DefaultRoot, "backups, restore, upgrade: the folder holding the stack's backups")
	fs.IntVar(&f.users, "users", 0, "plan: registered users of the site")
	fs.IntVar(&f.concurrent, "concurrent", 0, "plan: requests in flight at the peak (default: derived from --users)")
	fs.StringVar(&f.target, "target", "", "plan: docker or aws")
	return fs
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd, f, err := parse(args, stdout, stderr)
	if errors.Is(err, errHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := confirm(cmd, f, stdin, stderr); err != nil {
		return err
	}
	switch cmd {
	case "cost":
		return runCost(ctx, f, stdout)
	case "diagram":
		return runDiagram(ctx, f, stdout)
	case "status":
		return runStatus(ctx, f, stdout)
	case "backups":
		return runBackups(f, stdout)
	case "plan":
		return runPlan(f, stdout, stderr)
	}
	if f.secretsProvider == "" && localDevPassphrase(f) {
		fmt.Fprintf(stderr, "moodlectl: PULUMI_CONFIG_PASSPHRASE is not set; the %s stack's secrets are encrypted with the passphrase in %s (created on first use, keep it with the state)\n", f.stack, passphraseFile(f))
	}
	switch cmd {
	case "up":
		return up(ctx, f, stdout)
	case "backup":
		return runBackup(ctx, f, stdout)
	case "restore":
		return runRestore(ctx, f, stdout)
	case "upgrade":
		return runUpgrade(ctx, f, stdout)
	}
	s, err := automation.New(ctx, f.stack, stackOptions(f, stdout)...)
	if err != nil {
		return err
	}
	switch cmd {
	case "preview":
		_, err = s.Preview(ctx)
	case "refresh":
		_, err = s.Refresh(ctx)
	case "destroy":
		_, err = s.Destroy(ctx)
	case "outputs":
		err = printOutputs(ctx, s, f.showSecrets, stdout)
	}
	return err
}

// stackOptions select the state, the secrets and where the engine's progress goes.
func stackOptions(f flags, progress io.Writer) []automation.Option {
	opts := []automation.Option{automation.WithStateDir(f.state), automation.WithProgress(progress)}
	if f.backend != "" {
		opts = append(opts, automation.WithBackendURL(f.backend))
	}
	if f.secretsProvider != "" {
		opts = append(opts, automation.WithSecretsProvider(f.secretsProvider))
	} else if localDevPassphrase(f) {
		opts = append(opts, automation.WithPassphraseFile(passphraseFile(f)))
	}
	return opts
}

func passphraseFile(f flags) string { return filepath.Join(f.state, f.stack+".passphrase") }

// localDevPassphrase is true when the dev stack would otherwise stop for want of a
// passphrase. Its state and the Docker host it describes are on this machine, so a
// random passphrase kept next to the state protects as much as a typed one; prod
// always needs one given on purpose.
func localDevPassphrase(f flags) bool {
	return f.stack == "dev" && f.backend == "" &&
		os.Getenv("PULUMI_CONFIG_PASSPHRASE") == "" && os.Getenv("PULUMI_CONFIG_PASSPHRASE_FILE") == ""
}

// confirm asks before destroying anything or changing prod, unless --yes.
func confirm(cmd string, f flags, stdin io.Reader, stderr io.Writer) error {
	var question string
	switch {
	case f.yes:
		return nil
	case cmd == "destroy":
		question = fmt.Sprintf("Delete every resource of stack %s?", f.stack)
	case cmd == "restore":
		question = fmt.Sprintf("Replace the data of stack %s with backup %s (the current data is kept aside)?", f.stack, f.from)
	case f.stack == "prod" && cmd == "upgrade":
		question = fmt.Sprintf("Upgrade stack prod to Moodle %s?", f.to)
	case f.stack == "prod" && (cmd == "up" || cmd == "refresh"):
		question = fmt.Sprintf("Run %s on stack prod (run preview first)?", cmd)
	default:
		return nil
	}
	if file, ok := stdin.(*os.File); !ok || !isTerminal(file) {
		return fmt.Errorf("%w: %s needs --yes when not run from a terminal", errUsage, question)
	}
	fmt.Fprintf(stderr, "%s [y/N] ", question)
	answer, _ := bufio.NewReader(stdin).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
		return fmt.Errorf("%w: declined", errUsage)
	}
	return nil
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

func printOutputs(ctx context.Context, s *automation.Stack, showSecrets bool, w io.Writer) error {
	outs, err := s.Outputs(ctx)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(outs))
	for k := range outs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out := outs[k]
		text := "[secret]"
		if !out.Secret || showSecrets {
			b, err := json.Marshal(out.Value)
			if err != nil {
				return fmt.Errorf("output %s: %w", k, err)
			}
			text = string(b)
		}
		fmt.Fprintf(w, "%s: %s\n", k, text)
	}
	return nil
}
