package interop

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/sealedsender"
	"github.com/parley-im/parley/e2ee/session"
)

// Research cases 28 (certificates) and 29 (sealed sender v1 round trips).

// ssExpires is the expiry of the sender certificates in these tests, in
// milliseconds; ssValidAt is a time before it.
var (
	ssExpires = uint64(sessNow.UnixMilli()) + 86_400_000
	ssValidAt = uint64(sessNow.UnixMilli())
)

type ssServer struct {
	root, server curve.KeyPair
	cert         *sealedsender.ServerCertificate
}

func newSSServer(t *testing.T) *ssServer {
	t.Helper()
	s := &ssServer{root: must(curve.GenerateKeyPair(rand.Reader))(t), server: must(curve.GenerateKeyPair(rand.Reader))(t)}
	s.cert = must(sealedsender.NewServerCertificate(rand.Reader, 7, s.server.Public, s.root.Private))(t)
	return s
}

// issue makes a Go-issued sender certificate.
func (s *ssServer) issue(t *testing.T, uuid string, device uint32, key []byte, expires uint64) *sealedsender.SenderCertificate {
	t.Helper()
	k := must(curve.ParsePublicKey(key))(t)
	return must(sealedsender.NewSenderCertificate(rand.Reader, uuid, "", k, device, expires, s.cert, s.server.Private))(t)
}

// libIssue makes libsignal issue a server certificate under s's keys and a
// sender certificate signed with it.
func (s *ssServer) libIssue(t *testing.T, o *Oracle, uuid, e164 string, device uint32, key []byte, expires uint64) (server, sender []byte) {
	t.Helper()
	var sc, uc struct {
		Certificate []byte `json:"certificate"`
	}
	check(t, o.Call("serverCertificate", map[string]any{"keyId": 7, "serverKey": s.server.Public.Bytes(), "trustRootPrivateKey": s.root.Private[:]}, &sc))
	args := map[string]any{"senderUuid": uuid, "deviceId": device, "identityKey": key, "expires": expires,
		"serverCertificate": sc.Certificate, "serverPrivateKey": s.server.Private[:]}
	if e164 != "" {
		args["senderE164"] = e164
	}
	check(t, o.Call("senderCertificate", args, &uc))
	return sc.Certificate, uc.Certificate
}

type ssValidation struct {
	Valid       bool   `json:"valid"`
	SenderUUID  string `json:"senderUuid"`
	SenderE164  string `json:"senderE164"`
	DeviceID    uint32 `json:"deviceId"`
	Expires     uint64 `json:"expires"`
	IdentityKey []byte `json:"identityKey"`
	ServerKeyID uint32 `json:"serverKeyId"`
	ServerKey   []byte `json:"serverKey"`
}

func ssLibValidate(t *testing.T, o *Oracle, cert []byte, root curve.PublicKey, now uint64) ssValidation {
	t.Helper()
	var v ssValidation
	check(t, o.Call("validateSenderCertificate", map[string]any{"certificate": cert, "trustRoot": root.Bytes(), "now": now}, &v))
	return v
}

// ssInner is the signed inner certificate (field 1) of a certificate.
func ssInner(t *testing.T, b []byte) []byte {
	t.Helper()
	num, typ, n := protowire.ConsumeTag(b)
	if num != 1 || typ != protowire.BytesType {
		t.Fatalf("certificate does not start with field 1: %x", b)
	}
	v, m := protowire.ConsumeBytes(b[n:])
	if m < 0 {
		t.Fatal("bad certificate")
	}
	return v
}

