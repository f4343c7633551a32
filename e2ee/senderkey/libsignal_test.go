package senderkey

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// The frozen libsignal 0.90.0 vectors decrypt with our code: proves the
// chain KDF, the "WhisperGroup" HKDF split, AES-256-CBC/PKCS#7 and XEdDSA
// verification against libsignal without needing Node.
func TestLibsignalVectorsDecrypt(t *testing.T) {
	ctx := context.Background()
	v := loadVectors(t)
	if v.Libsignal != "0.90.0" {
		t.Fatalf("vectors from libsignal %s", v.Libsignal)
	}
	d := v.distributionID(t)

	t.Run("in order", func(t *testing.T) {
		s := codec()
		if err := ProcessDistribution(ctx, s, v.sender(), v.SKDM); err != nil {
			t.Fatal(err)
		}
		for i, m := range v.Messages {
			pt, err := Decrypt(ctx, s, v.sender(), m.Ciphertext)
			if err != nil || !bytes.Equal(pt, m.Plaintext) {
				t.Fatalf("message %d: %x, %v", i, pt, err)
			}
		}
		for _, m := range v.Messages {
			decryptFails(t, s, v.sender(), d, m.Ciphertext, ErrDuplicate)
		}
		pt, err := Decrypt(ctx, s, v.sender(), v.AfterLater.Ciphertext)
		if err != nil || !bytes.Equal(pt, v.AfterLater.Plaintext) {
			t.Fatalf("after later SKDM: %v", err)
		}
	})

	t.Run("reverse order", func(t *testing.T) {
		s := memory()
		if err := ProcessDistribution(ctx, s, v.sender(), v.SKDM); err != nil {
			t.Fatal(err)
		}
		if _, err := Decrypt(ctx, s, v.sender(), v.AfterLater.Ciphertext); err != nil {
			t.Fatal(err)
		}
		for i := len(v.Messages) - 1; i >= 0; i-- {
			pt, err := Decrypt(ctx, s, v.sender(), v.Messages[i].Ciphertext)
			if err != nil || !bytes.Equal(pt, v.Messages[i].Plaintext) {
				t.Fatalf("message %d: %v", i, err)
			}
		}
		if st := mustRecord(t, s, v.sender(), d).states[0]; len(st.skipped) != 0 {
			t.Fatalf("%d skipped keys left after all messages arrived", len(st.skipped))
		}
	})

	t.Run("late joiner", func(t *testing.T) {
		// An SKDM made after n messages lets the newcomer read from n on only.
		s := memory()
		if err := ProcessDistribution(ctx, s, v.sender(), v.LaterSKDM); err != nil {
			t.Fatal(err)
		}
		for _, m := range v.Messages[:v.LaterIteration] {
			decryptFails(t, s, v.sender(), d, m.Ciphertext, ErrDuplicate)
		}
		pt, err := Decrypt(ctx, s, v.sender(), v.AfterLater.Ciphertext)
		if err != nil || !bytes.Equal(pt, v.AfterLater.Plaintext) {
			t.Fatalf("after later SKDM: %v", err)
		}
	})

	t.Run("wrong sender address", func(t *testing.T) {
		s := memory()
		if err := ProcessDistribution(ctx, s, v.sender(), v.SKDM); err != nil {
			t.Fatal(err)
		}
		other := v.sender()
		other.DeviceID++
		if _, err := Decrypt(ctx, s, other, v.Messages[0].Ciphertext); !errors.Is(err, ErrNoSenderKey) {
			t.Fatalf("got %v", err)
		}
	})
}
