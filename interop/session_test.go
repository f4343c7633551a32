package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/kem"
	"github.com/parley-im/parley/e2ee/session"
	"github.com/parley-im/parley/e2ee/spqr"
	"google.golang.org/protobuf/encoding/protowire"
)

// Interop of e2ee/session (PQXDH + Double Ratchet, message version 4) with
// libsignal 0.103.0 through the oracle; the numbers refer to the test plan in
// the research note, section 7.4. Both sides run SPQR (the Triple Ratchet)
// with the default policy, like 0.92 and later: SPQR is required, the first
// message already carries an SPQR key, and a peer without SPQR cannot talk
// (TestSessionWireLayout checks that with a Go side set to SPQROff). Since
// 0.91 the SignalMessage inside a PreKeySignalMessage names both ends
// (addresses, field 6). spqr_test.go has the SPQR cases.

type sessFieldElement = field.Element

var sessCtx = context.Background()

// sessNow is the clock of both sides in these tests.
var sessNow = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

var sessSeq atomic.Uint32

// sessName returns a fresh ACI-shaped name, unique within the process.
func sessName() string {
	n := sessSeq.Add(1)
	return fmt.Sprintf("%08x-5e55-4000-8000-%012x", n, time.Now().UnixNano()&0xffffffffffff)
}

// sessAddresses is the addresses field libsignal 0.91 and later put into
// the SignalMessage of a PreKeySignalMessage from sender to recipient:
// ServiceIdFixedWidth(sender) ‖ device ‖ ServiceIdFixedWidth(recipient) ‖
// device, an ACI being 0x00 ‖ its 16 UUID bytes. Written out here rather
// than taken from e2ee/session so that the test does not check the code
// against itself.
func sessAddresses(t *testing.T, sender, recipient Address) []byte {
	t.Helper()
	var out []byte
	for _, a := range []Address{sender, recipient} {
		u, err := hex.DecodeString(strings.ReplaceAll(a.Name, "-", ""))
		if err != nil || len(u) != 16 {
			t.Fatalf("sessAddresses: %q is not a UUID", a.Name)
		}
		out = append(append(append(out, 0x00), u...), byte(a.DeviceID))
	}
	return out
}

// sessGo is one device on the Go side.
type sessGo struct {
	addr     session.Address
	store    *session.MemoryStore
	st       session.Stores
	identity curve.KeyPair
	regID    uint32
	nextID   uint32
}

func newSessGo(t *testing.T, device uint32) *sessGo {
	t.Helper()
	id, err := curve.GenerateKeyPair(rand.Reader)
	check(t, err)
	g := &sessGo{
		addr:     session.Address{Name: sessName(), DeviceID: device},
		identity: id,
		regID:    1 + uint32(mrand.IntN(16380)),
		nextID:   1,
	}
	g.store = session.NewMemoryStore(id, g.regID)
	g.st = g.store.Stores(g.addr)
	return g
}

func (g *sessGo) ia() Address { return Address{Name: g.addr.Name, DeviceID: g.addr.DeviceID} }

func sessAddr(a Address) session.Address { return session.Address{Name: a.Name, DeviceID: a.DeviceID} }

// publish makes fresh prekeys and returns the bundle as the oracle takes it.
func (g *sessGo) publish(t *testing.T, oneTime bool) Bundle {
	t.Helper()
	id := g.nextID
	g.nextID++
	spk, err := session.NewSignedPreKey(rand.Reader, g.identity, id, sessNow)
	check(t, err)
	ky, err := session.NewKyberPreKey(rand.Reader, g.identity, 100+id, sessNow, false)
	check(t, err)
	g.store.StoreSignedPreKey(spk)
	g.store.StoreKyberPreKey(ky)
	var pre *session.PreKeyRecord
	if oneTime {
		r, err := session.NewPreKey(rand.Reader, 200+id)
		check(t, err)
		g.store.StorePreKey(r)
		pre = &r
	}
	return sessToOracle(session.NewBundle(g.regID, g.addr.DeviceID, g.identity.Public, pre, spk, ky))
}

func sessToOracle(b session.Bundle) Bundle {
	out := Bundle{
		RegistrationID:        b.RegistrationID,
		DeviceID:              b.DeviceID,
		SignedPreKeyID:        b.SignedPreKeyID,
		SignedPreKey:          b.SignedPreKey.Bytes(),
		SignedPreKeySignature: b.SignedPreKeySignature,
		IdentityKey:           b.IdentityKey.Bytes(),
		KyberPreKeyID:         b.KyberPreKeyID,
		KyberPreKey:           b.KyberPreKey.Bytes(),
		KyberPreKeySignature:  b.KyberPreKeySignature,
	}
	if b.PreKey != nil {
		id := b.PreKeyID
		out.PreKeyID = &id
		out.PreKey = b.PreKey.Bytes()
	}
	return out
}

func sessFromOracle(t *testing.T, b Bundle) session.Bundle {
	t.Helper()
	out := session.Bundle{
		RegistrationID:        b.RegistrationID,
		DeviceID:              b.DeviceID,
		SignedPreKeyID:        b.SignedPreKeyID,
		SignedPreKeySignature: b.SignedPreKeySignature,
		KyberPreKeyID:         b.KyberPreKeyID,
		KyberPreKeySignature:  b.KyberPreKeySignature,
	}
	var err error
	out.SignedPreKey, err = curve.ParsePublicKey(b.SignedPreKey)
	check(t, err)
	out.IdentityKey, err = curve.ParsePublicKey(b.IdentityKey)
	check(t, err)
	out.KyberPreKey, err = kem.ParsePublicKey(b.KyberPreKey)
	check(t, err)
	if b.PreKeyID != nil {
		pk, err := curve.ParsePublicKey(b.PreKey)
		check(t, err)
		out.PreKeyID = *b.PreKeyID
		out.PreKey = &pk
	}
	return out
}

// goStart makes g start a session with a libsignal party.
func (g *sessGo) goStart(t *testing.T, o *Oracle, peer Party, oneTime bool) Bundle {
	t.Helper()
	b := must(o.Bundle(peer.Party, oneTime))(t)
	check(t, session.ProcessBundle(sessCtx, g.st, sessAddr(peer.Address()), sessFromOracle(t, b), sessNow, rand.Reader))
	return b
}

// libStart makes a libsignal party start a session with g.
func (g *sessGo) libStart(t *testing.T, o *Oracle, from Party, oneTime bool) Bundle {
	t.Helper()
	b := g.publish(t, oneTime)
	check(t, o.Call("processBundle", map[string]any{"party": from.Party, "peer": g.ia(), "bundle": b, "now": sessNow.UnixMilli()}, nil))
	return b
}

func (g *sessGo) send(t *testing.T, to Address, msg string, wantType int) Ciphertext {
	t.Helper()
	c, err := session.Encrypt(sessCtx, g.st, sessAddr(to), []byte(msg), sessNow)
	if err != nil {
		t.Fatalf("Go encrypt %.20q: %v", msg, err)
	}
	if int(c.Type) != wantType {
		t.Fatalf("Go encrypt %.20q: type %d, want %d", msg, c.Type, wantType)
	}
	return Ciphertext{Type: int(c.Type), Ciphertext: c.Body}
}

func (g *sessGo) receive(t *testing.T, from Address, c Ciphertext, want string) {
	t.Helper()
	got, err := session.Decrypt(sessCtx, g.st, sessAddr(from), session.Ciphertext{Type: session.MessageType(c.Type), Body: c.Ciphertext})
	if err != nil {
		t.Fatalf("Go decrypt (want %.20q): %v", want, err)
	}
	if string(got) != want {
		t.Fatalf("Go decrypted %.20q, want %.20q", got, want)
	}
}

