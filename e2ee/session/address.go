package session

import (
	"encoding/hex"
	"strconv"
	"strings"
)

// MaxDeviceID is the largest device id libsignal accepts (since 0.75 device
// ids are 1..127, so that one byte holds them in the addresses field).
const MaxDeviceID = 127

// Address names one device of a remote (or the local) user. Name is opaque
// to the protocol except for the addresses field of newer libsignal
// versions, which is only defined when Name is a Signal service id (an ACI
// UUID string, or "PNI:" followed by a UUID).
type Address struct {
	Name     string
	DeviceID uint32
}

// String formats the address as libsignal does, "name.device".
func (a Address) String() string {
	return a.Name + "." + strconv.FormatUint(uint64(a.DeviceID), 10)
}

func (a Address) validate() error {
	if a.DeviceID < 1 || a.DeviceID > MaxDeviceID {
		return errorf(ErrInvalidAddress, "device id %d outside 1..%d", a.DeviceID, MaxDeviceID)
	}
	return nil
}

// serviceIDFixedWidth encodes Name as libsignal's 17-byte fixed-width
// service id (kind byte: 0 ACI, 1 PNI; then the 16 UUID bytes). ok is false
// when Name is not a service id.
func serviceIDFixedWidth(name string) (out [17]byte, ok bool) {
	s := name
	if rest, found := strings.CutPrefix(s, "PNI:"); found {
		out[0] = 1
		s = rest
	}
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return out, false
	}
	compact := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(out[1:], []byte(compact)); err != nil {
		return out, false
	}
	return out, true
}

// encodeAddresses builds the 36-byte addresses field
// sender(17) ‖ senderDevice ‖ recipient(17) ‖ recipientDevice.
func encodeAddresses(sender, recipient Address) ([]byte, bool) {
	s, ok1 := serviceIDFixedWidth(sender.Name)
	r, ok2 := serviceIDFixedWidth(recipient.Name)
	if !ok1 || !ok2 || sender.validate() != nil || recipient.validate() != nil {
		return nil, false
	}
	out := make([]byte, 0, 36)
	out = append(out, s[:]...)
	out = append(out, byte(sender.DeviceID))
	out = append(out, r[:]...)
	out = append(out, byte(recipient.DeviceID))
	return out, true
}
