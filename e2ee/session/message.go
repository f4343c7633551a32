package session

import (
	"crypto/hmac"
	"errors"
	"math"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/internal/kdf"
	"github.com/parley-im/parley/e2ee/internal/wire"
	"google.golang.org/protobuf/encoding/protowire"
)

// Message versions and framing.
const (
	// CurrentVersion is the message version this package speaks (PQXDH).
	CurrentVersion = 4
	// versionByte is (message version << 4) | current version.
	versionByte = CurrentVersion<<4 | CurrentVersion
	macLength   = 8
)

// MessageType is libsignal's CiphertextMessageType.
type MessageType uint8

// Ciphertext message types, numbered as in libsignal.
const (
	TypeSignal MessageType = 2 // SignalMessage ("Whisper")
	TypePreKey MessageType = 3 // PreKeySignalMessage
)

// Ciphertext is an encrypted message ready for transport.
type Ciphertext struct {
	Type MessageType
	Body []byte
}

// Field numbers of wire.proto, which is proto2.
const (
	smRatchetKey      = 1
	smCounter         = 2
	smPreviousCounter = 3
	smCiphertext      = 4
	smPQRatchet       = 5
	smAddresses       = 6

	pkPreKeyID        = 1
	pkBaseKey         = 2
	pkIdentityKey     = 3
	pkMessage         = 4
	pkRegistrationID  = 5
	pkSignedPreKeyID  = 6
	pkKyberPreKeyID   = 7
	pkKyberCiphertext = 8
)

// signalMessage is a parsed SignalMessage. serialized is the whole message
// as received (version byte ‖ protobuf ‖ MAC), which the MAC check needs
// byte for byte.
type signalMessage struct {
	version         uint8
	ratchetKey      curve.PublicKey
	counter         uint32
	previousCounter uint32
	ciphertext      []byte
	pqRatchet       []byte
	addresses       []byte
	hasAddresses    bool
	serialized      []byte
}

type preKeyMessage struct {
	version         uint8
	registrationID  uint32
	preKeyID        uint32
	hasPreKeyID     bool
	signedPreKeyID  uint32
	kyberPreKeyID   uint32
	kyberCiphertext []byte
	baseKey         curve.PublicKey
	identityKey     curve.PublicKey
	message         *signalMessage
	serialized      []byte
}

// checkVersion applies libsignal's rule to the high nibble of the first
// byte; the low nibble (the sender's current version) is informational.
func checkVersion(b byte) (uint8, error) {
	v := b >> 4
	switch {
	case v < CurrentVersion:
		return v, errorf(ErrLegacyVersion, "message version %d", v)
	case v > CurrentVersion:
		return v, errorf(ErrUnknownVersion, "message version %d", v)
	}
	return v, nil
}

// encodeSignalMessage serialises a SignalMessage with its MAC. Fields are
// written in field-number order and pq_ratchet only when non-empty, as
// libsignal's encoder does; the MAC covers these exact bytes.
//
// addresses (field 6) is for libsignal 0.91 and later, which put it into
// the SignalMessage inside a PreKeySignalMessage (Encrypt does the same);
// nil leaves it out.
func encodeSignalMessage(mk *messageKeys, ratchetKey curve.PublicKey, counter, previousCounter uint32,
	ciphertext, pqRatchet, addresses []byte, senderIdentity, receiverIdentity curve.PublicKey) []byte {
	return buildSignalMessage(mk, ratchetKey, counter, previousCounter, ciphertext, false, pqRatchet, addresses, senderIdentity, receiverIdentity)
}

// sealSignalMessage is encodeSignalMessage of encryptCBC(mk, plaintext),
// encrypting in place in the message's buffer.
func sealSignalMessage(mk *messageKeys, ratchetKey curve.PublicKey, counter, previousCounter uint32,
	plaintext, pqRatchet, addresses []byte, senderIdentity, receiverIdentity curve.PublicKey) []byte {
	return buildSignalMessage(mk, ratchetKey, counter, previousCounter, plaintext, true, pqRatchet, addresses, senderIdentity, receiverIdentity)
}

// buildSignalMessage writes a SignalMessage whose ciphertext is data, or
// data encrypted when encrypt is set.
func buildSignalMessage(mk *messageKeys, ratchetKey curve.PublicKey, counter, previousCounter uint32,
	data []byte, encrypt bool, pqRatchet, addresses []byte, senderIdentity, receiverIdentity curve.PublicKey) []byte {
	ctLen := len(data)
	if encrypt {
		ctLen = paddedLen(len(data))
	}
	b := make([]byte, 0, 1+2+33+2*6+4+ctLen+4+len(pqRatchet)+4+len(addresses)+macLength)
	b = append(b, versionByte)
	b = protowire.AppendTag(b, smRatchetKey, protowire.BytesType)
	b = protowire.AppendVarint(b, curve.SerializedPublicKeySize)
	b = append(b, curve.KeyTypeDJB)
	b = append(b, ratchetKey[:]...)
	b = protowire.AppendTag(b, smCounter, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(counter))
	b = protowire.AppendTag(b, smPreviousCounter, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(previousCounter))
	b = protowire.AppendTag(b, smCiphertext, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(ctLen))
	if encrypt {
		start := len(b)
		b = appendPadded(b, data)
		cbcEncrypt(mk, b[start:])
	} else {
		b = append(b, data...)
	}
	if len(pqRatchet) > 0 {
		b = protowire.AppendTag(b, smPQRatchet, protowire.BytesType)
		b = protowire.AppendBytes(b, pqRatchet)
	}
	if addresses != nil {
		b = protowire.AppendTag(b, smAddresses, protowire.BytesType)
		b = protowire.AppendBytes(b, addresses)
	}
	mac := computeMAC(mk.macKey[:], senderIdentity, receiverIdentity, b)
	return append(b, mac[:macLength]...)
}

