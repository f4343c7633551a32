package senderkey

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"testing"
)

func TestChainStepIsHMAC(t *testing.T) {
	r := testRand(3)
	for range 200 {
		var ck [32]byte
		r.Read(ck[:])
		seed, next := chainStep(&ck)
		for i, got := range [][32]byte{seed, next} {
			m := hmac.New(sha256.New, ck[:])
			m.Write([]byte{byte(i + 1)})
			if want := m.Sum(nil); !bytes.Equal(got[:], want) {
				t.Fatalf("chainStep(%x)[%d] = %x, want %x", ck, i, got, want)
			}
		}
	}
}

func TestMessageKeysSplit(t *testing.T) {
	seed := [32]byte{1, 2, 3}
	iv, key := messageKeys(&seed)
	okm, err := hkdf.Key(sha256.New, seed[:], nil, "WhisperGroup", 48)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(iv[:], okm[:16]) || !bytes.Equal(key[:], okm[16:]) {
		t.Fatal("IV must be the first 16 bytes and the key the last 32")
	}
}

func TestCBCRoundTrip(t *testing.T) {
	seed := [32]byte{9}
	for n := range 70 {
		pt := bytes.Repeat([]byte{byte(n)}, n)
		ct := encryptCBC(&seed, pt)
		if len(ct) != (n/16+1)*16 {
			t.Fatalf("%d bytes -> %d", n, len(ct))
		}
		got, err := decryptCBC(&seed, ct)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("%d bytes: %v", n, err)
		}
	}
}
