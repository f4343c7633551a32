package spqr

import (
	"bytes"
	"crypto/mlkem"
	"crypto/mlkem/mlkemtest"
	"crypto/sha3"
	"math/rand/v2"
	"testing"
)

// The incremental encapsulation must be FIPS 203 ML-KEM-768 encapsulation
// split in two: ct1 ‖ ct2 and the key equal the standard result for the same
// randomness.
func TestIncrementalEncapsMatchesStandard(t *testing.T) {
	r := rand.NewChaCha8([32]byte{1})
	for i := 0; i < 64; i++ {
		seed := make([]byte, mlkem.SeedSize)
		r.Read(seed)
		keys, err := kemKeysFromSeed(seed)
		if err != nil {
			t.Fatal(err)
		}
		ek := keys.dk.EncapsulationKey()
		var m [32]byte
		r.Read(m[:])
		wantKey, wantCT, err := mlkemtest.Encapsulate768(ek, m[:])
		if err != nil {
			t.Fatal(err)
		}
		ct1, key := encaps1(keys.hdr, &m)
		if !ekMatchesHeader(keys.hdr, keys.vec) {
			t.Fatal("own key vector does not match own header")
		}
		ct2 := encaps2(keys.hdr, keys.vec, &m)
		if len(ct1) != kemCT1Size || len(ct2) != kemCT2Size {
			t.Fatalf("sizes %d %d", len(ct1), len(ct2))
		}
		if !bytes.Equal(append(ct1, ct2...), wantCT) {
			t.Fatalf("trial %d: ciphertext differs from the standard encapsulation", i)
		}
		if !bytes.Equal(key[:], wantKey) {
			t.Fatalf("trial %d: key differs", i)
		}
		got, err := keys.dk.Decapsulate(append(ct1, ct2...))
		if err != nil || !bytes.Equal(got, key[:]) {
			t.Fatal("decapsulation disagrees")
		}
	}
}

func TestHeaderLayout(t *testing.T) {
	seed := bytes.Repeat([]byte{9}, mlkem.SeedSize)
	keys, _ := kemKeysFromSeed(seed)
	ek := keys.dk.EncapsulationKey().Bytes()
	h := sha3.Sum256(ek)
	if !bytes.Equal(keys.hdr[:32], ek[1152:]) || !bytes.Equal(keys.hdr[32:], h[:]) {
		t.Fatal("header is not rho ‖ H(ek)")
	}
	if !bytes.Equal(keys.vec, ek[:1152]) {
		t.Fatal("vector is not ByteEncode12(t)")
	}
}

func TestEkMatchesHeaderRejects(t *testing.T) {
	keys, _ := kemKeysFromSeed(bytes.Repeat([]byte{3}, mlkem.SeedSize))
	bad := bytes.Clone(keys.vec)
	bad[100] ^= 1
	if ekMatchesHeader(keys.hdr, bad) {
		t.Fatal("flipped vector accepted")
	}
	// A vector with a coefficient >= q, with a header hashed to match it, is
	// still rejected: FIPS 203 modulus check.
	over := bytes.Clone(keys.vec)
	over[0], over[1] = 0xff, over[1]|0x0f // first coefficient 0xfff
	ek := append(bytes.Clone(over), keys.hdr[:32]...)
	h := sha3.Sum256(ek)
	hdr := append(bytes.Clone(keys.hdr[:32]), h[:]...)
	if ekMatchesHeader(hdr, over) {
		t.Fatal("non-canonical vector accepted")
	}
	if ekMatchesHeader(keys.hdr[:10], keys.vec) || ekMatchesHeader(keys.hdr, keys.vec[:10]) {
		t.Fatal("short input accepted")
	}
}
