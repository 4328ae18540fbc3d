package appimage

import (
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// dockerDir is the project's docker/ folder, the image these constants describe.
func dockerDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "docker")
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dockerDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// instruction is one Dockerfile instruction with its continuation lines joined.
type instruction struct{ cmd, args string }

func dockerfile(t *testing.T) []instruction {
	t.Helper()
	var out []instruction
	var cur strings.Builder
	for _, line := range strings.Split(read(t, "Dockerfile"), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasPrefix(trimmed, "#") {
			continue // a comment inside a continued instruction
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

// runtimeStage is the instructions of the last stage, the image that runs.
func runtimeStage(t *testing.T) []instruction {
	t.Helper()
	all := dockerfile(t)
	last := 0
	for i, in := range all {
		if in.cmd == "FROM" {
			last = i
		}
	}
	return all[last:]
}

func args(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, in := range dockerfile(t) {
		if in.cmd == "ARG" {
			name, value, _ := strings.Cut(in.args, "=")
			out[name] = strings.Trim(value, `"`)
		}
	}
	return out
}

// copies maps each file of docker/ to where the runtime stage copies it.
func copies(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, in := range runtimeStage(t) {
		if in.cmd != "COPY" || strings.Contains(in.args, "--from=") {
			continue
		}
		var words []string
		for _, w := range strings.Fields(in.args) {
			if !strings.HasPrefix(w, "--") {
				words = append(words, w)
			}
		}
		dst := words[len(words)-1]
		for _, src := range words[:len(words)-1] {
			if strings.HasSuffix(dst, "/") {
				out[src] = dst + src
			} else {
				out[src] = dst
			}
		}
	}
	return out
}

func TestDockerfileDeclaresEveryBuildArgumentWithTheContractsDefaults(t *testing.T) {
	declared := args(t)
	cases := []struct {
		arg, want string
	}{
		{ArgPHPImage, ""}, {ArgMoodleCode, "release"}, {ArgMoodleSHA256, ""}, {ArgMoodleVersion, ""},
		{ArgDirroot, DefaultCodeDir}, {ArgDataRoot, DefaultDataRoot}, {ArgLocalCacheDir, DefaultLocalCacheDir},
		{ArgPlugins, ""}, {ArgDatabaseCASHA256, ""}, {ArgDatabaseCAURL, DatabaseCAURL},
		{ArgMoodleBranch, ""}, {ArgWebRoot, ""},
	}
	for _, c := range cases {
		t.Run(c.arg, func(t *testing.T) {
			got, ok := declared[c.arg]
			if !ok {
				t.Fatalf("docker/Dockerfile has no ARG %s", c.arg)
			}
			if c.want != "" && got != c.want {
				t.Errorf("ARG %s defaults to %q, want %q", c.arg, got, c.want)
			}
		})
	}
}

func TestDockerfileInstallsTheScriptsWhereTheContractSays(t *testing.T) {
	got := copies(t)
	cases := []struct{ file, want string }{
		{"entrypoint.sh", Entrypoint},
		{"moodle-install-upgrade", InstallHook},
		{"moodle-healthcheck", Healthcheck},
		{"php-fpm-global.conf", FPMGlobalConf},
		{"install-database.php", LibDir + "/install-database.php"},
		{"site-installed.php", LibDir + "/site-installed.php"},
		{"check-image.php", LibDir + "/check-image.php"},
		{"configure-muc.php", LibDir + "/configure-muc.php"},
		{"install-plugins.php", LibDir + "/install-plugins.php"},
		{"install-database-ca", LibDir + "/install-database-ca"},
		{"move-restored-moodledata", LibDir + "/move-restored-moodledata"},
	}
	for _, c := range cases {
		if got[c.file] != c.want {
			t.Errorf("docker/%s is copied to %q, want %q", c.file, got[c.file], c.want)
		}
	}
	// Every file of docker/ but the Dockerfile and its README is in the image.
	entries, err := os.ReadDir(dockerDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if name := e.Name(); name != "Dockerfile" && name != "README.md" && !strings.HasPrefix(name, ".") && got[name] == "" {
			t.Errorf("docker/%s is not copied into the image", name)
		}
	}
	// The build context holds only what .dockerignore lets through.
	allowed := map[string]bool{}
	for _, line := range strings.Split(read(t, ".dockerignore"), "\n") {
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "!"); ok {
			allowed[name] = true
		}
	}
	for file := range got {
		if !allowed[file] {
			t.Errorf("docker/%s is copied but .dockerignore keeps it out of the build context", file)
		}
	}
	// The install hook finds its helpers beside itself: ../lib/moodle.
	if rel := path.Join(path.Dir(InstallHook), "../lib/moodle"); rel != LibDir {
		t.Errorf("the install hook would look for its helpers in %s, not LibDir %s", rel, LibDir)
	}
}

func TestDockerfileRunsAsTheContractsUserWithItsEntryPointAndChecks(t *testing.T) {
	var user, entrypoint, health, expose, labels string
	for _, in := range runtimeStage(t) {
		switch in.cmd {
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entrypoint = in.args
		case "HEALTHCHECK":
			health = in.args
		case "EXPOSE":
			expose = in.args
		case "LABEL":
			labels += in.args + " "
		}
	}
	checks := []struct {
		what, got, want string
	}{
		{"USER", user, User},
		{"ENTRYPOINT", entrypoint, `["` + Entrypoint + `"]`},
		{"EXPOSE", expose, strconv.Itoa(FPMPort)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s %q, want %q", c.what, c.got, c.want)
		}
	}
	if !strings.Contains(health, `["`+Healthcheck+`", "fpm"]`) {
		t.Errorf("HEALTHCHECK %q does not run %s fpm", health, Healthcheck)
	}
	for label, arg := range map[string]string{LabelPlugins: ArgPlugins, LabelDatabaseCA: ArgDatabaseCASHA256} {
		if !strings.Contains(labels, label+`="${`+arg+`}"`) {
			t.Errorf("no LABEL %s from ARG %s in %q", label, arg, labels)
		}
	}
	// Debian fixes www-data at uid and gid 33 (base-passwd), which the EFS access
	// point and the ECS task user name by number.
	if b, err := os.ReadFile("/usr/share/base-passwd/passwd.master"); err == nil {
		want := User + ":*:" + strconv.Itoa(UID) + ":" + strconv.Itoa(GID) + ":"
		if !strings.Contains(string(b), "\n"+want) {
			t.Errorf("Debian's base-passwd has no %q", want)
		}
	}
}

func TestDockerfilePreparesTheContractsPaths(t *testing.T) {
	var run string
	for _, in := range runtimeStage(t) {
		if in.cmd == "RUN" {
			run += in.args + "\n"
		}
	}
	for _, want := range []string{
		// dirroot/config.php is the stub requiring ConfigPHP.
		`printf "<?php\nrequire '` + ConfigPHP + `';\n"`,
		"install -d -o root -g root -m 0755 " + path.Dir(ConfigPHP),
		"install -d -o www-data -g www-data -m 0755 " + NginxMailbox,
		"chown www-data:www-data " + NginxConfDir,
		"install-database-ca \"${DATABASE_CA_URL}\" \"${DATABASE_CA_SHA256}\" " + DatabaseCABundle,
		"rm -f " + FPMConfDir + "/docker.conf",
	} {
		if !strings.Contains(run, want) {
			t.Errorf("the runtime stage's RUN steps lack %q", want)
		}
	}
}

// The scripts read exactly the environment the contract names: a variable a script
// reads that the components never set, or one they set that no script reads, is
// drift.
func TestScriptsReadTheContractsEnvironment(t *testing.T) {
	contract := []string{EnvDirroot, EnvDataRoot, EnvWebRoot, EnvBranch, EnvImageRevision, EnvRestoredRoot, EnvAdminUser, EnvAdminEmail, EnvSiteFullName,
		EnvSiteShortName, EnvAdminPassword, EnvLang, EnvFPMListen}
	variable := regexp.MustCompile(`\b(MOODLE_[A-Z_]+|FPM_LISTEN)\b`)
	// Build arguments and rendered-file variables appear in the Dockerfile and in
	// config.php, not in the scripts' environment.
	seen := map[string][]string{}
	for _, name := range []string{"entrypoint.sh", "moodle-install-upgrade", "moodle-healthcheck",
		"install-database.php", "site-installed.php", "check-image.php", "configure-muc.php"} {
		for _, v := range variable.FindAllString(read(t, name), -1) {
			v = strings.TrimSuffix(v, FileSuffix)
			seen[v] = append(seen[v], name)
		}
	}
	for v, files := range seen {
		if !slices.Contains(contract, v) {
			t.Errorf("%s read by %v is not in the contract", v, files)
		}
	}
	var missing []string
	for _, v := range contract {
		if len(seen[v]) == 0 {
			missing = append(missing, v)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("no script reads %v", missing)
	}
}

// The paths the scripts name are the contract's.
func TestScriptsNameTheContractsPaths(t *testing.T) {
	cases := []struct {
		script string
		want   []string
	}{
		{"entrypoint.sh", []string{ConfigPHP, LibDir + "/check-image.php", "*/" + path.Base(CronRunner) + "*", "*/" + path.Base(AdhocWorker) + "*", DefaultCodeDir}},
		{"moodle-healthcheck", []string{"${TMPDIR:-/tmp}/" + path.Base(InstallOKMarker), CronRunner, AdhocWorker,
			"${FPM_LISTEN:-127.0.0.1:" + strconv.Itoa(FPMPort) + "}"}},
		{"moodle-install-upgrade", []string{`"${TMPDIR:-/tmp}/` + path.Base(InstallOKMarker) + `"`, DefaultCodeDir, DefaultDataRoot}},
		{"install-database-ca", []string{"/usr/share/ca-certificates/mozilla", "Amazon_Root_CA_4.crt"}},
	}
	for _, c := range cases {
		text := read(t, c.script)
		for _, want := range c.want {
			if !strings.Contains(text, want) {
				t.Errorf("docker/%s does not name %q", c.script, want)
			}
		}
	}
}

// The runtime stage refuses to build without the PHP extensions the image's own
// features stand on: a missing one would not fail at build but at run time, the way
// a cron without pcntl dies on SIGTERM with its task's lock held.
func TestDockerfileRequiresTheExtensionsTheImageStandsOn(t *testing.T) {
	var run string
	for _, in := range runtimeStage(t) {
		if in.cmd == "RUN" && strings.Contains(in.args, "missing PHP extensions") {
			run = in.args
		}
	}
	if run == "" {
		t.Fatal("no RUN step of the runtime stage checks the PHP extensions")
	}
	cases := []struct{ extension, why string }{
		{"pcntl", "core_shutdown_manager handles SIGTERM only with it: cron stops cleanly and releases its locks"},
		{"zip", "install-plugins.php opens plugin zip archives with ZipArchive"},
		{"redis", "sessions and the MUC store (configure-muc.php) are in Redis"},
		{"pgsql", "Moodle's pgsql driver"},
	}
	for _, c := range cases {
		if !strings.Contains(run, `"`+c.extension+`"`) {
			t.Errorf("the extension check does not require %s (%s)", c.extension, c.why)
		}
	}
}