// record is g's stored session with peer, encoded (nil if none).
func (g *sessGo) record(t *testing.T, peer Address) []byte {
	t.Helper()
	rec, err := g.store.LoadSession(sessCtx, sessAddr(peer))
	check(t, err)
	if rec == nil {
		return nil
	}
	b, err := rec.MarshalBinary()
	check(t, err)
	return b
}

// refuses checks that g rejects c with want (any error if want is nil) and
// that its session with from did not change.
func (g *sessGo) refuses(t *testing.T, from Address, c Ciphertext, want error) {
	t.Helper()
	before := g.record(t, from)
	_, err := session.Decrypt(sessCtx, g.st, sessAddr(from), session.Ciphertext{Type: session.MessageType(c.Type), Body: c.Ciphertext})
	if err == nil || want != nil && !errors.Is(err, want) {
		t.Fatalf("Go decrypt: %v, want %v", err, want)
	}
	if !bytes.Equal(before, g.record(t, from)) {
		t.Fatal("Go: a rejected message changed the session")
	}
}

// sessLibRefuses checks that libsignal rejects c and that its session record
// did not change; it returns the error class.
func sessLibRefuses(t *testing.T, o *Oracle, at Party, from Address, c Ciphertext) string {
	t.Helper()
	before := must(o.SessionInfo(at.Party, from))(t)
	_, err := o.Decrypt(at.Party, from, c)
	class := oracleClass(t, err)
	after := must(o.SessionInfo(at.Party, from))(t)
	if !bytes.Equal(before.Record, after.Record) {
		t.Fatal("libsignal: a rejected message changed the session")
	}
	return class
}

func sessLibSend(t *testing.T, o *Oracle, from Party, to Address, msg string, wantType int) Ciphertext {
	t.Helper()
	c := must(o.Encrypt(from.Party, to, []byte(msg)))(t)
	if c.Type != wantType {
		t.Fatalf("libsignal encrypt %.20q: type %d, want %d", msg, c.Type, wantType)
	}
	return c
}

func sessLibReceive(t *testing.T, o *Oracle, at Party, from Address, c Ciphertext, want string) {
	t.Helper()
	got, err := o.Decrypt(at.Party, from, c)
	if err != nil {
		t.Fatalf("libsignal decrypt (want %.20q): %v", want, err)
	}
	if string(got) != want {
		t.Fatalf("libsignal decrypted %.20q, want %.20q", got, want)
	}
}

func sessNewLib(t *testing.T, o *Oracle, device uint32) Party {
	t.Helper()
	return must(o.NewParty(sessName(), device))(t)
}

// sessTags lists the field numbers of a protobuf body in order.
func sessTags(t *testing.T, b []byte) []protowire.Number {
	t.Helper()
	var out []protowire.Number
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatal("sessTags: bad tag")
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			t.Fatal("sessTags: bad field")
		}
		out = append(out, num)
		b = b[n+m:]
	}
	return out
}

// sessRewriteSignal re-encodes a SignalMessage (version ‖ protobuf ‖ MAC) with
// some fields replaced, keeping version byte and MAC: what an attacker
// without the keys can do.
func sessRewriteSignal(t *testing.T, msg []byte, set map[protowire.Number]any) []byte {
	t.Helper()
	body := rewriteFields(t, msg[1:len(msg)-8], set)
	out := append([]byte{msg[0]}, body...)
	return append(out, msg[len(msg)-8:]...)
}

// sessRewritePreKey re-encodes a PreKeySignalMessage (version ‖ protobuf) with
// some fields replaced (its outer fields are not MAC-covered).
func sessRewritePreKey(t *testing.T, msg []byte, set map[protowire.Number]any) []byte {
	t.Helper()
	return append([]byte{msg[0]}, rewriteFields(t, msg[1:], set)...)
}

// sessDropFields re-encodes a protobuf body without the given fields.
func sessDropFields(t *testing.T, msg []byte, drop ...protowire.Number) []byte {
	t.Helper()
	var out []byte
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		m := protowire.ConsumeFieldValue(num, typ, msg[n:])
		if n < 0 || m < 0 {
			t.Fatal("sessDropFields: bad field")
		}
		if !slices.Contains(drop, num) {
			out = append(out, msg[:n+m]...)
		}
		msg = msg[n+m:]
	}
	return out
}

// 6 and 10: libsignal starts the session, Go is Bob; several PreKey messages
// before the first answer, delivered out of order; then both ways.
func TestSessionLibsignalToGo(t *testing.T) {
	o := Start(t)
	for _, oneTime := range []bool{true, false} {
		t.Run(fmt.Sprintf("oneTime=%v", oneTime), func(t *testing.T) {
			alice := sessNewLib(t, o, 1)
			bob := newSessGo(t, 2)
			b := bob.libStart(t, o, alice, oneTime)

			var first []Ciphertext
			for i := range 4 {
				first = append(first, sessLibSend(t, o, alice, bob.ia(), fmt.Sprint("a", i), TypePreKey))
			}
			in := must(o.Inspect(first[0]))(t)
			if (in.PreKeyID != nil) != oneTime || in.RegistrationID != alice.RegistrationID || in.SignedPreKeyID != b.SignedPreKeyID {
				t.Fatalf("PreKey message %+v", in)
			}
			if want := sessAddresses(t, alice.Address(), bob.ia()); !bytes.Equal(in.Message.Addresses, want) {
				t.Fatalf("libsignal's addresses %x, want %x", in.Message.Addresses, want)
			}
			for _, i := range []int{2, 0, 3, 1} {
				bob.receive(t, alice.Address(), first[i], fmt.Sprint("a", i))
			}
			if oneTime {
				if _, err := bob.store.LoadPreKey(sessCtx, *b.PreKeyID); !errors.Is(err, session.ErrNoPreKey) {
					t.Fatalf("the one-time prekey was not removed: %v", err)
				}
			}
			if _, err := bob.store.LoadKyberPreKey(sessCtx, b.KyberPreKeyID); !errors.Is(err, session.ErrNoPreKey) {
				t.Fatalf("the Kyber prekey was not marked used: %v", err)
			}
			rec := must(bob.store.LoadSession(sessCtx, sessAddr(alice.Address())))(t)
			if id, _ := rec.RemoteRegistrationID(); id != alice.RegistrationID {
				t.Fatalf("remote registration id %d, want %d", id, alice.RegistrationID)
			}
			if k, _ := rec.RemoteIdentity(); !bytes.Equal(k.Bytes(), alice.IdentityKey) {
				t.Fatal("remote identity is not alice's")
			}

			// Bob answers; libsignal then sends plain SignalMessages.
			for i := range 3 {
				sessLibReceive(t, o, alice, bob.ia(), bob.send(t, alice.Address(), fmt.Sprint("b", i), TypeWhisper), fmt.Sprint("b", i))
			}
			for i := range 3 {
				c := sessLibSend(t, o, alice, bob.ia(), fmt.Sprint("c", i), TypeWhisper)
				bob.receive(t, alice.Address(), c, fmt.Sprint("c", i))
			}
			// A duplicate from libsignal is refused without harm.
			bob.refuses(t, alice.Address(), first[1], session.ErrDuplicate)
		})
	}
}

