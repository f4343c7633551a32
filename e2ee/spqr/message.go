package spqr

import "fmt"

// Version is the SPQR protocol version; the first byte of a pq_ratchet
// message. An empty pq_ratchet is V0: no SPQR.
type Version uint8

const (
	V0 Version = 0
	V1 Version = 1
)

// MessageType is the kind of braid payload a V1 message carries.
type MessageType uint8

const (
	TypeNone     MessageType = 0
	TypeHdr      MessageType = 1 // a chunk of the header rho ‖ H(ek) ‖ MAC
	TypeEk       MessageType = 2 // a chunk of the encapsulation key vector
	TypeEkCt1Ack MessageType = 3 // an Ek chunk that also acknowledges ct1
	TypeCt1Ack   MessageType = 4 // ct1 fully received, no chunk
	TypeCt1      MessageType = 5 // a chunk of ct1
	TypeCt2      MessageType = 6 // a chunk of ct2 ‖ MAC
)

func (t MessageType) hasChunk() bool {
	switch t {
	case TypeHdr, TypeEk, TypeEkCt1Ack, TypeCt1, TypeCt2:
		return true
	}
	return false
}

func (t MessageType) String() string {
	switch t {
	case TypeNone:
		return "None"
	case TypeHdr:
		return "Hdr"
	case TypeEk:
		return "Ek"
	case TypeEkCt1Ack:
		return "EkCt1Ack"
	case TypeCt1Ack:
		return "Ct1Ack"
	case TypeCt1:
		return "Ct1"
	case TypeCt2:
		return "Ct2"
	}
	return fmt.Sprintf("MessageType(%d)", uint8(t))
}

// message is a parsed V1 pq_ratchet:
//
//	0x01 ‖ varint epoch ‖ varint index ‖ type ‖ [varint chunk index ‖ 32 bytes]
//
// Trailing bytes are ignored, leaving room for later versions.
type message struct {
	epoch uint64
	index uint32
	typ   MessageType
	chunk chunk
}

const maxVarintLen = 10

// maxMessageSize bounds an encoded message: version, epoch, index, type,
// chunk index and chunk.
const maxMessageSize = 1 + maxVarintLen + 5 + 1 + 3 + chunkSize

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// readVarint decodes as libsignal does: at most 10 bytes, non-minimal forms
// accepted, bits beyond 64 dropped.
func readVarint(b []byte, at int) (uint64, int, bool) {
	var v uint64
	for i := 0; i < maxVarintLen && at+i < len(b); i++ {
		c := b[at+i]
		v |= uint64(c&0x7f) << (7 * uint(i))
		if c&0x80 == 0 {
			return v, at + i + 1, true
		}
	}
	return 0, at, false
}

func (m *message) appendTo(b []byte) []byte {
	b = append(b, byte(V1))
	b = appendVarint(b, m.epoch)
	b = appendVarint(b, uint64(m.index))
	b = append(b, byte(m.typ))
	if m.typ.hasChunk() {
		b = appendVarint(b, uint64(m.chunk.index))
		b = append(b, m.chunk.data[:]...)
	}
	return b
}

func parseMessage(b []byte) (message, error) {
	var m message
	if len(b) == 0 || b[0] != byte(V1) {
		return m, fmt.Errorf("%w: not a V1 message", ErrMessageDecode)
	}
	epoch, at, ok := readVarint(b, 1)
	if !ok || epoch == 0 {
		return m, fmt.Errorf("%w: bad epoch", ErrMessageDecode)
	}
	index, at, ok := readVarint(b, at)
	if !ok || index > 0xffffffff {
		return m, fmt.Errorf("%w: bad index", ErrMessageDecode)
	}
	if at >= len(b) {
		return m, fmt.Errorf("%w: no type", ErrMessageDecode)
	}
	typ := MessageType(b[at])
	at++
	if typ > TypeCt2 {
		return m, fmt.Errorf("%w: unknown type %d", ErrMessageDecode, typ)
	}
	m.epoch, m.index, m.typ = epoch, uint32(index), typ
	if typ.hasChunk() {
		ci, next, ok := readVarint(b, at)
		if !ok || ci > 0xffff || len(b)-next < chunkSize {
			return m, fmt.Errorf("%w: bad chunk", ErrMessageDecode)
		}
		m.chunk.index = uint16(ci)
		copy(m.chunk.data[:], b[next:next+chunkSize])
	}
	return m, nil
}

// MessageInfo describes a pq_ratchet message, for logs and tests.
type MessageInfo struct {
	Version    Version
	Epoch      uint64
	Index      uint32
	Type       MessageType
	ChunkIndex uint16 // meaningful when HasChunk
	HasChunk   bool
}

// Inspect parses pq_ratchet bytes without any state. An empty slice is V0.
func Inspect(b []byte) (MessageInfo, error) {
	if len(b) == 0 {
		return MessageInfo{Version: V0}, nil
	}
	m, err := parseMessage(b)
	if err != nil {
		return MessageInfo{}, err
	}
	return MessageInfo{
		Version: V1, Epoch: m.epoch, Index: m.index, Type: m.typ,
		ChunkIndex: m.chunk.index, HasChunk: m.typ.hasChunk(),
	}, nil
}
