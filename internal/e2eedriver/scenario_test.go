package e2eedriver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/parley-im/parley/interop"
)

// The scenarios below are written once against the protocol and run with
// every assignment of implementations to parties: "A on X, B on Y". They
// only ever use caller.Call, so the same code checks libsignal against us,
// us against libsignal, and us against ourselves.

// dev is one party on one running implementation.
type dev struct {
	t      *testing.T
	impl   string // for failure messages
	c      caller
	handle string
	p      interop.Party
}

func (d *dev) String() string { return fmt.Sprintf("%s@%s", d.handle, d.impl) }

func (d *dev) addr() interop.Address { return d.p.Address() }

func (d *dev) call(op string, args map[string]any, result any) {
	d.t.Helper()
	if err := d.c.Call(op, args, result); err != nil {
		d.t.Fatalf("%s: %s: %v", d, op, err)
	}
}

// newDev creates a party called name (handle: handle) on c.
func newDev(t *testing.T, implName string, c caller, handle, name string, device uint32) *dev {
	t.Helper()
	d := &dev{t: t, impl: implName, c: c, handle: handle}
	d.call("newParty", map[string]any{"name": name, "deviceId": device, "party": handle}, &d.p)
	if d.p.Party != handle || d.p.Name != name || d.p.DeviceID != device || len(d.p.IdentityKey) != 33 || d.p.RegistrationID == 0 {
		t.Fatalf("%s: newParty answered %+v", d, d.p)
	}
	return d
}

func (d *dev) bundle(oneTime bool) interop.Bundle {
	d.t.Helper()
	var b interop.Bundle
	d.call("bundle", map[string]any{"party": d.handle, "withOneTime": oneTime}, &b)
	if (b.PreKeyID != nil) != oneTime || len(b.KyberPreKey) != 1569 || !bytes.Equal(b.IdentityKey, d.p.IdentityKey) {
		d.t.Fatalf("%s: bundle(withOneTime %v) answered %+v", d, oneTime, b)
	}
	return b
}

// startSession makes d start a session with to from to's fresh bundle.
func (d *dev) startSession(to *dev, oneTime bool) {
	d.t.Helper()
	b := to.bundle(oneTime)
	d.call("processBundle", map[string]any{"party": d.handle, "peer": to.addr(), "bundle": b}, nil)
}

func (d *dev) sendBytes(to *dev, pt []byte, wantType int) interop.Ciphertext {
	d.t.Helper()
	var c interop.Ciphertext
	d.call("encrypt", map[string]any{"party": d.handle, "peer": to.addr(), "plaintext": pt}, &c)
	if c.Type != wantType {
		d.t.Fatalf("%s → %s: message type %d, want %d", d, to, c.Type, wantType)
	}
	return c
}

func (d *dev) send(to *dev, msg string, wantType int) interop.Ciphertext {
	d.t.Helper()
	return d.sendBytes(to, []byte(msg), wantType)
}

func (d *dev) recvBytes(from *dev, c interop.Ciphertext) []byte {
	d.t.Helper()
	var r struct {
		Plaintext []byte `json:"plaintext"`
	}
	d.call("decrypt", map[string]any{"party": d.handle, "peer": from.addr(), "type": c.Type, "ciphertext": c.Ciphertext}, &r)
	return r.Plaintext
}

func (d *dev) recv(from *dev, c interop.Ciphertext, want string) {
	d.t.Helper()
	if got := d.recvBytes(from, c); string(got) != want {
		d.t.Fatalf("%s ← %s: decrypted %q, want %q", d, from, got, want)
	}
}

// refuse checks that d refuses c from `from` with class want.
func (d *dev) refuse(from *dev, c interop.Ciphertext, want string) {
	d.t.Helper()
	err := d.c.Call("decrypt", map[string]any{"party": d.handle, "peer": from.addr(), "type": c.Type, "ciphertext": c.Ciphertext}, nil)
	if got := classOfErr(d.t, err); got != want {
		d.t.Fatalf("%s ← %s: refused with %v, want class %s", d, from, err, want)
	}
}

// exchange sends msg from d to `to` and checks it arrives.
func (d *dev) exchange(to *dev, msg string, wantType int) {
	d.t.Helper()
	to.recv(d, d.send(to, msg, wantType), msg)
}

func (d *dev) skdm(dist string) []byte {
	d.t.Helper()
	var r struct {
		SKDM []byte `json:"skdm"`
	}
	d.call("skdm", map[string]any{"party": d.handle, "distributionId": dist}, &r)
	return r.SKDM
}

