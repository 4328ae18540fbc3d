package fakeprovider

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// SESSMTPPasswordV4 turns an IAM secret access key into the SES SMTP password of
// region, as the SES Developer Guide's "Obtaining Amazon SES SMTP credentials"
// describes it (a SigV4 signing key over the fixed date 11111111, the region,
// "ses", "aws4_request", then "SendRawEmail", prefixed with the version byte 4,
// base64) and terraform-provider-aws computes it for an access key's
// ses_smtp_password_v4 (internal/service/iam/access_key.go,
// sesSMTPPasswordFromSecretKeySigV4).
func SESSMTPPasswordV4(secretKey, region string) string {
	sig := []byte("AWS4" + secretKey)
	for _, part := range []string{"11111111", region, "ses", "aws4_request", "SendRawEmail"} {
		h := hmac.New(sha256.New, sig)
		h.Write([]byte(part))
		sig = h.Sum(nil)
	}
	return base64.StdEncoding.EncodeToString(append([]byte{0x04}, sig...))
}
