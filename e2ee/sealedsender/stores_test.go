package sealedsender

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/session"
)

var (
	ctx    = context.Background()
	t0     = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	t0ms   = uint64(t0.UnixMilli())
	expiry = t0ms + 3_600_000
)

// dev is one device with an in-memory session store.
type dev struct {
	addr  session.Address
	id    curve.KeyPair
	store *session.MemoryStore
	st    session.Stores
}

func newDev(t testing.TB, name string, device uint32, id curve.KeyPair, reg uint32) *dev {
	t.Helper()
	d := &dev{addr: session.Address{Name: name, DeviceID: device}, id: id, store: session.NewMemoryStore(id, reg)}
	d.st = d.store.Stores(d.addr)
	return d
}

// connect makes from start a session with to, from to's fresh prekeys.
func connect(t testing.TB, from, to *dev) {
	t.Helper()
	spk, err1 := session.NewSignedPreKey(rand.Reader, to.id, 1, t0)
	ky, err2 := session.NewKyberPreKey(rand.Reader, to.id, 2, t0, true)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	to.store.StoreSignedPreKey(spk)
	to.store.StoreKyberPreKey(ky)
	reg, _ := to.store.LocalRegistrationID(ctx)
	b := session.NewBundle(reg, to.addr.DeviceID, to.id.Public, nil, spk, ky)
	if err := session.ProcessBundle(ctx, from.st, to.addr, b, t0, rand.Reader); err != nil {
		t.Fatal(err)
	}
}

