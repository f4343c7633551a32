package e2ee

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxDeviceID is the largest device id libsignal accepts (since 0.75 device
// ids are 1..127, so that one byte holds them in the addresses field).
const MaxDeviceID = 127

// ErrInvalidAddress: an Address with a device id outside 1..MaxDeviceID.
// Validate wraps it; session reports the same condition with its own
// session.ErrInvalidAddress, so its callers test the package they called.
var ErrInvalidAddress = errors.New("e2ee: invalid address")

// Address names one device of a remote (or the local) user, like
// libsignal's ProtocolAddress. It lives here, below every layer, so that
// the address a 1:1 session is filed under is the one a sender key from that
// device is filed under, with no conversion; session.Address and
// senderkey.Address are aliases of it.
//
// Name is opaque to the protocol except for the addresses field of newer
// libsignal versions, which is only defined when Name is a Signal service id
// (an ACI UUID string, or "PNI:" followed by a UUID): see
// ServiceIDFixedWidth.
type Address struct {
	Name     string
	DeviceID uint32
}

// String formats the address as libsignal does, "name.device".
func (a Address) String() string {
	return a.Name + "." + strconv.FormatUint(uint64(a.DeviceID), 10)
}

// Validate reports, wrapping ErrInvalidAddress, a device id outside
// 1..MaxDeviceID. The name is not checked: libsignal takes any string.
func (a Address) Validate() error {
	if a.DeviceID < 1 || a.DeviceID > MaxDeviceID {
		return fmt.Errorf("%w: device id %d outside 1..%d", ErrInvalidAddress, a.DeviceID, MaxDeviceID)
	}
	return nil
}

// ServiceIDFixedWidth encodes name as libsignal's 17-byte fixed-width
// service id: a kind byte (0 ACI, 1 PNI) and the 16 UUID bytes. name is an
// ACI as a hyphenated UUID string, or "PNI:" and one; ok is false for
// anything else (a phone number, a bare name), which has no such encoding.
func ServiceIDFixedWidth(name string) (out [17]byte, ok bool) {
	s := name
	if rest, found := strings.CutPrefix(s, "PNI:"); found {
		out[0] = 1
		s = rest
	}
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return [17]byte{}, false
	}
	compact := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(out[1:], []byte(compact)); err != nil {
		return [17]byte{}, false
	}
	return out, true
}
