package senderkey

import (
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/internal/wire"
)

// MessageVersion is the Sender Key message version. Both message types
// start with the byte MessageVersion<<4 | MessageVersion = 0x33.
const MessageVersion = 3

const (
	versionByte  = MessageVersion<<4 | MessageVersion
	signatureLen = curve.SignatureSize
)

// Field numbers of signal.proto.wire.SenderKeyDistributionMessage and
// SenderKeyMessage; chain_key and ciphertext share number 4.
const (
	fieldDistributionID protowire.Number = 1
	fieldChainID        protowire.Number = 2
	fieldIteration      protowire.Number = 3
	fieldChainKey       protowire.Number = 4
	fieldCiphertext     protowire.Number = 4
	fieldSigningKey     protowire.Number = 5
)

// DistributionMessage is a parsed SenderKeyDistributionMessage: everything a
// receiver needs to decrypt the sender's chain from Iteration on.
type DistributionMessage struct {
	DistributionID [16]byte
	ChainID        uint32
	Iteration      uint32
	ChainKey       [32]byte
	SigningKey     curve.PublicKey
}

// Marshal returns the wire form, byte for byte as libsignal writes it: all
// five proto2 fields in field-number order, zero values included.
func (m *DistributionMessage) Marshal() []byte {
	b := make([]byte, 0, 1+18+6+6+34+35)
	b = append(b, versionByte)
	b = appendBytes(b, fieldDistributionID, m.DistributionID[:])
	b = appendUint32(b, fieldChainID, m.ChainID)
	b = appendUint32(b, fieldIteration, m.Iteration)
	b = appendBytes(b, fieldChainKey, m.ChainKey[:])
	b = appendBytes(b, fieldSigningKey, m.SigningKey.Bytes())
	return b
}

// ParseDistributionMessage parses an SKDM. Like libsignal it checks only the
// high nibble of the version byte, accepts fields in any order (the last
// occurrence wins) and skips unknown fields, and it requires every field,
// a 16-byte distribution id, a 32-byte chain key and a 0x05‖32 signing key.
func ParseDistributionMessage(b []byte) (*DistributionMessage, error) {
	body, err := checkVersion(b)
	if err != nil {
		return nil, err
	}
	var f fields
	if err := f.parse(body, fieldChainKey, fieldSigningKey); err != nil {
		return nil, err
	}
	if !f.hasChainID || !f.hasIteration || f.distributionID == nil || f.field4 == nil || f.signingKey == nil {
		return nil, ErrInvalidMessage
	}
	m := &DistributionMessage{ChainID: f.chainID, Iteration: f.iteration}
	if len(f.distributionID) != len(m.DistributionID) || len(f.field4) != len(m.ChainKey) {
		return nil, ErrInvalidMessage
	}
	copy(m.DistributionID[:], f.distributionID)
	copy(m.ChainKey[:], f.field4)
	if m.SigningKey, err = curve.ParsePublicKey(f.signingKey); err != nil {
		return nil, ErrInvalidMessage
	}
	return m, nil
}

// Message is a parsed SenderKeyMessage.
type Message struct {
	DistributionID [16]byte
	ChainID        uint32
	Iteration      uint32
	Ciphertext     []byte
	Signature      [64]byte

	// signed holds the exact received bytes the signature covers; the
	// signature is checked over these, never over a re-encoding.
	signed []byte
}

// marshalUnsigned returns the bytes the signature covers.
func (m *Message) marshalUnsigned() []byte {
	b := make([]byte, 0, 1+18+6+6+3+len(m.Ciphertext)+signatureLen)
	b = append(b, versionByte)
	b = appendBytes(b, fieldDistributionID, m.DistributionID[:])
	b = appendUint32(b, fieldChainID, m.ChainID)
	b = appendUint32(b, fieldIteration, m.Iteration)
	b = appendBytes(b, fieldCiphertext, m.Ciphertext)
	return b
}

// ParseMessage parses a SenderKeyMessage without verifying its signature
// (that needs the sender's chain; Decrypt does it).
func ParseMessage(b []byte) (*Message, error) {
	if len(b) < 1+signatureLen {
		if len(b) > 0 {
			if _, err := checkVersion(b); err != nil {
				return nil, err
			}
		}
		return nil, ErrInvalidMessage
	}
	signed := b[:len(b)-signatureLen]
	body, err := checkVersion(signed)
	if err != nil {
		return nil, err
	}
	var f fields
	if err := f.parse(body, fieldCiphertext, 0); err != nil {
		return nil, err
	}
	if !f.hasChainID || !f.hasIteration || f.distributionID == nil || f.field4 == nil {
		return nil, ErrInvalidMessage
	}
	m := &Message{ChainID: f.chainID, Iteration: f.iteration, signed: signed}
	if len(f.distributionID) != len(m.DistributionID) {
		return nil, ErrInvalidMessage
	}
	copy(m.DistributionID[:], f.distributionID)
	m.Ciphertext = append([]byte(nil), f.field4...)
	copy(m.Signature[:], b[len(signed):])
	return m, nil
}

func checkVersion(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, ErrInvalidMessage
	}
	if b[0]>>4 != MessageVersion {
		return nil, ErrUnknownVersion
	}
	return b[1:], nil
}

// fields collects the fields shared by both messages. Byte fields alias
// the input.
type fields struct {
	distributionID []byte
	chainID        uint32
	hasChainID     bool
	iteration      uint32
	hasIteration   bool
	field4         []byte // chain_key or ciphertext
	signingKey     []byte
}

// parse walks a proto2 message. Fields 4 and 5 are only interpreted when
// asked for (want4, want5 non-zero); otherwise they are skipped as unknown.
func (f *fields) parse(b []byte, want4, want5 protowire.Number) error {
	for len(b) > 0 {
		num, typ, n := wire.ConsumeTag(b)
		if n < 0 {
			return ErrInvalidMessage
		}
		b = b[n:]
		switch {
		case num == fieldDistributionID && typ == protowire.BytesType:
			f.distributionID, n = protowire.ConsumeBytes(b)
		case num == fieldChainID && typ == protowire.VarintType:
			var v uint64
			v, n = protowire.ConsumeVarint(b)
			f.chainID, f.hasChainID = uint32(v), true // proto uint32: truncate
		case num == fieldIteration && typ == protowire.VarintType:
			var v uint64
			v, n = protowire.ConsumeVarint(b)
			f.iteration, f.hasIteration = uint32(v), true
		case num == want4 && typ == protowire.BytesType:
			f.field4, n = protowire.ConsumeBytes(b)
		case num == want5 && want5 != 0 && typ == protowire.BytesType:
			f.signingKey, n = protowire.ConsumeBytes(b)
		case num == fieldDistributionID || num == fieldChainID || num == fieldIteration ||
			num == want4 || (want5 != 0 && num == want5):
			// A known field with the wrong wire type.
			return ErrInvalidMessage
		default:
			n = wire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return ErrInvalidMessage
		}
		b = b[n:]
	}
	return nil
}

func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendUint32(b []byte, num protowire.Number, v uint32) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}
