package fakeprovider

import (
	"context"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

func newTestServer(t *testing.T, pkg *Package) *server {
	t.Helper()
	return &server{pkg: pkg, journal: &journal{untabled: map[string]bool{}, randomSrc: randomString},
		objects: map[string]resource.PropertyMap{}, byARN: map[string]resource.PropertyMap{}}
}

func mustMarshal(t *testing.T, m resource.PropertyMap) *structpb.Struct {
	t.Helper()
	s, err := marshal(m)
	if err != nil {
		t.Fatalf("marshal %v: %v", m, err)
	}
	return s
}

func mustUnmarshal(t *testing.T, s *structpb.Struct) resource.PropertyMap {
	t.Helper()
	m, err := unmarshal(s)
	if err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	return m
}

func obj(m resource.PropertyMap) resource.PropertyValue { return resource.NewObjectProperty(m) }

func TestDiff_ReplacesOnlyWhereTheRealProviderWould(t *testing.T) {
	cases := []struct {
		name              string
		pkg               *Package
		token             string
		oldInputs, state  resource.PropertyMap
		news              resource.PropertyMap
		wantChanges       pulumirpc.DiffResponse_DiffChanges
		wantDiff, wantRep string
	}{
		{"container memory is updated in place", dockerPackage(Daemon{}), tContainer,
			resource.PropertyMap{"name": str("app-1"), "memory": num(512)}, nil,
			resource.PropertyMap{"name": str("app-1"), "memory": num(1024)},
			pulumirpc.DiffResponse_DIFF_SOME, "memory", ""},
		{"container memory reservation is updated in place", dockerPackage(Daemon{}), tContainer,
			resource.PropertyMap{"name": str("app-1"), "memoryReservation": num(256)}, nil,
			resource.PropertyMap{"name": str("app-1"), "memoryReservation": num(512)},
			pulumirpc.DiffResponse_DIFF_SOME, "memoryReservation", ""},
		{"container health check is an update, not a replacement", dockerPackage(Daemon{}), tContainer,
			resource.PropertyMap{"healthcheck": obj(resource.PropertyMap{"interval": str("15s")})}, nil,
			resource.PropertyMap{"healthcheck": obj(resource.PropertyMap{"interval": str("30s")})},
			pulumirpc.DiffResponse_DIFF_SOME, "healthcheck", ""},
		{"container uploads force replacement", dockerPackage(Daemon{}), tContainer,
			resource.PropertyMap{"name": str("lb"), "uploads": strs("a")}, nil,
			resource.PropertyMap{"name": str("lb"), "uploads": strs("b")},
			pulumirpc.DiffResponse_DIFF_SOME, "uploads", "uploads"},
		{"a CPU count the provider read back differently replaces the container", dockerPackage(Daemon{}), tContainer,
			resource.PropertyMap{"cpus": str("2")}, resource.PropertyMap{"cpus": str("2.0")},
			resource.PropertyMap{"cpus": str("2")},
			pulumirpc.DiffResponse_DIFF_SOME, "cpus", "cpus"},
		{"a CPU count written as the provider reads it back is no change", dockerPackage(Daemon{}), tContainer,
			resource.PropertyMap{"cpus": str("2.0")}, resource.PropertyMap{"cpus": str("2.0")},
			resource.PropertyMap{"cpus": str("2.0")},
			pulumirpc.DiffResponse_DIFF_NONE, "", ""},
		{"capabilities in another order are the same set", dockerPackage(Daemon{}), tContainer,
			nil, resource.PropertyMap{"capabilities": obj(resource.PropertyMap{"adds": strs("CAP_CHOWN", "CAP_SETUID")})},
			resource.PropertyMap{"capabilities": obj(resource.PropertyMap{"adds": strs("CAP_SETUID", "CAP_CHOWN")})},
			pulumirpc.DiffResponse_DIFF_NONE, "", ""},
		{"capabilities without the CAP_ prefix Docker stored replace the container", dockerPackage(Daemon{}), tContainer,
			nil, resource.PropertyMap{"capabilities": obj(resource.PropertyMap{"adds": strs("CAP_CHOWN")})},
			resource.PropertyMap{"capabilities": obj(resource.PropertyMap{"adds": strs("CHOWN")})},
			pulumirpc.DiffResponse_DIFF_SOME, "capabilities", "capabilities"},
		{"an empty list is the same as none", dockerPackage(Daemon{}), tContainer,
			nil, resource.PropertyMap{"capabilities": obj(resource.PropertyMap{"drops": strs("ALL")})},
			resource.PropertyMap{"capabilities": obj(resource.PropertyMap{"adds": strs(), "drops": strs("ALL")})},
			pulumirpc.DiffResponse_DIFF_NONE, "", ""},
		{"an input no longer set is a change", dockerPackage(Daemon{}), tContainer,
			resource.PropertyMap{"name": str("cron"), "init": resource.NewBoolProperty(true)}, nil,
			resource.PropertyMap{"name": str("cron")},
			pulumirpc.DiffResponse_DIFF_SOME, "init", ""},
		{"docker.Image compares its old inputs, not its state", dockerPackage(Daemon{}), "docker:index/image:Image",
			resource.PropertyMap{"imageName": str("app:1")}, resource.PropertyMap{"imageName": str("app:0")},
			resource.PropertyMap{"imageName": str("app:1")},
			pulumirpc.DiffResponse_DIFF_NONE, "", ""},
		{"unchanged inputs are no diff", dockerPackage(Daemon{}), "docker:index/volume:Volume",
			resource.PropertyMap{"name": str("data")}, nil,
			resource.PropertyMap{"name": str("data")},
			pulumirpc.DiffResponse_DIFF_NONE, "", ""},
		{"a secret compares by its value", randomPackage(), "random:index/randomPassword:RandomPassword",
			resource.PropertyMap{"overrideSpecial": resource.MakeSecret(str("-_"))}, nil,
			resource.PropertyMap{"overrideSpecial": str("-_")},
			pulumirpc.DiffResponse_DIFF_NONE, "", ""},
		{"rds identifier forces replacement", awsPackage(nil), "aws:rds/instance:Instance",
			resource.PropertyMap{"identifier": str("db-a"), "instanceClass": str("db.t4g.small")}, nil,
			resource.PropertyMap{"identifier": str("db-b"), "instanceClass": str("db.t4g.small")},
			pulumirpc.DiffResponse_DIFF_SOME, "identifier", "identifier"},
		{"rds instance class is an update", awsPackage(nil), "aws:rds/instance:Instance",
			resource.PropertyMap{"identifier": str("db"), "instanceClass": str("db.t4g.small")}, nil,
			resource.PropertyMap{"identifier": str("db"), "instanceClass": str("db.r6g.large")},
			pulumirpc.DiffResponse_DIFF_SOME, "instanceClass", ""},
		{"password length forces a new password", randomPackage(), "random:index/randomPassword:RandomPassword",
			resource.PropertyMap{"length": num(24)}, nil,
			resource.PropertyMap{"length": num(32)},
			pulumirpc.DiffResponse_DIFF_SOME, "length", "length"},
		{"an unknown new value is a change", awsPackage(nil), "aws:efs/fileSystem:FileSystem",
			resource.PropertyMap{"kmsKeyId": str("k1")}, nil,
			resource.PropertyMap{"kmsKeyId": resource.MakeComputed(str(""))},
			pulumirpc.DiffResponse_DIFF_SOME, "kmsKeyId", "kmsKeyId"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newTestServer(t, c.pkg)
			// The state holds what was created from the old inputs, what the
			// provider read back, and computed values the program never set: only
			// the first two may count.
			state := overlay(c.oldInputs, c.state)
			state["arn"] = str("arn:aws:fake")
			resp, err := s.Diff(context.Background(), &pulumirpc.DiffRequest{
				Urn:       "urn:pulumi:dev::moodle::" + c.token + "::r",
				OldInputs: mustMarshal(t, c.oldInputs), Olds: mustMarshal(t, state), News: mustMarshal(t, c.news),
			})
			if err != nil {
				t.Fatal(err)
			}
			assertDiff(t, resp, c.wantChanges, c.wantDiff, c.wantRep)
		})
	}
}

