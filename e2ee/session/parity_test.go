package session

import (
	"bytes"
	"errors"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// Decisions that interop/differential_test.go found to differ from
// libsignal 0.103.0, pinned here so that they stay fixed.

// prost (libsignal's decoder) refuses field numbers above 2^29−1 and groups
// nested more than 100 deep, even in fields it skips; so do we.
func TestParseProtobufLimits(t *testing.T) {
	alice, bob := newParty(t, 1), newParty(t, 2)
	connect(t, alice, bob, true)
	c := alice.encrypt(t, bob, "hello")
	group := func(depth int) []byte {
		var b []byte
		for range depth {
			b = protowire.AppendTag(b, 99, protowire.StartGroupType)
		}
		for range depth {
			b = protowire.AppendTag(b, 99, protowire.EndGroupType)
		}
		return b
	}
	varint := func(num protowire.Number) []byte {
		return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), 1)
	}
	for _, tc := range []struct {
		name  string
		extra []byte
		ok    bool
	}{
		{"field 2^29-1", varint(protowire.MaxValidNumber), true},
		{"field 2^29", varint(protowire.MaxValidNumber + 1), false},
		{"groups 100 deep", group(100), true},
		{"groups 101 deep", group(101), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The outer PreKeySignalMessage fields are not MAC-covered.
			body := append(bytes.Clone(c.Body), tc.extra...)
			_, err := parsePreKeyMessage(body)
			if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("parse: %v, want ok=%v", err, tc.ok)
			}
		})
	}
	bob.decrypt(t, alice, c, "hello")
}
