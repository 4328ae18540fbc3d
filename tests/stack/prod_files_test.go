package stack_test

import (
	"fmt"
	"testing"

	"github.com/moodle-cluster/moodle-pulumi/components/awscloud"
	"github.com/moodle-cluster/moodle-pulumi/components/topology"
)

func checkEFS(t *testing.T, rec *recorder, spec topology.Spec) {
	fs := rec.ofType(tEFS)[0]
	if !fs.boolean("encrypted") || fs.str("kmsKeyId") == "" {
		t.Error("EFS not encrypted with the cluster key")
	}
	if b := rec.ofType(tEFSBackup); len(b) != 1 || b[0].str("backupPolicy.status") != "ENABLED" {
		t.Error("EFS backups are not enabled")
	}
	ap := rec.ofType(tAccessPoint)[0]
	if ap.number("posixUser.uid") != awscloud.AppUID || ap.number("posixUser.gid") != awscloud.AppGID {
		t.Errorf("access point user %v:%v, want the app user", ap.number("posixUser.uid"), ap.number("posixUser.gid"))
	}
	if ap.str("rootDirectory.path") == "" || ap.str("rootDirectory.path") == "/" || ap.number("rootDirectory.creationInfo.ownerUid") != awscloud.AppUID {
		t.Errorf("access point root %q not a directory of the app user's", ap.str("rootDirectory.path"))
	}
	subnets := map[string]bool{}
	for _, m := range rec.ofType(tEFSMount) {
		subnets[m.str("subnetId")] = true
	}
	services := rec.ofType(tService)
	for _, s := range services {
		for _, sub := range s.strings("networkConfiguration.subnets") {
			if !subnets[sub] {
				t.Errorf("service %s runs in %s, which has no mount target", s.Name, sub)
			}
		}
	}
	for _, td := range rec.ofType(tTaskDef) {
		found := false
		for i := range td.input("volumes").ArrayValue() {
			efs := fmt.Sprintf("volumes.%d.efsVolumeConfiguration", i)
			if td.str(efs+".fileSystemId") == "" {
				continue
			}
			found = true
			if td.str(efs+".transitEncryption") != "ENABLED" || td.str(efs+".authorizationConfig.iam") != "ENABLED" || td.str(efs+".authorizationConfig.accessPointId") != ap.id() {
				t.Errorf("%s: EFS volume without TLS, IAM or the access point", td.Name)
			}
		}
		if !found {
			t.Errorf("%s mounts no moodledata", td.Name)
		}
	}
}

func checkBuckets(t *testing.T, rec *recorder, _ topology.Spec) {
	buckets := rec.ofType(tBucket)
	if len(buckets) != 2 {
		t.Fatalf("%d buckets, want the objectfs and the ALB-logs buckets", len(buckets))
	}
	for _, b := range buckets {
		checkBucketPrivate(t, rec, b)
	}
	objectfs := rec.one(t, tBucket, "moodle-files-objectfs")
	for _, sse := range rec.ofType(tBucketSSE) {
		if sse.str("bucket") == objectfs.id() && sse.str("rules.0.applyServerSideEncryptionByDefault.sseAlgorithm") != "aws:kms" {
			t.Error("the objectfs bucket is not encrypted with the cluster key (CKV_AWS_145)")
		}
	}
}

// checkBucketPrivate proves one bucket private: public access blocked four ways,
// encrypted, versioned, ACLs off and TLS required by policy.
func checkBucketPrivate(t *testing.T, rec *recorder, b registered) {
	t.Helper()
	of := func(token string) registered {
		for _, r := range rec.ofType(token) {
			if r.str("bucket") == b.id() {
				return r
			}
		}
		t.Fatalf("bucket %s has no %s", b.Name, token)
		return registered{}
	}
	block := of(tBucketBlock)
	for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
		if !block.boolean(k) {
			t.Errorf("%s: %s is not true", b.Name, k)
		}
	}
	if alg := of(tBucketSSE).str("rules.0.applyServerSideEncryptionByDefault.sseAlgorithm"); alg != "aws:kms" && alg != "AES256" {
		t.Errorf("%s: default encryption %q", b.Name, alg)
	}
	if of(tBucketVersion).str("versioningConfiguration.status") != "Enabled" {
		t.Errorf("%s: versioning off", b.Name)
	}
	if of(tBucketOwner).str("rule.objectOwnership") != "BucketOwnerEnforced" {
		t.Errorf("%s: ACLs not disabled", b.Name)
	}
	var doc policyDoc
	of(tBucketPolicy).jsonInput(t, "policy", &doc)
	tlsOnly := false
	for _, s := range doc.Statement {
		if s.Effect == "Deny" && s.Condition["Bool"]["aws:SecureTransport"] == "false" {
			tlsOnly = true
		}
	}
	if !tlsOnly {
		t.Errorf("%s: the policy does not deny plain HTTP", b.Name)
	}
}
