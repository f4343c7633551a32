package senderkey

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/parley-im/parley/e2ee/internal/wire/wiretest"
)

// prost (libsignal's decoder) refuses field numbers above 2^29−1 and groups
// nested more than 100 deep, even in fields it skips; so do we. Found by
// interop/differential_test.go on SKDMs.
func TestParseProtobufLimits(t *testing.T) {
	skdm := testSKDM(t)
	for _, tc := range wiretest.LimitCases() {
		_, err := ParseDistributionMessage(append(slices.Clone(skdm), tc.Extra...))
		if (err == nil) != tc.OK || err != nil && !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("%s: %v, want ok=%v", tc.Name, err, tc.OK)
		}
	}
}

func testSKDM(t *testing.T) []byte {
	t.Helper()
	skdm, err := CreateDistribution(context.Background(), &MemoryStore{}, Address{Name: "alice", DeviceID: 1}, [16]byte{1, 2, 3}, testRand(7))
	if err != nil {
		t.Fatal(err)
	}
	return skdm
}
