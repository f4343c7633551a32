package interop

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

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

// Research case 30: sealed sender v2, one upload for many devices, split by
// the server (here: Go's ParseSentMessage and libsignal's
// SealedSenderMultiRecipientMessage side by side).

// ssDev is one recipient device of the v2 tests, on either side.
type ssDev struct {
	name string
	g    *sessGo // nil for a libsignal device
	lib  Party
}

func (d ssDev) addr() Address {
	if d.g != nil {
		return d.g.ia()
	}
	return d.lib.Address()
}

func (d ssDev) String() string {
	side := "lib"
	if d.g != nil {
		side = "Go"
	}
	return fmt.Sprintf("%s(%s.%d)", d.name, side, d.addr().DeviceID)
}

// newSSGoDevice is a Go device of the account name with identity key id.
func newSSGoDevice(name string, id curve.KeyPair, device uint32) *sessGo {
	g := &sessGo{addr: session.Address{Name: name, DeviceID: device}, identity: id, regID: 1 + device*1000 + uint32(time.Now().UnixNano()%997), nextID: 1}
	g.store = session.NewMemoryStore(id, g.regID)
	g.st = g.store.Stores(g.addr)
	return g
}

// ssFiveDevices makes the five recipients of case 30: account B with two Go
// devices, account C with two libsignal devices (one identity key), and
// account D with one Go device.
func ssFiveDevices(t *testing.T, o *Oracle) []ssDev {
	t.Helper()
	b, c, d := sessName(), sessName(), sessName()
	bID := must(curve.GenerateKeyPair(rand.Reader))(t)
	cID := must(curve.GenerateKeyPair(rand.Reader))(t)
	c1 := must(o.NewPartyWith(NewPartyArgs{Name: c, DeviceID: 1, Party: c + ".1", IdentityPrivateKey: cID.Private[:]}))(t)
	c2 := must(o.NewPartyWith(NewPartyArgs{Name: c, DeviceID: 2, Party: c + ".2", IdentityPrivateKey: cID.Private[:]}))(t)
	return []ssDev{
		{name: "B1", g: newSSGoDevice(b, bID, 1)},
		{name: "B2", g: newSSGoDevice(b, bID, 2)},
		{name: "C1", lib: c1},
		{name: "C2", lib: c2},
		{name: "D3", g: newSSGoDevice(d, must(curve.GenerateKeyPair(rand.Reader))(t), 3)},
	}
}

func (d ssDev) regID() uint32 {
	if d.g != nil {
		return d.g.regID
	}
	return d.lib.RegistrationID
}

func (d ssDev) identityKey() []byte {
	if d.g != nil {
		return d.g.identity.Public.Bytes()
	}
	return d.lib.IdentityKey
}

type ssSplit struct {
	Recipients []struct {
		ServiceID string `json:"serviceId"`
		Devices   []struct {
			DeviceID       uint32 `json:"deviceId"`
			RegistrationID uint32 `json:"registrationId"`
		} `json:"devices"`
		Message []byte `json:"message"`
	} `json:"recipients"`
	ExcludedRecipients     []string `json:"excludedRecipients"`
	SingleRecipientMessage []byte   `json:"singleRecipientMessage"`
}

