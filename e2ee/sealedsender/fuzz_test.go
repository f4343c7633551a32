package sealedsender

import (
	"crypto/rand"
	"errors"
	"testing"
)

func FuzzParseServerCertificate(f *testing.F) {
	fx := newFixture(f)
	f.Add(fx.serverCert.Serialize())
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseServerCertificate(b) })
}

func FuzzParseSenderCertificate(f *testing.F) {
	fx := newFixture(f)
	f.Add(fx.aliceCert.Serialize())
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := ParseSenderCertificate(b); err == nil {
			_ = c.Validate(fx.root.Public, 0)
		}
	})
}

func FuzzParseContent(f *testing.F) {
	fx := newFixture(f)
	b, _ := (&Content{Type: TypeWhisper, Sender: fx.aliceCert, Contents: []byte("x"), GroupID: []byte("g")}).Serialize()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseContent(b) })
}

func FuzzDecrypt(f *testing.F) {
	fx := newFixture(f)
	env, _ := Encrypt(rand.Reader, &Content{Type: TypeWhisper, Sender: fx.aliceCert, Contents: []byte("x")}, fx.alice, fx.bob.Public)
	f.Add(env)
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = Decrypt(b, fx.bob) })
}

// FuzzParseSentMessage: the server-side parser of untrusted uploads never
// panics, and every recipient it accepts yields a received message that
// starts with 0x22 and ends with the shared part.
func FuzzParseSentMessage(f *testing.F) {
	fx := newV2Fixture(f)
	sent, err := EncryptMulti(rand.Reader, &Content{Type: TypeSenderKey, Sender: fx.aliceCert, Contents: []byte("x")}, fx.alice,
		fx.recipients(f), []ServiceID{mustID(f, aciX)})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sent)
	f.Add(sent[:40])
	a := mustID(f, aciA)
	f.Add(hand([]byte{0x22, 1}, a[1:], []byte{1, 0x80, 1, 2, 0, 2}, make([]byte, 80)))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseSentMessage(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidSentMessage) && !errors.Is(err, ErrUnknownVersion) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		for _, r := range m.Recipients() {
			rm, err := m.MessageFor(r.ServiceID)
			if err != nil || rm[0] != VersionV2UUID || len(rm) != 1+v2KeyMatLen+len(b)-m.shared {
				t.Fatalf("%s: %x %v", r.ServiceID, rm, err)
			}
		}
		for _, x := range m.Excluded() {
			if _, err := m.MessageFor(x); !errors.Is(err, ErrNotRecipient) {
				t.Fatalf("excluded %s: %v", x, err)
			}
		}
		_, _ = SingleRecipientMessage(b)
	})
}

// FuzzDecryptV2: received v2 messages from a valid one.
func FuzzDecryptV2(f *testing.F) {
	fx := newV2Fixture(f)
	sent, err := EncryptMulti(rand.Reader, &Content{Type: TypeWhisper, Sender: fx.aliceCert, Contents: []byte("x")}, fx.alice,
		fx.recipients(f)[:1], nil)
	if err != nil {
		f.Fatal(err)
	}
	rm, err := SingleRecipientMessage(sent)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(rm)
	key := fx.keys[aciA]
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = Decrypt(b, key) })
}