// shareSenderKey sends d's SKDM for dist to each member over the 1:1
// sessions, as a client does, and has them process it.
func (d *dev) shareSenderKey(dist string, members ...*dev) {
	d.t.Helper()
	skdm := d.skdm(dist)
	for _, m := range members {
		got := m.recvBytes(d, d.sendBytes(m, skdm, interop.TypeWhisper))
		if !bytes.Equal(got, skdm) {
			d.t.Fatalf("%s → %s: the SKDM changed on the way", d, m)
		}
		m.call("processSkdm", map[string]any{"party": m.handle, "sender": d.addr(), "skdm": got}, nil)
	}
}

func (d *dev) groupSend(dist, msg string) []byte {
	d.t.Helper()
	var c interop.Ciphertext
	d.call("groupEncrypt", map[string]any{"party": d.handle, "distributionId": dist, "plaintext": []byte(msg)}, &c)
	if c.Type != interop.TypeSenderKey {
		d.t.Fatalf("%s: groupEncrypt type %d", d, c.Type)
	}
	return c.Ciphertext
}

func (d *dev) groupRecv(from *dev, ct []byte, want string) {
	d.t.Helper()
	var r struct {
		Plaintext []byte `json:"plaintext"`
	}
	d.call("groupDecrypt", map[string]any{"party": d.handle, "sender": from.addr(), "ciphertext": ct}, &r)
	if string(r.Plaintext) != want {
		d.t.Fatalf("%s ← %s (group): %q, want %q", d, from, r.Plaintext, want)
	}
}

func (d *dev) fingerprint(remote *dev) interop.Fingerprint {
	d.t.Helper()
	var f interop.Fingerprint
	d.call("fingerprint", map[string]any{
		"iterations": 5200, "version": 2,
		"localId": []byte(d.p.Name), "localKey": d.p.IdentityKey,
		"remoteId": []byte(remote.p.Name), "remoteKey": remote.p.IdentityKey,
	}, &f)
	return f
}

func (d *dev) export() json.RawMessage {
	d.t.Helper()
	var r struct {
		State json.RawMessage `json:"state"`
	}
	d.call("exportState", map[string]any{"party": d.handle}, &r)
	return r.State
}

// moveTo imports d's exported state into another instance of the same
// implementation and makes d use it from now on.
func (d *dev) moveTo(c caller, state json.RawMessage) {
	d.t.Helper()
	var p interop.Party
	if err := c.Call("importState", map[string]any{"state": state, "party": d.handle}, &p); err != nil {
		d.t.Fatalf("%s: importState: %v", d, err)
	}
	if p.Name != d.p.Name || p.DeviceID != d.p.DeviceID || !bytes.Equal(p.IdentityKey, d.p.IdentityKey) || p.RegistrationID != d.p.RegistrationID {
		d.t.Fatalf("%s: imported as %+v, was %+v", d, p, d.p)
	}
	d.c = c
}

