package sealedsender

import (
	"google.golang.org/protobuf/encoding/protowire"
)

// Message types of the wrapped ciphertext, as libsignal's CiphertextMessage
// types (the protobuf enum numbers PreKey differently; see protoType).
const (
	TypeWhisper   = 2
	TypePreKey    = 3
	TypeSenderKey = 7
	TypePlaintext = 8
)

// Content hints: what the receiver should do if decryption fails.
const (
	HintDefault    = 0 // show an error at once
	HintResendable = 1 // the sender will resend; delay the error
	HintImplicit   = 2 // no error UI at all
)

// Content is an UnidentifiedSenderMessageContent: the plaintext of a sealed
// sender envelope.
type Content struct {
	Type        uint8 // TypeWhisper, TypePreKey, TypeSenderKey or TypePlaintext
	Sender      *SenderCertificate
	Contents    []byte
	ContentHint uint32
	GroupID     []byte // nil when absent
}

func protoType(t uint8) (uint64, bool) {
	switch t {
	case TypePreKey:
		return 1, true
	case TypeWhisper:
		return 2, true
	case TypeSenderKey:
		return 7, true
	case TypePlaintext:
		return 8, true
	}
	return 0, false
}

func fromProtoType(v uint64) (uint8, bool) {
	switch v {
	case 1:
		return TypePreKey, true
	case 2:
		return TypeWhisper, true
	case 7:
		return TypeSenderKey, true
	case 8:
		return TypePlaintext, true
	}
	return 0, false
}

// Serialize encodes the content. The default hint and an empty group id are
// omitted, as libsignal does.
func (c *Content) Serialize() ([]byte, error) {
	t, ok := protoType(c.Type)
	if !ok || c.Sender == nil {
		return nil, ErrInvalidArgument
	}
	var b []byte
	b = appendVarint(b, 1, t)
	b = appendBytes(b, 2, c.Sender.serialized)
	b = appendBytes(b, 3, c.Contents)
	if c.ContentHint != HintDefault {
		b = appendVarint(b, 4, uint64(c.ContentHint))
	}
	if len(c.GroupID) > 0 {
		b = appendBytes(b, 5, c.GroupID)
	}
	return b, nil
}

// ParseContent parses an UnidentifiedSenderMessageContent, including its
// sender certificate (whose signatures it does not check).
func ParseContent(b []byte) (*Content, error) {
	f, err := decodeFields(b, map[protowire.Number]protowire.Type{
		1: protowire.VarintType, 2: protowire.BytesType, 3: protowire.BytesType,
		4: protowire.VarintType, 5: protowire.BytesType,
	})
	if err != nil {
		return nil, err
	}
	tf, ok := f[1]
	if !ok {
		return nil, ErrInvalidProtobuf
	}
	// An enum field is an int32 on the wire: only the low 32 bits count.
	t, ok := fromProtoType(uint64(uint32(tf.v)))
	if !ok {
		return nil, ErrInvalidProtobuf
	}
	sf, ok1 := f[2]
	cf, ok2 := f[3]
	if !ok1 || !ok2 {
		return nil, ErrInvalidProtobuf
	}
	sender, err := ParseSenderCertificate(sf.b)
	if err != nil {
		return nil, err
	}
	c := &Content{Type: t, Sender: sender, Contents: clone(cf.b)}
	if h, ok := f[4]; ok {
		c.ContentHint = uint32(h.v)
	}
	if g, ok := f[5]; ok {
		c.GroupID = clone(g.b)
	}
	return c, nil
}
