package sealedsender

import (
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/subtle"
	"io"

	"github.com/parley-im/parley/e2ee/curve"
)

// Sealed sender v2 (multi-recipient). The sender encrypts the content once
// under a fresh 32-byte secret M and wraps M for each recipient's identity
// key; the server splits the upload into one ReceivedMessage per recipient.
//
//	M  random(32)
//	E  = key pair from HKDF(M, "Sealed Sender v2: r (2023-08)", 32)
//	K  = HKDF(M, "Sealed Sender v2: K", 32)
//	Ci = HKDF(DH(E, Ri) ‖ E ‖ Ri, "Sealed Sender v2: DH", 32) xor M
//	ATi = HKDF(DH(S, Ri) ‖ E ‖ Ci ‖ S ‖ Ri, "Sealed Sender v2: DH-sender", 16)
//	body = AES-256-GCM-SIV(K, zero nonce, no AD, content)
//
// HKDF is HKDF-SHA256 without salt and the label as info; public keys
// inside the KDF inputs are in their 33-byte 0x05 form, on the wire E is
// the bare 32 bytes. A receiver recovers M from Ci, re-derives E and
// checks it against the one sent (so Ci cannot be swapped for another
// secret), opens the body, and checks ATi with the sender key named in the
// certificate it finds inside: only the holder of that identity key could
// have computed it.
//
// Wire formats (integers big-endian, varint as in protobuf):
//
//	SentMessage     = version(0x22|0x23) ‖ varint count ‖ recipient*count ‖ E(32) ‖ body
//	recipient       = id ‖ device+ ‖ C(32) ‖ AT(16)   a recipient with devices
//	                | id ‖ 0x00                     an excluded recipient
//	device          = id(1, 1..127) ‖ u16(has_more<<15 | unused<<14 | registration id)
//	id              = 16-byte ACI UUID (0x22) | 17-byte fixed-width service id (0x23)
//	ReceivedMessage = 0x22 ‖ C(32) ‖ AT(16) ‖ E(32) ‖ body

// Version bytes of sealed sender v2 sent messages: 0x22 names recipients by
// ACI UUID, 0x23 by fixed-width service id (what libsignal sends since
// 0.33). A ReceivedMessage always starts with 0x22.
const (
	VersionV2UUID      = 0x22
	VersionV2ServiceID = 0x23
)

const (
	labelR  = "Sealed Sender v2: r (2023-08)"
	labelK  = "Sealed Sender v2: K"
	labelDH = "Sealed Sender v2: DH"
	labelAT = "Sealed Sender v2: DH-sender"

	v2SecretLen = 32 // M, and C
	v2TagLen    = 16 // AT
	v2PubLen    = 32 // E on the wire
	v2KeyMatLen = v2SecretLen + v2TagLen

	// MaxRegistrationID is the largest registration id a v2 message can
	// carry: the field has 14 bits.
	MaxRegistrationID = 0x3FFF
)

func v2KDF(ikm []byte, label string, n int) []byte {
	out, err := hkdf.Key(sha256.New, ikm, nil, label, n)
	if err != nil {
		panic("sealedsender: unreachable: hkdf: " + err.Error())
	}
	return out
}

// v2Keys derives the ephemeral key pair and the content key from M.
func v2Keys(m []byte) (e curve.KeyPair, k []byte) {
	priv, err := curve.ParsePrivateKey(v2KDF(m, labelR, 32))
	if err != nil {
		panic("sealedsender: unreachable: 32-byte private key rejected")
	}
	return curve.KeyPair{Private: priv, Public: priv.PublicKey()}, v2KDF(m, labelK, 32)
}

// v2Wrap computes C = KDF(DH ‖ E ‖ R) xor secret; it is its own inverse.
// dh is DH(E, R), computed by whichever side holds a private key.
func v2Wrap(dh [32]byte, e, r curve.PublicKey, secret []byte) []byte {
	ikm := append(dh[:], e.Bytes()...)
	ikm = append(ikm, r.Bytes()...)
	out := v2KDF(ikm, labelDH, v2SecretLen)
	subtle.XORBytes(out, out, secret)
	return out
}

// v2AuthTag computes AT from dh = DH(S, R).
func v2AuthTag(dh [32]byte, e curve.PublicKey, c []byte, s, r curve.PublicKey) []byte {
	ikm := append(dh[:], e.Bytes()...)
	ikm = append(ikm, c...)
	ikm = append(ikm, s.Bytes()...)
	ikm = append(ikm, r.Bytes()...)
	return v2KDF(ikm, labelAT, v2TagLen)
}

// Device is one device of a v2 recipient.
type Device struct {
	ID             uint32 // 1..127
	RegistrationID uint32 // 0..MaxRegistrationID
}

