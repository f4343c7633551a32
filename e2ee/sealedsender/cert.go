package sealedsender

import (
	"encoding/hex"
	"io"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/parley-im/parley/e2ee/curve"
)

// RevokedServerKeyIDs lists server certificate key ids that never validate.
// 0xDEADC357 is libsignal's test id for the revocation logic.
var RevokedServerKeyIDs = []uint32{0xDEADC357}

// ServerCertificate binds a server signing key to a key id, signed by the
// trust root baked into clients.
type ServerCertificate struct {
	KeyID       uint32
	Key         curve.PublicKey
	certificate []byte // the signed inner Certificate bytes
	signature   []byte
	serialized  []byte
}

// NewServerCertificate issues a certificate for key, signed by trustRoot.
func NewServerCertificate(rand io.Reader, keyID uint32, key curve.PublicKey, trustRoot curve.PrivateKey) (*ServerCertificate, error) {
	var inner []byte
	inner = appendVarint(inner, 1, uint64(keyID))
	inner = appendBytes(inner, 2, key.Bytes())
	sig, err := trustRoot.Sign(rand, inner)
	if err != nil {
		return nil, err
	}
	var outer []byte
	outer = appendBytes(outer, 1, inner)
	outer = appendBytes(outer, 2, sig[:])
	return &ServerCertificate{KeyID: keyID, Key: key, certificate: inner, signature: sig[:], serialized: outer}, nil
}

// parseSigned splits a serialized certificate, which both kinds frame the
// same way: {1 certificate bytes, 2 signature over them}.
func parseSigned(b []byte) (cert, sig []byte, err error) {
	outer, err := decodeFields(b, map[protowire.Number]protowire.Type{1: protowire.BytesType, 2: protowire.BytesType})
	if err != nil {
		return nil, nil, err
	}
	c, ok1 := outer[1]
	s, ok2 := outer[2]
	if !ok1 || !ok2 {
		return nil, nil, ErrInvalidProtobuf
	}
	return c.b, s.b, nil
}

// ParseServerCertificate parses a serialized ServerCertificate. It does not
// check the signature; see Validate.
func ParseServerCertificate(b []byte) (*ServerCertificate, error) {
	cert, sig, err := parseSigned(b)
	if err != nil {
		return nil, err
	}
	inner, err := decodeFields(cert, map[protowire.Number]protowire.Type{1: protowire.VarintType, 2: protowire.BytesType})
	if err != nil {
		return nil, err
	}
	id, ok1 := inner[1]
	k, ok2 := inner[2]
	if !ok1 || !ok2 {
		return nil, ErrInvalidProtobuf
	}
	key, err := curve.ParsePublicKey(k.b)
	if err != nil {
		return nil, ErrInvalidKey
	}
	return &ServerCertificate{KeyID: uint32(id.v), Key: key, certificate: clone(cert), signature: clone(sig), serialized: clone(b)}, nil
}

// Serialize returns the wire bytes.
func (c *ServerCertificate) Serialize() []byte { return clone(c.serialized) }

// Validate checks the revocation list and the trust root's signature.
func (c *ServerCertificate) Validate(trustRoot curve.PublicKey) error {
	for _, id := range RevokedServerKeyIDs {
		if c.KeyID == id {
			return ErrRevokedServerCertificate
		}
	}
	if !trustRoot.Verify(c.certificate, c.signature) {
		return ErrUntrustedServerCertificate
	}
	return nil
}

// SenderCertificate binds a sender's identity key, UUID and device to an
// expiry time, signed by a server certificate's key.
type SenderCertificate struct {
	SenderUUID  string // lowercase hyphenated form, whichever way it was encoded
	SenderE164  string // empty when absent
	DeviceID    uint32
	Expires     uint64 // milliseconds since 1970
	IdentityKey curve.PublicKey
	// Signer is the embedded server certificate, or for a certificate that
	// refers to a well-known one by id (SignerID), that one.
	Signer      *ServerCertificate
	SignerID    uint32 // the referenced id, when the signer was not embedded
	certificate []byte
	signature   []byte
	serialized  []byte
}

// maxDeviceID is libsignal's bound on device ids (1..127).
const maxDeviceID = 127