// ssSplitBoth splits a sent message with Go and with libsignal, checks that
// both list the same recipients, devices and registration ids as devs (and
// the excluded ids), and that the received messages are byte-identical.
// It returns the received message per account name.
func ssSplitBoth(t *testing.T, o *Oracle, sent []byte, devs []ssDev, excluded []string) map[string][]byte {
	t.Helper()
	m := must(sealedsender.ParseSentMessage(sent))(t)
	var lib ssSplit
	check(t, o.Call("sealedMultiSplit", map[string]any{"ciphertext": sent}, &lib))
	goRs := m.Recipients()
	if len(goRs) != len(lib.Recipients) {
		t.Fatalf("Go lists %d recipients, libsignal %d", len(goRs), len(lib.Recipients))
	}
	out := map[string][]byte{}
	for i, r := range goRs {
		lr := lib.Recipients[i]
		if r.ServiceID.String() != lr.ServiceID {
			t.Fatalf("recipient %d: Go %s, libsignal %s", i, r.ServiceID, lr.ServiceID)
		}
		if len(r.Devices) != len(lr.Devices) {
			t.Fatalf("%s: Go %d devices, libsignal %d", lr.ServiceID, len(r.Devices), len(lr.Devices))
		}
		for j, d := range r.Devices {
			if d.ID != lr.Devices[j].DeviceID || d.RegistrationID != lr.Devices[j].RegistrationID {
				t.Fatalf("%s device %d: Go %+v, libsignal %+v", lr.ServiceID, j, d, lr.Devices[j])
			}
		}
		msg := must(m.MessageFor(r.ServiceID))(t)
		if !bytes.Equal(msg, lr.Message) {
			t.Fatalf("%s: received messages differ\n Go  %x\n lib %x", lr.ServiceID, msg, lr.Message)
		}
		out[lr.ServiceID] = msg
	}
	// Every device is listed, under its account, with its registration id.
	for _, d := range devs {
		r, ok := m.Recipient(must(sealedsender.ParseServiceID(d.addr().Name))(t))
		if !ok || !slices.Contains(r.Devices, sealedsender.Device{ID: d.addr().DeviceID, RegistrationID: d.regID()}) {
			t.Fatalf("%s missing from the sent message: %+v", d, r)
		}
	}
	var goEx []string
	for _, x := range m.Excluded() {
		goEx = append(goEx, x.String())
	}
	if !slices.Equal(goEx, excluded) || !slices.Equal(lib.ExcludedRecipients, excluded) {
		t.Fatalf("excluded: Go %v, libsignal %v, want %v", goEx, lib.ExcludedRecipients, excluded)
	}
	return out
}

type ssOpenedUSMC struct {
	Type              int    `json:"type"`
	Contents          []byte `json:"contents"`
	SenderCertificate []byte `json:"senderCertificate"`
	SenderUUID        string `json:"senderUuid"`
	DeviceID          uint32 `json:"deviceId"`
	ContentHint       uint32 `json:"contentHint"`
	GroupID           []byte `json:"groupId"`
}

// ssOpenV2 makes d open its received message rm (the sealed layer only) and
// returns the inner message type and bytes.
func ssOpenV2(t *testing.T, o *Oracle, d ssDev, rm []byte) (int, []byte, error) {
	t.Helper()
	if d.g != nil {
		c, err := sealedsender.Decrypt(rm, d.g.identity)
		if err != nil {
			return 0, nil, err
		}
		return int(c.Type), c.Contents, nil
	}
	var r ssOpenedUSMC
	err := o.Call("sealedOpen", map[string]any{"party": d.lib.Party, "ciphertext": rm}, &r)
	return r.Type, r.Contents, err
}

// ssDecryptV2 makes d decrypt rm completely (certificate, inner message).
func ssDecryptV2(t *testing.T, o *Oracle, d ssDev, rm []byte, root curve.PublicKey) (string, error) {
	t.Helper()
	if d.g != nil {
		r, err := sealedsender.DecryptMessage(sessCtx, d.g.st, rm, []curve.PublicKey{root}, ssValidAt, "")
		if err != nil {
			return "", err
		}
		return string(r.Plaintext), nil
	}
	r, err := ssLibOpen(o, d.lib, rm, root, ssValidAt)
	return string(r.Plaintext), err
}

// ssDeliver gives every device its account's received message: each opens
// the sealed layer and sees the same inner message; target decrypts it.
func ssDeliver(t *testing.T, o *Oracle, msgs map[string][]byte, devs []ssDev, target int, root curve.PublicKey, want string, wantType int) {
	t.Helper()
	var inner []byte
	for i, d := range devs {
		rm := msgs[d.addr().Name]
		typ, contents, err := ssOpenV2(t, o, d, rm)
		if err != nil {
			t.Fatalf("%s cannot open its message: %v", d, err)
		}
		if typ != wantType || inner != nil && !bytes.Equal(contents, inner) {
			t.Fatalf("%s: inner type %d (want %d), contents differ: %v", d, typ, wantType, inner != nil)
		}
		inner = contents
		if i == target {
			pt, err := ssDecryptV2(t, o, d, rm, root)
			if err != nil || pt != want {
				t.Fatalf("%s decrypted %q, %v; want %q", d, pt, err, want)
			}
		}
	}
}