func TestSealedSenderCertificates(t *testing.T) {
	o := Start(t)
	s := newSSServer(t)
	other := must(curve.GenerateKeyPair(rand.Reader))(t)
	id := must(curve.GenerateKeyPair(rand.Reader))(t)
	uuid := sessName()

	t.Run("libsignal issues, Go validates", func(t *testing.T) {
		for _, e164 := range []string{"", "+14155550123"} {
			serverB, senderB := s.libIssue(t, o, uuid, e164, 3, id.Public.Bytes(), ssExpires)
			sc := must(sealedsender.ParseServerCertificate(serverB))(t)
			check(t, sc.Validate(s.root.Public))
			c := must(sealedsender.ParseSenderCertificate(senderB))(t)
			if c.SenderUUID != uuid || c.SenderE164 != e164 || c.DeviceID != 3 || c.Expires != ssExpires || c.IdentityKey != id.Public || c.Signer.KeyID != 7 {
				t.Fatalf("parsed %+v", c)
			}
			check(t, c.Validate(s.root.Public, ssExpires))
			if err := c.Validate(s.root.Public, ssExpires+1); !errors.Is(err, sealedsender.ErrExpired) {
				t.Fatalf("expired: %v", err)
			}
			if err := c.Validate(other.Public, ssValidAt); !errors.Is(err, sealedsender.ErrUntrustedServerCertificate) {
				t.Fatalf("other root: %v", err)
			}
			// Same inputs, same signed bytes: the encoders agree field for field.
			goCert := must(sealedsender.NewSenderCertificate(rand.Reader, uuid, e164, id.Public, 3, ssExpires,
				sc, s.server.Private))(t)
			if !bytes.Equal(ssInner(t, goCert.Serialize()), ssInner(t, senderB)) {
				t.Fatalf("inner sender certificate differs:\n go  %x\n lib %x", ssInner(t, goCert.Serialize()), ssInner(t, senderB))
			}
			if !bytes.Equal(ssInner(t, s.cert.Serialize()), ssInner(t, serverB)) {
				t.Fatal("inner server certificate differs")
			}
		}
	})

	t.Run("Go issues, libsignal validates", func(t *testing.T) {
		c := s.issue(t, uuid, 5, id.Public.Bytes(), ssExpires)
		v := ssLibValidate(t, o, c.Serialize(), s.root.Public, ssExpires)
		if !v.Valid || v.SenderUUID != uuid || v.DeviceID != 5 || v.Expires != ssExpires || !bytes.Equal(v.IdentityKey, id.Public.Bytes()) || v.ServerKeyID != 7 || !bytes.Equal(v.ServerKey, s.server.Public.Bytes()) {
			t.Fatalf("libsignal: %+v", v)
		}
		if ssLibValidate(t, o, c.Serialize(), s.root.Public, ssExpires+1).Valid {
			t.Fatal("libsignal accepted an expired certificate")
		}
		if ssLibValidate(t, o, c.Serialize(), other.Public, ssValidAt).Valid {
			t.Fatal("libsignal accepted a certificate under another trust root")
		}
		revoked := must(sealedsender.NewServerCertificate(rand.Reader, 0xDEADC357, s.server.Public, s.root.Private))(t)
		rc := must(sealedsender.NewSenderCertificate(rand.Reader, uuid, "", id.Public, 5, ssExpires, revoked, s.server.Private))(t)
		if ssLibValidate(t, o, rc.Serialize(), s.root.Public, ssValidAt).Valid {
			t.Fatal("libsignal accepted a revoked server certificate")
		}
		if err := rc.Validate(s.root.Public, ssValidAt); !errors.Is(err, sealedsender.ErrRevokedServerCertificate) {
			t.Fatalf("Go: %v", err)
		}
		forged := must(sealedsender.NewSenderCertificate(rand.Reader, uuid, "", id.Public, 5, ssExpires, s.cert, other.Private))(t)
		if ssLibValidate(t, o, forged.Serialize(), s.root.Public, ssValidAt).Valid {
			t.Fatal("libsignal accepted a certificate not signed by the server")
		}
	})
}

// ssGoOpen is the Go side of sealedSenderDecryptMessage: open the envelope,
// validate the certificate, decrypt the inner message from its sender.
func ssGoOpen(t *testing.T, g *sessGo, env []byte, root curve.PublicKey, now uint64) (*sealedsender.Content, []byte, error) {
	t.Helper()
	c, err := sealedsender.Decrypt(env, g.identity)
	if err != nil {
		return nil, nil, err
	}
	if err := c.Sender.Validate(root, now); err != nil {
		return c, nil, err
	}
	from := session.Address{Name: c.Sender.SenderUUID, DeviceID: c.Sender.DeviceID}
	pt, err := session.Decrypt(sessCtx, g.st, from, session.Ciphertext{Type: session.MessageType(c.Type), Body: c.Contents})
	return c, pt, err
}