// conversation is the full scenario: A on x, B on y.
//
//   - A starts a session with B (PreKey messages until B answers), then
//     ping-pong and out-of-order delivery;
//   - B starts a session with A's second device, on x: sessions both ways;
//   - a group: sender keys travel as SKDMs over the 1:1 sessions, then
//     group messages in every direction;
//   - safety numbers: both sides show the same number and accept each
//     other's code, and x and y compute the same bytes;
//   - XEdDSA and HKDF agree across x and y;
//   - mid-conversation both implementations are restarted: every party is
//     exported, imported into a new instance, and carries on, including
//     with messages that were sent before the restart and are delivered
//     after it (skipped message keys, sender-key chains).
func conversation(t *testing.T, x, y impl) {
	cx, cy := x.start(t), y.start(t)
	nameA, nameB := aciName(t), aciName(t)
	a := newDev(t, x.name, cx, "alice", nameA, 1)
	a2 := newDev(t, x.name, cx, "alice2", nameA, 2)
	b := newDev(t, y.name, cy, "bob", nameB, 1)

	// A → B, with a one-time prekey.
	a.startSession(b, true)
	first := a.send(b, "hello bob", interop.TypePreKey)
	second := a.send(b, "are you there?", interop.TypePreKey)
	b.recv(a, first, "hello bob")
	b.recv(a, second, "are you there?")
	b.exchange(a, "hi alice", interop.TypeWhisper)
	a.exchange(b, "now a whisper", interop.TypeWhisper)
	for i := range 6 { // a DH ratchet step every message
		if i%2 == 0 {
			b.exchange(a, fmt.Sprintf("pong %d", i), interop.TypeWhisper)
		} else {
			a.exchange(b, fmt.Sprintf("ping %d", i), interop.TypeWhisper)
		}
	}
	m1, m2, m3 := a.send(b, "one", interop.TypeWhisper), a.send(b, "two", interop.TypeWhisper), a.send(b, "three", interop.TypeWhisper)
	b.recv(a, m3, "three")
	b.recv(a, m1, "one")
	b.recv(a, m2, "two")
	b.exchange(a, "", interop.TypeWhisper) // an empty message

	// B → A's second device, without a one-time prekey.
	b.startSession(a2, false)
	b.exchange(a2, "hello second device", interop.TypePreKey)
	a2.exchange(b, "hello from device 2", interop.TypeWhisper)
	b.exchange(a2, "got it", interop.TypeWhisper)

	// A group of the three, sender keys handed out over the 1:1 sessions
	// (A and A2 have no session with each other: their sender keys meet
	// only through B, which is all this scenario needs).
	dist := aciName(t)
	a.shareSenderKey(dist, b)
	b.shareSenderKey(dist, a, a2)
	a2.shareSenderKey(dist, b)
	b.groupRecv(a, a.groupSend(dist, "group hello from A"), "group hello from A")
	g := b.groupSend(dist, "group hello from B")
	a.groupRecv(b, g, "group hello from B")
	a2.groupRecv(b, g, "group hello from B")
	b.groupRecv(a2, a2.groupSend(dist, "and from A2"), "and from A2")
	ga1, ga2 := a.groupSend(dist, "g1"), a.groupSend(dist, "g2")
	b.groupRecv(a, ga2, "g2")
	b.groupRecv(a, ga1, "g1")

	// Safety numbers.
	fa, fb := a.fingerprint(b), b.fingerprint(a)
	if fa.Displayable != fb.Displayable || len(fa.Displayable) != 60 {
		t.Fatalf("safety numbers differ: %s %q, %s %q", x.name, fa.Displayable, y.name, fb.Displayable)
	}
	for _, c := range []struct {
		d           *dev
		mine, other []byte
	}{{a, fa.Scannable, fb.Scannable}, {b, fb.Scannable, fa.Scannable}} {
		var r struct {
			Match bool `json:"match"`
		}
		c.d.call("fingerprintCompare", map[string]any{"scannable": c.mine, "other": c.other}, &r)
		if !r.Match {
			t.Fatalf("%s: the other side's code does not match", c.d)
		}
		c.d.call("fingerprintCompare", map[string]any{"scannable": c.mine, "other": c.mine}, &r)
		if r.Match {
			t.Fatalf("%s: its own code matches itself", c.d)
		}
	}
	// The same inputs give the same bytes on both implementations.
	var fbOnX interop.Fingerprint
	a.call("fingerprint", map[string]any{
		"iterations": 5200, "version": 2,
		"localId": []byte(b.p.Name), "localKey": b.p.IdentityKey,
		"remoteId": []byte(a.p.Name), "remoteKey": a.p.IdentityKey,
	}, &fbOnX)
	if fbOnX.Displayable != fb.Displayable || !bytes.Equal(fbOnX.Scannable, fb.Scannable) {
		t.Fatalf("B's fingerprint computed by %s differs from %s's", x.name, y.name)
	}

	// XEdDSA: a signature by A's identity, made on x, verifies on y.
	msg := []byte("signed by alice")
	var sig struct {
		Signature []byte `json:"signature"`
	}
	a.call("sign", map[string]any{"party": a.handle, "message": msg}, &sig)
	var v struct {
		Valid bool `json:"valid"`
	}
	b.call("verify", map[string]any{"publicKey": a.p.IdentityKey, "message": msg, "signature": sig.Signature}, &v)
	if !v.Valid {
		t.Fatalf("%s's signature does not verify on %s", x.name, y.name)
	}
	b.call("verify", map[string]any{"publicKey": a.p.IdentityKey, "message": []byte("something else"), "signature": sig.Signature}, &v)
	if v.Valid {
		t.Fatal("a signature verifies for another message")
	}
	// HKDF.
	var hx, hy struct {
		OKM []byte `json:"okm"`
	}
	hkdfArgs := map[string]any{"length": 100, "ikm": []byte("input key material"), "info": []byte("info"), "salt": []byte("salt")}
	a.call("hkdf", hkdfArgs, &hx)
	b.call("hkdf", hkdfArgs, &hy)
	if len(hx.OKM) != 100 || !bytes.Equal(hx.OKM, hy.OKM) {
		t.Fatalf("HKDF differs: %s %x, %s %x", x.name, hx.OKM, y.name, hy.OKM)
	}

	// Messages in flight across the restart: B has seen "late 3" but not
	// 1 and 2 (their keys wait in B's session), nor A's group message.
	late1, late2, late3 := a.send(b, "late 1", interop.TypeWhisper), a.send(b, "late 2", interop.TypeWhisper), a.send(b, "late 3", interop.TypeWhisper)
	b.recv(a, late3, "late 3")
	gLate := a.groupSend(dist, "group message across the restart")
	toA2 := b.send(a2, "for device 2, across the restart", interop.TypeWhisper)

	// Restart both implementations: export everyone, stop, import.
	stateA, stateA2, stateB := a.export(), a2.export(), b.export()
	if err := cx.Close(); err != nil {
		t.Fatalf("stop %s: %v", x.name, err)
	}
	if err := cy.Close(); err != nil {
		t.Fatalf("stop %s: %v", y.name, err)
	}
	cx, cy = x.start(t), y.start(t)
	a.moveTo(cx, stateA)
	a2.moveTo(cx, stateA2)
	b.moveTo(cy, stateB)

	b.recv(a, late2, "late 2")
	b.recv(a, late1, "late 1")
	b.refuse(a, late3, "DuplicatedMessage")
	b.groupRecv(a, gLate, "group message across the restart")
	a2.recv(b, toA2, "for device 2, across the restart")
	b.exchange(a, "after the restart", interop.TypeWhisper)
	a.exchange(b, "still talking", interop.TypeWhisper)
	a2.exchange(b, "device 2 still talking", interop.TypeWhisper)
	g = b.groupSend(dist, "group after the restart")
	a.groupRecv(b, g, "group after the restart")
	a2.groupRecv(b, g, "group after the restart")
	b.groupRecv(a2, a2.groupSend(dist, "A2 group after the restart"), "A2 group after the restart")

	// Each implementation refuses the other's state: the records inside
	// are each one's own format.
	if x.name != y.name {
		err := cy.Call("importState", map[string]any{"state": stateA, "party": "intruder"}, nil)
		if c := classOfErr(t, err); c != "BadRequest" {
			t.Fatalf("%s imported a state of %s: %v", y.name, x.name, err)
		}
	}
}