// ssAck makes every device answer sender over the 1:1 session, so that
// the sender's next messages are Whisper messages.
func ssAck(t *testing.T, o *Oracle, devs []ssDev, sender Address, senderGo *sessGo, senderLib Party) {
	t.Helper()
	for _, d := range devs {
		var c Ciphertext
		if d.g != nil {
			c = d.g.send(t, sender, "ack", TypeWhisper)
		} else {
			c = sessLibSend(t, o, d.lib, sender, "ack", TypeWhisper)
		}
		if senderGo != nil {
			senderGo.receive(t, d.addr(), c, "ack")
		} else {
			sessLibReceive(t, o, senderLib, d.addr(), c, "ack")
		}
	}
}

func ssAddrs(devs []ssDev) []Address {
	var out []Address
	for _, d := range devs {
		out = append(out, d.addr())
	}
	return out
}

func ssLibMultiSeal(t *testing.T, o *Oracle, from Party, devs []ssDev, to Address, cert []byte, msg string, excluded []string) []byte {
	t.Helper()
	var r struct {
		Ciphertext []byte `json:"ciphertext"`
	}
	check(t, o.Call("sealedMultiEncrypt", map[string]any{"party": from.Party, "recipients": ssAddrs(devs), "excludedRecipients": excluded,
		"peer": to, "senderCertificate": cert, "plaintext": []byte(msg)}, &r))
	if r.Ciphertext[0] != sealedsender.VersionV2ServiceID {
		t.Fatalf("libsignal sent version %#x", r.Ciphertext[0])
	}
	return r.Ciphertext
}

func ssGoMultiSeal(t *testing.T, g *sessGo, devs []ssDev, to Address, cert *sealedsender.SenderCertificate, msg string, excluded []string) ([]byte, int) {
	t.Helper()
	c := must(session.Encrypt(sessCtx, g.st, sessAddr(to), []byte(msg), sessNow))(t)
	var addrs []session.Address
	for _, a := range ssAddrs(devs) {
		addrs = append(addrs, sessAddr(a))
	}
	rs := must(sealedsender.RecipientsFromSessions(sessCtx, g.st, addrs))(t)
	var ex []sealedsender.ServiceID
	for _, x := range excluded {
		ex = append(ex, must(sealedsender.ParseServiceID(x))(t))
	}
	sent := must(sealedsender.EncryptMulti(rand.Reader, &sealedsender.Content{Type: uint8(c.Type), Sender: cert, Contents: c.Body}, g.identity, rs, ex))(t)
	return sent, int(c.Type)
}

func TestSealedSenderV2LibsignalToGo(t *testing.T) {
	o := Start(t)
	s := newSSServer(t)
	alice := sessNewLib(t, o, 1)
	_, cert := s.libIssue(t, o, alice.Name, "", alice.DeviceID, alice.IdentityKey, ssExpires)
	devs := ssFiveDevices(t, o)
	for _, d := range devs {
		if d.g != nil {
			d.g.libStart(t, o, alice, true)
		} else {
			check(t, o.ProcessBundle(alice.Party, d.addr(), must(o.Bundle(d.lib.Party, true))(t)))
		}
	}
	excluded := []string{sessName(), "PNI:" + sessName()}

	// Every device in turn is the target of the inner 1:1 message; all five
	// get the same upload. First PreKey messages, then (after the devices
	// answered) Whisper messages.
	for _, round := range []struct {
		typ  int
		name string
	}{{TypePreKey, "prekey"}, {TypeWhisper, "whisper"}} {
		for i, d := range devs {
			msg := fmt.Sprintf("%s to %s", round.name, d)
			sent := ssLibMultiSeal(t, o, alice, devs, d.addr(), cert, msg, excluded)
			msgs := ssSplitBoth(t, o, sent, devs, excluded)
			ssDeliver(t, o, msgs, devs, i, s.root.Public, msg, round.typ)
		}
		if round.typ == TypePreKey {
			ssAck(t, o, devs, alice.Address(), nil, alice)
		}
	}

	// Tampering with one recipient's key material (C, then AT) fails for
	// that account only; the shared body fails for all.
	sent := ssLibMultiSeal(t, o, alice, devs, devs[4].addr(), cert, "tamper", nil)
	ssTamper(t, o, sent, devs, s.root.Public, "tamper")
}

