package diagram_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/diagram"
	"github.com/moodle-cluster/moodle-pulumi/cmd/moodlectl/stackview"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

func build(t *testing.T, stack string, edits map[string]any) diagram.Topology {
	t.Helper()
	v, err := stackview.Load("../../../Pulumi."+stack+".yaml", stack, edits)
	if err != nil {
		t.Fatal(err)
	}
	top, err := diagram.Build(v.Resources, v.Spec)
	if err != nil {
		t.Fatal(err)
	}
	return top
}

func mermaid(t *testing.T, top diagram.Topology) string {
	t.Helper()
	var b bytes.Buffer
	if err := diagram.Mermaid(&b, top); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestCommittedDiagramsAreCurrent renders both committed stacks as `make diagram`
// does and compares with docs/diagram: a change to the program or a stack file
// that changes the topology must regenerate them.
func TestCommittedDiagramsAreCurrent(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			top := build(t, stack, nil)
			var svg bytes.Buffer
			if err := diagram.SVG(context.Background(), &svg, top); err != nil {
				t.Fatal(err)
			}
			for file, got := range map[string]string{stack + ".mmd": mermaid(t, top), stack + ".svg": svg.String()} {
				want, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "diagram", file))
				if err != nil {
					t.Fatalf("%v (run make diagram)", err)
				}
				if string(want) != got {
					t.Errorf("docs/diagram/%s is not what the %s stack draws now: run make diagram", file, stack)
				}
			}
		})
	}
}

func TestSVG_RenderingTwiceGivesTheSameBytes(t *testing.T) {
	top := build(t, "prod", nil)
	var first, second bytes.Buffer
	for _, b := range []*bytes.Buffer{&first, &second} {
		if err := diagram.SVG(context.Background(), b, top); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) || !strings.Contains(first.String(), "<svg") {
		t.Errorf("two renderings differ or are no SVG (%d and %d bytes)", first.Len(), second.Len())
	}
}

// TestBuild_DrawsWhatEachVariantRegisters proves the drawing follows the
// resources: each variant's change shows, and what it removes is gone.
func TestBuild_DrawsWhatEachVariantRegisters(t *testing.T) {
	cases := []struct {
		name      string
		stack     string
		edits     map[string]any
		want, not []string
	}{
		{"dev scaled to five app nodes", "dev", map[string]any{"moodle:app.replicas": 5},
			[]string{"app nodes × 5", "limit 2 CPU / 8192 MB"}, nil},
		{"dev with PgBouncer between the app and PostgreSQL", "dev", map[string]any{"moodle:database.pooler": "pgbouncer"},
			[]string{"PgBouncer", "app -->|\"SQL\"| pooler", "pooler --> db"}, []string{"app -->|\"SQL\"| db"}},
		{"dev with two streaming read replicas", "dev", map[string]any{"moodle:database.readReplicas": 2},
			[]string{"read replicas × 2", "db -->|\"WAL\"| replica", "app -->|\"reads\"| replica"}, nil},
		{"prod without read replicas", "prod", map[string]any{"moodle:database.readReplicas": 0, "moodle:aws.protect": false},
			[]string{"RDS PostgreSQL 17"}, []string{"read replicas"}},
		{"prod with two replicas and RDS Proxy", "prod", map[string]any{"moodle:database.readReplicas": 2, "moodle:database.pooler": "rdsproxy"},
			[]string{"read replicas × 2", "RDS Proxy", "app -->|\"SQL, TLS\"| pooler"}, nil},
		{"prod with one NAT gateway", "prod", map[string]any{"moodle:aws.natGateways": "single"},
			[]string{"3 availability zones, 1 NAT gateway(s)"}, nil},
		{"prod on EC2 instances", "prod", map[string]any{"moodle:app.launchType": "ec2"},
			[]string{"EC2 m6i.xlarge: nginx + php-fpm"}, []string{"Fargate"}},
		{"prod without WAF", "prod", map[string]any{"moodle:aws.waf": false},
			[]string{"Application Load Balancer"}, []string{"WAF"}},
		{"prod with the file pool in S3", "prod", map[string]any{"moodle:storage.kind": "s3", "moodle:moodle.plugins": topology.S3Plugins},
			[]string{"file pool in S3 through tool_objectfs"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text := mermaid(t, build(t, c.stack, c.edits))
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Errorf("missing %q:\n%s", w, text)
				}
			}
			for _, n := range c.not {
				if strings.Contains(text, n) {
					t.Errorf("still shows %q:\n%s", n, text)
				}
			}
		})
	}
}

func TestBuild_DeployedStackShowsItsEndpoints(t *testing.T) {
	v, err := stackview.Load("../../../Pulumi.prod.yaml", "prod", nil)
	if err != nil {
		t.Fatal(err)
	}
	v.Resources.Outputs = map[string]any{
		"loadBalancerDns": "moodle-edge-1234.eu-west-1.elb.amazonaws.com",
		"databaseAddress": "moodle-db.c0ffee.eu-west-1.rds.amazonaws.com",
	}
	top, err := diagram.Build(v.Resources, v.Spec)
	if err != nil {
		t.Fatal(err)
	}
	text := mermaid(t, top)
	for _, w := range []string{"DNS moodle-edge-1234.eu-west-1.elb.amazonaws.com", "endpoint moodle-db.c0ffee.eu-west-1.rds.amazonaws.com"} {
		if !strings.Contains(text, w) {
			t.Errorf("missing %q:\n%s", w, text)
		}
	}
}
