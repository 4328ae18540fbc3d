//go:build engine

package engine_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/moodle-cluster/moodle-pulumi/automation"
	"github.com/moodle-cluster/moodle-pulumi/tests/harness/benchcfg"
)

// BenchmarkEngine measures the engine over each committed stack through the fake
// providers: a preview of a new stack and a first up (each on fresh state), with
// the resource count and the time per resource. The providers answer at once, so
// this is the engine's and the program's own cost.
func BenchmarkEngine(b *testing.B) {
	for _, stack := range []string{"dev", "prod"} {
		b.Run("preview/"+stack, func(b *testing.B) {
			s := newRig(b).stack(b, stack, nil)
			resources := 0
			b.ResetTimer()
			for range b.N {
				res, err := s.Preview(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				resources = res.ChangeSummary[apitype.OpCreate]
			}
			report(b, resources)
		})
		b.Run("up/"+stack, func(b *testing.B) {
			resources := 0
			for range b.N {
				b.StopTimer()
				s := newRig(b).stack(b, stack, nil)
				b.StartTimer()
				res, err := s.Up(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				resources = (*res.Summary.ResourceChanges)[string(apitype.OpCreate)]
			}
			report(b, resources)
		})
	}
}

func report(b *testing.B, resources int) {
	b.ReportMetric(float64(resources), "resources")
	if resources > 0 {
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/float64(resources), "ms/resource")
	}
}

// BenchmarkGrowth measures the operations an operator waits on as the stacks grow,
// through the fake providers: prod with every option on at 3 to 50 app tasks (a
// preview of a new stack, and a preview with nothing to change after an up), on
// each launch type; dev at 3, 10 and 25 app nodes of small limits (preview and up
// of a new stack, then preview and up with nothing to change). tests/bench/compare.sh
// runs each leaf alone, alternately on two commits.
func BenchmarkGrowth(b *testing.B) {
	for _, launch := range []string{"fargate", "ec2"} {
		for _, tasks := range []int{3, 10, 25, 50} {
			name := fmt.Sprintf("prod-%s/tasks=%d", launch, tasks)
			b.Run(name+"/preview-new", func(b *testing.B) {
				operate(b, "prod", prodEveryOption(b, launch, tasks), preview, false)
			})
			b.Run(name+"/preview-nochange", func(b *testing.B) {
				operate(b, "prod", prodEveryOption(b, launch, tasks), preview, true)
			})
		}
	}
	for _, nodes := range []int{3, 10, 25} {
		name := fmt.Sprintf("dev/nodes=%d", nodes)
		for _, op := range []struct {
			name     string
			run      func(context.Context, *automation.Stack) (map[string]int, error)
			deployed bool
		}{
			{"preview-new", preview, false},
			{"up-new", up, false},
			{"preview-nochange", preview, true},
			{"up-nochange", up, true},
		} {
			b.Run(name+"/"+op.name, func(b *testing.B) {
				operate(b, "dev", devSmallNodes(b, nodes), op.run, op.deployed)
			})
		}
	}
}

// operate times run on a fresh rig holding cfg's stack, deployed first when
// deployed, and reports the resources of the stack and the steps run planned or
// took besides "same" (a no-change operation should take none).
func operate(b *testing.B, stack string, cfg automation.Config, run func(context.Context, *automation.Stack) (map[string]int, error), deployed bool) {
	benchcfg.SkipWhenListing(b)
	ctx := context.Background()
	var resources, changes int
	var changed []step
	for range b.N {
		b.StopTimer()
		r := newRig(b)
		s := r.stack(b, stack, cfg)
		if deployed {
			if _, err := up(ctx, s); err != nil {
				b.Fatal(err)
			}
		}
		r.steps.take()
		b.StartTimer()
		steps, err := run(ctx, s)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		changed = slices.DeleteFunc(r.steps.take(), func(s step) bool { return s.Op == apitype.OpSame })
		b.StartTimer()
		resources, changes = 0, 0
		for op, n := range steps {
			resources += n
			if op != string(apitype.OpSame) {
				changes += n
			}
		}
	}
	// Reported, not fatal: the time of a preview that plans a spurious step is
	// still the time the operator waits; the "changes" column shows it.
	if deployed && changes > 0 {
		b.Logf("an operation with nothing to change took %d steps: %+v", changes, changed)
	}
	b.ReportMetric(float64(resources), "resources")
	b.ReportMetric(float64(changes), "changes")
}

func preview(ctx context.Context, s *automation.Stack) (map[string]int, error) {
	res, err := s.Preview(ctx)
	steps := map[string]int{}
	for op, n := range res.ChangeSummary {
		steps[string(op)] = n
	}
	return steps, err
}

func up(ctx context.Context, s *automation.Stack) (map[string]int, error) {
	res, err := s.Up(ctx)
	if err != nil {
		return nil, err
	}
	return *res.Summary.ResourceChanges, nil
}

// prodEveryOption is the committed prod stack with tasks app tasks of 2 vCPU / 4 GB
// (40 php-fpm workers: twice 50 tasks stay within RDS Proxy's 5000 connections) and
// every option the aws target offers turned on: CloudFront before the ALB and WAF,
// RDS Proxy and two read replicas, S3 file storage (objectfs, with the plugin
// releases docs/aws.md names), the SES sender with its DKIM records in a hosted
// zone, AWS Backup, ECS Exec, VPC endpoints, and on fargate a Spot share, on ec2
// an Auto Scaling group.
func prodEveryOption(b *testing.B, launch string, tasks int) automation.Config {
	cfg := committedConfig(b, "prod")
	values := map[string]any{
		"moodle:app.replicas":                  tasks,
		"moodle:app.minReplicas":               tasks,
		"moodle:app.maxReplicas":               max(tasks, 12),
		"moodle:app.launchType":                launch,
		"moodle:app.cpus":                      2,
		"moodle:app.memoryMb":                  4096,
		"moodle:app.reservedCpus":              2,
		"moodle:app.reservedMemoryMb":          4096,
		"moodle:database.pooler":               "rdsproxy",
		"moodle:database.readReplicas":         2,
		"moodle:storage.kind":                  "s3",
		"moodle:mail.ses":                      true,
		"moodle:mail.host":                     nil,
		"moodle:mail.port":                     nil,
		"moodle:mail.user":                     nil,
		"moodle:mail.passwordSecretArn":        nil,
		"moodle:aws.hostedZoneId":              "Z0123456789ABCDEFGHIJ",
		"moodle:aws.cloudFront.enabled":        true,
		"moodle:aws.cloudFront.certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/11111111-1111-1111-1111-111111111111",
		"moodle:aws.waf":                       true,
		"moodle:aws.ecsExec":                   true,
		"moodle:aws.vpcEndpoints":              true,
		"moodle:moodle.plugins": []any{
			map[string]any{"component": "tool_objectfs", "version": "2024120600",
				"source":        "https://github.com/catalyst/moodle-tool_objectfs/archive/c11315c08b8b2772da47c7a240c688329340c06e.tar.gz",
				"contentSha256": "f32e266ad1e26e819ff442793220affaa68eebe731574b3f2cdd5e51afb8c6e3"},
			map[string]any{"component": "local_aws", "version": "2024050800",
				"source":        "https://github.com/catalyst/moodle-local_aws/archive/81e4b30d7144417de3dcaeae200e1a12022a13bf.tar.gz",
				"contentSha256": "5ca53065052ac5ebb334f0078577181f25c375965000d1b91f21bc09659b0324"},
		},
	}
	if launch == "fargate" {
		values["moodle:app.spotPercent"] = 50
	}
	return configWith(b, cfg, values)
}

// devSmallNodes is the committed dev stack with nodes small app nodes, as the
// real Docker tier deploys them.
func devSmallNodes(b *testing.B, nodes int) automation.Config {
	return configWith(b, committedConfig(b, "dev"), benchcfg.SmallAppNodes(nodes))
}

func configWith(b *testing.B, cfg automation.Config, values map[string]any) automation.Config {
	for key, value := range values {
		if err := cfg.Set(key, value); err != nil {
			b.Fatal(err)
		}
	}
	return cfg
}
