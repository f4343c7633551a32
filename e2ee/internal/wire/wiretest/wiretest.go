// Package wiretest holds the protobuf framing cases every e2ee parser is
// tested with: libsignal's decoder (prost) refuses field numbers above
// 2^29−1 and groups nested more than 100 deep, even in fields it skips, and
// ours must answer the same (found by interop/differential_test.go).
package wiretest

import "google.golang.org/protobuf/encoding/protowire"

// Case is bytes to append to a valid message (unknown fields, so a parser
// skips them) and whether the result must still parse.
type Case struct {
	Name  string
	Extra []byte
	OK    bool
}

// LimitCases returns the framing limits as cases, the largest accepted and
// the smallest refused value of each, plus the unchanged message.
func LimitCases() []Case {
	return []Case{
		{"nothing", nil, true},
		{"field 2^29-1", varint(protowire.MaxValidNumber), true},
		{"field 2^29", varint(protowire.MaxValidNumber + 1), false},
		{"field 2^31-1", varint(1<<31 - 1), false},
		{"groups 100 deep", groups(100), true},
		{"groups 101 deep", groups(101), false},
	}
}

func varint(num protowire.Number) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), 1)
}

func groups(depth int) []byte {
	var b []byte
	for range depth {
		b = protowire.AppendTag(b, 99, protowire.StartGroupType)
	}
	for range depth {
		b = protowire.AppendTag(b, 99, protowire.EndGroupType)
	}
	return b
}