// ssTamper flips a byte of account C's C, of its AT, and of the shared
// body of sent, and checks who can still open what (target: the last
// device, which then decrypts the untouched message).
func ssTamper(t *testing.T, o *Oracle, sent []byte, devs []ssDev, root curve.PublicKey, want string) {
	t.Helper()
	victim := devs[2].addr().Name // account C, two libsignal devices
	good := ssSplitBoth(t, o, sent, devs, nil)
	// Find C's key material in the upload: it is the 48 bytes after its
	// device list, which the split copies after the version byte.
	at := bytes.Index(sent, good[victim][1:1+48])
	if at < 0 {
		t.Fatal("key material not found")
	}
	shared := len(sent) - (len(good[victim]) - 1 - 48)
	for _, c := range []struct {
		name string
		pos  int
		all  bool
	}{{"C", at + 5, false}, {"AT", at + 40, false}, {"body", shared + 40, true}} {
		bad := bytes.Clone(sent)
		bad[c.pos] ^= 0x10
		msgs := ssSplitBoth(t, o, bad, devs, nil)
		for _, d := range devs {
			_, _, err := ssOpenV2(t, o, d, msgs[d.addr().Name])
			hit := c.all || d.addr().Name == victim
			if hit && err == nil {
				t.Fatalf("%s: %s accepted a message with a tampered %s", c.name, d, c.name)
			}
			if !hit && err != nil {
				t.Fatalf("%s: %s refused its untouched part: %v", c.name, d, err)
			}
			if hit && d.g != nil && !errors.Is(err, sealedsender.ErrInvalidMessage) {
				t.Fatalf("%s: Go error %v", c.name, err)
			}
		}
	}
	pt, err := ssDecryptV2(t, o, devs[len(devs)-1], good[devs[len(devs)-1].addr().Name], root)
	if err != nil || pt != want {
		t.Fatalf("untampered: %q %v", pt, err)
	}
}

func TestSealedSenderV2GoToLibsignal(t *testing.T) {
	o := Start(t)
	s := newSSServer(t)
	alice := newSessGo(t, 1)
	cert := s.issue(t, alice.addr.Name, alice.addr.DeviceID, alice.identity.Public.Bytes(), ssExpires)
	devs := ssFiveDevices(t, o)
	for _, d := range devs {
		var b Bundle
		if d.g != nil {
			b = d.g.publish(t, true)
		} else {
			b = must(o.Bundle(d.lib.Party, true))(t)
		}
		check(t, session.ProcessBundle(sessCtx, alice.st, sessAddr(d.addr()), sessFromOracle(t, b), sessNow, rand.Reader))
	}
	excluded := []string{"PNI:" + sessName()}
	for _, round := range []struct {
		typ  int
		name string
	}{{TypePreKey, "prekey"}, {TypeWhisper, "whisper"}} {
		for i, d := range devs {
			msg := fmt.Sprintf("%s to %s", round.name, d)
			sent, typ := ssGoMultiSeal(t, alice, devs, d.addr(), cert, msg, excluded)
			if typ != round.typ {
				t.Fatalf("inner type %d", typ)
			}
			msgs := ssSplitBoth(t, o, sent, devs, excluded)
			ssDeliver(t, o, msgs, devs, i, s.root.Public, msg, round.typ)
		}
		if round.typ == TypePreKey {
			ssAck(t, o, devs, alice.ia(), alice, Party{})
		}
	}
	sent, _ := ssGoMultiSeal(t, alice, devs, devs[4].addr(), cert, "tamper", nil)
	ssTamper(t, o, sent, devs, s.root.Public, "tamper")

	// One recipient: libsignal's single-recipient helper cuts the same bytes.
	sent, _ = ssGoMultiSeal(t, alice, devs[2:3], devs[2].addr(), cert, "single", nil)
	var lib ssSplit
	check(t, o.Call("sealedMultiSplit", map[string]any{"ciphertext": sent}, &lib))
	goSingle := must(sealedsender.SingleRecipientMessage(sent))(t)
	if !bytes.Equal(goSingle, lib.SingleRecipientMessage) || !bytes.Equal(goSingle, lib.Recipients[0].Message) {
		t.Fatal("single-recipient messages differ")
	}
	pt, err := ssDecryptV2(t, o, devs[2], goSingle, s.root.Public)
	if err != nil || pt != "single" {
		t.Fatalf("%q %v", pt, err)
	}
}