// ssGoSeal is the Go side of sealedSenderEncrypt with a content hint and group.
func ssGoSeal(t *testing.T, g *sessGo, to Party, cert *sealedsender.SenderCertificate, msg string, hint uint32, group []byte) ([]byte, int) {
	t.Helper()
	c := must(session.Encrypt(sessCtx, g.st, sessAddr(to.Address()), []byte(msg), sessNow))(t)
	env := must(sealedsender.Encrypt(rand.Reader, &sealedsender.Content{Type: uint8(c.Type), Sender: cert, Contents: c.Body, ContentHint: hint, GroupID: group},
		g.identity, must(curve.ParsePublicKey(to.IdentityKey))(t)))(t)
	return env, int(c.Type)
}

type ssOpened struct {
	Plaintext   []byte `json:"plaintext"`
	SenderUUID  string `json:"senderUuid"`
	SenderE164  string `json:"senderE164"`
	DeviceID    uint32 `json:"deviceId"`
	Type        int    `json:"type"`
	ContentHint uint32 `json:"contentHint"`
	GroupID     []byte `json:"groupId"`
}

func ssLibOpen(o *Oracle, at Party, env []byte, root curve.PublicKey, now uint64) (ssOpened, error) {
	var r ssOpened
	err := o.Call("sealedDecrypt", map[string]any{"party": at.Party, "ciphertext": env, "trustRoot": root.Bytes(), "timestamp": now}, &r)
	return r, err
}

func ssLibSeal(t *testing.T, o *Oracle, from Party, to Address, cert []byte, msg string, extra map[string]any) []byte {
	t.Helper()
	args := map[string]any{"party": from.Party, "peer": to, "senderCertificate": cert, "plaintext": []byte(msg)}
	for k, v := range extra {
		args[k] = v
	}
	var r struct {
		Ciphertext []byte `json:"ciphertext"`
	}
	check(t, o.Call("sealedEncrypt", args, &r))
	if r.Ciphertext[0] != sealedsender.VersionV1 {
		t.Fatalf("libsignal sealed with version %#x", r.Ciphertext[0])
	}
	return r.Ciphertext
}

