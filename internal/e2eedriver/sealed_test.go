package e2eedriver

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/interop"
)

type sealedOpened struct {
	Plaintext   []byte `json:"plaintext"`
	SenderUUID  string `json:"senderUuid"`
	DeviceID    uint32 `json:"deviceId"`
	Type        int    `json:"type"`
	ContentHint uint32 `json:"contentHint"`
	GroupID     []byte `json:"groupId"`
}

func (d *dev) sealedSend(to *dev, cert []byte, msg string, extra map[string]any) []byte {
	d.t.Helper()
	args := map[string]any{"party": d.handle, "peer": to.addr(), "senderCertificate": cert, "plaintext": []byte(msg)}
	for k, v := range extra {
		args[k] = v
	}
	var r struct {
		Ciphertext []byte `json:"ciphertext"`
	}
	d.call("sealedEncrypt", args, &r)
	if len(r.Ciphertext) == 0 || r.Ciphertext[0] != 0x11 {
		d.t.Fatalf("%s: sealedEncrypt answered %x", d, r.Ciphertext)
	}
	return r.Ciphertext
}

func (d *dev) sealedRecv(from *dev, env []byte, root curve.PublicKey, now uint64, want string, wantType int) sealedOpened {
	d.t.Helper()
	var r sealedOpened
	d.call("sealedDecrypt", map[string]any{"party": d.handle, "ciphertext": env, "trustRoot": root.Bytes(), "timestamp": now}, &r)
	if string(r.Plaintext) != want || r.SenderUUID != from.p.Name || r.DeviceID != from.p.DeviceID || r.Type != wantType {
		d.t.Fatalf("%s ← %s: sealedDecrypt answered %+v, want %q type %d", d, from, r, want, wantType)
	}
	return r
}

