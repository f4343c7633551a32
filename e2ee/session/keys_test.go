package session

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"math/rand/v2"
	"testing"
)

// hmacSum and hkdfSHA256 are hand-rolled for speed; they must agree with the
// standard library on every size, the heap fallback included.
func TestKDFMatchesStandardLibrary(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	bytesOf := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	for _, keyLen := range []int{0, 1, 32, 64, 65, 200} {
		for _, dataLen := range []int{0, 1, 55, 56, 64, 300, macStack - 64, macStack - 63, 5000} {
			key, data := bytesOf(keyLen), bytesOf(dataLen)
			m := hmac.New(sha256.New, key)
			m.Write(data)
			cut := dataLen / 3
			got := hmacSum(key, data[:cut], nil, data[cut:])
			if !bytes.Equal(got[:], m.Sum(nil)) {
				t.Fatalf("HMAC key %d data %d differs", keyLen, dataLen)
			}
		}
	}
	for _, salt := range [][]byte{nil, bytesOf(32)} {
		for _, outLen := range []int{1, 32, 33, 64, 80, 96, 255 * 32} {
			ikm, info := bytesOf(32), bytesOf(18)
			want, err := hkdf.Key(sha256.New, ikm, salt, string(info), outLen)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]byte, outLen)
			hkdfSHA256(got, salt, ikm, info)
			if !bytes.Equal(got, want) {
				t.Fatalf("HKDF salt %d out %d differs", len(salt), outLen)
			}
		}
	}
}
