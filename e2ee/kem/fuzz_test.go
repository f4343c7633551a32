package kem

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzParsePublicKey(f *testing.F) {
	kp, _ := KeyPairFromSeed(make([]byte, SeedSize))
	valid := kp.PublicKey().Bytes()
	f.Add(valid)
	f.Add(valid[1:])
	f.Add([]byte{KeyTypeKyber1024})
	f.Add(append([]byte{KeyTypeKyber1024}, bytes.Repeat([]byte{0xFF}, PublicKeySize-1)...))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		pk, err := ParsePublicKey(b)
		if !bytes.Equal(in, b) {
			t.Fatal("ParsePublicKey modified its input")
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if !bytes.Equal(pk.Bytes(), b) {
			t.Fatal("accepted key does not round-trip")
		}
		ct, _ := pk.Encapsulate()
		if len(ct) != CiphertextSize {
			t.Fatal("bad ciphertext length")
		}
	})
}

func FuzzDecapsulate(f *testing.F) {
	kp, _ := KeyPairFromSeed(bytes.Repeat([]byte{7}, SeedSize))
	ct, _ := kp.PublicKey().Encapsulate()
	f.Add(ct)
	f.Add(ct[1:])
	f.Add(append(bytes.Clone(ct), 0))
	f.Add([]byte{KeyTypeKyber1024})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		ss, err := kp.Decapsulate(b)
		wellFramed := len(b) == CiphertextSize && b[0] == KeyTypeKyber1024
		if wellFramed != (err == nil) {
			t.Fatalf("framing %v but error %v", wellFramed, err)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidCiphertext) {
				t.Fatalf("untyped error %v", err)
			}
			if ss != ([32]byte{}) {
				t.Fatal("error with secret bytes")
			}
			return
		}
		if again, _ := kp.Decapsulate(b); again != ss {
			t.Fatal("Decapsulate is not deterministic")
		}
	})
}