func TestCheck_AutoNamesOnceAndKeepsTheName(t *testing.T) {
	s := newTestServer(t, awsPackage(nil))
	urn := "urn:pulumi:dev::moodle::aws:s3/bucketV2:BucketV2::files"
	empty := mustMarshal(t, resource.PropertyMap{})
	first, err := s.Check(context.Background(), &pulumirpc.CheckRequest{Urn: urn, Olds: empty, News: empty})
	if err != nil {
		t.Fatal(err)
	}
	bucket := mustUnmarshal(t, first.Inputs)["bucket"].StringValue()
	if !strings.HasPrefix(bucket, "files-") || len(bucket) != len("files-")+7 {
		t.Fatalf("auto-name %q, want files-<7 characters>", bucket)
	}
	again, err := s.Check(context.Background(), &pulumirpc.CheckRequest{Urn: urn, Olds: first.Inputs, News: empty})
	if err != nil {
		t.Fatal(err)
	}
	if kept := mustUnmarshal(t, again.Inputs)["bucket"].StringValue(); kept != bucket {
		t.Errorf("second check renamed %q to %q", bucket, kept)
	}
}

func TestCreate_ComputedOutputsAreUnknownInPreviewAndSecretsAreRemembered(t *testing.T) {
	s := newTestServer(t, randomPackage())
	urn := "urn:pulumi:dev::moodle::random:index/randomPassword:RandomPassword::db"
	inputs := mustMarshal(t, resource.PropertyMap{"length": num(20), "special": resource.NewBoolProperty(false)})

	preview, err := s.Create(context.Background(), &pulumirpc.CreateRequest{Urn: urn, Properties: inputs, Preview: true})
	if err != nil {
		t.Fatal(err)
	}
	if outs := mustUnmarshal(t, preview.Properties); !outs["result"].IsComputed() {
		t.Errorf("preview result = %v, want unknown", outs["result"])
	}
	created, err := s.Create(context.Background(), &pulumirpc.CreateRequest{Urn: urn, Properties: inputs})
	if err != nil {
		t.Fatal(err)
	}
	result := mustUnmarshal(t, created.Properties)["result"].StringValue()
	if len(result) != 20 || strings.ContainsAny(result, "!#$%&*()-_=+[]{}<>:?") {
		t.Errorf("result %q: want 20 characters without specials", result)
	}
	got := s.journal.secrets
	if len(got) != 2 || (got[0] != result && got[1] != result) {
		t.Errorf("remembered %d secrets, want the result and its hash", len(got))
	}
}