// Recipient is one recipient of a v2 message: all its devices share its
// identity key and so one wrapped secret.
type Recipient struct {
	ServiceID   ServiceID
	IdentityKey curve.PublicKey
	Devices     []Device // at least one
}

// EncryptMulti seals content for every device of recipients in one sent
// message (version 0x23), from the sender's identity key pair, which must
// be the key in the content's sender certificate. excluded lists service
// ids that deliberately get nothing (the server can check that the
// recipient list is complete); they must not also be recipients.
//
// Recipients are written in the order given. A service id may appear more
// than once (libsignal does that for devices of one account that are not
// adjacent in its address list); each occurrence then carries its own
// wrapped secret and the server merges the device lists.
func EncryptMulti(rand io.Reader, content *Content, sender curve.KeyPair, recipients []Recipient, excluded []ServiceID) ([]byte, error) {
	usmc, err := content.Serialize()
	if err != nil {
		return nil, err
	}
	listed := map[ServiceID]bool{}
	for _, r := range recipients {
		if len(r.Devices) == 0 {
			return nil, ErrInvalidArgument
		}
		for _, d := range r.Devices {
			if d.ID < 1 || d.ID > maxDeviceID {
				return nil, ErrInvalidArgument
			}
			if d.RegistrationID > MaxRegistrationID {
				return nil, ErrInvalidRegistrationID
			}
		}
		if r.ServiceID[0] != KindACI && r.ServiceID[0] != KindPNI {
			return nil, ErrInvalidServiceID
		}
		listed[r.ServiceID] = true
	}
	for _, x := range excluded {
		// An id both excluded and listed would make the message unparsable
		// for the server (libsignal encodes it anyway; we refuse early).
		if listed[x] || (x[0] != KindACI && x[0] != KindPNI) {
			return nil, ErrInvalidArgument
		}
	}

	m := make([]byte, v2SecretLen)
	if _, err := io.ReadFull(rand, m); err != nil {
		return nil, err
	}
	e, k := v2Keys(m)
	body := sivSeal(k, make([]byte, sivNonceLen), nil, usmc)

	out := []byte{VersionV2ServiceID}
	out = appendUvarint(out, uint64(len(recipients)+len(excluded)))
	for _, r := range recipients {
		out = append(out, r.ServiceID[:]...)
		for i, d := range r.Devices {
			reg := uint16(d.RegistrationID)
			if i < len(r.Devices)-1 {
				reg |= 0x8000 // has_more
			}
			out = append(out, byte(d.ID), byte(reg>>8), byte(reg))
		}
		dhE, err := e.Private.Agree(r.IdentityKey)
		if err != nil {
			return nil, ErrInvalidKey
		}
		c := v2Wrap(dhE, e.Public, r.IdentityKey, m)
		dhS, err := sender.Private.Agree(r.IdentityKey)
		if err != nil {
			return nil, ErrInvalidKey
		}
		out = append(out, c...)
		out = append(out, v2AuthTag(dhS, e.Public, c, sender.Public, r.IdentityKey)...)
	}
	for _, x := range excluded {
		out = append(out, x[:]...)
		out = append(out, 0) // no devices
	}
	out = append(out, e.Public[:]...)
	return append(out, body...), nil
}

func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// open2 authenticates and decrypts a v2 ReceivedMessage (any minor version
// of major version 2, as libsignal accepts) and returns its content.
func open2(msg []byte, recipient curve.KeyPair) (*Content, error) {
	rest := msg[1:]
	if len(rest) < v2KeyMatLen+v2PubLen {
		return nil, ErrInvalidMessage
	}
	c := rest[:v2SecretLen]
	at := rest[v2SecretLen:v2KeyMatLen]
	var ePub curve.PublicKey
	copy(ePub[:], rest[v2KeyMatLen:v2KeyMatLen+v2PubLen])
	body := rest[v2KeyMatLen+v2PubLen:]

	dhE, err := recipient.Private.Agree(ePub)
	if err != nil {
		return nil, ErrInvalidMessage
	}
	m := v2Wrap(dhE, ePub, recipient.Public, c)
	e, k := v2Keys(m)
	if subtle.ConstantTimeCompare(e.Public[:], ePub[:]) != 1 {
		return nil, ErrInvalidMessage
	}
	usmc, ok := sivOpen(k, make([]byte, sivNonceLen), nil, body)
	if !ok {
		return nil, ErrInvalidMessage
	}
	content, err := ParseContent(usmc)
	if err != nil {
		return nil, err
	}
	dhS, err := recipient.Private.Agree(content.Sender.IdentityKey)
	if err != nil {
		return nil, ErrInvalidMessage
	}
	want := v2AuthTag(dhS, ePub, c, content.Sender.IdentityKey, recipient.Public)
	if subtle.ConstantTimeCompare(want, at) != 1 {
		return nil, ErrInvalidMessage
	}
	return content, nil
}
