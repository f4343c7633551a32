package sealedsender

import (
	"encoding/hex"
	"strings"
)

// Service id kinds, the first byte of the fixed-width encoding.
const (
	KindACI = 0x00 // account identifier
	KindPNI = 0x01 // phone number identifier
)

// ServiceID is a Signal service id in libsignal's 17-byte fixed-width
// binary form: the kind byte (KindACI or KindPNI), then the 16 UUID bytes.
// The zero value is the all-zero ACI.
type ServiceID [17]byte

// ParseServiceID parses libsignal's string form: a hyphenated UUID for an
// ACI, "PNI:" and a hyphenated UUID for a PNI. Hex digits of either case
// are accepted, as libsignal accepts them.
func ParseServiceID(s string) (ServiceID, error) {
	var id ServiceID
	if rest, ok := strings.CutPrefix(s, "PNI:"); ok {
		id[0] = KindPNI
		s = rest
	}
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return ServiceID{}, ErrInvalidServiceID
	}
	compact := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(id[1:], []byte(compact)); err != nil {
		return ServiceID{}, ErrInvalidServiceID
	}
	return id, nil
}

// parseServiceIDFixedWidth reads the 17-byte form, refusing unknown kinds.
func parseServiceIDFixedWidth(b []byte) (ServiceID, bool) {
	var id ServiceID
	if len(b) != len(id) || (b[0] != KindACI && b[0] != KindPNI) {
		return ServiceID{}, false
	}
	copy(id[:], b)
	return id, true
}

// Kind returns KindACI or KindPNI.
func (id ServiceID) Kind() byte { return id[0] }

// UUID returns the 16 UUID bytes.
func (id ServiceID) UUID() [16]byte { return [16]byte(id[1:]) }

// String formats the id as libsignal does: the lowercase hyphenated UUID,
// prefixed with "PNI:" for a PNI.
func (id ServiceID) String() string {
	s := formatUUID(id[1:])
	if id[0] == KindPNI {
		return "PNI:" + s
	}
	return s
}
