package curve

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzParsePublicKey(f *testing.F) {
	kp, _ := GenerateKeyPair(detRand(20))
	f.Add(kp.Public.Bytes())
	f.Add(kp.Public[:])
	f.Add(append([]byte{KeyTypeDJB}, bytes.Repeat([]byte{0xFF}, 32)...))
	f.Add(append([]byte{KeyTypeDJB}, make([]byte, 32)...))
	f.Add([]byte{KeyTypeDJB})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		k, err := ParsePublicKey(b)
		if !bytes.Equal(in, b) {
			t.Fatal("ParsePublicKey modified its input")
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if !bytes.Equal(k.Bytes(), b) {
			t.Fatal("accepted key does not round-trip")
		}
		// Everything downstream of a parsed key must cope with any u.
		canonical := k.IsCanonical()
		if canonical && !k.reduced() {
			t.Fatal("unreduced key reported canonical")
		}
		ss, err := kp.Private.Agree(k)
		if err != nil && ss != ([32]byte{}) {
			t.Fatal("failed agreement returned secret bytes")
		}
		if canonical && err != nil {
			t.Fatal("canonical key gave a low-order agreement")
		}
		_ = k.Verify([]byte("m"), make([]byte, SignatureSize))
	})
}

func FuzzParsePrivateKey(f *testing.F) {
	f.Add(make([]byte, 32))
	f.Add(bytes.Repeat([]byte{0xFF}, 32))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParsePrivateKey(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidKey) || len(b) == PrivateKeySize {
				t.Fatalf("unexpected error %v for %d bytes", err, len(b))
			}
			return
		}
		if k[0]&7 != 0 || k[31]&0xC0 != 0x40 {
			t.Fatalf("not clamped: %x", k)
		}
		again, _ := ParsePrivateKey(k[:])
		if again != k {
			t.Fatal("clamping is not idempotent")
		}
	})
}

// FuzzVerify feeds arbitrary keys, messages and signatures: Verify must not
// panic, and must never accept a signature whose s fails the range checks.
func FuzzVerify(f *testing.F) {
	kp, _ := GenerateKeyPair(detRand(21))
	msg := []byte("fuzz")
	sig, _ := kp.Private.Sign(detRand(22), msg)
	f.Add(kp.Public[:], msg, sig[:])
	f.Add(make([]byte, 32), msg, make([]byte, 64))
	f.Add(bytes.Repeat([]byte{0xFF}, 32), []byte{}, bytes.Repeat([]byte{0xFF}, 64))
	f.Add([]byte{2}, msg, sig[:63])
	f.Fuzz(func(t *testing.T, key, msg, sig []byte) {
		var k PublicKey
		copy(k[:], key)
		ok := k.Verify(msg, sig)
		if !ok {
			return
		}
		if len(sig) != SignatureSize {
			t.Fatal("accepted a signature of the wrong length")
		}
		if sig[63]&0x60 != 0 {
			t.Fatal("accepted s ≥ 2^253")
		}
		if !k.reduced() {
			t.Fatal("accepted an unreduced key")
		}
	})
}
