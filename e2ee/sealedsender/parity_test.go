package sealedsender

import (
	"crypto/rand"
	"errors"
	"slices"
	"testing"

	"github.com/parley-im/parley/e2ee/internal/wire/wiretest"
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
	for _, tc := range wiretest.LimitCases() {
		_, err := ParseSenderCertificate(append(slices.Clone(f.aliceCert.Serialize()), tc.Extra...))
		if (err == nil) != tc.OK || err != nil && !errors.Is(err, ErrInvalidProtobuf) {
			t.Errorf("certificate, %s: %v, want ok=%v", tc.Name, err, tc.OK)
		}
		_, err = Decrypt(append(slices.Clone(env), tc.Extra...), f.bob)
		if (err == nil) != tc.OK || err != nil && !errors.Is(err, ErrInvalidProtobuf) {
			t.Errorf("envelope, %s: %v, want ok=%v", tc.Name, err, tc.OK)
		}
	}
}
