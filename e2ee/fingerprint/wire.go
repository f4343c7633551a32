package fingerprint

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// The scannable form is the proto2 message
//
//	message LogicalFingerprint   { optional bytes content = 1; }
//	message CombinedFingerprints { optional uint32 version = 1;
//	                               optional LogicalFingerprint local_fingerprint = 2;
//	                               optional LogicalFingerprint remote_fingerprint = 3; }
//
// hand-encoded here. The decoder follows the semantics of the prost decoder
// libsignal uses (0.14): unknown fields are skipped, a repeated scalar keeps
// the last value, repeated sub-messages merge, a wrong wire type on a known
// field is an error, uint32 truncates the varint, and nesting is capped at 100.
const (
	fieldVersion = 1
	fieldLocal   = 2
	fieldRemote  = 3
	fieldContent = 1

	// prost's RECURSION_LIMIT; only unknown groups and the two sub-messages
	// consume it here.
	recursionLimit = 100
)

type logicalFingerprint struct {
	content    []byte
	hasContent bool
}

type combinedFingerprints struct {
	version       uint32 // 0 when absent, as libsignal reads it
	hasVersion    bool
	local, remote logicalFingerprint
}

func encodeCombined(version uint32, local, remote []byte) []byte {
	b := make([]byte, 0, 2+2*(2+2+scanBytes)+4)
	b = protowire.AppendTag(b, fieldVersion, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(version))
	b = appendLogical(b, fieldLocal, local)
	b = appendLogical(b, fieldRemote, remote)
	return b
}

func appendLogical(b []byte, num protowire.Number, content []byte) []byte {
	inner := protowire.SizeTag(fieldContent) + protowire.SizeBytes(len(content))
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(inner))
	b = protowire.AppendTag(b, fieldContent, protowire.BytesType)
	return protowire.AppendBytes(b, content)
}

func malformed(what string) error { return fmt.Errorf("%w: %s", ErrMalformed, what) }

// Distinct values so the fuzz target can recognise where prost is stricter
// than the Go protobuf runtime it is checked against.
var (
	errKeyRange = malformed("field key out of range")
	errTooDeep  = malformed("nesting too deep")
	errWireType = malformed("known field has the wrong wire type")
)

// consumeKey reads a field key the way prost does: keys above 2^32-1, field
// number 0 and the unassigned wire types 6 and 7 are errors.
func consumeKey(b []byte) (protowire.Number, protowire.Type, int, error) {
	v, n := protowire.ConsumeVarint(b)
	if n < 0 {
		return 0, 0, 0, malformed("bad field key")
	}
	if v > math.MaxUint32 {
		return 0, 0, 0, errKeyRange
	}
	typ := protowire.Type(v & 7)
	if typ > protowire.Fixed32Type {
		return 0, 0, 0, malformed("unknown wire type")
	}
	num := protowire.Number(v >> 3)
	if num == 0 {
		return 0, 0, 0, malformed("field number 0")
	}
	return num, typ, n, nil
}

// skipField skips an unknown field's value and returns its length. depth is
// the remaining recursion budget.
func skipField(num protowire.Number, typ protowire.Type, b []byte, depth int) (int, error) {
	if depth <= 0 {
		return 0, errTooDeep
	}
	var n int
	switch typ {
	case protowire.VarintType:
		_, n = protowire.ConsumeVarint(b)
	case protowire.Fixed32Type:
		_, n = protowire.ConsumeFixed32(b)
	case protowire.Fixed64Type:
		_, n = protowire.ConsumeFixed64(b)
	case protowire.BytesType:
		_, n = protowire.ConsumeBytes(b)
	case protowire.StartGroupType:
		off := 0
		for {
			inum, ityp, kn, err := consumeKey(b[off:])
			if err != nil {
				return 0, err
			}
			off += kn
			if ityp == protowire.EndGroupType {
				if inum != num {
					return 0, malformed("mismatched end group")
				}
				return off, nil
			}
			vn, err := skipField(inum, ityp, b[off:], depth-1)
			if err != nil {
				return 0, err
			}
			off += vn
		}
	default: // an end-group key outside any group
		return 0, malformed("unexpected end group")
	}
	if n < 0 {
		return 0, malformed("truncated field")
	}
	return n, nil
}

func decodeCombined(b []byte) (combinedFingerprints, error) {
	return decodeCombinedDepth(b, recursionLimit)
}

func decodeCombinedDepth(b []byte, depth int) (combinedFingerprints, error) {
	var c combinedFingerprints
	for len(b) > 0 {
		num, typ, n, err := consumeKey(b)
		if err != nil {
			return c, err
		}
		b = b[n:]
		switch num {
		case fieldVersion:
			if typ != protowire.VarintType {
				return c, errWireType
			}
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return c, malformed("truncated version")
			}
			c.version = uint32(v) // prost truncates, as proto's uint32 rules say
			c.hasVersion = true
			b = b[n:]
		case fieldLocal, fieldRemote:
			if typ != protowire.BytesType {
				return c, errWireType
			}
			msg, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return c, malformed("truncated fingerprint")
			}
			dst := &c.local
			if num == fieldRemote {
				dst = &c.remote
			}
			// A repeated sub-message merges into the earlier one.
			if err := decodeLogical(msg, dst, depth-1); err != nil {
				return c, err
			}
			b = b[n:]
		default:
			n, err := skipField(num, typ, b, depth)
			if err != nil {
				return c, err
			}
			b = b[n:]
		}
	}
	return c, nil
}

func decodeLogical(b []byte, dst *logicalFingerprint, depth int) error {
	for len(b) > 0 {
		num, typ, n, err := consumeKey(b)
		if err != nil {
			return err
		}
		b = b[n:]
		if num == fieldContent {
			if typ != protowire.BytesType {
				return errWireType
			}
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return malformed("truncated content")
			}
			dst.content = append([]byte(nil), v...) // do not alias the caller's buffer
			dst.hasContent = true
			b = b[n:]
			continue
		}
		n, err = skipField(num, typ, b, depth)
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}