// libsignal keeps offering SPQR while nobody answers; a long unanswered
// run, delivered out of order, must still decrypt (the pq_ratchet chunks of
// an offer carry no key), and so must messages it sent before it saw our
// answer.
func TestSessionLibsignalLongUnanswered(t *testing.T) {
	o := Start(t)
	alice := sessNewLib(t, o, 1)
	bob := newSessGo(t, 1)
	bob.libStart(t, o, alice, true)
	var cs []Ciphertext
	for i := range 300 {
		cs = append(cs, sessLibSend(t, o, alice, bob.ia(), fmt.Sprint(i), TypePreKey))
	}
	epochs := map[string]int{}
	for _, c := range cs {
		pq := must(o.Inspect(c))(t).Message.PQRatchet
		if len(pq) >= 4 {
			epochs[fmt.Sprintf("%x", pq[:4])]++
		}
	}
	t.Logf("pq_ratchet headers (version, epoch, index, type) seen: %v", epochs)
	r := mrand.New(mrand.NewPCG(10, 10))
	perm := r.Perm(len(cs))
	for _, i := range perm[:250] {
		bob.receive(t, alice.Address(), cs[i], fmt.Sprint(i))
	}
	sessLibReceive(t, o, alice, bob.ia(), bob.send(t, alice.Address(), "answer", TypeWhisper), "answer")
	for _, i := range perm[250:] {
		bob.receive(t, alice.Address(), cs[i], fmt.Sprint(i))
	}
	for i := range 50 {
		c := sessLibSend(t, o, alice, bob.ia(), fmt.Sprint("after ", i), TypeWhisper)
		bob.receive(t, alice.Address(), c, fmt.Sprint("after ", i))
	}
}

// 7, 10 and 12: Go starts the session, libsignal is Bob.
func TestSessionGoToLibsignal(t *testing.T) {
	o := Start(t)
	for _, oneTime := range []bool{true, false} {
		t.Run(fmt.Sprintf("oneTime=%v", oneTime), func(t *testing.T) {
			alice := newSessGo(t, 3)
			bob := sessNewLib(t, o, 1)
			b := alice.goStart(t, o, bob, oneTime)

			var first []Ciphertext
			for i := range 4 {
				first = append(first, alice.send(t, bob.Address(), fmt.Sprint("a", i), TypePreKey))
			}
			in := must(o.Inspect(first[0]))(t)
			if in.VersionByte != 0x44 || in.RegistrationID != alice.regID || !bytes.Equal(in.IdentityKey, alice.identity.Public.Bytes()) ||
				in.SignedPreKeyID != b.SignedPreKeyID || in.KyberPreKeyID == nil || *in.KyberPreKeyID != b.KyberPreKeyID ||
				len(in.KyberCiphertext) != 1569 || in.KyberCiphertext[0] != 0x08 || (in.PreKeyID != nil) != oneTime ||
				in.Message.Counter != 0 || !bytes.Equal(in.Message.Addresses, sessAddresses(t, alice.ia(), bob.Address())) || in.UnknownFields != nil {
				t.Fatalf("Go's PreKey message as libsignal reads it: %+v", in)
			}
			// SPQR required (libsignal 0.92+): V1, epoch 1, keyed from the first message.
			if pq := must(spqr.Inspect(in.Message.PQRatchet))(t); pq.Version != spqr.V1 || pq.Epoch != 1 || pq.Index == 0 {
				t.Fatalf("Go's first pq_ratchet %+v", pq)
			}
			for _, i := range []int{1, 3, 0, 2} {
				sessLibReceive(t, o, bob, alice.ia(), first[i], fmt.Sprint("a", i))
			}
			// 12: what libsignal's stores saw matches what Go sent.
			used := must(o.KyberUsed(bob.Party))(t)
			if len(used) != 1 || used[0].KyberPreKeyID != b.KyberPreKeyID || used[0].SignedPreKeyID != b.SignedPreKeyID || !bytes.Equal(used[0].BaseKey, in.BaseKey) {
				t.Fatalf("markKyberPreKeyUsed calls %+v", used)
			}
			si := must(o.SessionInfo(bob.Party, alice.ia()))(t)
			if si.RemoteRegistrationID != alice.regID || si.LocalRegistrationID != bob.RegistrationID {
				t.Fatalf("libsignal session info %+v", si)
			}
			if k := sessLibIdentity(t, o, bob.Party, alice.ia()); !bytes.Equal(k, alice.identity.Public.Bytes()) {
				t.Fatal("libsignal did not store alice's identity")
			}

			for i := range 3 {
				c := sessLibSend(t, o, bob, alice.ia(), fmt.Sprint("b", i), TypeWhisper)
				w := must(o.Inspect(c))(t)
				if pq := must(spqr.Inspect(w.PQRatchet))(t); pq.Version != spqr.V1 || pq.Index == 0 || w.Addresses != nil {
					t.Fatalf("libsignal's answer: pq_ratchet %+v, addresses %x; want a keyed SPQR message", pq, w.Addresses)
				}
				alice.receive(t, bob.Address(), c, fmt.Sprint("b", i))
			}
			for i := range 3 {
				c := alice.send(t, bob.Address(), fmt.Sprint("c", i), TypeWhisper)
				sessLibReceive(t, o, bob, alice.ia(), c, fmt.Sprint("c", i))
			}
			if class := sessLibRefuses(t, o, bob, alice.ia(), first[2]); class != "DuplicatedMessage" {
				t.Fatalf("libsignal on a duplicate: %s", class)
			}
		})
	}
}

// sessLibIdentity is the identity libsignal party has stored for peer.
func sessLibIdentity(t *testing.T, o *Oracle, party string, peer Address) []byte {
	t.Helper()
	var r struct {
		IdentityKey []byte `json:"identityKey"`
	}
	check(t, o.Call("identity", map[string]any{"party": party, "peer": peer}, &r))
	return r.IdentityKey
}

