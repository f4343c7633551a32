package session

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/kem"
	"github.com/parley-im/parley/e2ee/spqr"
)

// TestLibsignalGoldenVector decrypts PreKeySignalMessages that libsignal
// sent to a Go Bob (testdata/libsignal-<version>-prekey.json, written by the
// interop test TestSessionGoldenVector; 0.90.0 and 0.103.0), so that the
// PQXDH, chain and MAC byte layout is checked against libsignal even
// without Node. It also re-encodes each message and requires the same
// bytes, pinning the field order. From 0.91 on the messages must carry the
// addresses field, and from 0.92 on a keyed SPQR message.
func TestLibsignalGoldenVector(t *testing.T) {
	files, err := filepath.Glob("testdata/libsignal-*-prekey.json")
	if err != nil || len(files) < 2 {
		t.Fatalf("golden vectors %v: %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { testGoldenVector(t, f) })
	}
}

func testGoldenVector(t *testing.T, file string) {
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Libsignal           string `json:"libsignal"`
		AliceName           string `json:"alice_name"`
		AliceDevice         uint32 `json:"alice_device"`
		AliceIdentity       string `json:"alice_identity"`
		AliceRegistrationID uint32 `json:"alice_registration_id"`
		BobName             string `json:"bob_name"`
		BobDevice           uint32 `json:"bob_device"`
		BobIdentityPrivate  string `json:"bob_identity_private"`
		BobRegistrationID   uint32 `json:"bob_registration_id"`
		SignedPreKeyID      uint32 `json:"signed_prekey_id"`
		SignedPreKeyPrivate string `json:"signed_prekey_private"`
		PreKeyID            uint32 `json:"prekey_id"`
		PreKeyPrivate       string `json:"prekey_private"`
		KyberPreKeyID       uint32 `json:"kyber_prekey_id"`
		KyberSeed           string `json:"kyber_seed"`
		Messages            []struct {
			Type       int    `json:"type"`
			Ciphertext string `json:"ciphertext"`
			Plaintext  string `json:"plaintext"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	h := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	keyPair := func(s string) curve.KeyPair {
		priv, err := curve.ParsePrivateKey(h(s))
		if err != nil {
			t.Fatal(err)
		}
		return curve.KeyPair{Private: priv, Public: priv.PublicKey()}
	}
	identity := keyPair(v.BobIdentityPrivate)
	kyber, err := kem.KeyPairFromSeed(h(v.KyberSeed))
	if err != nil {
		t.Fatal(err)
	}
	alice := Address{Name: v.AliceName, DeviceID: v.AliceDevice}
	bob := Address{Name: v.BobName, DeviceID: v.BobDevice}

	m := NewMemoryStore(identity, v.BobRegistrationID)
	m.StoreSignedPreKey(SignedPreKeyRecord{ID: v.SignedPreKeyID, KeyPair: keyPair(v.SignedPreKeyPrivate)})
	m.StorePreKey(PreKeyRecord{ID: v.PreKeyID, KeyPair: keyPair(v.PreKeyPrivate)})
	m.StoreKyberPreKey(KyberPreKeyRecord{ID: v.KyberPreKeyID, KeyPair: kyber})
	st := m.Stores(bob)

	if len(v.Messages) == 0 {
		t.Fatal("no messages")
	}
	for i, msg := range v.Messages {
		body := h(msg.Ciphertext)
		p, err := parsePreKeyMessage(body)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if again := encodePreKeyMessage(p, p.message.serialized); !bytes.Equal(again, body) {
			t.Fatalf("message %d: our encoding of libsignal's message differs", i)
		}
		if p.registrationID != v.AliceRegistrationID || hex.EncodeToString(p.identityKey.Bytes()) != v.AliceIdentity {
			t.Fatalf("message %d: registration id or identity differ", i)
		}
		if v.Libsignal != "0.90.0" {
			want, _ := encodeAddresses(alice, bob)
			if !p.message.hasAddresses || !bytes.Equal(p.message.addresses, want) {
				t.Fatalf("message %d: addresses %x, want %x", i, p.message.addresses, want)
			}
			if info, err := spqr.Inspect(p.message.pqRatchet); err != nil || info.Version != spqr.V1 || info.Index == 0 {
				t.Fatalf("message %d: pq_ratchet %+v %v, want a keyed V1 message", i, info, err)
			}
		}
		got, err := Decrypt(ctx, st, alice, Ciphertext{Type: MessageType(msg.Type), Body: body})
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if string(got) != msg.Plaintext {
			t.Fatalf("message %d: got %q, want %q", i, got, msg.Plaintext)
		}
	}
	if _, err := Decrypt(ctx, st, alice, Ciphertext{Type: TypePreKey, Body: h(v.Messages[0].Ciphertext)}); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("replay: %v", err)
	}
}
