package senderkey

import (
	"context"
	"errors"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// prost (libsignal's decoder) refuses field numbers above 2^29−1 and groups
// nested more than 100 deep, even in fields it skips; so do we. Found by
// interop/differential_test.go on SKDMs.
func TestParseProtobufLimits(t *testing.T) {
	skdm := testSKDM(t)
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
		{"field 2^31-1", varint(1<<31 - 1), false},
		{"groups 100 deep", group(100), true},
		{"groups 101 deep", group(101), false},
	} {
		_, err := ParseDistributionMessage(append(slices.Clone(skdm), tc.extra...))
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("%s: %v, want ok=%v", tc.name, err, tc.ok)
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