// The wire layout: field order, version bytes, pq_ratchet and addresses, the
// same in both implementations. Both require SPQR (libsignal 0.92+): the
// first message already carries a keyed pq_ratchet, and a Go side set to
// SPQROff can talk to libsignal 0.103.0 in neither direction.
func TestSessionWireLayout(t *testing.T) {
	o := Start(t)
	lib := sessNewLib(t, o, 1)
	g := newSessGo(t, 1)
	g.libStart(t, o, lib, true)
	libPK := sessLibSend(t, o, lib, g.ia(), "x", TypePreKey)
	g.receive(t, lib.Address(), libPK, "x")
	goW := g.send(t, lib.Address(), "y", TypeWhisper)
	sessLibReceive(t, o, lib, g.ia(), goW, "y")
	libW := sessLibSend(t, o, lib, g.ia(), "z", TypeWhisper)
	g.receive(t, lib.Address(), libW, "z")

	g2 := newSessGo(t, 1)
	lib2 := sessNewLib(t, o, 1)
	g2.goStart(t, o, lib2, true)
	goPK := g2.send(t, lib2.Address(), "x", TypePreKey)

	pkLib, pkGo := must(o.Inspect(libPK))(t), must(o.Inspect(goPK))(t)
	if !slices.Equal(sessTags(t, libPK.Ciphertext[1:]), sessTags(t, goPK.Ciphertext[1:])) {
		t.Errorf("PreKeySignalMessage field order: libsignal %v, Go %v", sessTags(t, libPK.Ciphertext[1:]), sessTags(t, goPK.Ciphertext[1:]))
	}
	inner := func(c []byte) []byte { return fieldBytes(t, c[1:], 4) }
	libInner, goInner := inner(libPK.Ciphertext), inner(goPK.Ciphertext)
	libTags := sessTags(t, libInner[1:len(libInner)-8])
	if !slices.Equal(libTags, sessTags(t, goInner[1:len(goInner)-8])) || !slices.Contains(libTags, 5) {
		t.Errorf("inner SignalMessage field order: libsignal %v, Go %v", libTags, sessTags(t, goInner[1:len(goInner)-8]))
	}
	if !slices.Equal(sessTags(t, libW.Ciphertext[1:len(libW.Ciphertext)-8]), sessTags(t, goW.Ciphertext[1:len(goW.Ciphertext)-8])) {
		t.Errorf("SignalMessage field order: libsignal %v, Go %v", sessTags(t, libW.Ciphertext[1:len(libW.Ciphertext)-8]), sessTags(t, goW.Ciphertext[1:len(goW.Ciphertext)-8]))
	}
	for name, b := range map[string][]byte{"lib PreKey": libPK.Ciphertext, "Go PreKey": goPK.Ciphertext, "lib inner": libInner,
		"Go inner": goInner, "lib Whisper": libW.Ciphertext, "Go Whisper": goW.Ciphertext} {
		if b[0] != 0x44 {
			t.Errorf("%s: version byte %#x", name, b[0])
		}
	}
	if len(pkLib.Message.PQRatchet) == 0 {
		t.Log("note: libsignal's first message carries no pq_ratchet")
	} else {
		t.Logf("libsignal's PreKey message offers SPQR: pq_ratchet %x…", pkLib.Message.PQRatchet[:min(5, len(pkLib.Message.PQRatchet))])
	}
	for name, pq := range map[string][]byte{"lib Whisper": must(o.Inspect(libW))(t).PQRatchet, "Go Whisper": must(o.Inspect(goW))(t).PQRatchet} {
		if info := must(spqr.Inspect(pq))(t); info.Version != spqr.V1 || info.Index == 0 {
			t.Errorf("%s: pq_ratchet %+v, want a keyed SPQR message", name, info)
		}
	}
	for name, pq := range map[string][]byte{"lib PreKey": pkLib.Message.PQRatchet, "Go PreKey": pkGo.Message.PQRatchet} {
		if info := must(spqr.Inspect(pq))(t); info.Version != spqr.V1 || info.Epoch != 1 || info.Index == 0 {
			t.Errorf("%s: pq_ratchet %+v, want a keyed epoch-1 message", name, info)
		}
	}
	if want := sessAddresses(t, lib.Address(), g.ia()); !bytes.Equal(pkLib.Message.Addresses, want) {
		t.Errorf("libsignal's addresses %x, want %x", pkLib.Message.Addresses, want)
	}
	if want := sessAddresses(t, g2.ia(), lib2.Address()); !bytes.Equal(pkGo.Message.Addresses, want) {
		t.Errorf("Go's addresses %x, want %x", pkGo.Message.Addresses, want)
	}
	for name, a := range map[string][]byte{"lib Whisper": must(o.Inspect(libW))(t).Addresses, "Go Whisper": must(o.Inspect(goW))(t).Addresses} {
		if a != nil {
			t.Errorf("%s carries addresses %x", name, a)
		}
	}

	// A Go side without SPQR (the stage-1 behaviour) cannot talk to
	// libsignal 0.92+ either way (research note E7): libsignal's first
	// message is salted with an SPQR key the Go side does not derive, and
	// libsignal refuses a PreKey message without pq_ratchet.
	g3 := newSessGo(t, 1)
	g3.st.SPQR = session.SPQROff
	lib3 := sessNewLib(t, o, 1)
	g3.libStart(t, o, lib3, true)
	if _, err := session.Decrypt(sessCtx, g3.st, sessAddr(lib3.Address()), session.Ciphertext{Type: session.TypePreKey, Body: sessLibSend(t, o, lib3, g3.ia(), "x", TypePreKey).Ciphertext}); !errors.Is(err, session.ErrBadMAC) {
		t.Errorf("Go without SPQR on libsignal's first message: %v, want ErrBadMAC", err)
	}
	g4 := newSessGo(t, 1)
	g4.st.SPQR = session.SPQROff
	lib4 := sessNewLib(t, o, 1)
	g4.goStart(t, o, lib4, true)
	goPK4 := g4.send(t, lib4.Address(), "x", TypePreKey)
	if slices.Contains(sessTags(t, inner(goPK4.Ciphertext)[1:len(inner(goPK4.Ciphertext))-8]), 5) {
		t.Error("a Go session without SPQR writes field 5")
	}
	if class := sessLibRefuses(t, o, lib4, g4.ia(), goPK4); class == "" {
		t.Error("libsignal accepted a PreKey message without SPQR")
	} else {
		t.Logf("libsignal 0.103.0 on a PreKey message without SPQR: %s", class)
	}
}

// 8: a bad prekey signature in a bundle is refused by both.
func TestSessionBundleSignatures(t *testing.T) {
	o := Start(t)
	for _, which := range []string{"signed prekey", "Kyber prekey"} {
		t.Run(which, func(t *testing.T) {
			corrupt := func(b *Bundle) {
				if which == "signed prekey" {
					b.SignedPreKeySignature = bytes.Clone(b.SignedPreKeySignature)
					b.SignedPreKeySignature[10] ^= 1
				} else {
					b.KyberPreKeySignature = bytes.Clone(b.KyberPreKeySignature)
					b.KyberPreKeySignature[10] ^= 1
				}
			}
			// libsignal's bundle, corrupted, at Go.
			lib := sessNewLib(t, o, 1)
			g := newSessGo(t, 1)
			lb := must(o.Bundle(lib.Party, true))(t)
			corrupt(&lb)
			err := session.ProcessBundle(sessCtx, g.st, sessAddr(lib.Address()), sessFromOracle(t, lb), sessNow, rand.Reader)
			if !errors.Is(err, session.ErrSignature) {
				t.Fatalf("Go: %v, want ErrSignature", err)
			}
			if g.record(t, lib.Address()) != nil {
				t.Fatal("Go stored a session")
			}
			// Go's bundle, corrupted, at libsignal.
			gb := g.publish(t, true)
			corrupt(&gb)
			err = o.ProcessBundle(lib.Party, g.ia(), gb)
			oracleClass(t, err)
			if si := must(o.SessionInfo(lib.Party, g.ia()))(t); si.Exists {
				t.Fatal("libsignal stored a session")
			}
		})
	}
}

// sessTorsioned returns u(P + T2) for the public key u(P), T2 the Edwards point
// of order 2: a valid curve point with a small-order component.
func sessTorsioned(t *testing.T, pub []byte) []byte {
	t.Helper()
	// Recover an Edwards point for u: y = (u − 1)/(u + 1).
	var u [32]byte
	copy(u[:], pub[1:])
	fu, err := new(sessFieldElement).SetBytes(u[:])
	check(t, err)
	one := new(sessFieldElement).One()
	y := new(sessFieldElement).Multiply(new(sessFieldElement).Subtract(fu, one), new(sessFieldElement).Invert(new(sessFieldElement).Add(fu, one)))
	P, err := new(edwards25519.Point).SetBytes(y.Bytes())
	check(t, err)
	t2enc := bytes.Repeat([]byte{0xFF}, 32)
	t2enc[0], t2enc[31] = 0xEC, 0x7F // y = −1, x = 0
	T2, err := new(edwards25519.Point).SetBytes(t2enc)
	check(t, err)
	return append([]byte{0x05}, new(edwards25519.Point).Add(P, T2).BytesMontgomery()...)
}

