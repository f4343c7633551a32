package sealedsender

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/parley-im/parley/e2ee/curve"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// zeroRoot is libsignal's test trust root: the all-zero private key.
func zeroRoot(t testing.TB) curve.PrivateKey {
	k, err := curve.ParsePrivateKey(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func wrapCert(cert, sig []byte) []byte {
	var b []byte
	b = appendBytes(b, 1, cert)
	return appendBytes(b, 2, sig)
}

// Vectors from libsignal's sealed_sender.rs tests: certificates issued by
// libsignal, one with an unknown field 999, one with uuidBytes, one that
// refers to the known test server certificate 0x7357C357 by id.
func TestLibsignalCertificateVectors(t *testing.T) {
	root := zeroRoot(t).PublicKey()
	if got := base64.StdEncoding.EncodeToString(root.Bytes()); got != "BS/lfaNHzWJDFSjarF+7KQcw//aEr8TPwu2QmV9Yyzt0" {
		t.Fatalf("trust root %s", got)
	}
	cases := []struct{ name, cert, sig string }{
		{"unknown field", "100119697a0000000000002221056c9d1f8deb82b9a898f9c277a1b74989ec009afb5c0acb5e8e69e3d5ca29d6322a690a2508011221053b03ca070e6f6b2f271d32f27321689cdf4e59b106c10b58fbe15063ed868a5a124024bc92954e52ad1a105b5bda85c9db410dcfeb42a671b45a523b3a46e9594a8bde0efc671d8e8e046b32c67f59b80a46ffdf24071850779bc21325107902af89322461616161616161612d373030302d313165622d623332612d333362386138613438376136ba3e136372617368696e6720726967687420646f776e",
			"a22d8f86f5d00794f319add821e342c6ffffb6b34f741e569f8b321ab0255f2d1757ecf648e53a3602cae8f09b3fc80dcf27534d67efd272b6739afc31f75c8c"},
		{"uuid bytes", "100119697a000000000000222105e083a8ce423d1c1955174107a85a6a7f3bcbf566723624077f75eafe8e0a07752a690a25080112210507a24397ae27d06fa76d2f02cfb5546e0b23a7e0c3670c1eb1e73b135a8e1e4d12407d127509ae1f5e9dcaa511793d3e94350dcb269e4ca54500da6e1f4dc13d95940c15badef019edfe8666315500c54e4489d4b83f6ce79c7f65c9772a1a83d88c3a10aaaaaaaa700011ebb32a33b8a8a487a6",
			"755c428e9bf6ba367152f1e545834649b4e8f70df8383a352a953fdb774862af5d42fab573fc52b90ad47c331c36f93b1a4fa7a2504917d895452ffe7f44bd0e"},
		{"known server cert", "100119697a000000000000222105d75b13e15c7700079dd226f51e5a790ba395e819e88a74d0cf5cedfad8b4334840d786df9a07322461616161616161612d373030302d313165622d623332612d333362386138613438376136",
			"e62667bce627caed56ca2ab309b6ae7bc890a30a7482c0e1fd77ec9c3b7528abfd45c8c42b240509a71d973ef5e0f1dbd2685fe01410f0fdbaa8fb247a67e08f"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sc, err := ParseSenderCertificate(wrapCert(mustHex(t, c.cert), mustHex(t, c.sig)))
			if err != nil {
				t.Fatal(err)
			}
			if sc.SenderUUID != "aaaaaaaa-7000-11eb-b32a-33b8a8a487a6" || sc.SenderE164 != "" || sc.DeviceID != 1 || sc.Expires != 31337 {
				t.Fatalf("fields %+v", sc)
			}
			if err := sc.Validate(root, 31336); err != nil {
				t.Fatal(err)
			}
			if err := sc.Validate(root, 31338); !errors.Is(err, ErrExpired) {
				t.Fatalf("expired: %v", err)
			}
			other, _ := curve.GenerateKeyPair(rand.Reader)
			if err := sc.Validate(other.Public, 1); !errors.Is(err, ErrUntrustedServerCertificate) {
				t.Fatalf("other root: %v", err)
			}
		})
	}
}

func TestKnownServerCertificates(t *testing.T) {
	roots := map[uint32]string{2: "BYhU6tPjqP46KGZEzRs1OL4U39V5dlPJ/X09ha4rErkm", 3: "BUkY0I+9+oPgDCn4+Ac6Iu813yvqkDr/ga8DzLxFxuk6", 0x7357C357: "BS/lfaNHzWJDFSjarF+7KQcw//aEr8TPwu2QmV9Yyzt0"}
	for id, r := range roots {
		rb, _ := base64.StdEncoding.DecodeString(r)
		root, err := curve.ParsePublicKey(rb)
		if err != nil {
			t.Fatal(err)
		}
		if err := knownServerCertificates()[id].Validate(root); err != nil {
			t.Fatalf("%x: %v", id, err)
		}
	}
}

type fixture struct {
	root, server, alice, bob curve.KeyPair
	serverCert               *ServerCertificate
	aliceCert                *SenderCertificate
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	var f fixture
	for _, k := range []*curve.KeyPair{&f.root, &f.server, &f.alice, &f.bob} {
		var err error
		if *k, err = curve.GenerateKeyPair(rand.Reader); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if f.serverCert, err = NewServerCertificate(rand.Reader, 1, f.server.Public, f.root.Private); err != nil {
		t.Fatal(err)
	}
	if f.aliceCert, err = NewSenderCertificate(rand.Reader, "9d0652a3-dcc3-4d11-975f-74d61598733f", "+14155550100",
		f.alice.Public, 2, 1000, f.serverCert, f.server.Private); err != nil {
		t.Fatal(err)
	}
	return &f
}

func TestCertificateRoundTripAndFailures(t *testing.T) {
	f := newFixture(t)
	sc, err := ParseSenderCertificate(f.aliceCert.Serialize())
	if err != nil {
		t.Fatal(err)
	}
	if sc.SenderUUID != f.aliceCert.SenderUUID || sc.SenderE164 != "+14155550100" || sc.DeviceID != 2 || sc.IdentityKey != f.alice.Public || sc.Signer.KeyID != 1 {
		t.Fatalf("%+v", sc)
	}
	if err := sc.Validate(f.root.Public, 1000); err != nil {
		t.Fatal(err)
	}
	if err := sc.Validate(f.root.Public, 1001); !errors.Is(err, ErrExpired) {
		t.Fatal(err)
	}
	if err := sc.Validate(f.alice.Public, 0); !errors.Is(err, ErrUntrustedServerCertificate) {
		t.Fatal(err)
	}
	// Signed by a key other than the server certificate's.
	forged, _ := NewSenderCertificate(rand.Reader, "9d0652a3-dcc3-4d11-975f-74d61598733f", "", f.alice.Public, 2, 1000, f.serverCert, f.alice.Private)
	if err := forged.Validate(f.root.Public, 0); !errors.Is(err, ErrBadSenderSignature) {
		t.Fatal(err)
	}
	revoked, _ := NewServerCertificate(rand.Reader, 0xDEADC357, f.server.Public, f.root.Private)
	if err := revoked.Validate(f.root.Public); !errors.Is(err, ErrRevokedServerCertificate) {
		t.Fatal(err)
	}
	rc, _ := NewSenderCertificate(rand.Reader, "9d0652a3-dcc3-4d11-975f-74d61598733f", "", f.alice.Public, 2, 1000, revoked, f.server.Private)
	if err := rc.Validate(f.root.Public, 0); !errors.Is(err, ErrRevokedServerCertificate) {
		t.Fatal(err)
	}
	for _, dev := range []uint32{0, 128} {
		if _, err := NewSenderCertificate(rand.Reader, "x", "", f.alice.Public, dev, 1, f.serverCert, f.server.Private); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("device %d: %v", dev, err)
		}
	}
	// Unknown referenced server certificate id.
	var inner []byte
	inner = appendVarint(inner, 2, 1)
	inner = protowire.AppendTag(inner, 3, protowire.Fixed64Type)
	inner = protowire.AppendFixed64(inner, 5)
	inner = appendBytes(inner, 4, f.alice.Public.Bytes())
	inner = appendVarint(inner, 8, 42)
	inner = appendBytes(inner, 6, []byte("u"))
	uc, err := ParseSenderCertificate(wrapCert(inner, make([]byte, 64)))
	if err != nil {
		t.Fatal(err)
	}
	if err := uc.Validate(f.root.Public, 0); !errors.Is(err, ErrUnknownServerCertificate) {
		t.Fatal(err)
	}
	// Truncations never parse as something else silently and never panic.
	b := f.aliceCert.Serialize()
	for i := range len(b) {
		if _, err := ParseSenderCertificate(b[:i]); err == nil {
			t.Fatalf("truncated at %d parsed", i)
		}
	}
}

func TestSealRoundTrip(t *testing.T) {
	f := newFixture(t)
	for _, c := range []*Content{
		{Type: TypePreKey, Sender: f.aliceCert, Contents: []byte("prekey bytes")},
		{Type: TypeWhisper, Sender: f.aliceCert, Contents: []byte{}, ContentHint: HintResendable, GroupID: []byte("group")},
		{Type: TypeSenderKey, Sender: f.aliceCert, Contents: bytes.Repeat([]byte{7}, 4096), ContentHint: HintImplicit},
		{Type: TypePlaintext, Sender: f.aliceCert, Contents: []byte("p"), ContentHint: 9},
	} {
		env, err := Encrypt(rand.Reader, c, f.alice, f.bob.Public)
		if err != nil {
			t.Fatal(err)
		}
		if env[0] != VersionV1 {
			t.Fatalf("version %x", env[0])
		}
		got, err := Decrypt(env, f.bob)
		if err != nil {
			t.Fatal(err)
		}
		if got.Type != c.Type || !bytes.Equal(got.Contents, c.Contents) || got.ContentHint != c.ContentHint || !bytes.Equal(got.GroupID, c.GroupID) || got.Sender.SenderUUID != f.aliceCert.SenderUUID {
			t.Fatalf("got %+v", got)
		}
		if err := got.Sender.Validate(f.root.Public, 1000); err != nil {
			t.Fatal(err)
		}
		// Wrong recipient.
		if _, err := Decrypt(env, f.alice); !errors.Is(err, ErrInvalidMessage) {
			t.Fatalf("wrong recipient: %v", err)
		}
		// Every single-bit flip after the version byte is rejected.
		for i := 1; i < len(env); i++ {
			m := clone(env)
			m[i] ^= 0x01
			if _, err := Decrypt(m, f.bob); err == nil {
				t.Fatalf("flip at %d accepted", i)
			}
		}
	}
}

func TestSealKeyMismatch(t *testing.T) {
	f := newFixture(t)
	// Sealed with Bob's key pair while the certificate names Alice's key.
	env, err := Encrypt(rand.Reader, &Content{Type: TypeWhisper, Sender: f.aliceCert, Contents: []byte("x")}, f.bob, f.alice.Public)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decrypt(env, f.alice); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("mismatch: %v", err)
	}
}

func TestVersions(t *testing.T) {
	f := newFixture(t)
	for v, want := range map[byte]error{0x22: ErrInvalidMessage, 0x23: ErrInvalidMessage, 0x31: ErrUnknownVersion, 0xF1: ErrUnknownVersion} {
		if _, err := Decrypt([]byte{v, 0, 0}, f.bob); !errors.Is(err, want) {
			t.Fatalf("%x: %v", v, err)
		}
	}
	if _, err := Decrypt(nil, f.bob); !errors.Is(err, ErrInvalidMessage) {
		t.Fatal(err)
	}
}
