package sealedsender

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

// testdata/aes256gcmsiv-libsignal-0.103.0.json holds encryptions by
// libsignal's Aes256GcmSiv (the Node binding of the cipher sealed sender v2
// uses): the first three are RFC 8452 appendix C.2 vectors, the rest random
// keys and lengths around the block size, and one with a nonce and AD.
func TestGCMSIVVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/aes256gcmsiv-libsignal-0.103.0.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []struct{ Key, Nonce, Plaintext, AD, Ciphertext string }
	if err := json.Unmarshal(raw, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) < 10 {
		t.Fatalf("%d vectors", len(vs))
	}
	h := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for i, v := range vs {
		key, nonce, pt, ad, ct := h(v.Key), h(v.Nonce), h(v.Plaintext), h(v.AD), h(v.Ciphertext)
		if got := sivSeal(key, nonce, ad, pt); !bytes.Equal(got, ct) {
			t.Fatalf("%d: seal\n got  %x\n want %x", i, got, ct)
		}
		got, ok := sivOpen(key, nonce, ad, ct)
		if !ok || !bytes.Equal(got, pt) {
			t.Fatalf("%d: open %v %x", i, ok, got)
		}
		for j := range ct {
			m := bytes.Clone(ct)
			m[j] ^= 0x80
			if _, ok := sivOpen(key, nonce, ad, m); ok {
				t.Fatalf("%d: flipped byte %d accepted", i, j)
			}
		}
		if _, ok := sivOpen(key, nonce, append(bytes.Clone(ad), 0), ct); ok {
			t.Fatalf("%d: other AD accepted", i)
		}
	}
	if _, ok := sivOpen(make([]byte, 32), make([]byte, 12), nil, make([]byte, 15)); ok {
		t.Fatal("short ciphertext accepted")
	}
}