// 9: malformed session starts are refused by both, and leave no session.
func TestSessionPreKeyRejections(t *testing.T) {
	o := Start(t)
	lib := sessNewLib(t, o, 1)
	g := newSessGo(t, 1)
	g.libStart(t, o, lib, true)
	good := sessLibSend(t, o, lib, g.ia(), "hello", TypePreKey)
	base := must(o.Inspect(good))(t).BaseKey

	// The same manipulations against libsignal, on a Go-made message.
	lib2 := sessNewLib(t, o, 1)
	g2 := newSessGo(t, 1)
	g2.goStart(t, o, lib2, true)
	good2 := g2.send(t, lib2.Address(), "hello", TypePreKey)
	base2 := must(o.Inspect(good2))(t).BaseKey

	pNotReduced := append([]byte{0x05, 0xED}, bytes.Repeat([]byte{0xFF}, 30)...)
	pNotReduced = append(pNotReduced, 0x7F)
	cases := []struct {
		name   string
		edit   func(msg, base []byte) []byte
		goWant error
	}{
		{"torsioned base key", func(m, b []byte) []byte {
			return sessRewritePreKey(t, m, map[protowire.Number]any{2: sessTorsioned(t, b)})
		}, session.ErrInvalidKey},
		{"base key u = p", func(m, b []byte) []byte {
			return sessRewritePreKey(t, m, map[protowire.Number]any{2: pNotReduced})
		}, session.ErrInvalidKey},
		{"version 3", func(m, b []byte) []byte { return append([]byte{0x33}, m[1:]...) }, session.ErrLegacyVersion},
		{"no Kyber fields", func(m, b []byte) []byte { return append([]byte{m[0]}, sessDropFields(t, m[1:], 7, 8)...) }, session.ErrInvalidMessage},
		{"no Kyber ciphertext", func(m, b []byte) []byte { return append([]byte{m[0]}, sessDropFields(t, m[1:], 8)...) }, session.ErrInvalidMessage},
		{"no Kyber prekey id", func(m, b []byte) []byte { return append([]byte{m[0]}, sessDropFields(t, m[1:], 7)...) }, session.ErrInvalidMessage},
		{"Kyber ciphertext flipped", func(m, b []byte) []byte {
			ct := bytes.Clone(fieldBytes(t, m[1:], 8))
			ct[500] ^= 4
			return sessRewritePreKey(t, m, map[protowire.Number]any{8: ct})
		}, session.ErrBadMAC},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g.refuses(t, lib.Address(), Ciphertext{Type: TypePreKey, Ciphertext: tc.edit(good.Ciphertext, base)}, tc.goWant)
			if g.record(t, lib.Address()) != nil {
				t.Fatal("Go stored a session")
			}
			_, err := o.Decrypt(lib2.Party, g2.ia(), Ciphertext{Type: TypePreKey, Ciphertext: tc.edit(good2.Ciphertext, base2)})
			t.Logf("libsignal: %v", err)
			oracleClass(t, err)
			if si := must(o.SessionInfo(lib2.Party, g2.ia()))(t); si.Exists {
				t.Fatal("libsignal stored a session")
			}
		})
	}
	g.receive(t, lib.Address(), good, "hello")
	sessLibReceive(t, o, lib2, g2.ia(), good2, "hello")
}

// 13: a long strict ping-pong (a DH ratchet step every message), in both
// role assignments.
func TestSessionLongPingPong(t *testing.T) {
	o := Start(t)
	for _, goStarts := range []bool{true, false} {
		t.Run(fmt.Sprintf("goStarts=%v", goStarts), func(t *testing.T) {
			lib := sessNewLib(t, o, 1)
			g := newSessGo(t, 1)
			if goStarts {
				g.goStart(t, o, lib, true)
			} else {
				g.libStart(t, o, lib, true)
			}
			goTurn := goStarts
			for i := range 300 {
				msg := fmt.Sprintf("message %d", i)
				wantType := TypeWhisper
				if i == 0 {
					wantType = TypePreKey
				}
				if goTurn {
					sessLibReceive(t, o, lib, g.ia(), g.send(t, lib.Address(), msg, wantType), msg)
				} else {
					g.receive(t, lib.Address(), sessLibSend(t, o, lib, g.ia(), msg, wantType), msg)
				}
				goTurn = !goTurn
			}
		})
	}
}

