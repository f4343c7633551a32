package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

const hexdigits = "0123456789abcdef"

// ASCII re-escapes JSON so that it is pure ASCII: every rune from U+007F up
// becomes \uXXXX (lowercase hex) over its UTF-16 units, a surrogate pair
// above U+FFFF. Meta signs this form ("an escaped unicode version of the
// payload, with lowercase hex digits"), and whatsapp-api-js re-escapes the
// body it receives the same way before checking the HMAC, so only a body
// that is already ASCII verifies in both it and byte-exact verifiers.
//
// The input must be JSON, where such runes occur only inside strings;
// invalid UTF-8 becomes \ufffd, as encoding/json would have written it.
func ASCII(b []byte) []byte {
	n := 0
	for _, c := range b {
		if c >= 0x7f {
			n++
		}
	}
	if n == 0 {
		return b
	}
	out := make([]byte, 0, len(b)+n*5)
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x7f {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		i += size
		if r > 0xffff {
			r1, r2 := utf16.EncodeRune(r)
			out = appendU(appendU(out, r1), r2)
			continue
		}
		out = appendU(out, r)
	}
	return out
}

func appendU(out []byte, r rune) []byte {
	return append(out, '\\', 'u', hexdigits[r>>12&0xf], hexdigits[r>>8&0xf], hexdigits[r>>4&0xf], hexdigits[r&0xf])
}

// Signature is the X-Hub-Signature-256 value for body: "sha256=" and the
// lowercase hex HMAC-SHA256 under the app secret.
func Signature(appSecret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature checks header against body, in constant time; what a
// receiver written in Go would do.
func VerifySignature(appSecret string, body []byte, header string) bool {
	got, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	want := Signature(appSecret, body)[len("sha256="):]
	return hmac.Equal([]byte(got), []byte(want))
}