// refusals runs failures on A (on x) against B (on y) and checks the class
// of each: the classes are part of the protocol, so both implementations
// must give the same one. None of it may hurt the session.
func refusals(t *testing.T, x, y impl) {
	cx, cy := x.start(t), y.start(t)
	a := newDev(t, x.name, cx, "alice", aciName(t), 1)
	b := newDev(t, y.name, cy, "bob", aciName(t), 1)
	carol := newDev(t, x.name, cx, "carol", aciName(t), 1)

	b.startSession(a, true)
	first := b.send(a, "first", interop.TypePreKey)
	a.recv(b, first, "first")
	b.recv(a, a.send(b, "reply", interop.TypeWhisper), "reply")
	delivered := b.send(a, "delivered", interop.TypeWhisper)
	a.recv(b, delivered, "delivered")
	fresh := b.send(a, "fresh", interop.TypeWhisper) // held back until the end
	tampered := bytes.Clone(fresh.Ciphertext)
	tampered[len(tampered)-1] ^= 1
	badBundle := b.bundle(false)
	badBundle.KyberPreKeySignature[5] ^= 1
	dist := aciName(t)
	b.shareSenderKey(dist, a)
	g := b.groupSend(dist, "group")
	a.groupRecv(b, g, "group")
	gTampered := bytes.Clone(g)
	gTampered[len(gTampered)-1] ^= 1

	cases := []struct {
		name, op string
		args     map[string]any
		class    string
	}{
		{"garbage whisper", "decrypt", map[string]any{"party": "alice", "peer": b.addr(), "type": interop.TypeWhisper, "ciphertext": []byte("garbage, not a message at all")}, "LibSignalError"},
		{"garbage prekey", "decrypt", map[string]any{"party": "alice", "peer": b.addr(), "type": interop.TypePreKey, "ciphertext": []byte{0x44, 0xff, 0xff}}, "LibSignalError"},
		{"tampered MAC", "decrypt", map[string]any{"party": "alice", "peer": b.addr(), "type": interop.TypeWhisper, "ciphertext": tampered}, "LibSignalError"},
		{"replay", "decrypt", map[string]any{"party": "alice", "peer": b.addr(), "type": delivered.Type, "ciphertext": delivered.Ciphertext}, "DuplicatedMessage"},
		{"replayed prekey message", "decrypt", map[string]any{"party": "alice", "peer": b.addr(), "type": first.Type, "ciphertext": first.Ciphertext}, "DuplicatedMessage"},
		{"no session", "encrypt", map[string]any{"party": "alice", "peer": map[string]any{"name": "nobody", "deviceId": 1}, "plaintext": []byte("x")}, "LibSignalError"},
		{"bad kyber signature", "processBundle", map[string]any{"party": "carol", "peer": b.addr(), "bundle": badBundle}, "LibSignalError"},
		{"invalid device id", "encrypt", map[string]any{"party": "alice", "peer": map[string]any{"name": "bob", "deviceId": 200}, "plaintext": []byte("x")}, "InvalidProtocolAddress"},
		{"device id 0", "newParty", map[string]any{"name": "zero", "deviceId": 0}, "InvalidProtocolAddress"},
		{"bad public key", "verify", map[string]any{"publicKey": []byte{0x07, 1, 2}, "message": []byte("m"), "signature": make([]byte, 64)}, "LibSignalError"},
		{"tampered group message", "groupDecrypt", map[string]any{"party": "alice", "sender": b.addr(), "ciphertext": gTampered}, "LibSignalError"},
		{"group replay", "groupDecrypt", map[string]any{"party": "alice", "sender": b.addr(), "ciphertext": g}, "DuplicatedMessage"},
		{"no sender key", "groupEncrypt", map[string]any{"party": "alice", "distributionId": aciName(t), "plaintext": []byte("x")}, "LibSignalError"},
		{"fingerprint of a bad key", "fingerprint", map[string]any{"iterations": 5200, "version": 2, "localId": []byte("a"), "localKey": []byte{5, 1}, "remoteId": []byte("b"), "remoteKey": b.p.IdentityKey}, "LibSignalError"},
		{"unknown party", "bundle", map[string]any{"party": "nobody"}, "BadRequest"},
		{"duplicate party", "newParty", map[string]any{"name": a.p.Name, "deviceId": 1, "party": "alice"}, "BadRequest"},
		{"unknown op", "frobnicate", nil, "BadRequest"},
		{"missing argument", "encrypt", map[string]any{"party": "alice"}, "BadRequest"},
		{"not base64", "decrypt", map[string]any{"party": "alice", "peer": b.addr(), "type": interop.TypeWhisper, "ciphertext": "%%%"}, "BadRequest"},
		{"unknown message type", "decrypt", map[string]any{"party": "alice", "peer": b.addr(), "type": 5, "ciphertext": []byte{1}}, "BadRequest"},
		{"not an integer", "hkdf", map[string]any{"length": 1.5, "ikm": []byte("k")}, "BadRequest"},
		{"bad state", "importState", map[string]any{"state": map[string]any{"format": 1}, "party": "x"}, "BadRequest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := cx.Call(tc.op, tc.args, nil)
			if c := classOfErr(t, err); c != tc.class {
				t.Fatalf("%s answered %v, want class %s", x.name, err, tc.class)
			}
		})
	}

	// A changed identity is refused until A accepts it.
	var replaced struct {
		Replaced bool `json:"replaced"`
	}
	a.call("saveIdentity", map[string]any{"party": "alice", "peer": b.addr(), "identityKey": carol.p.IdentityKey}, &replaced)
	if !replaced.Replaced {
		t.Fatal("saving another identity key is not reported as a replacement")
	}
	err := cx.Call("encrypt", map[string]any{"party": "alice", "peer": b.addr(), "plaintext": []byte("x")}, nil)
	if c := classOfErr(t, err); c != "UntrustedIdentity" {
		t.Fatalf("encrypt to a changed identity: %v, want UntrustedIdentity", err)
	}
	a.call("saveIdentity", map[string]any{"party": "alice", "peer": b.addr(), "identityKey": b.p.IdentityKey}, nil)
	var id struct {
		IdentityKey []byte `json:"identityKey"`
	}
	a.call("identity", map[string]any{"party": "alice", "peer": b.addr()}, &id)
	if !bytes.Equal(id.IdentityKey, b.p.IdentityKey) {
		t.Fatalf("identity: %x, want %x", id.IdentityKey, b.p.IdentityKey)
	}

	// None of it hurt the sessions: the untampered message still decrypts.
	a.recv(b, fresh, "fresh")
	a.exchange(b, "still here", interop.TypeWhisper)
	b.exchange(a, "me too", interop.TypeWhisper)
	a.groupRecv(b, b.groupSend(dist, "group still works"), "group still works")
}
