package curve

import (
	"crypto/ecdh"
	"crypto/rand"
	"testing"
)

func BenchmarkGenerateKeyPair(b *testing.B) {
	for b.Loop() {
		if _, err := GenerateKeyPair(nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAgree(b *testing.B) {
	a, _ := GenerateKeyPair(nil)
	c, _ := GenerateKeyPair(nil)
	for b.Loop() {
		if _, err := a.Private.Agree(c.Public); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaselineAgreeCryptoECDH is the baseline the hand-written ladder replaces:
// ecdh.NewPrivateKey derives the public key, doubling the cost.
func BenchmarkBaselineAgreeCryptoECDH(b *testing.B) {
	a, _ := GenerateKeyPair(nil)
	c, _ := GenerateKeyPair(nil)
	for b.Loop() {
		k, _ := ecdh.X25519().NewPrivateKey(a.Private[:])
		p, _ := ecdh.X25519().NewPublicKey(c.Public[:])
		if _, err := k.ECDH(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	kp, _ := GenerateKeyPair(nil)
	msg := make([]byte, 64)
	for b.Loop() {
		if _, err := kp.Private.Sign(nil, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	kp, _ := GenerateKeyPair(nil)
	msg := make([]byte, 64)
	sig, _ := kp.Private.Sign(nil, msg)
	for b.Loop() {
		if !kp.Public.Verify(msg, sig[:]) {
			b.Fatal("rejected")
		}
	}
}

func BenchmarkIsCanonical(b *testing.B) {
	kp, _ := GenerateKeyPair(nil)
	for b.Loop() {
		if !kp.Public.IsCanonical() {
			b.Fatal("not canonical")
		}
	}
}

// Baselines from the standard library for the same operations.
func BenchmarkBaselineECDHGenerateKey(b *testing.B) {
	for b.Loop() {
		if _, err := ecdh.X25519().GenerateKey(rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAgreeAll5 is Alice's PQXDH batch (four agreements and her first
// ratchet step); compare with five times BenchmarkAgree.
func BenchmarkAgreeAll5(b *testing.B) {
	var pairs [5]DH
	for i := range pairs {
		a, _ := GenerateKeyPair(nil)
		c, _ := GenerateKeyPair(nil)
		pairs[i] = DH{a.Private, c.Public}
	}
	var shared [5][32]byte
	for b.Loop() {
		if _, err := AgreeAll(shared[:], pairs[:]); err != nil {
			b.Fatal(err)
		}
	}
}