func TestInvoke_UnknownTokenFailsNamingIt(t *testing.T) {
	s := newTestServer(t, awsPackage(nil))
	_, err := s.Invoke(context.Background(), &pulumirpc.InvokeRequest{Tok: "aws:route53/getZone:getZone"})
	if err == nil || !strings.Contains(err.Error(), "aws:route53/getZone:getZone") {
		t.Errorf("got %v, want an error naming the token", err)
	}
}

// AWS keeps one managed prefix list per name and Region: two lookups of the
// CloudFront list answer one id, another Region another.
func TestInvoke_ManagedPrefixListIsOneListPerRegion(t *testing.T) {
	lookup := func(region string) string {
		t.Helper()
		s := newTestServer(t, awsPackage(nil))
		s.config = resource.PropertyMap{"region": str(region)}
		args := mustMarshal(t, resource.PropertyMap{"name": str("com.amazonaws.global.cloudfront.origin-facing")})
		res, err := s.Invoke(context.Background(), &pulumirpc.InvokeRequest{Tok: "aws:ec2/getManagedPrefixList:getManagedPrefixList", Args: args})
		if err != nil {
			t.Fatal(err)
		}
		return mustUnmarshal(t, res.Return)["id"].StringValue()
	}
	first, again, other := lookup("eu-west-1"), lookup("eu-west-1"), lookup("us-east-1")
	if first != again || !strings.HasPrefix(first, "pl-") {
		t.Errorf("two lookups in eu-west-1 answered %q and %q, want one pl- id", first, again)
	}
	if other == first {
		t.Errorf("us-east-1 answered eu-west-1's id %q", first)
	}
}