// sealed runs sealed sender v1 with certificates issued on both sides: the
// server certificate on X, A's sender certificate on Y and B's on X.
func sealed(t *testing.T, x, y impl) {
	cx, cy := x.start(t), y.start(t)
	a := newDev(t, x.name, cx, "alice", aciName(t), 1)
	b := newDev(t, y.name, cy, "bob", aciName(t), 1)
	root, err1 := curve.GenerateKeyPair(rand.Reader)
	server, err2 := curve.GenerateKeyPair(rand.Reader)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	now := uint64(time.Now().UnixMilli())
	expires := now + 3_600_000

	var sc, ac, bc struct {
		Certificate []byte `json:"certificate"`
	}
	a.call("serverCertificate", map[string]any{"keyId": 3, "serverKey": server.Public.Bytes(), "trustRootPrivateKey": root.Private[:]}, &sc)
	issue := func(on, who *dev, out any) {
		on.call("senderCertificate", map[string]any{"senderUuid": who.p.Name, "deviceId": who.p.DeviceID, "identityKey": who.p.IdentityKey,
			"expires": expires, "serverCertificate": sc.Certificate, "serverPrivateKey": server.Private[:]}, out)
	}
	issue(b, a, &ac)
	issue(a, b, &bc)
	for _, d := range []*dev{a, b} {
		for _, c := range [][]byte{ac.Certificate, bc.Certificate} {
			var v struct {
				Valid     bool   `json:"valid"`
				ServerKey []byte `json:"serverKey"`
			}
			d.call("validateSenderCertificate", map[string]any{"certificate": c, "trustRoot": root.Public.Bytes(), "now": expires}, &v)
			if !v.Valid || !bytes.Equal(v.ServerKey, server.Public.Bytes()) {
				t.Fatalf("%s: validateSenderCertificate answered %+v", d, v)
			}
			d.call("validateSenderCertificate", map[string]any{"certificate": c, "trustRoot": root.Public.Bytes(), "now": expires + 1}, &v)
			if v.Valid {
				t.Fatalf("%s: an expired certificate validates", d)
			}
		}
	}

	a.startSession(b, true)
	b.sealedRecv(a, a.sealedSend(b, ac.Certificate, "sealed hello", nil), root.Public, now, "sealed hello", interop.TypePreKey)
	r := a.sealedRecv(b, b.sealedSend(a, bc.Certificate, "sealed reply", map[string]any{"contentHint": 1, "groupId": []byte("grp")}),
		root.Public, now, "sealed reply", interop.TypeWhisper)
	if r.ContentHint != 1 || string(r.GroupID) != "grp" {
		t.Fatalf("content hint / group: %+v", r)
	}
	env := a.sealedSend(b, ac.Certificate, "sealed whisper", nil)
	// Refused: an expired certificate, another trust root. Then it still opens.
	for _, args := range []map[string]any{
		{"party": b.handle, "ciphertext": env, "trustRoot": root.Public.Bytes(), "timestamp": expires + 1},
		{"party": b.handle, "ciphertext": env, "trustRoot": server.Public.Bytes(), "timestamp": now},
	} {
		err := b.c.Call("sealedDecrypt", args, nil)
		if c := classOfErr(t, err); c != "LibSignalError" {
			t.Fatalf("%s: sealedDecrypt refused with %v, want LibSignalError", b, err)
		}
	}
	b.sealedRecv(a, env, root.Public, now, "sealed whisper", interop.TypeWhisper)
	a.exchange(b, "and unsealed", interop.TypeWhisper)

	// Self-send: a certificate that names the receiving device (by UUID, or
	// by phone number when the receiver gives its own) is refused before
	// the inner message is touched, which then still decrypts.
	var self, selfE164 struct {
		Certificate []byte `json:"certificate"`
	}
	b.call("senderCertificate", map[string]any{"senderUuid": b.p.Name, "deviceId": b.p.DeviceID, "identityKey": a.p.IdentityKey,
		"expires": expires, "serverCertificate": sc.Certificate, "serverPrivateKey": server.Private[:]}, &self)
	a.call("senderCertificate", map[string]any{"senderUuid": aciName(t), "senderE164": "+14155550199", "deviceId": b.p.DeviceID,
		"identityKey": a.p.IdentityKey, "expires": expires, "serverCertificate": sc.Certificate, "serverPrivateKey": server.Private[:]}, &selfE164)
	for _, c := range []struct {
		cert  []byte
		extra map[string]any
	}{{self.Certificate, nil}, {selfE164.Certificate, map[string]any{"localE164": "+14155550199"}}} {
		args := map[string]any{"party": b.handle, "ciphertext": a.sealedSend(b, c.cert, "from myself?", nil), "trustRoot": root.Public.Bytes(), "timestamp": now}
		for k, v := range c.extra {
			args[k] = v
		}
		if got := classOfErr(t, b.c.Call("sealedDecrypt", args, nil)); got != classSelfSend {
			t.Fatalf("%s: self-send refused with class %s, want %s", b, got, classSelfSend)
		}
	}
	b.sealedRecv(a, a.sealedSend(b, ac.Certificate, "after the refusals", nil), root.Public, now, "after the refusals", interop.TypeWhisper)
}

