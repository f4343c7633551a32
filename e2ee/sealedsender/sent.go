package sealedsender

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// SentMessage is a parsed sealed sender v2 sent message: what a client
// uploads once for many recipients and the server fans out. Parsing checks
// the framing only (nothing here can be decrypted by the server); the
// server still has to check the device lists against its accounts.
type SentMessage struct {
	// Version is the sent message's version byte, VersionV2UUID or
	// VersionV2ServiceID.
	Version    byte
	recipients []SentRecipient // in order of first appearance, merged
	index      map[ServiceID]int
	raw        []byte // the whole message
	shared     int    // offset of E ‖ body in raw
}

// SentRecipient is one recipient of a sent message.
type SentRecipient struct {
	ServiceID ServiceID
	// Devices lists the recipient's devices; empty for an excluded
	// recipient. A service id that appears more than once has the devices
	// of every occurrence, unsorted and not deduplicated, as libsignal does.
	Devices []Device
	keyMat  [2]int // offsets of C ‖ AT in raw (of the first occurrence)
}

func sentErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidSentMessage, fmt.Sprintf(format, args...))
}

// ParseSentMessage parses a v2 sent message. It keeps b (callers must not
// modify it afterwards); the received messages cut from it are copies.
//
// It accepts exactly what libsignal 0.103's SealedSenderV2SentMessage
// accepts, down to its varint quirk: after a varint, the parser moves on by
// the length of the value's shortest encoding, not by the bytes read, so a
// padded varint leaves its padding to be read as what follows.
func ParseSentMessage(b []byte) (*SentMessage, error) {
	if len(b) == 0 {
		return nil, sentErr("empty")
	}
	v := b[0]
	if v != VersionV2UUID && v != VersionV2ServiceID {
		return nil, fmt.Errorf("%w: sent message version 0x%02x", ErrUnknownVersion, v)
	}
	pos := 1
	count, n := protowire.ConsumeVarint(b[pos:])
	if n < 0 || count > 0xFFFFFFFF {
		return nil, sentErr("recipient count")
	}
	pos += protowire.SizeVarint(count)

	m := &SentMessage{Version: v, index: map[ServiceID]int{}, raw: b}
	idLen := 17
	if v == VersionV2UUID {
		idLen = 16
	}
	for i := uint64(0); i < count; i++ {
		if len(b)-pos < idLen {
			return nil, sentErr("recipient %d: truncated service id", i)
		}
		var id ServiceID
		if v == VersionV2UUID {
			copy(id[1:], b[pos:pos+16]) // the original format: ACIs only
		} else {
			var ok bool
			if id, ok = parseServiceIDFixedWidth(b[pos : pos+17]); !ok {
				return nil, sentErr("recipient %d: service id kind 0x%02x", i, b[pos])
			}
		}
		pos += idLen
		var devices []Device
		for {
			if pos >= len(b) {
				return nil, sentErr("recipient %d: truncated device list", i)
			}
			dev := b[pos]
			pos++
			if dev == 0 {
				if len(devices) > 0 {
					return nil, sentErr("recipient %d: device id 0 in a device list", i)
				}
				break // an excluded recipient
			}
			if dev > maxDeviceID {
				return nil, sentErr("recipient %d: device id %d", i, dev)
			}
			if len(b)-pos < 2 {
				return nil, sentErr("recipient %d: truncated registration id", i)
			}
			reg := uint16(b[pos])<<8 | uint16(b[pos+1])
			pos += 2
			devices = append(devices, Device{ID: uint32(dev), RegistrationID: uint32(reg & MaxRegistrationID)})
			if reg&0x8000 == 0 {
				break
			}
		}
		var keyMat [2]int
		if len(devices) > 0 {
			if len(b)-pos < v2KeyMatLen {
				return nil, sentErr("recipient %d: truncated key material", i)
			}
			keyMat = [2]int{pos, pos + v2KeyMatLen}
			pos += v2KeyMatLen
		}
		if j, seen := m.index[id]; seen {
			prev := &m.recipients[j]
			if len(prev.Devices) == 0 || len(devices) == 0 {
				return nil, sentErr("recipient %s listed both with and without devices", id)
			}
			// Only the first key material is used. Occurrences encrypted
			// differently would fail for some of the recipient's devices,
			// which is the sender's problem, not the server's.
			prev.Devices = append(prev.Devices, devices...)
			continue
		}
		m.index[id] = len(m.recipients)
		m.recipients = append(m.recipients, SentRecipient{ServiceID: id, Devices: devices, keyMat: keyMat})
	}
	if len(b)-pos < v2PubLen {
		return nil, sentErr("truncated ephemeral key")
	}
	m.shared = pos
	return m, nil
}

// Recipients returns the recipients that have devices, in order of first
// appearance.
func (m *SentMessage) Recipients() []SentRecipient {
	var out []SentRecipient
	for _, r := range m.recipients {
		if len(r.Devices) > 0 {
			out = append(out, r)
		}
	}
	return out
}

// Excluded returns the service ids the sender deliberately excluded. They
// never overlap with Recipients.
func (m *SentMessage) Excluded() []ServiceID {
	var out []ServiceID
	for _, r := range m.recipients {
		if len(r.Devices) == 0 {
			out = append(out, r.ServiceID)
		}
	}
	return out
}

// Recipient returns the entry for id, excluded or not.
func (m *SentMessage) Recipient(id ServiceID) (SentRecipient, bool) {
	i, ok := m.index[id]
	if !ok {
		return SentRecipient{}, false
	}
	return m.recipients[i], true
}

// MessageFor returns the ReceivedMessage to deliver to every device of id:
// 0x22 ‖ id's C ‖ AT ‖ the shared E ‖ body. An excluded or unlisted id
// gets ErrNotRecipient (libsignal's binding would return a message without
// key material, which no one can decrypt).
func (m *SentMessage) MessageFor(id ServiceID) ([]byte, error) {
	i, ok := m.index[id]
	if !ok || len(m.recipients[i].Devices) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotRecipient, id)
	}
	return m.received(m.recipients[i]), nil
}

func (m *SentMessage) received(r SentRecipient) []byte {
	// The ReceivedMessage format has not changed since 0x22, whatever the
	// sent message's version.
	out := make([]byte, 0, 1+v2KeyMatLen+len(m.raw)-m.shared)
	out = append(out, VersionV2UUID)
	out = append(out, m.raw[r.keyMat[0]:r.keyMat[1]]...)
	return append(out, m.raw[m.shared:]...)
}

// SingleRecipientMessage parses a sent message that has exactly one
// recipient entry (excluded ones count) and returns that recipient's
// ReceivedMessage, like libsignal's
// sealedSenderMultiRecipientMessageForSingleRecipient, which exists for
// tests and tools that skip the server.
func SingleRecipientMessage(sent []byte) ([]byte, error) {
	m, err := ParseSentMessage(sent)
	if err != nil {
		return nil, err
	}
	if len(m.recipients) != 1 {
		return nil, fmt.Errorf("%w: %d", ErrNotSingleRecipient, len(m.recipients))
	}
	return m.received(m.recipients[0]), nil
}