// What the daemon filled in (log options, default ulimits, a -1 swap limit) sits in
// the state; the bridge plans it against the unset input as a removal, which for the
// ForceNew ones replaces the container, unless the program ignores the path.
func TestDiff_DaemonValuesAgainstUnsetInputs(t *testing.T) {
	daemonLogs := resource.PropertyMap{"logOpts": obj(resource.PropertyMap{"compress": str("true")})}
	cases := []struct {
		name              string
		state, news       resource.PropertyMap
		ignore            []string
		wantChanges       pulumirpc.DiffResponse_DiffChanges
		wantDiff, wantRep string
	}{
		{"log options the daemon added replace the container", daemonLogs,
			resource.PropertyMap{"name": str("db")}, nil,
			pulumirpc.DiffResponse_DIFF_SOME, "logOpts", "logOpts"},
		{"ignored log options are no change", daemonLogs,
			resource.PropertyMap{"name": str("db")}, []string{"logOpts"},
			pulumirpc.DiffResponse_DIFF_NONE, "", ""},
		{"default ulimits replace the container",
			resource.PropertyMap{"ulimits": resource.NewArrayProperty([]resource.PropertyValue{
				obj(resource.PropertyMap{"name": str("nofile"), "soft": num(1024), "hard": num(4096)})})},
			resource.PropertyMap{"name": str("db")}, nil,
			pulumirpc.DiffResponse_DIFF_SOME, "ulimits", "ulimits"},
		{"a swap limit of -1 against one the program set is an update",
			resource.PropertyMap{"memorySwap": num(-1)},
			resource.PropertyMap{"name": str("db"), "memorySwap": num(512)}, nil,
			pulumirpc.DiffResponse_DIFF_SOME, "memorySwap", ""},
		{"a swap limit of -1 against an unset one is an update",
			resource.PropertyMap{"memorySwap": num(-1)},
			resource.PropertyMap{"name": str("db")}, nil,
			pulumirpc.DiffResponse_DIFF_SOME, "memorySwap", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newTestServer(t, dockerPackage(Daemon{}))
			oldInputs := resource.PropertyMap{"name": str("db")}
			resp, err := s.Diff(context.Background(), &pulumirpc.DiffRequest{
				Urn:       "urn:pulumi:dev::moodle::" + tContainer + "::db",
				OldInputs: mustMarshal(t, oldInputs), Olds: mustMarshal(t, overlay(oldInputs, c.state)),
				News: mustMarshal(t, c.news), IgnoreChanges: c.ignore,
			})
			if err != nil {
				t.Fatal(err)
			}
			assertDiff(t, resp, c.wantChanges, c.wantDiff, c.wantRep)
		})
	}
}

// assertDiff checks a Diff's verdict, its changed keys and those forcing replacement.
func assertDiff(t *testing.T, resp *pulumirpc.DiffResponse, changes pulumirpc.DiffResponse_DiffChanges, diff, replace string) {
	t.Helper()
	diffs, replaces := strings.Join(resp.Diffs, ","), strings.Join(resp.Replaces, ",")
	if resp.Changes != changes || diffs != diff || replaces != replace {
		t.Errorf("got changes %v diffs %q replaces %q, want %v %q %q", resp.Changes, diffs, replaces, changes, diff, replace)
	}
}
