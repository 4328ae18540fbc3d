package awscloud

import (
	"encoding/base64"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/moodle-cluster/moodle-pulumi/components/appimage"
	"github.com/moodle-cluster/moodle-pulumi/components/render"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

// Paths of the app image (docker/Dockerfile) the tasks mount over.
const (
	// imageFPMConfDir holds the image's global php-fpm settings (00-global.conf);
	// php-fpm.conf includes every *.conf in it.
	imageFPMConfDir    = appimage.FPMConfDir
	imageFPMGlobalConf = appimage.FPMGlobalConf
	// imageNginxConfDir is included by the image's nginx.conf and empty in the image.
	imageNginxConfDir = appimage.NginxConfDir
	// imagePHPConfDir is the official PHP image's scan directory (extensions).
	imagePHPConfDir = appimage.PHPConfDir
	// imageHealthcheck is the image's health-check script.
	imageHealthcheck = appimage.Healthcheck
)

// The task-scoped volumes. Rendered files reach the containers through the first
// three, written once by the init container and mounted read-only; the others are
// the only writable paths of containers whose root filesystem is read-only.
const (
	volMoodleEtc  = "moodle-etc"  // config.php, php.ini overrides, the cron runner
	volFPMConf    = "fpm-conf"    // the rendered pool beside the image's global conf
	volNginxConf  = "nginx-conf"  // the rendered per-node server block
	volTmp        = "tmp"         // /tmp: uploads in flight, nginx buffers
	volLocalCache = "local-cache" // Moodle's localcachedir, per task, never shared
	volMoodledata = "moodledata"  // EFS
	// volRestoredRoot is the root of a file system AWS Backup restored, which
	// the cron runner alone mounts (storage.restoreFileSystemId).
	volRestoredRoot = "restored-efs"
	// ECS Exec injects its managed agent under /managed-agents, and the SSM agent
	// writes its state and logs under /var/lib and /var/log; with these three
	// writable every root filesystem stays read-only (aws.ecsExec only). AWS
	// documents no such paths and calls read-only roots unsupported; these are the
	// three of the known workaround (aws/containers-roadmap#1359,
	// aws-containers/amazon-ecs-exec-checker#71), without /managed-agents the agent
	// crashes when it starts.
	volExecAgents = "exec-agents"
	volExecState  = "exec-state"
	volExecLogs   = "exec-logs"
)

// Where the agents of ECS Exec write inside a container.
var execMounts = map[string]string{volExecAgents: "/managed-agents", volExecState: "/var/lib/amazon/ssm", volExecLogs: "/var/log/amazon/ssm"}

// stopTimeoutSeconds is how long ECS waits after SIGTERM before it kills a
// container: the most Fargate allows. The web tier's requests have drained by then
// (the target group's deregistration delay comes first); the cron runner gets the
// time to end its cron.php run.
const stopTimeoutSeconds = 120

// Where the rendered files are read from inside the containers.
var (
	moodleEtcDir    = path.Dir(appimage.ConfigPHP)
	phpIniDir       = moodleEtcDir + "/php"
	cronRunnerPath  = moodleEtcDir + "/moodle-cron"
	adhocWorkerPath = moodleEtcDir + "/moodle-adhoc"
)

// renderedFile is one rendered file the init container writes into a volume. The
// text travels base64-encoded in a plain environment variable of the init container
// only: it holds no secret (render never takes one), and base64 keeps any byte of
// the file intact through the task definition's JSON.
type renderedFile struct {
	// Env names the variable, MOODLE_FILE_<NAME>.
	Env string
	// Volume and Name place the file: Name is relative to the volume.
	Volume, Name string
	Text         pulumi.StringInput
}

// The files of each kind of task.
func configPHPFile(text pulumi.StringInput) renderedFile {
	return renderedFile{"MOODLE_FILE_CONFIG_PHP", volMoodleEtc, path.Base(appimage.ConfigPHP), text}
}

func phpIniFile(s topology.Spec) renderedFile {
	return renderedFile{"MOODLE_FILE_PHP_INI", volMoodleEtc, "php/zz-moodle.ini", pulumi.String(render.PHPIni(s))}
}

func fpmPoolFile(s topology.Spec) renderedFile {
	return renderedFile{"MOODLE_FILE_FPM_POOL", volFPMConf, "zz-moodle.conf", pulumi.String(render.PHPFPMPool(s, render.NodeFastCGI.String()))}
}

func nginxFile(s topology.Spec) renderedFile {
	return renderedFile{"MOODLE_FILE_NGINX_CONF", volNginxConf, "moodle.conf", pulumi.String(render.NginxNode(s))}
}

func cronFile(s topology.Spec) renderedFile {
	return renderedFile{"MOODLE_FILE_CRON", volMoodleEtc, path.Base(cronRunnerPath), pulumi.String(render.CronRunner(s))}
}

func adhocFile(s topology.Spec) renderedFile {
	return renderedFile{"MOODLE_FILE_ADHOC", volMoodleEtc, path.Base(adhocWorkerPath), pulumi.String(render.AdhocWorker(s))}
}

// renderedRoot is where the init container mounts each volume.
const renderedRoot = "/rendered"

// initScript writes the files and prepares the writable volumes; it is the same
// text for every task of a kind and holds no value, only variable names.
func initScript(files []renderedFile, volumes []string) string {
	var b strings.Builder
	b.WriteString("set -eu\numask 022\n")
	for _, f := range files {
		dst := path.Join(renderedRoot, f.Volume, f.Name)
		fmt.Fprintf(&b, "mkdir -p %s\nprintf '%%s' \"$%s\" | base64 -d > %s\nchmod 0444 %s\n", path.Dir(dst), f.Env, dst, dst)
	}
	for _, v := range volumes {
		dir := path.Join(renderedRoot, v)
		switch v {
		case volFPMConf:
			fmt.Fprintf(&b, "cp %s %s/\n", imageFPMGlobalConf, dir)
		case volTmp, volExecAgents, volExecState, volExecLogs:
			fmt.Fprintf(&b, "chmod 1777 %s\n", dir)
		case volLocalCache:
			fmt.Fprintf(&b, "chown %d:%d %s\nchmod 0750 %s\n", AppUID, AppGID, dir, dir)
		}
	}
	return b.String()
}

// taskDefinition is what both the app and the cron tasks are made of.
type taskDefinition struct {
	Spec      topology.Spec
	Account   Account
	Resources topology.Resources
	// Image is the app image's reference, which the init container runs.
	Image pulumi.StringInput
	// Files are written by the init container before the others start.
	Files []renderedFile
	// Containers are the containers besides the init one; each names its mounts.
	Containers []container
	// Secrets and Environment (plain text) are passed to the containers that run PHP.
	Secrets     []TaskSecret
	Environment map[string]pulumi.StringInput
	LogGroup    pulumi.StringInput
	// ExecutionRoleARN pulls the image and reads the secrets; TaskRoleARN is what
	// the code runs as.
	ExecutionRoleARN, TaskRoleARN pulumi.StringInput
}

// TaskSecret is one ECS `secrets` entry: the variable and the Secrets Manager
// reference (secret ARN, JSON key) it is filled from.
type TaskSecret struct {
	Name      string
	ValueFrom pulumi.StringInput
	// SecretARN is the secret itself, which the execution role may read.
	SecretARN pulumi.StringInput
}

// container is one container of a task besides the init container.
type container struct {
	Name    string
	Image   pulumi.StringInput
	Command []string
	// Mounts maps volume names to paths; ReadOnly lists the read-only ones.
	Mounts   map[string]string
	ReadOnly map[string]bool
	// Port is published to the target group; 0 for none.
	Port        int
	HealthCheck []string
	// After are containers that must be healthy before this one starts;
	// AfterSuccess are one-shot containers that must have exited 0.
	After, AfterSuccess []string
	// OneShot marks a container that runs to completion and exits (ECS's
	// essential false): its exit does not stop the task.
	OneShot bool
	// RunsPHP gives the container the task's secrets and PHP environment; nginx
	// needs neither.
	RunsPHP bool
}

// initContainerName names the init container that writes the rendered files.
const initContainerName = "render-files"

// containerDefinitions builds the task's containers as ECS JSON, written as ECS
// returns them: container_definitions forces a new revision, and the provider calls
// two forms the same only after its reduce() (terraform-provider-aws
// internal/service/ecs/container_definitions.go), which leaves kernel capabilities
// and the host port of a task without awsvpc as they are. So the capabilities name
// both lists, "add" empty as ECS stores it, and the port mapping its host port
// (awsvpc: the container port). Without that every up would register new revisions
// and roll the app and cron services.
func (t taskDefinition) containerDefinitions(streamPrefix string) pulumi.StringOutput {
	logs := func(prefix string) map[string]any {
		return map[string]any{
			"logDriver": "awslogs",
			"options": map[string]any{
				"awslogs-group":         t.LogGroup,
				"awslogs-region":        t.Account.Region,
				"awslogs-stream-prefix": prefix,
			},
		}
	}
	used := t.volumes()
	initEnv := []any{}
	for _, f := range t.Files {
		initEnv = append(initEnv, map[string]any{"name": f.Env, "value": base64Text(f.Text)})
	}
	initMounts := []any{}
	for _, v := range used {
		// The init container, root, writes the task's own volumes only, never a
		// file system's.
		if v != volMoodledata && v != volRestoredRoot {
			initMounts = append(initMounts, map[string]any{"sourceVolume": v, "containerPath": path.Join(renderedRoot, v), "readOnly": false})
		}
	}
	defs := []any{map[string]any{
		"name":      initContainerName,
		"image":     t.Image,
		"essential": false,
		// Root only to hand the writable volumes to the app user; it exits before
		// anything else starts and runs no Moodle code.
		"user":                   "0",
		"entryPoint":             list([]string{"/bin/sh", "-c"}),
		"command":                list([]string{initScript(t.Files, used)}),
		"environment":            initEnv,
		"mountPoints":            initMounts,
		"readonlyRootFilesystem": true,
		"privileged":             false,
		"logConfiguration":       logs(streamPrefix + "-init"),
	}}
	var env []any
	for _, k := range sortedInputKeys(t.Environment) {
		env = append(env, map[string]any{"name": k, "value": t.Environment[k]})
	}
	var secrets []any
	for _, s := range t.Secrets {
		secrets = append(secrets, map[string]any{"name": s.Name, "valueFrom": s.ValueFrom})
	}
	for _, c := range t.Containers {
		var mounts []any
		c.Mounts = t.withExec(c.Mounts)
		for _, v := range sortedKeys(anyMap(c.Mounts)) {
			mounts = append(mounts, map[string]any{"sourceVolume": v, "containerPath": c.Mounts[v], "readOnly": c.ReadOnly[v]})
		}
		depends := []any{map[string]any{"containerName": initContainerName, "condition": "SUCCESS"}}
		for _, a := range c.AfterSuccess {
			depends = append(depends, map[string]any{"containerName": a, "condition": "SUCCESS"})
		}
		for _, a := range c.After {
			depends = append(depends, map[string]any{"containerName": a, "condition": "HEALTHY"})
		}
		cEnv, cSecrets := []any{}, []any{}
		if c.RunsPHP {
			cEnv, cSecrets = orEmpty(env), orEmpty(secrets)
		}
		def := map[string]any{
			"name":                   c.Name,
			"image":                  c.Image,
			"essential":              !c.OneShot,
			"user":                   fmt.Sprintf("%d:%d", AppUID, AppGID),
			"command":                list(c.Command),
			"environment":            cEnv,
			"secrets":                cSecrets,
			"mountPoints":            mounts,
			"dependsOn":              depends,
			"readonlyRootFilesystem": true,
			"privileged":             false,
			"linuxParameters": map[string]any{
				"initProcessEnabled": true,
				"capabilities":       map[string]any{"add": []any{}, "drop": list([]string{"ALL"})},
			},
			"ulimits":          []any{map[string]any{"name": "nofile", "softLimit": 65536, "hardLimit": 65536}},
			"stopTimeout":      stopTimeoutSeconds,
			"logConfiguration": logs(streamPrefix + "-" + c.Name),
		}
		if c.Port != 0 {
			def["portMappings"] = []any{map[string]any{"containerPort": c.Port, "hostPort": c.Port, "protocol": "tcp"}}
		}
		if c.HealthCheck != nil {
			def["healthCheck"] = map[string]any{
				"command": list(c.HealthCheck), "interval": 15, "timeout": 5, "retries": 3, "startPeriod": 60,
			}
		}
		defs = append(defs, def)
	}
	return jsonDocument(defs)
}

// withExec adds the SSM agent's writable directories to a container's mounts when
// operators may exec into it.
func (t taskDefinition) withExec(mounts map[string]string) map[string]string {
	if !t.Spec.AWS.ECSExec {
		return mounts
	}
	out := map[string]string{}
	for _, m := range []map[string]string{mounts, execMounts} {
		for v, p := range m {
			out[v] = p
		}
	}
	return out
}

// volumes lists the volumes any container mounts, in a stable order.
func (t taskDefinition) volumes() []string {
	seen := map[string]bool{}
	for _, f := range t.Files {
		seen[f.Volume] = true
	}
	for _, c := range t.Containers {
		for v := range t.withExec(c.Mounts) {
			seen[v] = true
		}
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// register creates the ECS task definition.
func (t taskDefinition) register(ctx *pulumi.Context, name string, files *Files, opts ...pulumi.ResourceOption) (*ecs.TaskDefinition, error) {
	var volumes ecs.TaskDefinitionVolumeArray
	for _, v := range t.volumes() {
		vol := ecs.TaskDefinitionVolumeArgs{Name: pulumi.String(v)}
		// TLS in transit and IAM authorisation through an access point: the task
		// role is what EFS checks, and the access point fixes the POSIX user.
		efsVolume := func(accessPointID pulumi.StringInput) ecs.TaskDefinitionVolumeEfsVolumeConfigurationArgs {
			return ecs.TaskDefinitionVolumeEfsVolumeConfigurationArgs{
				FileSystemId:      files.FileSystemID,
				RootDirectory:     pulumi.String("/"),
				TransitEncryption: pulumi.String("ENABLED"),
				AuthorizationConfig: ecs.TaskDefinitionVolumeEfsVolumeConfigurationAuthorizationConfigArgs{
					AccessPointId: accessPointID,
					Iam:           pulumi.String("ENABLED"),
				},
			}
		}
		switch v {
		case volMoodledata:
			vol.EfsVolumeConfiguration = efsVolume(files.AccessPointID)
		case volRestoredRoot:
			vol.EfsVolumeConfiguration = efsVolume(files.RootAccessPointID)
		}
		volumes = append(volumes, vol)
	}
	compat := "FARGATE"
	if t.Spec.App.LaunchType == topology.LaunchEC2 {
		compat = "EC2"
	}
	arch := "X86_64"
	if t.Spec.App.CPUArchitecture == topology.ArchARM64 {
		arch = "ARM64"
	}
	return ecs.NewTaskDefinition(ctx, name, &ecs.TaskDefinitionArgs{
		// Families are account-wide: the project and stack keep two stacks apart.
		// Letters, digits, hyphens and underscores only (ECS RegisterTaskDefinition,
		// family): a stack named "prod.eu" would be refused as it is.
		Family:                  pulumi.String(physicalName(ctx, name, 255)),
		NetworkMode:             pulumi.String("awsvpc"),
		RequiresCompatibilities: pulumi.ToStringArray([]string{compat}),
		Cpu:                     pulumi.String(strconv.Itoa(int(t.Resources.CPUs * 1024))),
		Memory:                  pulumi.String(strconv.Itoa(t.Resources.MemoryMB)),
		ExecutionRoleArn:        t.ExecutionRoleARN,
		TaskRoleArn:             t.TaskRoleARN,
		ContainerDefinitions:    t.containerDefinitions(name),
		Volumes:                 volumes,
		RuntimePlatform: ecs.TaskDefinitionRuntimePlatformArgs{
			OperatingSystemFamily: pulumi.String("LINUX"),
			CpuArchitecture:       pulumi.String(arch),
		},
		Tags: tags(name),
	}, opts...)
}

// newTaskRoles creates the two roles of a task: the execution role ECS uses to pull
// the image, write logs and read exactly the task's secrets, and the task role the
// code runs as, which may use moodledata and nothing else (and, with ECS Exec, open
// the session channels and log them).
func newTaskRoles(ctx *pulumi.Context, name string, env TaskEnvironment, opts ...pulumi.ResourceOption) (execution, task *iam.Role, err error) {
	a, secrets, kmsKeyARN := env.Account, env.Secrets, env.KMSKeyARN
	trust := policy(map[string]any{
		"Effect":    "Allow",
		"Principal": map[string]any{"Service": "ecs-tasks.amazonaws.com"},
		"Action":    "sts:AssumeRole",
		"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": a.ID}},
	})
	execution, err = iam.NewRole(ctx, name+"-execution", &iam.RoleArgs{
		AssumeRolePolicy:  trust,
		ManagedPolicyArns: pulumi.ToStringArray([]string{a.managedPolicy("service-role/AmazonECSTaskExecutionRolePolicy")}),
		Tags:              tags(name + "-execution"),
	}, opts...)
	if err != nil {
		return nil, nil, err
	}
	secretARNs := make([]any, len(secrets))
	for i, s := range secrets {
		secretARNs[i] = s.SecretARN
	}
	if _, err := iam.NewRolePolicy(ctx, name+"-execution", &iam.RolePolicyArgs{
		Role: execution.ID(),
		Policy: policy(
			allow("ReadTaskSecrets", []string{"secretsmanager:GetSecretValue"}, secretARNs...),
			allow("DecryptTaskSecrets", []string{"kms:Decrypt"}, kmsKeyARN),
		),
	}, opts...); err != nil {
		return nil, nil, err
	}
	task, err = iam.NewRole(ctx, name+"-task", &iam.RoleArgs{AssumeRolePolicy: trust, Tags: tags(name + "-task")}, opts...)
	if err != nil {
		return nil, nil, err
	}
	statements := env.Files.taskStatements(env.MountsRestoredRoot)
	if env.ExecLogGroupARN != nil {
		statements = append(statements, execStatements(a, env.ExecLogGroupARN, kmsKeyARN)...)
	}
	if _, err := iam.NewRolePolicy(ctx, name+"-task", &iam.RolePolicyArgs{
		Role:   task.ID(),
		Policy: policy(statements...),
	}, opts...); err != nil {
		return nil, nil, err
	}
	return execution, task, nil
}

// execStatements let the SSM agent of ECS Exec open its channels, write the
// session log and use the data key the sessions are encrypted with. The
// ssmmessages actions have no resource type of their own: "*" is the only
// resource they accept.
func execStatements(a Account, logGroupARN, kmsKeyARN pulumi.StringInput) []map[string]any {
	return []map[string]any{
		allow("ExecChannels", []string{
			"ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
			"ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel",
		}, "*"),
		allow("ExecFindLogGroup", []string{"logs:DescribeLogGroups"}, a.arn("logs", "log-group:*")),
		allow("ExecWriteLog", []string{"logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"},
			pulumi.Sprintf("%s:*", logGroupARN)),
		allow("ExecEncrypt", []string{"kms:Decrypt", "kms:GenerateDataKey"}, kmsKeyARN),
	}
}

func base64Text(text pulumi.StringInput) pulumi.StringOutput {
	return text.ToStringOutput().ApplyT(func(s string) string {
		return base64.StdEncoding.EncodeToString([]byte(s))
	}).(pulumi.StringOutput)
}

func sortedInputKeys(m map[string]pulumi.StringInput) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func anyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// orEmpty keeps an empty list a JSON array rather than null.
func orEmpty(l []any) []any {
	if l == nil {
		return []any{}
	}
	return l
}