// 15: out-of-order delivery within and across chains, skipped-key bound,
// jump limit and duplicates, in both directions.
func TestSessionOutOfOrder(t *testing.T) {
	o := Start(t)
	lib := sessNewLib(t, o, 1)
	g := newSessGo(t, 1)
	g.goStart(t, o, lib, true)
	sessLibReceive(t, o, lib, g.ia(), g.send(t, lib.Address(), "hi", TypePreKey), "hi")
	g.receive(t, lib.Address(), sessLibSend(t, o, lib, g.ia(), "ho", TypeWhisper), "ho")

	r := mrand.New(mrand.NewPCG(15, 15))
	t.Run("within a chain", func(t *testing.T) {
		var toLib, toGo []Ciphertext
		for i := range 40 {
			toLib = append(toLib, g.send(t, lib.Address(), fmt.Sprint(i), TypeWhisper))
			toGo = append(toGo, sessLibSend(t, o, lib, g.ia(), fmt.Sprint(i), TypeWhisper))
		}
		for _, i := range r.Perm(40) {
			sessLibReceive(t, o, lib, g.ia(), toLib[i], fmt.Sprint(i))
			g.receive(t, lib.Address(), toGo[i], fmt.Sprint(i))
		}
		g.refuses(t, lib.Address(), toGo[7], session.ErrDuplicate)
		if c := sessLibRefuses(t, o, lib, g.ia(), toLib[7]); c != "DuplicatedMessage" {
			t.Fatalf("libsignal: %s", c)
		}
	})
	t.Run("across chains", func(t *testing.T) {
		type sent struct {
			c   Ciphertext
			msg string
		}
		var toLib, toGo []sent
		// Five rounds, each a new chain on both sides, with messages held
		// back from every round.
		for round := range 5 {
			for k := range 4 {
				msg := fmt.Sprintf("g%d.%d", round, k)
				toLib = append(toLib, sent{g.send(t, lib.Address(), msg, TypeWhisper), msg})
			}
			if round > 1 {
				// Both sides sent 4 messages on their previous chain and
				// report it the same way (libsignal's convention: the index
				// of the last one). Round 1's previous chains still hold
				// the messages of the subtest before.
				first := must(o.Inspect(toLib[len(toLib)-4].c))(t)
				if first.PreviousCounter != 3 {
					t.Fatalf("Go's previous_counter %d, want 3", first.PreviousCounter)
				}
			}
			last := toLib[len(toLib)-1]
			sessLibReceive(t, o, lib, g.ia(), last.c, last.msg)
			toLib = toLib[:len(toLib)-1]
			for k := range 4 {
				msg := fmt.Sprintf("l%d.%d", round, k)
				toGo = append(toGo, sent{sessLibSend(t, o, lib, g.ia(), msg, TypeWhisper), msg})
			}
			if round > 1 {
				if first := must(o.Inspect(toGo[len(toGo)-4].c))(t); first.PreviousCounter != 3 {
					t.Fatalf("libsignal's previous_counter %d, want 3", first.PreviousCounter)
				}
			}
			lastGo := toGo[len(toGo)-1]
			g.receive(t, lib.Address(), lastGo.c, lastGo.msg)
			toGo = toGo[:len(toGo)-1]
		}
		// Receiver chains are kept for the last 5 ratchet steps, so all the
		// held-back messages still decrypt, in any order.
		for _, i := range r.Perm(len(toLib)) {
			sessLibReceive(t, o, lib, g.ia(), toLib[i].c, toLib[i].msg)
		}
		for _, i := range r.Perm(len(toGo)) {
			g.receive(t, lib.Address(), toGo[i].c, toGo[i].msg)
		}
	})
	t.Run("skipped keys bound", func(t *testing.T) {
		// 2002 messages, the last delivered first: 2001 skipped keys, of
		// which both keep the newest 2000.
		var toLib, toGo []Ciphertext
		for i := range session.MaxMessageKeys + 2 {
			toLib = append(toLib, g.send(t, lib.Address(), fmt.Sprint(i), TypeWhisper))
			toGo = append(toGo, sessLibSend(t, o, lib, g.ia(), fmt.Sprint(i), TypeWhisper))
		}
		last := len(toLib) - 1
		sessLibReceive(t, o, lib, g.ia(), toLib[last], fmt.Sprint(last))
		g.receive(t, lib.Address(), toGo[last], fmt.Sprint(last))
		if c := sessLibRefuses(t, o, lib, g.ia(), toLib[0]); c != "DuplicatedMessage" {
			t.Fatalf("libsignal on a dropped key: %s", c)
		}
		g.refuses(t, lib.Address(), toGo[0], session.ErrDuplicate)
		for _, i := range []int{1, 1000, last - 1} {
			sessLibReceive(t, o, lib, g.ia(), toLib[i], fmt.Sprint(i))
			g.receive(t, lib.Address(), toGo[i], fmt.Sprint(i))
		}
	})
	// Jump limits. After "start" (counter n) the receiver expects n + 1;
	// message j_i has counter n + i, a Double Ratchet jump of i − 1. The
	// Double Ratchet accepts a jump of 25 000 and refuses 25 001. SPQR has
	// its own limit of 25 000, counted from the index of the last message
	// received (not the next expected), so with SPQR running a Double
	// Ratchet jump of 25 000 is an SPQR jump of 25 001: libsignal refuses it
	// ("post-quantum ratchet error"), and so do we. Once j_25000 (a jump of
	// 24 999) is in, the later ones follow.
	t.Run("jump limit Go to libsignal", func(t *testing.T) {
		start := g.send(t, lib.Address(), "start", TypeWhisper)
		sessLibReceive(t, o, lib, g.ia(), start, "start")
		var jump24999, jump25000, jump25001 Ciphertext
		for i := 1; i <= session.MaxForwardJumps+2; i++ {
			c := g.send(t, lib.Address(), fmt.Sprint("j", i), TypeWhisper)
			switch i {
			case session.MaxForwardJumps:
				jump24999 = c
			case session.MaxForwardJumps + 1:
				jump25000 = c
			case session.MaxForwardJumps + 2:
				jump25001 = c
			}
		}
		sessLibRefuses(t, o, lib, g.ia(), jump25001)
		sessLibRefuses(t, o, lib, g.ia(), jump25000)
		sessLibReceive(t, o, lib, g.ia(), jump24999, fmt.Sprint("j", session.MaxForwardJumps))
		sessLibReceive(t, o, lib, g.ia(), jump25000, fmt.Sprint("j", session.MaxForwardJumps+1))
		sessLibReceive(t, o, lib, g.ia(), jump25001, fmt.Sprint("j", session.MaxForwardJumps+2))
	})
	t.Run("jump limit libsignal to Go", func(t *testing.T) {
		if testing.Short() {
			t.Skip("25 000 oracle calls")
		}
		start := sessLibSend(t, o, lib, g.ia(), "start", TypeWhisper)
		g.receive(t, lib.Address(), start, "start")
		var jump24999, jump25000, jump25001 Ciphertext
		for i := 1; i <= session.MaxForwardJumps+2; i++ {
			c := sessLibSend(t, o, lib, g.ia(), "j", TypeWhisper)
			switch i {
			case session.MaxForwardJumps:
				jump24999 = c
			case session.MaxForwardJumps + 1:
				jump25000 = c
			case session.MaxForwardJumps + 2:
				jump25001 = c
			}
		}
		g.refuses(t, lib.Address(), jump25001, session.ErrTooFarAhead)
		g.refuses(t, lib.Address(), jump25000, spqr.ErrKeyJump)
		g.receive(t, lib.Address(), jump24999, "j")
		g.receive(t, lib.Address(), jump25000, "j")
		g.receive(t, lib.Address(), jump25001, "j")
	})
}

// 17: PKCS#7 edge sizes, both ways.
func TestSessionPayloadSizes(t *testing.T) {
	o := Start(t)
	lib := sessNewLib(t, o, 1)
	g := newSessGo(t, 1)
	g.libStart(t, o, lib, false)
	g.receive(t, lib.Address(), sessLibSend(t, o, lib, g.ia(), "hi", TypePreKey), "hi")
	for _, n := range []int{0, 1, 15, 16, 17, 255, 4096, 65536} {
		p := make([]byte, n)
		rand.Read(p)
		sessLibReceive(t, o, lib, g.ia(), g.send(t, lib.Address(), string(p), TypeWhisper), string(p))
		g.receive(t, lib.Address(), sessLibSend(t, o, lib, g.ia(), string(p), TypeWhisper), string(p))
		c := g.send(t, lib.Address(), string(p), TypeWhisper)
		if body := must(o.Inspect(c))(t).Body; len(body) != (n/16+1)*16 {
			t.Fatalf("%d bytes: ciphertext of %d", n, len(body))
		}
		sessLibReceive(t, o, lib, g.ia(), c, string(p))
	}
}

// 18: tampering with MAC, ciphertext, ratchet key, counter (and
// pq_ratchet): both reject, neither state moves, the real message still
// decrypts.
func TestSessionTampering(t *testing.T) {
	o := Start(t)
	lib := sessNewLib(t, o, 1)
	g := newSessGo(t, 1)
	g.goStart(t, o, lib, true)
	sessLibReceive(t, o, lib, g.ia(), g.send(t, lib.Address(), "hi", TypePreKey), "hi")
	g.receive(t, lib.Address(), sessLibSend(t, o, lib, g.ia(), "ho", TypeWhisper), "ho")

	other := must(curve.GenerateKeyPair(rand.Reader))(t).Public.Bytes()
	cases := map[string]func(m []byte) []byte{
		"MAC": func(m []byte) []byte { m = bytes.Clone(m); m[len(m)-1] ^= 1; return m },
		"ciphertext": func(m []byte) []byte {
			ct := bytes.Clone(fieldBytes(t, m[1:len(m)-8], 4))
			ct[0] ^= 1
			return sessRewriteSignal(t, m, map[protowire.Number]any{4: ct})
		},
		"ratchet key": func(m []byte) []byte { return sessRewriteSignal(t, m, map[protowire.Number]any{1: other}) },
		"counter": func(m []byte) []byte {
			return sessRewriteSignal(t, m, map[protowire.Number]any{2: uint32(1)})
		},
		"pq_ratchet replaced": func(m []byte) []byte {
			return sessRewriteSignal(t, m, map[protowire.Number]any{5: []byte{1, 1, 0, 0}})
		},
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range cases {
			if !yield(k) {
				return
			}
		}
	})
	for _, name := range names {
		tamper := cases[name]
		t.Run(name, func(t *testing.T) {
			for _, newChain := range []bool{false, true} {
				if newChain {
					// The next message from each side starts a new chain.
					sessLibReceive(t, o, lib, g.ia(), g.send(t, lib.Address(), "turn", TypeWhisper), "turn")
				}
				c := sessLibSend(t, o, lib, g.ia(), "to Go", TypeWhisper)
				g.refuses(t, lib.Address(), Ciphertext{Type: c.Type, Ciphertext: tamper(c.Ciphertext)}, nil)
				g.receive(t, lib.Address(), c, "to Go")
				if newChain {
					g.receive(t, lib.Address(), sessLibSend(t, o, lib, g.ia(), "turn", TypeWhisper), "turn")
				}
				c = g.send(t, lib.Address(), "to libsignal", TypeWhisper)
				sessLibRefuses(t, o, lib, g.ia(), Ciphertext{Type: c.Type, Ciphertext: tamper(c.Ciphertext)})
				sessLibReceive(t, o, lib, g.ia(), c, "to libsignal")
			}
		})
	}
}