// record is d's stored session with peer, encoded, to check that refusals
// change nothing.
func (d *dev) record(t testing.TB, peer session.Address) []byte {
	t.Helper()
	rec, err := d.store.LoadSession(ctx, peer)
	if err != nil || rec == nil {
		return nil
	}
	b, err := rec.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecryptMessage(t *testing.T) {
	f := newFixture(t)
	alice := newDev(t, aciA, 1, f.alice, 100)
	bob := newDev(t, aciB, 1, f.bob, 200)
	connect(t, alice, bob)
	oldRoot := keyPair(t)
	roots := []curve.PublicKey{oldRoot.Public, f.root.Public} // the issuing root second

	cert, err := NewSenderCertificate(rand.Reader, aciA, "+14155550100", f.alice.Public, 1, expiry, f.serverCert, f.server.Private)
	if err != nil {
		t.Fatal(err)
	}
	seal := func(c *SenderCertificate, msg string, v2 bool) []byte {
		t.Helper()
		ct, err := session.Encrypt(ctx, alice.st, bob.addr, []byte(msg), t0)
		if err != nil {
			t.Fatal(err)
		}
		content := &Content{Type: uint8(ct.Type), Sender: c, Contents: ct.Body}
		if !v2 {
			env, err := Encrypt(rand.Reader, content, f.alice, f.bob.Public)
			if err != nil {
				t.Fatal(err)
			}
			return env
		}
		rs, err := RecipientsFromSessions(ctx, alice.st, []session.Address{bob.addr})
		if err != nil {
			t.Fatal(err)
		}
		sent, err := EncryptMulti(rand.Reader, content, f.alice, rs, nil)
		if err != nil {
			t.Fatal(err)
		}
		rm, err := SingleRecipientMessage(sent)
		if err != nil {
			t.Fatal(err)
		}
		return rm
	}

	for i, v2 := range []bool{false, true, false, true} {
		msg := []string{"v1 prekey", "v2 prekey", "v1 again", "v2 again"}[i]
		r, err := DecryptMessage(ctx, bob.st, seal(cert, msg, v2), roots, t0ms, "")
		if err != nil {
			t.Fatalf("%s: %v", msg, err)
		}
		if string(r.Plaintext) != msg || r.Sender != alice.addr || r.Content.Type != TypePreKey || r.Content.Sender.SenderE164 != "+14155550100" {
			t.Fatalf("%s: %+v %q", msg, r, r.Plaintext)
		}
	}
	// Bob answers; Alice's next messages are Whisper messages.
	ack, err := session.Encrypt(ctx, bob.st, alice.addr, []byte("ack"), t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := session.Decrypt(ctx, alice.st, bob.addr, ack); err != nil {
		t.Fatal(err)
	}
	r, err := DecryptMessage(ctx, bob.st, seal(cert, "whisper", true), roots, t0ms, "")
	if err != nil || r.Content.Type != TypeWhisper || string(r.Plaintext) != "whisper" {
		t.Fatalf("whisper: %+v %v", r, err)
	}

	// Refusals, none of which touches Bob's session.
	selfUUID, _ := NewSenderCertificate(rand.Reader, aciB, "", f.alice.Public, 1, expiry, f.serverCert, f.server.Private)
	selfE164, _ := NewSenderCertificate(rand.Reader, aciX, "+14155550199", f.alice.Public, 1, expiry, f.serverCert, f.server.Private)
	otherDev, _ := NewSenderCertificate(rand.Reader, aciB, "", f.alice.Public, 2, expiry, f.serverCert, f.server.Private)
	cases := []struct {
		name  string
		env   []byte
		roots []curve.PublicKey
		now   uint64
		e164  string
		want  error
	}{
		{"expired", seal(cert, "x", false), roots, expiry + 1, "", ErrExpired},
		{"other roots", seal(cert, "x", true), []curve.PublicKey{oldRoot.Public}, t0ms, "", ErrUntrustedServerCertificate},
		{"no roots", seal(cert, "x", true), nil, t0ms, "", ErrUntrustedServerCertificate},
		{"self by uuid", seal(selfUUID, "x", false), roots, t0ms, "", ErrSelfSend},
		{"self by uuid, v2", seal(selfUUID, "x", true), roots, t0ms, "", ErrSelfSend},
		{"self by phone number", seal(selfE164, "x", true), roots, t0ms, "+14155550199", ErrSelfSend},
		// Our own account, another device: not a self-send, but there is
		// no session with that device.
		{"own other device", seal(otherDev, "x", true), roots, t0ms, "", session.ErrNoSession},
		{"tampered", func() []byte { b := seal(cert, "x", true); b[len(b)-1] ^= 1; return b }(), roots, t0ms, "", ErrInvalidMessage},
		{"unsupported type", func() []byte {
			env, _ := Encrypt(rand.Reader, &Content{Type: TypeSenderKey, Sender: cert, Contents: []byte("g")}, f.alice, f.bob.Public)
			return env
		}(), roots, t0ms, "", ErrUnsupportedMessageType},
	}
	before := bob.record(t, alice.addr)
	for _, c := range cases {
		if _, err := DecryptMessage(ctx, bob.st, c.env, c.roots, c.now, c.e164); !errors.Is(err, c.want) {
			t.Fatalf("%s: %v, want %v", c.name, err, c.want)
		}
		if !bytes.Equal(before, bob.record(t, alice.addr)) {
			t.Fatalf("%s changed the session", c.name)
		}
	}
	// With the phone number not ours, the phone-number certificate is not a
	// self-send (and then has no session under its UUID).
	if _, err := DecryptMessage(ctx, bob.st, cases[5].env, roots, t0ms, "+14155550100"); !errors.Is(err, session.ErrNoSession) {
		t.Fatalf("foreign phone number: %v", err)
	}
	if _, err := DecryptMessage(ctx, session.Stores{}, cases[0].env, roots, t0ms, ""); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("no stores: %v", err)
	}
}

func TestRecipientsFromSessions(t *testing.T) {
	f := newFixture(t)
	alice := newDev(t, aciA, 1, f.alice, 100)
	b1 := newDev(t, aciB, 1, f.bob, 201)
	b2 := newDev(t, aciB, 2, f.bob, 202)
	c := newDev(t, pniC, 7, keyPair(t), MaxRegistrationID)
	for _, d := range []*dev{b1, b2, c} {
		connect(t, alice, d)
	}
	rs, err := RecipientsFromSessions(ctx, alice.st, []session.Address{b1.addr, b2.addr, c.addr, b1.addr})
	if err != nil {
		t.Fatal(err)
	}
	// Adjacent devices of one name form one recipient; b1 again later is a
	// recipient of its own, as libsignal encodes it.
	if len(rs) != 3 || rs[0].ServiceID != mustID(t, aciB) || len(rs[0].Devices) != 2 || rs[0].Devices[1] != (Device{2, 202}) ||
		rs[0].IdentityKey != f.bob.Public || rs[1].ServiceID != mustID(t, pniC) || rs[1].Devices[0] != (Device{7, MaxRegistrationID}) ||
		rs[2].Devices[0] != (Device{1, 201}) {
		t.Fatalf("%+v", rs)
	}
	big := newDev(t, aciX, 1, keyPair(t), MaxRegistrationID+1)
	connect(t, alice, big)
	for _, tc := range []struct {
		name  string
		addrs []session.Address
		want  error
	}{
		{"no session", []session.Address{{Name: aciB, DeviceID: 3}}, session.ErrNoSession},
		{"no identity", []session.Address{{Name: aciX[:35] + "1", DeviceID: 1}}, session.ErrNoSession},
		{"not a service id", []session.Address{{Name: "bob", DeviceID: 1}}, ErrInvalidServiceID},
		{"registration id", []session.Address{big.addr}, ErrInvalidRegistrationID},
		{"device 0", []session.Address{{Name: aciB, DeviceID: 0}}, session.ErrInvalidAddress},
	} {
		if _, err := RecipientsFromSessions(ctx, alice.st, tc.addrs); !errors.Is(err, tc.want) {
			t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}