// ssSameSplit parses sent with Go and with libsignal and checks that they
// agree: both refuse it, or both list the same recipients, devices and
// excluded ids and cut byte-identical received messages. It reports
// whether the message was accepted.
func ssSameSplit(t *testing.T, o *Oracle, sent []byte) bool {
	t.Helper()
	m, goErr := sealedsender.ParseSentMessage(sent)
	var lib ssSplit
	libErr := o.Call("sealedMultiSplit", map[string]any{"ciphertext": sent}, &lib)
	if (goErr == nil) != (libErr == nil) {
		t.Fatalf("%x:\n Go %v\n libsignal %v", sent, goErr, libErr)
	}
	if goErr != nil {
		if !errors.Is(goErr, sealedsender.ErrInvalidSentMessage) && !errors.Is(goErr, sealedsender.ErrUnknownVersion) {
			t.Fatalf("untyped error %v", goErr)
		}
		return false
	}
	rs := m.Recipients()
	if len(rs) != len(lib.Recipients) {
		t.Fatalf("%x: Go %d recipients, libsignal %d", sent, len(rs), len(lib.Recipients))
	}
	for i, r := range rs {
		lr := lib.Recipients[i]
		var devs []uint32
		var libDevs []uint32
		for j, d := range r.Devices {
			devs = append(devs, d.ID, d.RegistrationID)
			libDevs = append(libDevs, lr.Devices[j].DeviceID, lr.Devices[j].RegistrationID)
		}
		if r.ServiceID.String() != lr.ServiceID || !slices.Equal(devs, libDevs) || !bytes.Equal(must(m.MessageFor(r.ServiceID))(t), lr.Message) {
			t.Fatalf("%x: recipient %d differs: Go %s %v, libsignal %s %v", sent, i, r.ServiceID, devs, lr.ServiceID, libDevs)
		}
	}
	var ex []string
	for _, x := range m.Excluded() {
		ex = append(ex, x.String())
	}
	if !slices.Equal(ex, lib.ExcludedRecipients) {
		t.Fatalf("excluded: Go %v, libsignal %v", ex, lib.ExcludedRecipients)
	}
	single, err := sealedsender.SingleRecipientMessage(sent)
	if (err == nil) != (lib.SingleRecipientMessage != nil) || !bytes.Equal(single, lib.SingleRecipientMessage) {
		t.Fatalf("single recipient: Go %x %v, libsignal %x", single, err, lib.SingleRecipientMessage)
	}
	return true
}

