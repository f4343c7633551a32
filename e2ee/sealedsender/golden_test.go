package sealedsender

import (
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/parley-im/parley/e2ee/curve"
)

// golden is testdata/libsignal-0.103.0.json: certificates and envelopes made
// by libsignal itself (see its comment), so that these tests check against
// libsignal's bytes without Node.js.
type golden struct {
	RecipientPrivateKey []byte `json:"recipientPrivateKey"`
	SenderIdentityKey   []byte `json:"senderIdentityKey"`
	TrustRoot           []byte `json:"trustRoot"`
	ServerKey           []byte `json:"serverKey"`
	ServerKeyID         uint32 `json:"serverKeyId"`
	SenderUUID          string `json:"senderUuid"`
	SenderE164          string `json:"senderE164"`
	SenderDeviceID      uint32 `json:"senderDeviceId"`
	Expires             uint64 `json:"expires"`
	ServerCertificate   []byte `json:"serverCertificate"`
	SenderCertificate   []byte `json:"senderCertificate"`
	Envelopes           []struct {
		Ciphertext  []byte `json:"ciphertext"`
		Type        uint8  `json:"type"`
		ContentHint uint32 `json:"contentHint"`
		GroupID     []byte `json:"groupId"`
	} `json:"envelopes"`
}

func TestLibsignalGolden(t *testing.T) {
	raw, err := os.ReadFile("testdata/libsignal-0.103.0.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	root, err := curve.ParsePublicKey(g.TrustRoot)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ParseServerCertificate(g.ServerCertificate)
	if err != nil {
		t.Fatal(err)
	}
	if sc.KeyID != g.ServerKeyID || string(sc.Key.Bytes()) != string(g.ServerKey) {
		t.Fatalf("server certificate %+v", sc)
	}
	if err := sc.Validate(root); err != nil {
		t.Fatal(err)
	}
	priv, err := curve.ParsePrivateKey(g.RecipientPrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	bob := curve.KeyPair{Private: priv, Public: priv.PublicKey()}
	for i, e := range g.Envelopes {
		c, err := Decrypt(e.Ciphertext, bob)
		if err != nil {
			t.Fatalf("envelope %d: %v", i, err)
		}
		s := c.Sender
		if c.Type != e.Type || c.ContentHint != e.ContentHint || string(c.GroupID) != string(e.GroupID) || len(c.Contents) == 0 ||
			s.SenderUUID != g.SenderUUID || s.SenderE164 != g.SenderE164 || s.DeviceID != g.SenderDeviceID || s.Expires != g.Expires ||
			string(s.IdentityKey.Bytes()) != string(g.SenderIdentityKey) || string(s.Serialize()) != string(g.SenderCertificate) {
			t.Fatalf("envelope %d: %+v / %+v", i, c, s)
		}
		// Our encoder writes the content libsignal sealed byte for byte.
		usmc, _, err := open1(e.Ciphertext, bob)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := c.Serialize(); err != nil || string(again) != string(usmc) {
			t.Fatalf("envelope %d: content re-encodes differently: %v\n ours %x\n lib  %x", i, err, again, usmc)
		}
		if err := s.Validate(root, g.Expires); err != nil {
			t.Fatalf("envelope %d: %v", i, err)
		}
		if err := s.Validate(root, g.Expires+1); !errors.Is(err, ErrExpired) {
			t.Fatalf("envelope %d: expired: %v", i, err)
		}
		if _, err := Decrypt(e.Ciphertext, curve.KeyPair{Private: priv, Public: s.IdentityKey}); err == nil {
			t.Fatalf("envelope %d opened under the wrong recipient public key", i)
		}
	}
}

// testdata/v2-libsignal-0.103.0.json: a sealed sender v2 sent message made
// by libsignal, and libsignal's own split of it (see its comment).
func TestLibsignalGoldenV2(t *testing.T) {
	raw, err := os.ReadFile("testdata/v2-libsignal-0.103.0.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		TrustRoot            []byte            `json:"trustRoot"`
		SenderIdentityKey    []byte            `json:"senderIdentityKey"`
		SenderCertificate    []byte            `json:"senderCertificate"`
		RecipientPrivateKeys map[string][]byte `json:"recipientPrivateKeys"`
		Sent                 []byte            `json:"sent"`
		Split                struct {
			Recipients []struct {
				ServiceID string `json:"serviceId"`
				Devices   []struct {
					DeviceID       uint32 `json:"deviceId"`
					RegistrationID uint32 `json:"registrationId"`
				} `json:"devices"`
				Message []byte `json:"message"`
			} `json:"recipients"`
			ExcludedRecipients []string `json:"excludedRecipients"`
		} `json:"split"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	root, err := curve.ParsePublicKey(g.TrustRoot)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseSentMessage(g.Sent)
	if err != nil {
		t.Fatal(err)
	}
	rs := m.Recipients()
	if m.Version != VersionV2ServiceID || len(rs) != 2 || len(g.Split.Recipients) != 2 {
		t.Fatalf("version %x, %d recipients", m.Version, len(rs))
	}
	if ex := m.Excluded(); len(ex) != 1 || ex[0].String() != g.Split.ExcludedRecipients[0] {
		t.Fatalf("excluded %v", ex)
	}
	var inner []byte
	for i, r := range rs {
		want := g.Split.Recipients[i]
		if r.ServiceID.String() != want.ServiceID || len(r.Devices) != len(want.Devices) {
			t.Fatalf("recipient %d: %+v", i, r)
		}
		for j, d := range r.Devices {
			if d.ID != want.Devices[j].DeviceID || d.RegistrationID != want.Devices[j].RegistrationID {
				t.Fatalf("%s device %d: %+v", r.ServiceID, j, d)
			}
		}
		rm, err := m.MessageFor(r.ServiceID)
		if err != nil || string(rm) != string(want.Message) {
			t.Fatalf("%s: received message differs from libsignal's split (%v)", r.ServiceID, err)
		}
		priv, err := curve.ParsePrivateKey(g.RecipientPrivateKeys[want.ServiceID])
		if err != nil {
			t.Fatal(err)
		}
		c, err := Decrypt(rm, curve.KeyPair{Private: priv, Public: priv.PublicKey()})
		if err != nil {
			t.Fatalf("%s: %v", r.ServiceID, err)
		}
		if c.Type != TypePreKey || c.ContentHint != HintResendable || string(c.GroupID) != "group-v2" ||
			string(c.Sender.Serialize()) != string(g.SenderCertificate) || string(c.Sender.IdentityKey.Bytes()) != string(g.SenderIdentityKey) {
			t.Fatalf("%s: content %+v", r.ServiceID, c)
		}
		if inner != nil && string(inner) != string(c.Contents) {
			t.Fatal("recipients see different contents")
		}
		inner = c.Contents
		if err := c.Sender.ValidateWithTrustRoots([]curve.PublicKey{root}, c.Sender.Expires); err != nil {
			t.Fatal(err)
		}
	}
	// Registration ids at the 14-bit limit come through.
	if rs[0].Devices[1].RegistrationID != MaxRegistrationID {
		t.Fatalf("%+v", rs[0].Devices)
	}
}