// computeMAC is HMAC-SHA256(mac key, senderIdentity ‖ receiverIdentity ‖
// version byte ‖ protobuf), identities in their 33-byte encoding.
func computeMAC(macKey []byte, sender, receiver curve.PublicKey, body []byte) [32]byte {
	var idBuf [2 * curve.SerializedPublicKeySize]byte
	idBuf[0] = curve.KeyTypeDJB
	copy(idBuf[1:33], sender[:])
	idBuf[33] = curve.KeyTypeDJB
	copy(idBuf[34:], receiver[:])
	return kdf.HMAC(macKey, idBuf[:], body)
}

func (m *signalMessage) verifyMAC(macKey []byte, sender, receiver curve.PublicKey) bool {
	n := len(m.serialized) - macLength
	want := computeMAC(macKey, sender, receiver, m.serialized[:n])
	return hmac.Equal(want[:macLength], m.serialized[n:])
}

// fieldReader walks a protobuf message. It enforces the wire type of known
// fields, keeps the last occurrence of repeated scalars (proto2 semantics)
// and skips unknown fields.
type fieldReader struct {
	b   []byte
	err error
}

func (r *fieldReader) next() (protowire.Number, protowire.Type, bool) {
	if r.err != nil || len(r.b) == 0 {
		return 0, 0, false
	}
	num, typ, n := wire.ConsumeTag(r.b)
	if n < 0 {
		r.err = errorf(ErrInvalidMessage, "protobuf: bad tag")
		return 0, 0, false
	}
	r.b = r.b[n:]
	return num, typ, true
}

func (r *fieldReader) bytes(typ protowire.Type) []byte {
	if typ != protowire.BytesType {
		r.err = errorf(ErrInvalidMessage, "wrong wire type %d", typ)
		return nil
	}
	v, n := protowire.ConsumeBytes(r.b)
	if n < 0 {
		r.err = protowire.ParseError(n)
		return nil
	}
	r.b = r.b[n:]
	return v
}

func (r *fieldReader) uint32(typ protowire.Type) uint32 {
	if typ != protowire.VarintType {
		r.err = errorf(ErrInvalidMessage, "wrong wire type %d", typ)
		return 0
	}
	v, n := protowire.ConsumeVarint(r.b)
	if n < 0 {
		r.err = protowire.ParseError(n)
		return 0
	}
	r.b = r.b[n:]
	// libsignal's decoder truncates larger varints; we refuse them, since
	// only a broken or hostile peer sends them.
	if v > math.MaxUint32 {
		r.err = errorf(ErrInvalidMessage, "varint %d exceeds uint32", v)
		return 0
	}
	return uint32(v)
}

func (r *fieldReader) skip(num protowire.Number, typ protowire.Type) {
	n := wire.ConsumeFieldValue(num, typ, r.b)
	if n < 0 {
		r.err = errorf(ErrInvalidMessage, "protobuf: bad field %d", num)
		return
	}
	r.b = r.b[n:]
}

func (r *fieldReader) failure() error {
	if r.err == nil {
		return nil
	}
	if errors.Is(r.err, ErrInvalidMessage) {
		return r.err
	}
	return errorf(ErrInvalidMessage, "protobuf: %v", r.err)
}

// parseSignalMessage parses version ‖ protobuf ‖ MAC(8). The returned
// message aliases b (copy it if b will be reused).
func parseSignalMessage(b []byte) (*signalMessage, error) {
	m := new(signalMessage)
	if err := parseSignalMessageInto(m, b); err != nil {
		return nil, err
	}
	return m, nil
}