// The server-side parsers agree on libsignal's own uploads (including a
// recipient whose devices are not adjacent, which libsignal encodes twice),
// on hand-made edge cases, and on every truncation and many one-byte
// corruptions of the recipient table.
func TestSealedSenderV2ParsersAgree(t *testing.T) {
	o := Start(t)
	s := newSSServer(t)
	alice := sessNewLib(t, o, 1)
	_, cert := s.libIssue(t, o, alice.Name, "", alice.DeviceID, alice.IdentityKey, ssExpires)
	devs := ssFiveDevices(t, o)
	for _, d := range devs {
		if d.g != nil {
			d.g.libStart(t, o, alice, true)
		} else {
			check(t, o.ProcessBundle(alice.Party, d.addr(), must(o.Bundle(d.lib.Party, true))(t)))
		}
	}
	// B1, C1, B2, D3, C2: B and C each appear twice, and every device
	// still decrypts (the target fully, the others the sealed layer).
	order := []ssDev{devs[0], devs[2], devs[1], devs[4], devs[3]}
	excluded := []string{"PNI:" + sessName()}
	sent := ssLibMultiSeal(t, o, alice, order, devs[1].addr(), cert, "interleaved", excluded)
	if !ssSameSplit(t, o, sent) {
		t.Fatal("libsignal's upload refused")
	}
	ssDeliver(t, o, ssSplitBoth(t, o, sent, devs, excluded), devs, 1, s.root.Public, "interleaved", TypePreKey)

	a := must(sealedsender.ParseServiceID(devs[0].addr().Name))(t)
	km := bytes.Repeat([]byte{0xAB}, 48)
	e := bytes.Repeat([]byte{9}, 32)
	for _, c := range []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"uuid version", slices.Concat([]byte{0x22, 1}, a[1:], []byte{1, 0, 5}, km, e), true},
		{"padded count", slices.Concat([]byte{0x23, 0x81, 0x00}, a[1:], []byte{1, 0, 5}, km, e), true},
		{"unused bit", slices.Concat([]byte{0x23, 1}, a[:], []byte{1, 0x40, 5}, km, e), true},
		{"no recipients", slices.Concat([]byte{0x23, 0}, e), true},
		{"only excluded", slices.Concat([]byte{0x23, 1}, a[:], []byte{0}, e), true},
		{"empty body", slices.Concat([]byte{0x23, 1}, a[:], []byte{1, 0, 5}, km, e), true},
		{"short key", slices.Concat([]byte{0x23, 1}, a[:], []byte{1, 0, 5}, km, e[:31]), false},
		{"device 0 in a list", slices.Concat([]byte{0x23, 1}, a[:], []byte{1, 0x80, 5, 0}, km, e), false},
		{"device 128", slices.Concat([]byte{0x23, 1}, a[:], []byte{128, 0, 5}, km, e), false},
		{"kind 2", slices.Concat([]byte{0x23, 1}, []byte{2}, a[1:], []byte{1, 0, 5}, km, e), false},
		{"excluded twice", slices.Concat([]byte{0x23, 2}, a[:], []byte{0}, a[:], []byte{0}, e), false},
		{"version 0x21", slices.Concat([]byte{0x21, 0}, e), false},
		{"empty", nil, false},
	} {
		if c.b == nil {
			c.b = []byte{} // the oracle wants a (possibly empty) byte string
		}
		if got := ssSameSplit(t, o, c.b); got != c.ok {
			t.Fatalf("%s: accepted %v, want %v", c.name, got, c.ok)
		}
	}

	// Truncations and corruptions of the part before the shared body.
	m := must(sealedsender.ParseSentMessage(sent))(t)
	rm := must(m.MessageFor(m.Recipients()[0].ServiceID))(t)
	end := len(sent) - (len(rm) - 1 - 48) + 32 // the recipient table and E
	accepted := 0
	for n := range end {
		if ssSameSplit(t, o, sent[:n]) {
			accepted++
		}
	}
	for i := range end {
		for _, f := range []func(byte) byte{func(b byte) byte { return b ^ 0x80 }, func(byte) byte { return 0 }, func(byte) byte { return 0xFF }, func(b byte) byte { return b + 1 }} {
			bad := bytes.Clone(sent)
			bad[i] = f(bad[i])
			if ssSameSplit(t, o, bad) {
				accepted++
			}
		}
	}
	t.Logf("%d corrupted uploads checked, %d accepted by both", end*5, accepted)
}
