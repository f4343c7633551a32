package sealedsender

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/parley-im/parley/e2ee/curve"
)

const (
	aciA = "9d0652a3-dcc3-4d11-975f-74d61598733f"
	aciB = "0b4a4a1e-7f9a-4a61-9a0b-5a0f9d2c1e11"
	pniC = "PNI:2c4f0f49-24d5-4a1f-8c3e-9e0f6b7a1d22"
	aciX = "e1b5a0a6-55f5-4a5b-8c39-2f2b0f3a9b00"
)

func mustID(t testing.TB, s string) ServiceID {
	t.Helper()
	id, err := ParseServiceID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func keyPair(t testing.TB) curve.KeyPair {
	t.Helper()
	k, err := curve.GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestServiceID(t *testing.T) {
	for _, s := range []string{aciA, pniC} {
		id := mustID(t, s)
		if id.String() != s {
			t.Fatalf("%s -> %s", s, id)
		}
	}
	up := mustID(t, "9D0652A3-DCC3-4D11-975F-74D61598733F")
	if up != mustID(t, aciA) || up.Kind() != KindACI || mustID(t, pniC).Kind() != KindPNI {
		t.Fatal("case or kind")
	}
	for _, bad := range []string{"", "9d0652a3dcc34d11975f74d61598733f", "ACI:" + aciA, "pni:" + aciA[4:], aciA + "0", "9d0652a3-dcc3-4d11-975f-74d61598733g"} {
		if _, err := ParseServiceID(bad); !errors.Is(err, ErrInvalidServiceID) {
			t.Fatalf("%q: %v", bad, err)
		}
	}
}

type v2Fixture struct {
	*fixture
	keys map[string]curve.KeyPair
}

func newV2Fixture(t testing.TB) *v2Fixture {
	f := &v2Fixture{fixture: newFixture(t), keys: map[string]curve.KeyPair{}}
	for _, s := range []string{aciA, aciB, pniC} {
		f.keys[s] = keyPair(t)
	}
	return f
}

func (f *v2Fixture) recipients(t testing.TB) []Recipient {
	return []Recipient{
		{ServiceID: mustID(t, aciA), IdentityKey: f.keys[aciA].Public, Devices: []Device{{1, 11}, {2, 0x3FFF}, {127, 0}}},
		{ServiceID: mustID(t, aciB), IdentityKey: f.keys[aciB].Public, Devices: []Device{{3, 4242}}},
		{ServiceID: mustID(t, pniC), IdentityKey: f.keys[pniC].Public, Devices: []Device{{1, 7}, {5, 8}}},
	}
}

func TestMultiRecipientRoundTrip(t *testing.T) {
	f := newV2Fixture(t)
	content := &Content{Type: TypeSenderKey, Sender: f.aliceCert, Contents: []byte("group message"), ContentHint: HintResendable, GroupID: []byte("g")}
	sent, err := EncryptMulti(rand.Reader, content, f.alice, f.recipients(t), []ServiceID{mustID(t, aciX)})
	if err != nil {
		t.Fatal(err)
	}
	if sent[0] != VersionV2ServiceID {
		t.Fatalf("version %x", sent[0])
	}
	m, err := ParseSentMessage(sent)
	if err != nil {
		t.Fatal(err)
	}
	rs := m.Recipients()
	if len(rs) != 3 || len(m.Excluded()) != 1 || m.Excluded()[0] != mustID(t, aciX) {
		t.Fatalf("recipients %+v excluded %v", rs, m.Excluded())
	}
	for i, want := range f.recipients(t) {
		if rs[i].ServiceID != want.ServiceID || len(rs[i].Devices) != len(want.Devices) {
			t.Fatalf("recipient %d: %+v", i, rs[i])
		}
		for j := range want.Devices {
			if rs[i].Devices[j] != want.Devices[j] {
				t.Fatalf("recipient %d device %d: %+v", i, j, rs[i].Devices[j])
			}
		}
	}
	var msgs [][]byte
	for _, s := range []string{aciA, aciB, pniC} {
		rm, err := m.MessageFor(mustID(t, s))
		if err != nil {
			t.Fatal(err)
		}
		if rm[0] != VersionV2UUID {
			t.Fatalf("received version %x", rm[0])
		}
		got, err := Decrypt(rm, f.keys[s])
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if got.Type != TypeSenderKey || !bytes.Equal(got.Contents, content.Contents) || got.ContentHint != HintResendable || string(got.GroupID) != "g" || got.Sender.SenderUUID != f.aliceCert.SenderUUID {
			t.Fatalf("%s: %+v", s, got)
		}
		// Another recipient's key does not open it.
		other := aciA
		if s == aciA {
			other = aciB
		}
		if _, err := Decrypt(rm, f.keys[other]); !errors.Is(err, ErrInvalidMessage) {
			t.Fatalf("%s opened with %s's key: %v", s, other, err)
		}
		msgs = append(msgs, rm)
	}
	for _, id := range []string{aciX, "00000000-0000-0000-0000-000000000001"} {
		if _, err := m.MessageFor(mustID(t, id)); !errors.Is(err, ErrNotRecipient) {
			t.Fatalf("%s: %v", id, err)
		}
	}

	// Every single-bit flip of a received message is refused: the version
	// nibble, C, AT, E and the body are all bound.
	for _, i := range []int{1, 20, 33, 40, 48, 49, 60, 80, 81, len(msgs[1]) - 1} {
		mm := bytes.Clone(msgs[1])
		mm[i] ^= 0x04
		if _, err := Decrypt(mm, f.keys[aciB]); err == nil {
			t.Fatalf("flip at %d accepted", i)
		}
	}
	for n := range 81 {
		if _, err := Decrypt(msgs[1][:n], f.keys[aciB]); err == nil {
			t.Fatalf("truncated to %d accepted", n)
		}
	}
	// A minor version other than 2 is still v2, as in libsignal.
	mm := bytes.Clone(msgs[1])
	mm[0] = 0x23
	if _, err := Decrypt(mm, f.keys[aciB]); err != nil {
		t.Fatalf("0x23 received message: %v", err)
	}
}

// A sender that signs with one identity but names another in its
// certificate fails the authentication tag.
func TestMultiRecipientSenderMismatch(t *testing.T) {
	f := newV2Fixture(t)
	rs := f.recipients(t)
	sent, err := EncryptMulti(rand.Reader, &Content{Type: TypeWhisper, Sender: f.aliceCert, Contents: []byte("x")}, f.bob, rs[:1], nil)
	if err != nil {
		t.Fatal(err)
	}
	rm, err := SingleRecipientMessage(sent)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decrypt(rm, f.keys[aciA]); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("mismatch: %v", err)
	}
}

func TestEncryptMultiRejects(t *testing.T) {
	f := newV2Fixture(t)
	c := &Content{Type: TypeWhisper, Sender: f.aliceCert, Contents: []byte("x")}
	id := mustID(t, aciA)
	k := f.keys[aciA].Public
	bad := ServiceID{7}
	cases := []struct {
		name     string
		rs       []Recipient
		excluded []ServiceID
		want     error
	}{
		{"no devices", []Recipient{{ServiceID: id, IdentityKey: k}}, nil, ErrInvalidArgument},
		{"device 0", []Recipient{{ServiceID: id, IdentityKey: k, Devices: []Device{{0, 1}}}}, nil, ErrInvalidArgument},
		{"device 128", []Recipient{{ServiceID: id, IdentityKey: k, Devices: []Device{{128, 1}}}}, nil, ErrInvalidArgument},
		{"registration id", []Recipient{{ServiceID: id, IdentityKey: k, Devices: []Device{{1, 0x4000}}}}, nil, ErrInvalidRegistrationID},
		{"service id kind", []Recipient{{ServiceID: bad, IdentityKey: k, Devices: []Device{{1, 1}}}}, nil, ErrInvalidServiceID},
		{"excluded and listed", []Recipient{{ServiceID: id, IdentityKey: k, Devices: []Device{{1, 1}}}}, []ServiceID{id}, ErrInvalidArgument},
		{"excluded kind", nil, []ServiceID{bad}, ErrInvalidArgument},
		{"low-order key", []Recipient{{ServiceID: id, Devices: []Device{{1, 1}}}}, nil, ErrInvalidKey},
	}
	for _, tc := range cases {
		if _, err := EncryptMulti(rand.Reader, c, f.alice, tc.rs, tc.excluded); !errors.Is(err, tc.want) {
			t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// hand builds sent messages byte by byte for the parser's edge cases.
func hand(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestParseSentMessage(t *testing.T) {
	a, b := mustID(t, aciA), mustID(t, aciB)
	km := bytes.Repeat([]byte{0xAB}, v2KeyMatLen)
	km2 := bytes.Repeat([]byte{0xCD}, v2KeyMatLen)
	e := bytes.Repeat([]byte{9}, v2PubLen)
	body := []byte("body")
	dev := func(id byte, reg uint16, more bool) []byte {
		if more {
			reg |= 0x8000
		}
		return []byte{id, byte(reg >> 8), byte(reg)}
	}

	t.Run("merge and order", func(t *testing.T) {
		// a (dev 1), b (dev 2 and 3), a again (dev 4): a keeps its first
		// key material and gains dev 4; the unused bit is dropped.
		sent := hand([]byte{0x23, 3}, a[:], dev(1, 10, false), km, b[:], dev(2, 20|0x4000, true), dev(3, 30, false), km2,
			a[:], dev(4, 40, false), km2, e, body)
		m, err := ParseSentMessage(sent)
		if err != nil {
			t.Fatal(err)
		}
		rs := m.Recipients()
		if len(rs) != 2 || rs[0].ServiceID != a || rs[1].ServiceID != b {
			t.Fatalf("%+v", rs)
		}
		if got := rs[0].Devices; len(got) != 2 || got[0] != (Device{1, 10}) || got[1] != (Device{4, 40}) {
			t.Fatalf("a: %+v", got)
		}
		if got := rs[1].Devices; len(got) != 2 || got[0] != (Device{2, 20}) || got[1] != (Device{3, 30}) {
			t.Fatalf("b: %+v", got)
		}
		ma, _ := m.MessageFor(a)
		if want := hand([]byte{0x22}, km, e, body); !bytes.Equal(ma, want) {
			t.Fatalf("a: %x", ma)
		}
	})

	t.Run("uuid version", func(t *testing.T) {
		sent := hand([]byte{0x22, 1}, a[1:], dev(1, 10, false), km, e)
		m, err := ParseSentMessage(sent)
		if err != nil {
			t.Fatal(err)
		}
		if m.Version != VersionV2UUID || m.Recipients()[0].ServiceID != a {
			t.Fatalf("%+v", m.Recipients())
		}
		single, err := SingleRecipientMessage(sent)
		if err != nil || !bytes.Equal(single, hand([]byte{0x22}, km, e)) {
			t.Fatalf("%x %v", single, err)
		}
	})

	t.Run("padded varint", func(t *testing.T) {
		// libsignal reads the count 0x81 0x00 as 1 and moves on by one
		// byte, so the 0x00 is taken as the first byte of the service id.
		idBytes := append([]byte{}, a[1:]...)
		sent := hand([]byte{0x23, 0x81, 0x00}, idBytes, dev(1, 10, false), km, e)
		m, err := ParseSentMessage(sent)
		if err != nil {
			t.Fatal(err)
		}
		if m.Recipients()[0].ServiceID != a {
			t.Fatalf("%s", m.Recipients()[0].ServiceID)
		}
	})

	bad := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrInvalidSentMessage},
		{"v1", []byte{0x11, 0}, ErrUnknownVersion},
		{"0x24", hand([]byte{0x24, 0}, e), ErrUnknownVersion},
		{"no count", []byte{0x23}, ErrInvalidSentMessage},
		{"count overflows 32 bits", hand([]byte{0x23, 0x80, 0x80, 0x80, 0x80, 0x10}, e), ErrInvalidSentMessage},
		{"no ephemeral key", hand([]byte{0x23, 0}, e[:31]), ErrInvalidSentMessage},
		{"truncated id", hand([]byte{0x23, 1}, a[:16]), ErrInvalidSentMessage},
		{"bad kind", hand([]byte{0x23, 1}, []byte{2}, a[1:], dev(1, 1, false), km, e), ErrInvalidSentMessage},
		{"device 128", hand([]byte{0x23, 1}, a[:], dev(128, 1, false), km, e), ErrInvalidSentMessage},
		{"device 0 after devices", hand([]byte{0x23, 1}, a[:], dev(1, 1, true), []byte{0}, km, e), ErrInvalidSentMessage},
		{"truncated registration id", hand([]byte{0x23, 1}, a[:], []byte{1, 0}), ErrInvalidSentMessage},
		{"truncated key material", hand([]byte{0x23, 1}, a[:], dev(1, 1, false), km[:47]), ErrInvalidSentMessage},
		{"excluded then listed", hand([]byte{0x23, 2}, a[:], []byte{0}, a[:], dev(1, 1, false), km, e), ErrInvalidSentMessage},
		{"listed then excluded", hand([]byte{0x23, 2}, a[:], dev(1, 1, false), km, a[:], []byte{0}, e), ErrInvalidSentMessage},
		{"excluded twice", hand([]byte{0x23, 2}, a[:], []byte{0}, a[:], []byte{0}, e), ErrInvalidSentMessage},
		{"count too high", hand([]byte{0x23, 2}, a[:], dev(1, 1, false), km, e), ErrInvalidSentMessage},
	}
	for _, tc := range bad {
		if _, err := ParseSentMessage(tc.b); !errors.Is(err, tc.want) {
			t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := SingleRecipientMessage(hand([]byte{0x23, 2}, a[:], dev(1, 1, false), km, b[:], []byte{0}, e)); !errors.Is(err, ErrNotSingleRecipient) {
		t.Fatalf("two entries: %v", err)
	}
}
