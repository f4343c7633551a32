// Package types holds the identifiers that Parley's clients and server share:
// accounts, devices, messages and the addresses built from them. Each is a
// distinct type so that an account id can never be passed where a message id
// is expected.
package types

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalidID is returned for an identifier that does not parse.
var ErrInvalidID = errors.New("types: invalid identifier")

// ErrInvalidPhone is returned for a phone number that is not E.164.
var ErrInvalidPhone = errors.New("types: phone number is not in E.164 form")

// AccountID names an account. It is random and separate from the phone
// number, so a change of number keeps the account.
type AccountID [16]byte

// MessageID names one message as its sender chose it; a resend carries the
// same id, which is how the server stores it once.
type MessageID [16]byte

// GroupID names a group. Its creator picks it at random.
type GroupID [16]byte

// DeviceID numbers the devices of one account. 1 is the primary device.
type DeviceID uint32

// PrimaryDevice is the device id of the phone that registered the account.
const PrimaryDevice DeviceID = 1

// Address is one device of one account: where an envelope goes.
type Address struct {
	Account AccountID
	Device  DeviceID
}

// NewAccountID returns a random account id.
func NewAccountID() AccountID { return AccountID(random16()) }

// NewMessageID returns a random message id.
func NewMessageID() MessageID { return MessageID(random16()) }

func random16() (b [16]byte) {
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	// UUID version 4, variant RFC 9562, so the text form is a valid UUID.
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return b
}

// String renders the id as a UUID.
func (a AccountID) String() string { return uuidString(a) }

// IsZero reports whether a is the zero id (no account).
func (a AccountID) IsZero() bool { return a == AccountID{} }

// MarshalText implements encoding.TextMarshaler.
func (a AccountID) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *AccountID) UnmarshalText(b []byte) error {
	v, err := parseUUID(string(b))
	*a = v
	return err
}

// ParseAccountID parses the UUID text form of an account id.
func ParseAccountID(s string) (AccountID, error) {
	v, err := parseUUID(s)
	return AccountID(v), err
}

// AccountIDFromBytes converts the 16-byte wire form.
func AccountIDFromBytes(b []byte) (AccountID, error) {
	if len(b) != 16 {
		return AccountID{}, fmt.Errorf("%w: account id is %d bytes, want 16", ErrInvalidID, len(b))
	}
	return AccountID(b), nil
}

// NewGroupID returns a random group id.
func NewGroupID() GroupID { return GroupID(random16()) }

// String renders the id as a UUID.
func (g GroupID) String() string { return uuidString(g) }

// IsZero reports whether g is the zero id (no group).
func (g GroupID) IsZero() bool { return g == GroupID{} }

// MarshalText implements encoding.TextMarshaler.
func (g GroupID) MarshalText() ([]byte, error) { return []byte(g.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (g *GroupID) UnmarshalText(b []byte) error {
	v, err := parseUUID(string(b))
	*g = v
	return err
}

// ParseGroupID parses the UUID text form of a group id.
func ParseGroupID(s string) (GroupID, error) {
	v, err := parseUUID(s)
	return GroupID(v), err
}

// GroupIDFromBytes converts the 16-byte wire form.
func GroupIDFromBytes(b []byte) (GroupID, error) {
	if len(b) != 16 {
		return GroupID{}, fmt.Errorf("%w: group id is %d bytes, want 16", ErrInvalidID, len(b))
	}
	return GroupID(b), nil
}

// String renders the id as a UUID.
func (m MessageID) String() string { return uuidString(m) }

// MessageIDFromBytes converts the 16-byte wire form.
func MessageIDFromBytes(b []byte) (MessageID, error) {
	if len(b) != 16 {
		return MessageID{}, fmt.Errorf("%w: message id is %d bytes, want 16", ErrInvalidID, len(b))
	}
	return MessageID(b), nil
}

// String renders the device id in decimal.
func (d DeviceID) String() string { return strconv.FormatUint(uint64(d), 10) }

// String renders the address as account.device.
func (a Address) String() string { return a.Account.String() + "." + a.Device.String() }

func uuidString(b [16]byte) string {
	var buf [36]byte
	hex.Encode(buf[0:8], b[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], b[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], b[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], b[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], b[10:])
	return string(buf[:])
}

func parseUUID(s string) ([16]byte, error) {
	var out [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return out, fmt.Errorf("%w: %q is not a UUID", ErrInvalidID, s)
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	if _, err := hex.Decode(out[:], []byte(h)); err != nil {
		return [16]byte{}, fmt.Errorf("%w: %q is not a UUID", ErrInvalidID, s)
	}
	return out, nil
}

// ParsePhone checks that s is an E.164 number: a '+', a country code that
// does not start with 0, and at most 15 digits in all. Spaces, dashes and
// parentheses people type are removed first.
func ParsePhone(s string) (string, error) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '(', ')', '.':
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return "", ErrInvalidPhone
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return "", ErrInvalidPhone
		}
	}
	return s, nil
}
