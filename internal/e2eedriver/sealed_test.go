package e2eedriver

import (
	"bytes"
	"crypto/rand"
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
}