// 23: the Go side persists and reloads its state every N messages while
// talking to libsignal (as after an app restart).
func TestSessionPersistence(t *testing.T) {
	o := Start(t)
	for _, every := range []int{1, 7, 50} {
		t.Run(fmt.Sprint("every ", every), func(t *testing.T) {
			lib := sessNewLib(t, o, 1)
			g := newSessGo(t, 1)
			g.goStart(t, o, lib, true)
			reload := func() {
				enc := g.record(t, lib.Address())
				var rec session.Record
				check(t, rec.UnmarshalBinary(enc))
				fresh := session.NewMemoryStore(g.identity, g.regID)
				check(t, fresh.StoreSession(sessCtx, sessAddr(lib.Address()), &rec))
				k, _, _ := g.store.Identity(sessCtx, sessAddr(lib.Address()))
				_, _ = fresh.SaveIdentity(sessCtx, sessAddr(lib.Address()), k)
				g.store, g.st = fresh, fresh.Stores(g.addr)
			}
			r := mrand.New(mrand.NewPCG(23, uint64(every)))
			acked := false
			for i := range 150 {
				msg := fmt.Sprint("m", i)
				if r.IntN(2) == 0 || !acked {
					typ := TypeWhisper
					if !acked {
						typ = TypePreKey
					}
					sessLibReceive(t, o, lib, g.ia(), g.send(t, lib.Address(), msg, typ), msg)
				} else {
					g.receive(t, lib.Address(), sessLibSend(t, o, lib, g.ia(), msg, TypeWhisper), msg)
				}
				if i == 3 {
					g.receive(t, lib.Address(), sessLibSend(t, o, lib, g.ia(), "ack", TypeWhisper), "ack")
					acked = true
				}
				if i%every == 0 {
					reload()
				}
			}
		})
	}
}

// 19: both start a session at once; they converge.
func TestSessionSimultaneousInitiation(t *testing.T) {
	o := Start(t)
	lib := sessNewLib(t, o, 1)
	g := newSessGo(t, 1)
	g.goStart(t, o, lib, true)
	g.libStart(t, o, lib, true)
	fromGo := g.send(t, lib.Address(), "from Go", TypePreKey)
	fromLib := sessLibSend(t, o, lib, g.ia(), "from libsignal", TypePreKey)
	sessLibReceive(t, o, lib, g.ia(), fromGo, "from Go")
	g.receive(t, lib.Address(), fromLib, "from libsignal")
	for i := range 6 {
		msg := fmt.Sprint("g", i)
		sessLibReceive(t, o, lib, g.ia(), g.send(t, lib.Address(), msg, TypeWhisper), msg)
		msg = fmt.Sprint("l", i)
		g.receive(t, lib.Address(), sessLibSend(t, o, lib, g.ia(), msg, TypeWhisper), msg)
	}
	// A batch each way on the converged session.
	var toLib []Ciphertext
	for i := range 5 {
		toLib = append(toLib, g.send(t, lib.Address(), fmt.Sprint(i), TypeWhisper))
	}
	for i, c := range toLib {
		sessLibReceive(t, o, lib, g.ia(), c, fmt.Sprint(i))
	}
}

// 20: a session reset: Go fetches a new bundle while messages of the old
// session are in flight; they still decrypt on both sides.
func TestSessionReset(t *testing.T) {
	o := Start(t)
	lib := sessNewLib(t, o, 1)
	g := newSessGo(t, 1)
	g.goStart(t, o, lib, true)
	sessLibReceive(t, o, lib, g.ia(), g.send(t, lib.Address(), "s1", TypePreKey), "s1")
	g.receive(t, lib.Address(), sessLibSend(t, o, lib, g.ia(), "ack", TypeWhisper), "ack")
	lateToLib := g.send(t, lib.Address(), "late to libsignal", TypeWhisper)
	lateToGo := sessLibSend(t, o, lib, g.ia(), "late to Go", TypeWhisper)

	g.goStart(t, o, lib, true) // new session; the old one is archived
	sessLibReceive(t, o, lib, g.ia(), g.send(t, lib.Address(), "s2", TypePreKey), "s2")
	g.receive(t, lib.Address(), sessLibSend(t, o, lib, g.ia(), "ack2", TypeWhisper), "ack2")

	g.receive(t, lib.Address(), lateToGo, "late to Go")
	sessLibReceive(t, o, lib, g.ia(), lateToLib, "late to libsignal")
	// Both promoted the old session again; they still agree.
	for i := range 4 {
		msg := fmt.Sprint("after ", i)
		sessLibReceive(t, o, lib, g.ia(), g.send(t, lib.Address(), msg, TypeWhisper), msg)
		g.receive(t, lib.Address(), sessLibSend(t, o, lib, g.ia(), msg, TypeWhisper), msg)
	}
}

// 21: an unanswered session older than 30 days is refused by both.
func TestSessionUnacknowledgedExpiry(t *testing.T) {
	o := Start(t)
	lib := sessNewLib(t, o, 1)
	g := newSessGo(t, 1)
	g.goStart(t, o, lib, true)
	g.libStart(t, o, lib, true)
	later := sessNow.Add(30*24*time.Hour + time.Minute)

	_, err := session.Encrypt(sessCtx, g.st, sessAddr(lib.Address()), []byte("x"), later)
	if !errors.Is(err, session.ErrStaleSession) {
		t.Fatalf("Go: %v, want ErrStaleSession", err)
	}
	err = o.Call("encrypt", map[string]any{"party": lib.Party, "peer": g.ia(), "plaintext": []byte("x"), "now": later.UnixMilli()}, nil)
	t.Logf("libsignal: %v", err)
	oracleClass(t, err)
	// At exactly 30 days both still send.
	at := sessNow.Add(30 * 24 * time.Hour)
	if _, err := session.Encrypt(sessCtx, g.st, sessAddr(lib.Address()), []byte("x"), at); err != nil {
		t.Fatalf("Go at 30 days: %v", err)
	}
	check(t, o.Call("encrypt", map[string]any{"party": lib.Party, "peer": g.ia(), "plaintext": []byte("x"), "now": at.UnixMilli()}, nil))
}

