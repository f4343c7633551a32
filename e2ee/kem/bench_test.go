package kem

import "testing"

func BenchmarkGenerateKeyPair(b *testing.B) {
	for b.Loop() {
		if _, err := GenerateKeyPair(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKeyPairFromSeed(b *testing.B) {
	seed := make([]byte, SeedSize)
	for b.Loop() {
		if _, err := KeyPairFromSeed(seed); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParsePublicKey(b *testing.B) {
	kp, _ := GenerateKeyPair()
	pub := kp.PublicKey().Bytes()
	for b.Loop() {
		if _, err := ParsePublicKey(pub); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncapsulate(b *testing.B) {
	kp, _ := GenerateKeyPair()
	pk := kp.PublicKey()
	for b.Loop() {
		pk.Encapsulate()
	}
}

func BenchmarkDecapsulate(b *testing.B) {
	kp, _ := GenerateKeyPair()
	ct, _ := kp.PublicKey().Encapsulate()
	for b.Loop() {
		if _, err := kp.Decapsulate(ct); err != nil {
			b.Fatal(err)
		}
	}
}

// Baseline: the bare ML-KEM operation, to show the cost of the round-3 KDF
// and framing on top.
func BenchmarkBaselineMLKEMDecapsulate(b *testing.B) {
	kp, _ := GenerateKeyPair()
	ct, _ := kp.PublicKey().Encapsulate()
	for b.Loop() {
		if _, err := kp.dk.Decapsulate(ct[1:]); err != nil {
			b.Fatal(err)
		}
	}
}
