package session

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/parley-im/parley/e2ee/internal/wire/wiretest"
)

// Decisions that interop/differential_test.go found to differ from
// libsignal 0.103.0, pinned here so that they stay fixed.

// A repeat of a session start that was already processed does not use the
// Kyber ciphertext, and libsignal does not look at it then: a mangled one
// must not make us refuse a message libsignal accepts.
func TestRepeatedPreKeyIgnoresKyberCiphertext(t *testing.T) {
	alice, bob := newParty(t, 1), newParty(t, 2)
	connect(t, alice, bob, true)
	bob.decrypt(t, alice, alice.encrypt(t, bob, "first"), "first")
	for name, mangle := range map[string]func(ct []byte) []byte{
		"type byte": func(ct []byte) []byte { ct = bytes.Clone(ct); ct[0] = 0x05; return ct },
		"empty":     func([]byte) []byte { return []byte{} },
		"truncated": func(ct []byte) []byte { return ct[:100] },
	} {
		t.Run(name, func(t *testing.T) {
			c := alice.encrypt(t, bob, "again "+name)
			if c.Type != TypePreKey {
				t.Fatalf("type %d, want a PreKey message", c.Type)
			}
			c.Body = reencodePreKey(t, c.Body, func(m *preKeyMessage) { m.kyberCiphertext = mangle(m.kyberCiphertext) })
			bob.decrypt(t, alice, c, "again "+name)
		})
	}
	// A session start that does decapsulate still refuses it.
	carol := newParty(t, 3)
	connect(t, carol, bob, false)
	c := carol.encrypt(t, bob, "x")
	c.Body = reencodePreKey(t, c.Body, func(m *preKeyMessage) {
		m.kyberCiphertext = slices.Clone(m.kyberCiphertext)
		m.kyberCiphertext[0] = 0x05
	})
	if _, err := DecryptPreKey(ctx, bob.st, carol.addr, c.Body); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("new session with a bad Kyber ciphertext: %v, want ErrInvalidMessage", err)
	}
}

// prost (libsignal's decoder) refuses field numbers above 2^29−1 and groups
// nested more than 100 deep, even in fields it skips; so do we.
func TestParseProtobufLimits(t *testing.T) {
	alice, bob := newParty(t, 1), newParty(t, 2)
	connect(t, alice, bob, true)
	c := alice.encrypt(t, bob, "hello")
	for _, tc := range wiretest.LimitCases() {
		t.Run(tc.Name, func(t *testing.T) {
			// The outer PreKeySignalMessage fields are not MAC-covered.
			body := append(bytes.Clone(c.Body), tc.Extra...)
			_, err := parsePreKeyMessage(body)
			if (err == nil) != tc.OK || err != nil && !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("parse: %v, want ok=%v", err, tc.OK)
			}
		})
	}
	bob.decrypt(t, alice, c, "hello")
}
