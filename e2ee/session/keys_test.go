package session

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"math/rand/v2"
	"testing"

	"github.com/parley-im/parley/e2ee/curve"
)

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
