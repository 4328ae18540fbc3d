package fakeprovider

import (
	"context"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func newTestServer(t *testing.T, pkg *Package) *server {
	t.Helper()
	return &server{pkg: pkg, journal: &journal{untabled: map[string]bool{}, randomSrc: randomString}}
}

func TestDiff_ReplacesOnlyWhereTheRealProviderWould(t *testing.T) {
	cases := []struct {
		name        string
		pkg         *Package
		token       string
		olds, news  resource.PropertyMap
		wantChanges pulumirpc.DiffResponse_DiffChanges
		wantReplace []string
	}{
		{"container memory is updated in place", dockerPackage(), "docker:index/container:Container",
			resource.PropertyMap{"name": str("app-1"), "memory": num(512)},
			resource.PropertyMap{"name": str("app-1"), "memory": num(1024)},
			pulumirpc.DiffResponse_DIFF_SOME, nil},
		{"container uploads force replacement", dockerPackage(), "docker:index/container:Container",
			resource.PropertyMap{"name": str("lb"), "uploads": strs("a")},
			resource.PropertyMap{"name": str("lb"), "uploads": strs("b")},
			pulumirpc.DiffResponse_DIFF_SOME, []string{"uploads"}},
		{"unchanged inputs are no diff", dockerPackage(), "docker:index/volume:Volume",
			resource.PropertyMap{"name": str("data")},
			resource.PropertyMap{"name": str("data")},
			pulumirpc.DiffResponse_DIFF_NONE, nil},
		{"rds identifier forces replacement", awsPackage(), "aws:rds/instance:Instance",
			resource.PropertyMap{"identifier": str("db-a"), "instanceClass": str("db.t4g.small")},
			resource.PropertyMap{"identifier": str("db-b"), "instanceClass": str("db.t4g.small")},
			pulumirpc.DiffResponse_DIFF_SOME, []string{"identifier"}},
		{"rds instance class is an update", awsPackage(), "aws:rds/instance:Instance",
			resource.PropertyMap{"identifier": str("db"), "instanceClass": str("db.t4g.small")},
			resource.PropertyMap{"identifier": str("db"), "instanceClass": str("db.r6g.large")},
			pulumirpc.DiffResponse_DIFF_SOME, nil},
		{"password length forces a new password", randomPackage(), "random:index/randomPassword:RandomPassword",
			resource.PropertyMap{"length": num(24)},
			resource.PropertyMap{"length": num(32)},
			pulumirpc.DiffResponse_DIFF_SOME, []string{"length"}},
		{"an unknown new value is a change", awsPackage(), "aws:efs/fileSystem:FileSystem",
			resource.PropertyMap{"kmsKeyId": str("k1")},
			resource.PropertyMap{"kmsKeyId": resource.MakeComputed(str(""))},
			pulumirpc.DiffResponse_DIFF_SOME, []string{"kmsKeyId"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newTestServer(t, c.pkg)
			olds, _ := marshal(c.olds)
			news, _ := marshal(c.news)
			// Olds (the outputs) hold a computed value the program never set: the
			// diff must ignore it.
			outs := c.olds.Copy()
			outs["arn"] = str("arn:aws:fake")
			outStruct, _ := marshal(outs)
			resp, err := s.Diff(context.Background(), &pulumirpc.DiffRequest{
				Urn: "urn:pulumi:dev::moodle::" + c.token + "::r", OldInputs: olds, Olds: outStruct, News: news,
			})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Changes != c.wantChanges || strings.Join(resp.Replaces, ",") != strings.Join(c.wantReplace, ",") {
				t.Errorf("got changes %v replaces %v, want %v %v", resp.Changes, resp.Replaces, c.wantChanges, c.wantReplace)
			}
		})
	}
}

func TestCheck_AutoNamesOnceAndKeepsTheName(t *testing.T) {
	s := newTestServer(t, awsPackage())
	urn := "urn:pulumi:dev::moodle::aws:s3/bucketV2:BucketV2::files"
	empty, _ := marshal(resource.PropertyMap{})
	first, err := s.Check(context.Background(), &pulumirpc.CheckRequest{Urn: urn, Olds: empty, News: empty})
	if err != nil {
		t.Fatal(err)
	}
	named, _ := unmarshal(first.Inputs)
	bucket := named["bucket"].StringValue()
	if !strings.HasPrefix(bucket, "files-") || len(bucket) != len("files-")+7 {
		t.Fatalf("auto-name %q, want files-<7 characters>", bucket)
	}
	again, err := s.Check(context.Background(), &pulumirpc.CheckRequest{Urn: urn, Olds: first.Inputs, News: empty})
	if err != nil {
		t.Fatal(err)
	}
	if kept, _ := unmarshal(again.Inputs); kept["bucket"].StringValue() != bucket {
		t.Errorf("second check renamed %q to %q", bucket, kept["bucket"].StringValue())
	}
}

func TestCreate_ComputedOutputsAreUnknownInPreviewAndSecretsAreRemembered(t *testing.T) {
	s := newTestServer(t, randomPackage())
	urn := "urn:pulumi:dev::moodle::random:index/randomPassword:RandomPassword::db"
	inputs, _ := marshal(resource.PropertyMap{"length": num(20), "special": resource.NewBoolProperty(false)})

	preview, err := s.Create(context.Background(), &pulumirpc.CreateRequest{Urn: urn, Properties: inputs, Preview: true})
	if err != nil {
		t.Fatal(err)
	}
	if outs, _ := unmarshal(preview.Properties); !outs["result"].IsComputed() {
		t.Errorf("preview result = %v, want unknown", outs["result"])
	}
	created, err := s.Create(context.Background(), &pulumirpc.CreateRequest{Urn: urn, Properties: inputs})
	if err != nil {
		t.Fatal(err)
	}
	outs, _ := unmarshal(created.Properties)
	result := outs["result"].StringValue()
	if len(result) != 20 || strings.ContainsAny(result, "!#$%&*()-_=+[]{}<>:?") {
		t.Errorf("result %q: want 20 characters without specials", result)
	}
	got := s.journal.secrets
	if len(got) != 2 || (got[0] != result && got[1] != result) {
		t.Errorf("remembered %d secrets, want the result and its hash", len(got))
	}
}

func TestInvoke_UnknownTokenFailsNamingIt(t *testing.T) {
	s := newTestServer(t, awsPackage())
	_, err := s.Invoke(context.Background(), &pulumirpc.InvokeRequest{Tok: "aws:route53/getZone:getZone"})
	if err == nil || !strings.Contains(err.Error(), "aws:route53/getZone:getZone") {
		t.Errorf("got %v, want an error naming the token", err)
	}
}