// 22: an identity change is refused as untrusted by both.
func TestSessionIdentityChange(t *testing.T) {
	o := Start(t)
	lib := sessNewLib(t, o, 1)
	g := newSessGo(t, 1)
	g.goStart(t, o, lib, true)
	sessLibReceive(t, o, lib, g.ia(), g.send(t, lib.Address(), "hi", TypePreKey), "hi")

	// libsignal reinstalls under the same address: Go refuses the bundle.
	lib2 := must(o.NewPartyWith(NewPartyArgs{Name: lib.Name, DeviceID: 1, Party: lib.Party + "-new"}))(t)
	b := must(o.Bundle(lib2.Party, true))(t)
	err := session.ProcessBundle(sessCtx, g.st, sessAddr(lib.Address()), sessFromOracle(t, b), sessNow, rand.Reader)
	if !errors.Is(err, session.ErrUntrustedIdentity) {
		t.Fatalf("Go: %v, want ErrUntrustedIdentity", err)
	}
	// And its PreKey message from the new identity.
	g2 := newSessGo(t, 1)
	g2.addr = g.addr
	g2.st = g2.store.Stores(g.addr)
	g2.libStart(t, o, lib2, true) // a session from lib2 to g's address
	c := sessLibSend(t, o, lib2, g.ia(), "new me", TypePreKey)
	g.refuses(t, lib.Address(), c, session.ErrUntrustedIdentity)

	// Go reinstalls under the same address: libsignal refuses it.
	g3 := newSessGo(t, 1)
	g3.addr = g.addr
	g3.st = g3.store.Stores(g.addr)
	g3.goStart(t, o, lib, true)
	c = g3.send(t, lib.Address(), "new me", TypePreKey)
	if class := sessLibRefuses(t, o, lib, g.ia(), c); class != "UntrustedIdentity" {
		t.Fatalf("libsignal: %s", class)
	}
}

// 31: several devices: independent sessions per device pair, fan-out to all
// of the peer's devices and to one's own other device; device ids 0 and
// 128 are refused.
func TestSessionMultiDevice(t *testing.T) {
	o := Start(t)
	aliceName := sessName()
	var alice []*sessGo
	for d := uint32(1); d <= 2; d++ {
		g := newSessGo(t, d)
		g.addr.Name = aliceName
		g.st = g.store.Stores(g.addr)
		alice = append(alice, g)
	}
	bobName := sessName()
	var bob []Party
	for d := uint32(1); d <= 3; d++ {
		bob = append(bob, must(o.NewPartyWith(NewPartyArgs{Name: bobName, DeviceID: d, Party: fmt.Sprintf("%s.%d", bobName, d)}))(t))
	}
	// Alice's device 1 sends to all of Bob's devices and to her device 2.
	for _, b := range bob {
		alice[0].goStart(t, o, b, true)
	}
	sb := alice[1].publish(t, true)
	check(t, session.ProcessBundle(sessCtx, alice[0].st, alice[1].addr, sessFromOracle(t, sb), sessNow, rand.Reader))
	for round := range 3 {
		msg := fmt.Sprint("fan-out ", round)
		typ := TypePreKey
		if round > 0 {
			typ = TypeWhisper
		}
		for _, b := range bob {
			c := alice[0].send(t, b.Address(), msg, typ)
			sessLibReceive(t, o, b, alice[0].ia(), c, msg)
		}
		c := alice[0].send(t, alice[1].ia(), msg, typ)
		alice[1].receive(t, alice[0].ia(), c, msg)
		// Every Bob device answers Alice's device 1 and starts with device 2.
		for _, b := range bob {
			reply := fmt.Sprintf("reply %d from %d", round, b.DeviceID)
			alice[0].receive(t, b.Address(), sessLibSend(t, o, b, alice[0].ia(), reply, TypeWhisper), reply)
		}
		alice[0].receive(t, alice[1].ia(), alice[1].send(t, alice[0].ia(), "self", TypeWhisper), "self")
	}
	for _, b := range bob {
		alice[1].libStart(t, o, b, false)
		msg := fmt.Sprint("hello device 2 from ", b.DeviceID)
		alice[1].receive(t, b.Address(), sessLibSend(t, o, b, alice[1].ia(), msg, TypePreKey), msg)
	}
	// Sessions are per device: device 1's records do not cover device 2.
	for _, b := range bob {
		r1 := alice[0].record(t, b.Address())
		r2 := alice[1].record(t, b.Address())
		if r1 == nil || r2 == nil || bytes.Equal(r1, r2) {
			t.Fatal("sessions are not per device")
		}
	}
	for _, dev := range []uint32{0, 128} {
		bad := session.Address{Name: bobName, DeviceID: dev}
		if _, err := session.Encrypt(sessCtx, alice[0].st, bad, []byte("x"), sessNow); !errors.Is(err, session.ErrInvalidAddress) {
			t.Fatalf("Go device %d: %v", dev, err)
		}
		_, err := o.NewParty(sessName(), dev)
		oracleClass(t, err)
	}
}

// TestSessionGoldenVector writes
// e2ee/session/testdata/libsignal-<LibsignalVersion>-prekey.json when
// SESSION_WRITE_GOLDEN=1 (older versions' files stay, and e2ee/session
// checks them all): PreKey messages from libsignal to a Go Bob
// with all of Bob's private keys, so that e2ee/session checks PQXDH, the
// chain and the MAC against libsignal bytes even where Node is absent.
func TestSessionGoldenVector(t *testing.T) {
	if os.Getenv("SESSION_WRITE_GOLDEN") != "1" {
		t.Skip("set SESSION_WRITE_GOLDEN=1 to regenerate the golden vector")
	}
	o := Start(t)
	alice := sessNewLib(t, o, 1)
	bob := newSessGo(t, 2)
	b := bob.libStart(t, o, alice, true)
	spk := must(bob.store.LoadSignedPreKey(sessCtx, b.SignedPreKeyID))(t)
	ky := must(bob.store.LoadKyberPreKey(sessCtx, b.KyberPreKeyID))(t)
	pre := must(bob.store.LoadPreKey(sessCtx, *b.PreKeyID))(t)
	type msg struct {
		Type       int    `json:"type"`
		Ciphertext string `json:"ciphertext"`
		Plaintext  string `json:"plaintext"`
	}
	v := struct {
		Comment             string `json:"comment"`
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
		Messages            []msg  `json:"messages"`
	}{
		Comment:             "Generated by interop TestSessionGoldenVector: PreKeySignalMessages from libsignal to a Go Bob, with Bob's private keys.",
		Libsignal:           LibsignalVersion,
		AliceName:           alice.Name,
		AliceDevice:         alice.DeviceID,
		AliceIdentity:       hex.EncodeToString(alice.IdentityKey),
		AliceRegistrationID: alice.RegistrationID,
		BobName:             bob.addr.Name,
		BobDevice:           bob.addr.DeviceID,
		BobIdentityPrivate:  hex.EncodeToString(bob.identity.Private[:]),
		BobRegistrationID:   bob.regID,
		SignedPreKeyID:      spk.ID,
		SignedPreKeyPrivate: hex.EncodeToString(spk.KeyPair.Private[:]),
		PreKeyID:            pre.ID,
		PreKeyPrivate:       hex.EncodeToString(pre.KeyPair.Private[:]),
		KyberPreKeyID:       ky.ID,
		KyberSeed:           hex.EncodeToString(ky.KeyPair.Seed()),
	}
	for _, pt := range []string{"", "hello from libsignal " + LibsignalVersion, strings.Repeat("sixteen bytes..!", 4)} {
		c := sessLibSend(t, o, alice, bob.ia(), pt, TypePreKey)
		bob.receive(t, alice.Address(), c, pt)
		v.Messages = append(v.Messages, msg{Type: c.Type, Ciphertext: hex.EncodeToString(c.Ciphertext), Plaintext: pt})
	}
	out, err := json.MarshalIndent(v, "", "  ")
	check(t, err)
	dir, err := oracleDir()
	check(t, err)
	path := filepath.Join(dir, "..", "..", "e2ee", "session", "testdata", "libsignal-"+LibsignalVersion+"-prekey.json")
	check(t, os.MkdirAll(filepath.Dir(path), 0o755))
	check(t, os.WriteFile(path, append(out, '\n'), 0o644))
	t.Logf("wrote %s", path)
}