func TestSealedSenderLibsignalToGo(t *testing.T) {
	o := Start(t)
	s := newSSServer(t)
	alice := sessNewLib(t, o, 1)
	bob := newSessGo(t, 2)
	bob.libStart(t, o, alice, true)
	_, cert := s.libIssue(t, o, alice.Name, "", alice.DeviceID, alice.IdentityKey, ssExpires)

	for i := range 2 { // PreKey messages until Bob answers
		env := ssLibSeal(t, o, alice, bob.ia(), cert, fmt.Sprint("pk", i), nil)
		c, pt, err := ssGoOpen(t, bob, env, s.root.Public, ssValidAt)
		check(t, err)
		if c.Type != sealedsender.TypePreKey || string(pt) != fmt.Sprint("pk", i) || c.Sender.SenderUUID != alice.Name || c.Sender.DeviceID != 1 || c.ContentHint != 0 || c.GroupID != nil {
			t.Fatalf("content %+v, plaintext %q", c, pt)
		}
	}
	sessLibReceive(t, o, alice, bob.ia(), bob.send(t, alice.Address(), "ack", TypeWhisper), "ack")
	env := ssLibSeal(t, o, alice, bob.ia(), cert, "whisper", map[string]any{"contentHint": 1, "groupId": []byte("group-1")})
	c, pt, err := ssGoOpen(t, bob, env, s.root.Public, ssValidAt)
	check(t, err)
	if c.Type != sealedsender.TypeWhisper || string(pt) != "whisper" || c.ContentHint != 1 || string(c.GroupID) != "group-1" {
		t.Fatalf("content %+v, plaintext %q", c, pt)
	}

	// Rejections: expired certificate, another trust root, tampering, wrong recipient.
	env = ssLibSeal(t, o, alice, bob.ia(), cert, "late", nil)
	if _, _, err := ssGoOpen(t, bob, env, s.root.Public, ssExpires+1); !errors.Is(err, sealedsender.ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
	if _, _, err := ssGoOpen(t, bob, env, must(curve.GenerateKeyPair(rand.Reader))(t).Public, ssValidAt); !errors.Is(err, sealedsender.ErrUntrustedServerCertificate) {
		t.Fatalf("other root: %v", err)
	}
	bad := append([]byte{}, env...)
	bad[len(bad)-1] ^= 1
	if _, _, err := ssGoOpen(t, bob, bad, s.root.Public, ssValidAt); !errors.Is(err, sealedsender.ErrInvalidMessage) {
		t.Fatalf("tampered: %v", err)
	}
	if _, err := sealedsender.Decrypt(env, must(curve.GenerateKeyPair(rand.Reader))(t)); !errors.Is(err, sealedsender.ErrInvalidMessage) {
		t.Fatalf("wrong recipient: %v", err)
	}
	// The untouched message still opens after all that.
	_, pt, err = ssGoOpen(t, bob, env, s.root.Public, ssValidAt)
	check(t, err)
	if string(pt) != "late" {
		t.Fatalf("plaintext %q", pt)
	}
}

func TestSealedSenderGoToLibsignal(t *testing.T) {
	o := Start(t)
	s := newSSServer(t)
	alice := newSessGo(t, 1)
	bob := sessNewLib(t, o, 2)
	alice.goStart(t, o, bob, true)
	cert := s.issue(t, alice.addr.Name, alice.addr.DeviceID, alice.identity.Public.Bytes(), ssExpires)

	for i := range 2 {
		env, typ := ssGoSeal(t, alice, bob, cert, fmt.Sprint("pk", i), 0, nil)
		if typ != TypePreKey {
			t.Fatalf("type %d", typ)
		}
		r, err := ssLibOpen(o, bob, env, s.root.Public, ssValidAt)
		check(t, err)
		if string(r.Plaintext) != fmt.Sprint("pk", i) || r.SenderUUID != alice.addr.Name || r.DeviceID != 1 || r.Type != TypePreKey || r.ContentHint != 0 || r.GroupID != nil {
			t.Fatalf("libsignal opened %+v", r)
		}
	}
	// Bob answers sealed too: Go opens libsignal's Whisper reply.
	_, bobCert := s.libIssue(t, o, bob.Name, "", bob.DeviceID, bob.IdentityKey, ssExpires)
	c, pt, err := ssGoOpen(t, alice, ssLibSeal(t, o, bob, alice.ia(), bobCert, "reply", nil), s.root.Public, ssValidAt)
	check(t, err)
	if c.Type != sealedsender.TypeWhisper || string(pt) != "reply" {
		t.Fatalf("content %+v, plaintext %q", c, pt)
	}
	env, typ := ssGoSeal(t, alice, bob, cert, "whisper", 2, []byte("group-2"))
	if typ != TypeWhisper {
		t.Fatalf("type %d", typ)
	}
	r, err := ssLibOpen(o, bob, env, s.root.Public, ssValidAt)
	check(t, err)
	if string(r.Plaintext) != "whisper" || r.Type != TypeWhisper || r.ContentHint != 2 || string(r.GroupID) != "group-2" {
		t.Fatalf("libsignal opened %+v", r)
	}

	// libsignal refuses an expired certificate and another trust root.
	env, _ = ssGoSeal(t, alice, bob, cert, "late", 0, nil)
	if _, err := ssLibOpen(o, bob, env, s.root.Public, ssExpires+1); err == nil {
		t.Fatal("libsignal accepted an expired sender certificate")
	} else {
		t.Logf("expired: %v", err)
	}
	if _, err := ssLibOpen(o, bob, env, must(curve.GenerateKeyPair(rand.Reader))(t).Public, ssValidAt); err == nil {
		t.Fatal("libsignal accepted another trust root")
	}
	// A certificate naming another key than the one that sealed.
	wrong := s.issue(t, alice.addr.Name, alice.addr.DeviceID, must(curve.GenerateKeyPair(rand.Reader))(t).Public.Bytes(), ssExpires)
	env2 := must(sealedsender.Encrypt(rand.Reader, &sealedsender.Content{Type: sealedsender.TypeWhisper, Sender: wrong, Contents: []byte("x")},
		alice.identity, must(curve.ParsePublicKey(bob.IdentityKey))(t)))(t)
	if _, err := ssLibOpen(o, bob, env2, s.root.Public, ssValidAt); err == nil {
		t.Fatal("libsignal accepted a certificate for another key")
	}
	r, err = ssLibOpen(o, bob, env, s.root.Public, ssValidAt)
	check(t, err)
	if string(r.Plaintext) != "late" {
		t.Fatalf("plaintext %q", r.Plaintext)
	}
}
