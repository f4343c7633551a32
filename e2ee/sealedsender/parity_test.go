package sealedsender

import (
	"crypto/rand"
	"errors"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// prost (libsignal's decoder) refuses field numbers above 2^29−1 and groups
// nested more than 100 deep, even in fields it skips; so do we. Found by
// interop/differential_test.go on certificates and sealed envelopes.
func TestParseProtobufLimits(t *testing.T) {
	f := newFixture(t)
	env, err := Encrypt(rand.Reader, &Content{Type: TypeWhisper, Sender: f.aliceCert, Contents: []byte("hi")}, f.alice, f.bob.Public)
	if err != nil {
		t.Fatal(err)
	}
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
		{"nothing", nil, true},
		{"field 2^29-1", varint(protowire.MaxValidNumber), true},
		{"field 2^29", varint(protowire.MaxValidNumber + 1), false},
		{"groups 100 deep", group(100), true},
		{"groups 101 deep", group(101), false},
	} {
		_, err := ParseSenderCertificate(append(slices.Clone(f.aliceCert.Serialize()), tc.extra...))
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrInvalidProtobuf) {
			t.Errorf("certificate, %s: %v, want ok=%v", tc.name, err, tc.ok)
		}
		_, err = Decrypt(append(slices.Clone(env), tc.extra...), f.bob)
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrInvalidProtobuf) {
			t.Errorf("envelope, %s: %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}
