package sealedsender

import (
	"crypto/rand"
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
