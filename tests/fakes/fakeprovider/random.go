package fakeprovider

import (
	"encoding/base64"
	"encoding/hex"
	"math/big"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// randomPackage fakes pulumi-random v4.21.1. Every input of a random resource
// forces replacement (they are all ForceNew in the provider), so the fake replaces
// on any change.
func randomPackage() *Package {
	password := &Kind{
		ForceNew: every,
		ID:       func(Env, Resource) string { return "none" },
		Outputs: func(env Env, r Resource) resource.PropertyMap {
			result := randomResult(r)
			return resource.PropertyMap{
				"result":     str(result),
				"bcryptHash": str("$2a$10$" + randomFrom(bcryptAlphabet, 53)),
			}
		},
		Secrets: []string{"result", "bcryptHash"},
	}
	return &Package{
		Name:    "random",
		Version: "4.21.1",
		Kinds: map[string]*Kind{
			"random:index/randomPassword:RandomPassword": password,
			"random:index/randomString:RandomString": {
				ForceNew: every,
				Outputs: func(env Env, r Resource) resource.PropertyMap {
					return resource.PropertyMap{"result": str(randomResult(r))}
				},
			},
			"random:index/randomId:RandomId": {
				ForceNew: every,
				Outputs: func(env Env, r Resource) resource.PropertyMap {
					b := []byte(randomFrom(alphabet, intInput(r, "byteLength", 8)))
					return resource.PropertyMap{
						"hex":    str(r.Str("prefix") + hex.EncodeToString(b)),
						"b64Std": str(r.Str("prefix") + base64.StdEncoding.EncodeToString(b)),
						"b64Url": str(r.Str("prefix") + base64.RawURLEncoding.EncodeToString(b)),
						"dec":    str(r.Str("prefix") + new(big.Int).SetBytes(b).String()),
					}
				},
			},
		},
		Default: &Kind{ForceNew: every},
		Invokes: map[string]InvokeFunc{},
	}
}

const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomResult honours length and the character classes the program allows; the
// program's sizing of passwords (length, no special characters for URLs) is
// therefore visible in what the fake returns.
func randomResult(r Resource) string {
	chars := ""
	if boolInput(r, "lower", true) {
		chars += "abcdefghijklmnopqrstuvwxyz"
	}
	if boolInput(r, "upper", true) {
		chars += "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	}
	if boolInput(r, "numeric", true) && boolInput(r, "number", true) {
		chars += "0123456789"
	}
	if boolInput(r, "special", true) {
		chars += r.StrOr("overrideSpecial", "!#$%&*()-_=+[]{}<>:?")
	}
	if chars == "" {
		chars = alphabet
	}
	return randomFrom(chars, intInput(r, "length", 16))
}

func intInput(r Resource, key string, def int) int {
	v, ok := r.Inputs[resource.PropertyKey(key)]
	if !ok || !v.IsNumber() {
		return def
	}
	return int(v.NumberValue())
}

func boolInput(r Resource, key string, def bool) bool {
	v, ok := r.Inputs[resource.PropertyKey(key)]
	if !ok || !v.IsBool() {
		return def
	}
	return v.BoolValue()
}
