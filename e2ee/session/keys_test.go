package session

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"math/rand/v2"
	"testing"

	"github.com/parley-im/parley/e2ee/curve"
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

// The CBC chaining is hand-rolled too: it must be crypto/cipher's, and a
// sealed message must be the encoding of encryptCBC's ciphertext.
func TestCBCMatchesStandardLibrary(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	var mk messageKeys
	for i := range mk.cipherKey {
		mk.cipherKey[i], mk.macKey[i] = byte(r.Uint32()), byte(r.Uint32())
	}
	for i := range mk.iv {
		mk.iv[i] = byte(r.Uint32())
	}
	block, _ := aes.NewCipher(mk.cipherKey[:])
	ratchet, sender, receiver := curve.PublicKey{1}, curve.PublicKey{2}, curve.PublicKey{3}
	for n := range 70 {
		pt := make([]byte, n)
		for i := range pt {
			pt[i] = byte(r.Uint32())
		}
		pad := 16 - n%16
		want := append(bytes.Clone(pt), bytes.Repeat([]byte{byte(pad)}, pad)...)
		cipher.NewCBCEncrypter(block, mk.iv[:]).CryptBlocks(want, want)
		ct := encryptCBC(&mk, pt)
		if !bytes.Equal(ct, want) {
			t.Fatalf("%d bytes: ciphertext differs", n)
		}
		if back, err := decryptCBC(&mk, ct); err != nil || !bytes.Equal(back, pt) {
			t.Fatalf("%d bytes: decrypt: %v", n, err)
		}
		sealed := sealSignalMessage(&mk, ratchet, uint32(n), 7, pt, []byte{1, 2}, []byte{3}, sender, receiver)
		encoded := encodeSignalMessage(&mk, ratchet, uint32(n), 7, ct, []byte{1, 2}, []byte{3}, sender, receiver)
		if !bytes.Equal(sealed, encoded) {
			t.Fatalf("%d bytes: sealed message differs", n)
		}
	}
}