// NewSenderCertificate issues a certificate signed by signerKey, the private
// key of signer. e164 may be empty.
func NewSenderCertificate(rand io.Reader, senderUUID, e164 string, identityKey curve.PublicKey, deviceID uint32,
	expires uint64, signer *ServerCertificate, signerKey curve.PrivateKey) (*SenderCertificate, error) {
	if deviceID == 0 || deviceID > maxDeviceID || signer == nil {
		return nil, ErrInvalidArgument
	}
	// Field order follows libsignal's encoder so that certificates it would
	// issue for the same inputs have the same bytes.
	var inner []byte
	if e164 != "" {
		inner = appendBytes(inner, 1, []byte(e164))
	}
	inner = appendVarint(inner, 2, uint64(deviceID))
	inner = protowire.AppendTag(inner, 3, protowire.Fixed64Type)
	inner = protowire.AppendFixed64(inner, expires)
	inner = appendBytes(inner, 4, identityKey.Bytes())
	inner = appendBytes(inner, 5, signer.serialized)
	inner = appendBytes(inner, 6, []byte(senderUUID))
	sig, err := signerKey.Sign(rand, inner)
	if err != nil {
		return nil, err
	}
	var outer []byte
	outer = appendBytes(outer, 1, inner)
	outer = appendBytes(outer, 2, sig[:])
	return &SenderCertificate{SenderUUID: senderUUID, SenderE164: e164, DeviceID: deviceID, Expires: expires,
		IdentityKey: identityKey, Signer: signer, certificate: inner, signature: sig[:], serialized: outer}, nil
}

// ParseSenderCertificate parses a serialized SenderCertificate, including an
// embedded server certificate. It does not check signatures; see Validate.
// A certificate referring to an unknown server certificate id parses, and
// fails Validate with ErrUnknownServerCertificate.
func ParseSenderCertificate(b []byte) (*SenderCertificate, error) {
	cert, sig, err := parseSigned(b)
	if err != nil {
		return nil, err
	}
	f, err := decodeFields(cert, map[protowire.Number]protowire.Type{
		1: protowire.BytesType, 6: protowire.BytesType, 7: protowire.BytesType, 2: protowire.VarintType,
		3: protowire.Fixed64Type, 4: protowire.BytesType, 5: protowire.BytesType, 8: protowire.VarintType,
	})
	if err != nil {
		return nil, err
	}
	sc := &SenderCertificate{certificate: clone(cert), signature: clone(sig), serialized: clone(b)}
	dev, ok := f[2]
	// The field is a uint32; a larger varint is truncated, as protobuf does.
	if !ok || uint32(dev.v) == 0 || uint32(dev.v) > maxDeviceID {
		return nil, ErrInvalidProtobuf
	}
	sc.DeviceID = uint32(dev.v)
	exp, ok := f[3]
	if !ok {
		return nil, ErrInvalidProtobuf
	}
	sc.Expires = exp.v
	signer, ok := last(f, 5, 8)
	if !ok {
		return nil, ErrInvalidProtobuf
	}
	if signer.num == 5 {
		if sc.Signer, err = ParseServerCertificate(signer.b); err != nil {
			return nil, err
		}
	} else {
		sc.SignerID = uint32(signer.v)
		if known, ok := knownServerCertificates()[sc.SignerID]; ok {
			sc.Signer = known
		}
	}
	uuid, ok := last(f, 6, 7)
	if !ok {
		return nil, ErrInvalidProtobuf
	}
	if uuid.num == 6 {
		sc.SenderUUID = string(uuid.b)
	} else {
		if len(uuid.b) != 16 {
			return nil, ErrInvalidProtobuf
		}
		sc.SenderUUID = formatUUID(uuid.b)
	}
	if e, ok := f[1]; ok {
		sc.SenderE164 = string(e.b)
	}
	k, ok := f[4]
	if !ok {
		return nil, ErrInvalidProtobuf
	}
	if sc.IdentityKey, err = curve.ParsePublicKey(k.b); err != nil {
		return nil, ErrInvalidKey
	}
	return sc, nil
}

// last returns whichever of the oneof members a and b came last.
func last(f map[protowire.Number]field, a, b protowire.Number) (field, bool) {
	fa, oka := f[a]
	fb, okb := f[b]
	switch {
	case oka && okb:
		if fa.pos > fb.pos {
			return fa, true
		}
		return fb, true
	case oka:
		return fa, true
	case okb:
		return fb, true
	}
	return field{}, false
}

func formatUUID(b []byte) string {
	h := hex.EncodeToString(b)
	return strings.Join([]string{h[0:8], h[8:12], h[12:16], h[16:20], h[20:32]}, "-")
}

// Serialize returns the wire bytes.
func (c *SenderCertificate) Serialize() []byte { return clone(c.serialized) }

// Validate checks the server certificate against trustRoot (and the
// revocation list), the server's signature on this certificate, and that
// now (milliseconds since 1970) is not after the expiry.
func (c *SenderCertificate) Validate(trustRoot curve.PublicKey, nowMillis uint64) error {
	return c.ValidateWithTrustRoots([]curve.PublicKey{trustRoot}, nowMillis)
}