// parseSignalMessageInto is parseSignalMessage into the caller's m (which
// may then stay on the stack).
func parseSignalMessageInto(m *signalMessage, b []byte) error {
	if len(b) < 1+macLength {
		return errorf(ErrInvalidMessage, "SignalMessage too short (%d bytes)", len(b))
	}
	v, err := checkVersion(b[0])
	if err != nil {
		return err
	}
	*m = signalMessage{version: v, serialized: b}
	r := fieldReader{b: b[1 : len(b)-macLength]}
	var haveKey, haveCounter, haveCiphertext bool
	var rawKey []byte
	for {
		num, typ, ok := r.next()
		if !ok {
			break
		}
		switch num {
		case smRatchetKey:
			rawKey, haveKey = r.bytes(typ), true
		case smCounter:
			m.counter, haveCounter = r.uint32(typ), true
		case smPreviousCounter:
			m.previousCounter = r.uint32(typ)
		case smCiphertext:
			m.ciphertext, haveCiphertext = r.bytes(typ), true
		case smPQRatchet:
			m.pqRatchet = r.bytes(typ)
		case smAddresses:
			m.addresses, m.hasAddresses = r.bytes(typ), true
		default:
			r.skip(num, typ)
		}
	}
	if err := r.failure(); err != nil {
		return err
	}
	if !haveKey || !haveCounter || !haveCiphertext {
		return errorf(ErrInvalidMessage, "SignalMessage lacks a required field")
	}
	if m.ratchetKey, err = curve.ParsePublicKey(rawKey); err != nil {
		return errorf(ErrInvalidKey, "ratchet key: %v", err)
	}
	return nil
}

// encodePreKeyMessage serialises a PreKeySignalMessage in field-number
// order, as libsignal does (registration id is field 5, so it comes after
// the embedded message).
func encodePreKeyMessage(p *preKeyMessage, inner []byte) []byte {
	b := make([]byte, 0, 1+6+2*35+4+len(inner)+6+6+6+4+len(p.kyberCiphertext))
	b = append(b, versionByte)
	if p.hasPreKeyID {
		b = protowire.AppendTag(b, pkPreKeyID, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(p.preKeyID))
	}
	b = protowire.AppendTag(b, pkBaseKey, protowire.BytesType)
	b = protowire.AppendBytes(b, p.baseKey.Bytes())
	b = protowire.AppendTag(b, pkIdentityKey, protowire.BytesType)
	b = protowire.AppendBytes(b, p.identityKey.Bytes())
	b = protowire.AppendTag(b, pkMessage, protowire.BytesType)
	b = protowire.AppendBytes(b, inner)
	b = protowire.AppendTag(b, pkRegistrationID, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(p.registrationID))
	b = protowire.AppendTag(b, pkSignedPreKeyID, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(p.signedPreKeyID))
	b = protowire.AppendTag(b, pkKyberPreKeyID, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(p.kyberPreKeyID))
	b = protowire.AppendTag(b, pkKyberCiphertext, protowire.BytesType)
	b = protowire.AppendBytes(b, p.kyberCiphertext)
	return b
}

// parsePreKeyMessage parses version ‖ protobuf. The returned message
// aliases b.
func parsePreKeyMessage(b []byte) (*preKeyMessage, error) {
	if len(b) < 1 {
		return nil, errorf(ErrInvalidMessage, "empty PreKeySignalMessage")
	}
	v, err := checkVersion(b[0])
	if err != nil {
		return nil, err
	}
	p := &preKeyMessage{version: v, serialized: b}
	r := fieldReader{b: b[1:]}
	var haveSigned, haveKyberID, haveKyberCT bool
	var rawBase, rawIdentity, rawMessage []byte
	for {
		num, typ, ok := r.next()
		if !ok {
			break
		}
		switch num {
		case pkPreKeyID:
			p.preKeyID, p.hasPreKeyID = r.uint32(typ), true
		case pkBaseKey:
			rawBase = r.bytes(typ)
		case pkIdentityKey:
			rawIdentity = r.bytes(typ)
		case pkMessage:
			rawMessage = r.bytes(typ)
		case pkRegistrationID:
			p.registrationID = r.uint32(typ)
		case pkSignedPreKeyID:
			p.signedPreKeyID, haveSigned = r.uint32(typ), true
		case pkKyberPreKeyID:
			p.kyberPreKeyID, haveKyberID = r.uint32(typ), true
		case pkKyberCiphertext:
			p.kyberCiphertext, haveKyberCT = r.bytes(typ), true
		default:
			r.skip(num, typ)
		}
	}
	if err := r.failure(); err != nil {
		return nil, err
	}
	if !haveSigned || rawBase == nil || rawIdentity == nil || rawMessage == nil {
		return nil, errorf(ErrInvalidMessage, "PreKeySignalMessage lacks a required field")
	}
	// Version 4 is PQXDH: the Kyber half must be there, both parts of it.
	// The ciphertext's framing is checked where it is decapsulated, as
	// libsignal does: a repeat of a session start we already processed
	// never looks at it.
	if !haveKyberID || !haveKyberCT {
		return nil, errorf(ErrInvalidMessage, "PreKeySignalMessage lacks the Kyber prekey id or ciphertext")
	}
	if p.baseKey, err = curve.ParsePublicKey(rawBase); err != nil {
		return nil, errorf(ErrInvalidKey, "base key: %v", err)
	}
	if p.identityKey, err = curve.ParsePublicKey(rawIdentity); err != nil {
		return nil, errorf(ErrInvalidKey, "identity key: %v", err)
	}
	if p.message, err = parseSignalMessage(rawMessage); err != nil {
		return nil, err
	}
	if p.message.version != p.version {
		return nil, errorf(ErrInvalidMessage, "inner message version %d in a version %d PreKeySignalMessage", p.message.version, p.version)
	}
	return p, nil
}
