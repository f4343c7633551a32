// Package wire reads protobuf fields with the limits of prost, the Rust
// decoder libsignal uses, so that every e2ee parser accepts exactly the
// framing libsignal accepts. google.golang.org/protobuf's protowire is
// laxer in two places: it takes field numbers up to 2^31−1 where a tag
// above 2^32−1 (field number 2^29 and up) is an error in prost, and it skips
// groups nested 10 000 deep where prost stops at 100.
package wire

import "google.golang.org/protobuf/encoding/protowire"

// RecursionLimit is prost's default nesting limit, which also bounds how
// deep unknown groups may nest.
const RecursionLimit = 100

// errCode is the negative length returned on any error, as protowire does.
const errCode = -1

// ConsumeTag is protowire.ConsumeTag restricted to valid field numbers
// (1 ≤ n ≤ protowire.MaxValidNumber).
func ConsumeTag(b []byte) (protowire.Number, protowire.Type, int) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 || num > protowire.MaxValidNumber {
		return 0, 0, errCode
	}
	return num, typ, n
}

// ConsumeFieldValue is protowire.ConsumeFieldValue for a field whose tag
// was read with ConsumeTag. Inside groups it applies the same field-number
// rule, and groups may nest at most RecursionLimit deep.
func ConsumeFieldValue(num protowire.Number, typ protowire.Type, b []byte) int {
	return consume(num, typ, b, RecursionLimit)
}

func consume(num protowire.Number, typ protowire.Type, b []byte, depth int) int {
	if typ != protowire.StartGroupType {
		if typ == protowire.EndGroupType {
			return errCode // an end without a start
		}
		return protowire.ConsumeFieldValue(num, typ, b)
	}
	if depth == 0 {
		return errCode
	}
	total := 0
	for {
		n2, t2, n := ConsumeTag(b[total:])
		if n < 0 {
			return errCode
		}
		total += n
		if t2 == protowire.EndGroupType {
			if n2 != num {
				return errCode
			}
			return total
		}
		m := consume(n2, t2, b[total:], depth-1)
		if m < 0 {
			return errCode
		}
		total += m
	}
}