// sealedV2 runs sealed sender v2: A on X sends one upload to B (two devices
// on Y) and C (one device on X), D excluded; X and Y both split it, byte
// for byte alike; every device opens its part, the inner message's target
// decrypts it; a tampered part fails for its account only.
func sealedV2(t *testing.T, x, y impl) {
	cx, cy := x.start(t), y.start(t)
	a := newDev(t, x.name, cx, "alice", aciName(t), 1)
	bName := aciName(t)
	bKey, err := curve.GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	newB := func(device uint32) *dev {
		d := &dev{t: t, impl: y.name, c: cy, handle: fmt.Sprint("bob", device)}
		d.call("newParty", map[string]any{"name": bName, "deviceId": device, "party": d.handle, "identityPrivateKey": bKey.Private[:]}, &d.p)
		return d
	}
	b1, b2 := newB(1), newB(2)
	c := newDev(t, x.name, cx, "carol", aciName(t), 3)
	devs := []*dev{b1, b2, c}
	excluded := []string{"PNI:" + aciName(t)}

	root, err1 := curve.GenerateKeyPair(rand.Reader)
	server, err2 := curve.GenerateKeyPair(rand.Reader)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	now := uint64(time.Now().UnixMilli())
	var sc, ac struct {
		Certificate []byte `json:"certificate"`
	}
	b1.call("serverCertificate", map[string]any{"keyId": 3, "serverKey": server.Public.Bytes(), "trustRootPrivateKey": root.Private[:]}, &sc)
	b1.call("senderCertificate", map[string]any{"senderUuid": a.p.Name, "deviceId": a.p.DeviceID, "identityKey": a.p.IdentityKey,
		"expires": now + 3_600_000, "serverCertificate": sc.Certificate, "serverPrivateKey": server.Private[:]}, &ac)
	var addrs []interop.Address
	for _, d := range devs {
		a.startSession(d, true)
		addrs = append(addrs, d.addr())
	}
	send := func(to *dev, msg string) []byte {
		var r struct {
			Ciphertext []byte `json:"ciphertext"`
		}
		a.call("sealedMultiEncrypt", map[string]any{"party": a.handle, "recipients": addrs, "excludedRecipients": excluded,
			"peer": to.addr(), "senderCertificate": ac.Certificate, "plaintext": []byte(msg)}, &r)
		if len(r.Ciphertext) == 0 || r.Ciphertext[0] != 0x23 {
			t.Fatalf("%s: sealedMultiEncrypt answered %x", a, r.Ciphertext)
		}
		return r.Ciphertext
	}
	type split struct {
		Recipients []struct {
			ServiceID string `json:"serviceId"`
			Devices   []struct {
				DeviceID       uint32 `json:"deviceId"`
				RegistrationID uint32 `json:"registrationId"`
			} `json:"devices"`
			Message []byte `json:"message"`
		} `json:"recipients"`
		ExcludedRecipients []string `json:"excludedRecipients"`
	}
	// split cuts sent on both implementations, checks they agree, and
	// returns the received message per account.
	splitBoth := func(sent []byte) map[string][]byte {
		var sx, sy split
		a.call("sealedMultiSplit", map[string]any{"ciphertext": sent}, &sx)
		b1.call("sealedMultiSplit", map[string]any{"ciphertext": sent}, &sy)
		jx, _ := json.Marshal(sx)
		jy, _ := json.Marshal(sy)
		if !bytes.Equal(jx, jy) {
			t.Fatalf("splits differ:\n %s: %s\n %s: %s", x.name, jx, y.name, jy)
		}
		if len(sx.Recipients) != 2 || len(sx.Recipients[0].Devices) != 2 || sx.Recipients[0].Devices[1].RegistrationID != b2.p.RegistrationID ||
			len(sx.ExcludedRecipients) != 1 || sx.ExcludedRecipients[0] != excluded[0] {
			t.Fatalf("split %s", jx)
		}
		out := map[string][]byte{}
		for _, r := range sx.Recipients {
			out[r.ServiceID] = r.Message
		}
		return out
	}
	open := func(d *dev, rm []byte) (contents []byte, err error) {
		var r struct {
			Contents []byte `json:"contents"`
		}
		err = d.c.Call("sealedOpen", map[string]any{"party": d.handle, "ciphertext": rm}, &r)
		return r.Contents, err
	}
	deliver := func(msgs map[string][]byte, target *dev, msg string, typ int) {
		var inner []byte
		for _, d := range devs {
			got, err := open(d, msgs[d.p.Name])
			if err != nil || inner != nil && !bytes.Equal(got, inner) {
				t.Fatalf("%s: sealedOpen %v (contents differ: %v)", d, err, inner != nil)
			}
			inner = got
		}
		target.sealedRecv(a, msgs[target.p.Name], root.Public, now, msg, typ)
	}
	for _, d := range devs {
		msg := "v2 to " + d.handle
		deliver(splitBoth(send(d, msg)), d, msg, interop.TypePreKey)
	}
	for _, d := range devs {
		d.exchange(a, "ack", interop.TypeWhisper)
	}
	deliver(splitBoth(send(b2, "v2 whisper")), b2, "v2 whisper", interop.TypeWhisper)

	// Tampering with B's key material: B's devices refuse, C does not.
	sent := send(c, "tampered")
	msgs := splitBoth(sent)
	at := bytes.Index(sent, msgs[bName][1:49])
	sent[at+7] ^= 1
	msgs = splitBoth(sent)
	for _, d := range devs {
		_, err := open(d, msgs[d.p.Name])
		if d.p.Name == bName && classOfErr(t, err) != classGeneric || d.p.Name != bName && err != nil {
			t.Fatalf("%s: tampered upload: %v", d, err)
		}
	}
	c.sealedRecv(a, msgs[c.p.Name], root.Public, now, "tampered", interop.TypeWhisper)
}
